/*
 * virtio-console driver with VIRTIO_CONSOLE_F_MULTIPORT (virtio spec v1.2,
 * 5.3): port 0 is the program's stdin, ports 1 and 2 its stdout and stderr.
 * Output is zero copy: a write posts the program's own pages and sleeps until
 * the device has written them to the host fd (so nothing is lost when the VM
 * ends right after). Input lands in one kernel page posted on port 0's
 * receiveq (from the first read or poll of stdin on), then is copied out.
 */
#include "vconsole.h"
#include "virtio_drv.h"
#include "errno.h"
#include "fs.h"
#include "lib.h"
#include "mm.h"
#include "proc.h"
#include "uaccess.h"

#define CONSOLE_QUEUE_SIZE 128
#define NR_QUEUES (2 + 2 * KVMBOX_CONSOLE_PORTS)
#define CTRL_RX_BUFS 4            /* the device holds what does not fit until some come back */
#define CTRL_BUF_SIZE 16          /* a control message and a resize */
#define CTRL_TX_SLOTS 8

static struct virtio_dev *con;
static enum { VC_UNPROBED, VC_READY, VC_NONE } state;
static unsigned ports_added, ports_opened;
static bool host_closed[KVMBOX_CONSOLE_PORTS];
static bool size_new;          /* a RESIZE not yet taken by TIOCGWINSZ */
static uint16_t size_rows, size_cols;

/* Control buffers: one page, receive buffers then transmit slots. */
static uint8_t *ctrl_page;
static uint64_t ctrl_page_pa;
static bool ctrl_tx_busy[CTRL_TX_SLOTS];

/* stdin: one page posted on port 0's receiveq. */
static uint8_t *in_page;
static uint64_t in_page_pa;
static bool in_posted;
static uint32_t in_len, in_off;
static struct waitq in_q;

static void post_ctrl_rx(unsigned i)
{
	struct kvmbox_seg s = { ctrl_page_pa + i * CTRL_BUF_SIZE, CTRL_BUF_SIZE };
	vq_add(&con->vqs[VIRTIO_CONSOLE_CTRL_RX], NULL, 0, &s, 1, (void *)(uintptr_t)(i + 1));
}

/* A device-to-driver control message (5.3.6.2). */
static void ctrl_message(const uint8_t *buf, uint32_t len)
{
	struct virtio_console_control m;
	if (len < sizeof(m))
		return;
	memcpy(&m, buf, sizeof(m));
	if (m.id >= KVMBOX_CONSOLE_PORTS)
		return;
	switch (m.event) {
	case VIRTIO_CONSOLE_DEVICE_ADD:
		ports_added++;
		break;
	case VIRTIO_CONSOLE_PORT_OPEN:
		ports_opened++;
		if (!m.value) {
			host_closed[m.id] = true; /* stdin: end of file; stdout/stderr: EPIPE */
			if (m.id == 0)
				waitq_wake(&in_q);
		}
		break;
	case VIRTIO_CONSOLE_RESIZE:
		if (len >= sizeof(m) + sizeof(struct virtio_console_resize)) {
			struct virtio_console_resize r;
			memcpy(&r, buf + sizeof(m), sizeof(r));
			size_rows = r.rows;
			size_cols = r.cols;
			size_new = true;
		}
		break;
	}
}

