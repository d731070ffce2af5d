/*
 * The console: fds 0, 1 and 2, /dev/console and /dev/tty. Zero copy: the
 * user's buffers become guest-physical segments (user_segs) that the
 * virtio-console device (drivers/virtio_console.c: stdin, stdout and stderr
 * as separate ports) writes to the host, up to KVMBOX_CONSOLE_MAX_SEGS
 * segments per descriptor chain. Without the device (no local APIC), the
 * VMM reads or fills them in one CONSOLE_WRITE/CONSOLE_READ hypercall
 * per chain's worth instead (a whole writev in one exit when it fits).
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <platform.h>
#include <uaccess.h>
#include <vconsole.h>
#include "../lib/pure/fsutil.h"

struct inode console_inode = {
	.ino = 2,
	.mode = S_IFCHR | 0620,
	.kind = I_CONSOLE,
	.flags = INODE_STATIC,
	.rdev = (5u << 8) | 1,       /* 5:1, /dev/console */
};

/* Hypercall arguments live in kernel memory, one block per vCPU. */
#define CONSOLE_CPUS 16
static struct kvmbox_hc_console hc_args[CONSOLE_CPUS];

static struct kvmbox_hc_console_poll hc_poll; /* one vCPU */

bool console_wait_input(uint64_t timeout_ns)
{
	hc_poll.timeout_ns = timeout_ns;
	hc_poll.revents = 0;
	hypercall(KVMBOX_HC_CONSOLE_POLL, &hc_poll);
	/* An error (no fd 0 at all): say readable, so the read reports it. */
	return hc_poll.ret < 0 || hc_poll.revents != 0;
}

unsigned console_poll(struct file *f, struct poll_table *pt)
{
	unsigned m = POLLOUT | POLLWRNORM;
	/* Only input needs the device (or the VMM): output is always possible. */
	if (pt && !(pt->events & (POLLIN | POLLRDNORM)))
		return m;
	if (vcons_ready())
		return m | vcons_poll_in(pt);
	if (console_wait_input(0))
		m |= POLLIN | POLLRDNORM;
	else if (pt)
		pt->console_in = true;
	return m;
}

/*
 * Before a read that may block: a blocking read waits inside the VMM, which
 * would stall every other thread; so while others can run, wait here in
 * short sleeps until input is there. O_NONBLOCK: -EAGAIN if there is none.
 */
static int console_read_wait(struct file *f)
{
	if (f->flags & O_NONBLOCK)
		return console_wait_input(0) ? 0 : -EAGAIN;
	if (poll_alone())
		return 0;          /* nothing else could run meanwhile: block in the VMM */
	for (;;) {
		if (console_wait_input(0))
			return 0;
		struct poll_table pt;
		poll_table_init(&pt, &pt);
		pt.register_q = false;
		pt.console_in = true;
		if (poll_block(&pt, 0) == -EINTR)
			return -ERESTARTSYS;
	}
}

ssize_t console_rw(struct file *f, const struct kiovec *iov, int cnt, bool write)
{
	bool virtio;
	if (write) {
		uint64_t len = 0;
		for (int k = 0; k < cnt; k++)
			len += iov[k].len;
		virtio = vcons_for_write(len);
	} else if ((virtio = vcons_ready())) {
		return vcons_read(iov, cnt, f->flags & O_NONBLOCK);
	}
	if (!write) {
		int r = console_read_wait(f);
		if (r)
			return r;
	}

	uint32_t cpu = this_cpu()->cpu;
	BUG_ON(cpu >= CONSOLE_CPUS);
	struct kvmbox_hc_console *hc = &hc_args[cpu];
	ssize_t total = 0;
	bool fault = false;
	int i = 0;
	uint64_t done_in_iov = 0;

	while (i < cnt && !fault) {
		unsigned nr = 0;
		uint64_t want = 0;
		while (i < cnt && nr < KVMBOX_CONSOLE_MAX_SEGS) {
			uint64_t rem = iov[i].len - done_in_iov;
			if (rem == 0) {
				i++;
				done_in_iov = 0;
				continue;
			}
			unsigned got = 0;
			long r = user_segs(iov[i].base + done_in_iov, rem, !write, hc->segs + nr,
					   KVMBOX_CONSOLE_MAX_SEGS - nr, &got);
			if (r < 0) {
				fault = true;
				break;
			}
			nr += got;
			want += (uint64_t)r;
			done_in_iov += (uint64_t)r;
		}
		if (nr == 0)
			break;
		if (virtio) {
			ssize_t n = vcons_write(f->console_fd, hc->segs, nr);
			if (n < 0)
				return total ? total : n;
			total += n;
			continue; /* the device takes all of it */
		}
		hc->ret = 0;
		hc->done = 0;
		hc->fd = write ? f->console_fd : 0;
		hc->nr_segs = nr;
		hypercall(write ? KVMBOX_HC_CONSOLE_WRITE : KVMBOX_HC_CONSOLE_READ, hc);
		if (hc->ret < 0)
			return total ? total : hc->ret;
		total += (ssize_t)hc->done;
		/* A read returns what one read got; a short write ends the call. */
		if (!write || hc->done < want)
			break;
	}
	if (fault && total == 0)
		return -EFAULT;
	return total;
}

