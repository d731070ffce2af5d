/*
 * signalfd(2): pending signals of a mask read as struct signalfd_siginfo.
 * Signals are taken from the reading thread's pending sets through
 * signal_dequeue (kernel/signal.c); every queued signal wakes the one wait
 * queue all signalfds share (signalfd_notify), as they are few.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <signal.h>
#include <syscalls.h>
#include <uaccess.h>

#define SFD_CLOEXEC  O_CLOEXEC
#define SFD_NONBLOCK O_NONBLOCK
#define SIGMASK_BIT(s) (1ull << ((s) - 1))
#define NOT_CATCHABLE (SIGMASK_BIT(SIGKILL) | SIGMASK_BIT(SIGSTOP))

struct signalfd_siginfo {
	uint32_t ssi_signo;
	int32_t ssi_errno;
	int32_t ssi_code;
	uint32_t ssi_pid;
	uint32_t ssi_uid;
	int32_t ssi_fd;
	uint32_t ssi_tid;
	uint32_t ssi_band;
	uint32_t ssi_overrun;
	uint32_t ssi_trapno;
	int32_t ssi_status;
	int32_t ssi_int;
	uint64_t ssi_ptr;
	uint64_t ssi_utime;
	uint64_t ssi_stime;
	uint64_t ssi_addr;
	uint16_t ssi_addr_lsb;
	uint16_t pad2;
	int32_t ssi_syscall;
	uint64_t ssi_call_addr;
	uint32_t ssi_arch;
	uint8_t pad[28];
};
_Static_assert(sizeof(struct signalfd_siginfo) == 128, "signalfd_siginfo");

static struct waitq signalfd_wq;
static unsigned nr_signalfds;

void signalfd_notify(struct proc *p)
{
	if (nr_signalfds)
		waitq_wake(&signalfd_wq);
}

#define SI_TIMER_CODE (-2)
#define SIGCHLD_NR 17

/* Linux's signalfd_copyinfo: the fields of the siginfo union that the code says are valid. */
static void fill(struct signalfd_siginfo *s, const struct ksiginfo *k)
{
	memset(s, 0, sizeof(*s));
	s->ssi_signo = (uint32_t)k->signo;
	s->ssi_code = k->code;
	if (k->code == SI_TIMER_CODE) {
		s->ssi_tid = (uint32_t)k->pid;      /* the timer id */
		s->ssi_overrun = (uint32_t)k->status;
		s->ssi_int = (int32_t)k->value;
		s->ssi_ptr = k->value;
	} else if (k->code > 0 && k->signo != SIGCHLD_NR) {
		s->ssi_addr = k->addr;              /* a fault */
		s->ssi_trapno = k->trapno;
	} else {
		s->ssi_pid = (uint32_t)k->pid;
		s->ssi_int = (int32_t)k->value;
		s->ssi_ptr = k->value;
		if (k->signo == SIGCHLD_NR)
			s->ssi_status = k->status;
	}
}

static ssize_t signalfd_rw(struct file *f, const struct kiovec *iov, int cnt, bool write)
{
	if (write)
		return -EINVAL;
	uint64_t *mask = f->priv;
	uint64_t room = iov_len(iov, cnt) / sizeof(struct signalfd_siginfo);
	if (!room)
		return -EINVAL;
	struct thread *t = current_thread();
	ssize_t done = 0;
	int vi = 0;
	uint64_t voff = 0;
	while ((uint64_t)done / sizeof(struct signalfd_siginfo) < room) {
		struct ksiginfo k;
		int sig = signal_dequeue(t, *mask, &k);
		if (!sig) {
			if (done)
				break;
			if (f->flags & O_NONBLOCK)
				return -EAGAIN;
			if (waitq_sleep(&signalfd_wq, 0) == -EINTR)
				return -ERESTARTSYS;
			continue;
		}
		struct signalfd_siginfo s;
		fill(&s, &k);
		/* Out through the iovec, which may split a record. */
		size_t left = sizeof(s);
		const uint8_t *src = (const uint8_t *)&s;
		while (left && vi < cnt) {
			size_t n = MIN(left, iov[vi].len - voff);
			if (n && copy_to_user(iov[vi].base + voff, src, n))
				return done ? done : -EFAULT;
			src += n;
			left -= n;
			voff += n;
			if (voff == iov[vi].len) {
				vi++;
				voff = 0;
			}
		}
		done += (ssize_t)sizeof(s);
	}
	return done;
}

static unsigned signalfd_poll(struct file *f, struct poll_table *pt)
{
	uint64_t *mask = f->priv;
	struct thread *t = current_thread();
	poll_wait(pt, &signalfd_wq);
	return ((t->pending | t->proc->pending) & *mask) ? POLLIN | POLLRDNORM : 0;
}

static void signalfd_release(struct file *f)
{
	kfree(f->priv);
	nr_signalfds--;
}

static const struct file_ops signalfd_ops = {
	.rw = signalfd_rw,
	.poll = signalfd_poll,
	.release = signalfd_release,
};

long sys_signalfd4(int fd, uint64_t umask, size_t sizemask, int flags)
{
	if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK))
		return -EINVAL;
	if (sizemask != 8)
		return -EINVAL;
	uint64_t mask;
	if (copy_from_user(&mask, umask, 8))
		return -EFAULT;
	mask &= ~NOT_CATCHABLE;
	if (fd != -1) {
		struct file *f = fd_get(fd);
		if (!f)
			return -EBADF;
		if (f->ops != &signalfd_ops)
			return -EINVAL;
		*(uint64_t *)f->priv = mask;
		waitq_wake(&signalfd_wq);
		return fd;
	}
	uint64_t *m = kmalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = mask;
	struct file *f = anon_file_alloc(0600, O_RDWR | (flags & SFD_NONBLOCK), &signalfd_ops, m);
	if (!f) {
		kfree(m);
		return -ENOMEM;
	}
	nr_signalfds++;
	return fd_install_new(f, flags & SFD_CLOEXEC);
}

long sys_signalfd(int fd, uint64_t mask, size_t sizemask)
{
	return sys_signalfd4(fd, mask, sizemask, 0);
}