/* The interrupt: every queue's completions (a per-device vector, like MSI-X: one handler). */
static bool console_used(struct virtio_dev *d)
{
	void *tok;
	uint32_t len;
	bool any = false;
	/* Control messages first: a PORT_OPEN(0, 0) is only acted on after the data before it. */
	struct vq *crx = &d->vqs[VIRTIO_CONSOLE_CTRL_RX];
	bool repost = false;
	while ((tok = vq_get_used(crx, &len))) {
		unsigned i = (unsigned)(uintptr_t)tok - 1;
		ctrl_message(ctrl_page + i * CTRL_BUF_SIZE, MIN(len, CTRL_BUF_SIZE));
		post_ctrl_rx(i);
		repost = true;
	}
	if (repost)
		vq_kick(crx);
	any = repost;
	while ((tok = vq_get_used(&d->vqs[VIRTIO_CONSOLE_CTRL_TX], &len))) {
		ctrl_tx_busy[(uintptr_t)tok - 1] = false;
		any = true;
	}
	if (vq_get_used(&d->vqs[0], &len)) {
		any = true;
		in_posted = false;
		in_len = MIN(len, (uint32_t)PAGE_SIZE);
		in_off = 0;
		waitq_wake(&in_q);
	}
	for (unsigned p = 1; p < KVMBOX_CONSOLE_PORTS; p++) {
		struct vq_req *r;
		while ((r = vq_get_used(&d->vqs[virtio_console_txq(p)], &len))) {
			r->done = true;
			any = true;
		}
	}
	wakeup(d);
	return any;
}

/* Send a control message (slots are few; the device returns them at once). */
static void ctrl_send(uint32_t port, uint16_t event, uint16_t value)
{
	unsigned i;
	for (;;) {
		for (i = 0; i < CTRL_TX_SLOTS && ctrl_tx_busy[i]; i++)
			;
		if (i < CTRL_TX_SLOTS)
			break;
		sleep_on(con, false, 0);
	}
	ctrl_tx_busy[i] = true;
	uint64_t pa = ctrl_page_pa + (CTRL_RX_BUFS + i) * CTRL_BUF_SIZE;
	struct virtio_console_control m = { port, event, value };
	memcpy(P2V(pa), &m, sizeof(m));
	struct kvmbox_seg s = { pa, sizeof(m) };
	vq_add(&con->vqs[VIRTIO_CONSOLE_CTRL_TX], &s, 1, NULL, 0, (void *)(uintptr_t)(i + 1));
	vq_kick(&con->vqs[VIRTIO_CONSOLE_CTRL_TX]);
}