ssize_t console_write_segs(struct file *f, const struct kvmbox_seg *segs, unsigned nr)
{
	uint64_t len = 0;
	for (unsigned k = 0; k < nr; k++)
		len += segs[k].len;
	if (vcons_for_write(len))
		return vcons_write(f->console_fd, segs, nr);
	uint32_t cpu = this_cpu()->cpu;
	BUG_ON(cpu >= CONSOLE_CPUS || nr > KVMBOX_CONSOLE_MAX_SEGS);
	struct kvmbox_hc_console *hc = &hc_args[cpu];
	for (unsigned i = 0; i < nr; i++)
		hc->segs[i] = segs[i];
	hc->ret = 0;
	hc->done = 0;
	hc->fd = f->console_fd;
	hc->nr_segs = nr;
	hypercall(KVMBOX_HC_CONSOLE_WRITE, hc);
	return hc->ret < 0 ? hc->ret : (ssize_t)hc->done;
}

/* ---- terminal ioctls ------------------------------------------------------- */

#define TCGETS     0x5401
#define TCSETS     0x5402
#define TCSETSW    0x5403
#define TCSETSF    0x5404
#define TIOCSCTTY  0x540e
#define TIOCGPGRP  0x540f
#define TIOCSPGRP  0x5410
#define TIOCGWINSZ 0x5413
#define TIOCSWINSZ 0x5414
#define FIONREAD   0x541b
#define TIOCNOTTY  0x5422
#define TIOCGSID   0x5429

/* The kernel's struct termios (asm-generic/termbits.h): 36 bytes. The libc
 * structs are larger (60 bytes) but TCGETS writes only these 36. */
struct kernel_termios {
	uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
	uint8_t c_line;
	uint8_t c_cc[19];
};
_Static_assert(sizeof(struct kernel_termios) == 36, "termios");

/* A cooked terminal as a fresh Linux pty has it: ICRNL|IXON, OPOST|ONLCR,
 * B38400|CS8|CREAD, ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN. */
static struct kernel_termios termios = {
	.c_iflag = 0x500,
	.c_oflag = 0x5,
	.c_cflag = 0xbf,
	.c_lflag = 0x8a3b,
	.c_cc = { 3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0 },
};

struct winsize {
	uint16_t ws_row, ws_col, ws_xpixel, ws_ypixel;
};
static struct winsize winsize = { 24, 80, 0, 0 };

long console_ioctl(struct file *f, unsigned long cmd, uint64_t arg)
{
	/* A redirected host fd is a file or pipe: no terminal ioctls (Linux: ENOTTY). */
	if (!(boot_flags & KVMBOX_BOOT_TTY(f->console_tty)) && cmd != FIONREAD)
		return -ENOTTY;
	switch (cmd) {
	case TCGETS:
		return copy_to_user(arg, &termios, sizeof(termios));
	case TCSETS:
	case TCSETSW:
	case TCSETSF:
		return copy_from_user(&termios, arg, sizeof(termios));
	case TIOCGWINSZ:
		/* The host terminal's size when the device reported one (VIRTIO_CONSOLE_RESIZE). */
		if (vcons_ready())
			vcons_winsize(&winsize.ws_row, &winsize.ws_col);
		return copy_to_user(arg, &winsize, sizeof(winsize));
	case TIOCSWINSZ:
		return copy_from_user(&winsize, arg, sizeof(winsize));
	case TIOCGPGRP: {
		int32_t pgrp = current_proc()->pgid;
		return copy_to_user(arg, &pgrp, sizeof(pgrp));
	}
	case TIOCGSID: {
		int32_t sid = current_proc()->sid;
		return copy_to_user(arg, &sid, sizeof(sid));
	}
	case TIOCSPGRP: {
		int32_t pgrp;
		return copy_from_user(&pgrp, arg, sizeof(pgrp));
	}
	case FIONREAD: {
		int32_t n = vcons_nread(); /* 0 before the device is set up: nothing is buffered yet */
		return copy_to_user(arg, &n, sizeof(n));
	}
	case TIOCSCTTY:
	case TIOCNOTTY:
		return 0;
	}
	return -ENOTTY;
}