static bool setup(void)
{
	con = virtio_find(VIRTIO_ID_CONSOLE);
	if (!con)
		return false;
	/*
	 * Queues nothing ever uses stay not ready (each costs ~15 register
	 * exits to set up): port 0's transmitq (writes to fd 0 go to port 1)
	 * and the receiveqs of ports 1 and 2 (the host side only takes output).
	 */
	con->unused_vqs = (1u << virtio_console_txq(0)) | (1u << virtio_console_rxq(1)) |
			  (1u << virtio_console_rxq(2));
	if (virtio_init(con, 1ull << VIRTIO_CONSOLE_F_MULTIPORT, NR_QUEUES, CONSOLE_QUEUE_SIZE,
			console_used))
		return false;
	if (!(con->features & (1ull << VIRTIO_CONSOLE_F_MULTIPORT)))
		return false;
	ctrl_page_pa = page_alloc_zeroed();
	in_page_pa = page_alloc_zeroed();
	if (!ctrl_page_pa || !in_page_pa)
		return false;
	ctrl_page = P2V(ctrl_page_pa);
	in_page = P2V(in_page_pa);
	for (unsigned i = 0; i < CTRL_RX_BUFS; i++)
		post_ctrl_rx(i);
	vq_kick(&con->vqs[VIRTIO_CONSOLE_CTRL_RX]);
	/* 5.3.6.2: DEVICE_READY, then every port arrives as DEVICE_ADD; answer PORT_READY. */
	ctrl_send(0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	while (ports_added < KVMBOX_CONSOLE_PORTS && !con->broken)
		sleep_on(con, false, 0);
	if (con->broken)
		return false;
	for (uint32_t p = 0; p < KVMBOX_CONSOLE_PORTS; p++)
		ctrl_send(p, VIRTIO_CONSOLE_PORT_READY, 1);
	/* The PORT_OPEN answers (after RESIZE for terminals) are awaited only by TIOCGWINSZ. */
	return !con->broken;
}

bool vcons_ready(void)
{
	if (likely(state == VC_READY))
		return !con->broken;
	if (state == VC_NONE)
		return false;
	state = VC_NONE; /* also while setting up: printk and friends take the hypercall path */
	if (setup())
		state = VC_READY;
	return state == VC_READY;
}

/*
 * The set-up costs ~8,700 CPL0 instructions and ~75 register exits (~9 ms
 * where CPL0 is emulated): more than a short program's whole run. Its first
 * writes take one CONSOLE_WRITE hypercall each instead (zero copy too, and
 * synchronous like vcons_write, so the order of output holds across the
 * switch); past EARLY_WRITES writes or EARLY_BYTES bytes the device takes
 * over, off the vCPU thread, for good.
 */
#define EARLY_WRITES 16
#define EARLY_BYTES  (64 * 1024)
static unsigned early_writes;
static uint64_t early_bytes;

bool vcons_for_write(uint64_t len)
{
	if (likely(state == VC_READY))
		return !con->broken;
	if (state == VC_NONE)
		return false;
	if (early_writes < EARLY_WRITES && len <= EARLY_BYTES - early_bytes) {
		early_writes++;
		early_bytes += len;
		return false;
	}
	return vcons_ready();
}

ssize_t vcons_write(unsigned port, const struct kvmbox_seg *segs, unsigned nr)
{
	if (host_closed[port])
		return -EPIPE;
	struct vq *q = &con->vqs[virtio_console_txq(port)];
	struct vq_req r = { 0 };
	while (vq_add(q, segs, nr, NULL, 0, &r) == -ENOSPC && !con->broken)
		sleep_on(con, false, 0);
	if (con->broken)
		return -EIO;
	vq_kick(q);
	/* Uninterruptible: the chain points at the program's pages until the device returns it. */
	if (!vq_wait(con, &r))
		return -EIO;
	if (host_closed[port])
		return -EPIPE;
	uint64_t total = 0;
	for (unsigned i = 0; i < nr; i++)
		total += segs[i].len;
	return (ssize_t)total;
}

/* Post the input page once stdin is of interest (the device reads host stdin only then). */
static void want_input(void)
{
	if (in_posted || in_off < in_len || host_closed[0] || con->broken)
		return;
	struct kvmbox_seg s = { in_page_pa, PAGE_SIZE };
	if (vq_add(&con->vqs[0], NULL, 0, &s, 1, in_page) == 0) {
		in_posted = true;
		vq_kick(&con->vqs[0]);
	}
}

ssize_t vcons_read(const struct kiovec *iov, int cnt, bool nonblock)
{
	want_input();
	while (in_off >= in_len) {
		if (host_closed[0] || con->broken)
			return 0;
		if (nonblock)
			return -EAGAIN;
		if (waitq_sleep(&in_q, 0) == -EINTR)
			return -ERESTARTSYS;
	}
	ssize_t total = 0;
	for (int i = 0; i < cnt && in_off < in_len; i++) {
		uint32_t n = (uint32_t)MIN((uint64_t)(in_len - in_off), iov[i].len);
		if (n && copy_to_user(iov[i].base, in_page + in_off, n))
			return total ? total : -EFAULT;
		in_off += n;
		total += n;
	}
	want_input();
	return total;
}

unsigned vcons_poll_in(struct poll_table *pt)
{
	want_input();
	if (in_off < in_len || host_closed[0] || con->broken)
		return POLLIN | POLLRDNORM;
	poll_wait(pt, &in_q);
	return 0;
}

int vcons_nread(void)
{
	if (state != VC_READY)
		return 0;
	return (int)(in_len - in_off);
}

bool vcons_winsize(uint16_t *rows, uint16_t *cols)
{
	/* Each port answers PORT_READY with PORT_OPEN, after its RESIZE when it is a terminal. */
	while (ports_opened < KVMBOX_CONSOLE_PORTS && !con->broken)
		sleep_on(con, false, 0);
	if (!size_new)
		return false;
	size_new = false;
	*rows = size_rows;
	*cols = size_cols;
	return true;
}
