/*
 * virtio-console with VIRTIO_CONSOLE_F_MULTIPORT (virtio spec v1.2, 5.3):
 * the program's stdin, stdout and stderr as ports 0, 1, 2 on kvmbox's own
 * fds 0, 1, 2. Host I/O goes straight between the host fd and the guest
 * buffers (readv/writev on the translated descriptors): no copy here either.
 * Blocking host I/O runs with dev->lock dropped, so a slow reader of
 * stdout never stalls the vCPU's register accesses.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>
#include "virtio_console.h"

#define CONSOLE_QUEUE_SIZE 128
#define NR_QUEUES (2 + 2 * KVMBOX_CONSOLE_PORTS)
#define CTRL_PENDING_MAX 32

struct ctrl_msg {
	struct virtio_console_control c;
	struct virtio_console_resize resize; /* RESIZE only */
	uint32_t len;
};

struct virtio_console {
	struct virtio_device dev;
	struct virtio_console_config config;
	bool closed[KVMBOX_CONSOLE_PORTS];     /* PORT_OPEN(port, 0) sent */
	/* Device-to-driver control messages waiting for a control receive buffer. */
	struct ctrl_msg pending[CTRL_PENDING_MAX];
	unsigned nr_pending;
	/* The stdin reader thread: waits for a port 0 receive buffer. */
	pthread_t reader;
	bool reader_started;
	pthread_cond_t rx_posted;
	uint32_t generation;                  /* bumped on reset: a read in flight is dropped */
	struct virtq_iov iov[CONSOLE_QUEUE_SIZE];
	struct virtq_iov ctrl_iov[CONSOLE_QUEUE_SIZE];
};

/* ---- control messages --------------------------------------------------------- */

static void queue_ctrl(struct virtio_console *con, uint32_t port, uint16_t event, uint16_t value)
{
	if (con->nr_pending == CTRL_PENDING_MAX)
		return; /* the driver stopped taking control messages; dropping more is all we can do */
	struct ctrl_msg *m = &con->pending[con->nr_pending++];
	m->c = (struct virtio_console_control){ port, event, value };
	m->len = sizeof(m->c);
	if (event == VIRTIO_CONSOLE_RESIZE) {
		struct winsize ws;
		if (ioctl((int)port, TIOCGWINSZ, &ws) == 0)
			m->resize = (struct virtio_console_resize){ ws.ws_col, ws.ws_row };
		m->len += sizeof(m->resize);
	}
}

/* Deliver pending control messages into the driver's control receive buffers (lock held). */
static void flush_ctrl(struct virtio_console *con)
{
	struct virtio_device *dev = &con->dev;
	if (!virtio_queue_usable(dev, VIRTIO_CONSOLE_CTRL_RX) || !con->nr_pending)
		return;
	struct virtq *vq = &dev->queues[VIRTIO_CONSOLE_CTRL_RX].vq;
	struct virtq_chain c = { .iov = con->ctrl_iov, .cap = CONSOLE_QUEUE_SIZE };
	unsigned sent = 0;
	while (sent < con->nr_pending) {
		int r = virtq_pop(vq, &c);
		/* Out of buffers with messages left: ask for a kick when more come (EVENT_IDX), re-check. */
		if (r == 0 && virtq_enable_notify(vq))
			r = virtq_pop(vq, &c);
		if (r < 0) {
			virtio_device_fail(dev, "control receiveq: %s", vq->error);
			return;
		}
		if (r == 0)
			break;
		struct ctrl_msg *m = &con->pending[sent];
		if (c.nr_out || c.in_len < m->len) {
			virtio_device_fail(dev, "control receive buffer %u: %llu writable bytes, need %u",
					   c.head, (unsigned long long)c.in_len, m->len);
			return;
		}
		virtq_chain_write(&c, 0, &m->c, sizeof(m->c));
		if (m->len > sizeof(m->c))
			virtq_chain_write(&c, sizeof(m->c), &m->resize, sizeof(m->resize));
		virtq_push(vq, c.head, m->len);
		sent++;
	}
	memmove(con->pending, con->pending + sent, (con->nr_pending - sent) * sizeof(con->pending[0]));
	con->nr_pending -= sent;
	virtio_queue_interrupt(dev, VIRTIO_CONSOLE_CTRL_RX);
}

/* The driver's control messages (5.3.6.2). */
static void ctrl_tx(struct virtio_console *con, uint16_t q)
{
	struct virtio_device *dev = &con->dev;
	struct virtq *vq = &dev->queues[q].vq;
	struct virtq_chain c = { .iov = con->ctrl_iov, .cap = CONSOLE_QUEUE_SIZE };
	int r;
	while ((r = virtq_pop(vq, &c)) > 0) {
		struct virtio_console_control m;
		if (c.nr_in || virtq_chain_read(&c, 0, &m, sizeof(m)) != sizeof(m)) {
			virtio_device_fail(dev, "control message %u: not an 8-byte device-readable buffer", c.head);
			return;
		}
		virtq_push(vq, c.head, 0);
		if (m.event == VIRTIO_CONSOLE_DEVICE_READY && m.value == 1) {
			/* Announce every port at once: the driver needs one interrupt for all. */
			for (uint32_t p = 0; p < KVMBOX_CONSOLE_PORTS; p++)
				queue_ctrl(con, p, VIRTIO_CONSOLE_DEVICE_ADD, 0);
		} else if (m.event == VIRTIO_CONSOLE_PORT_READY && m.value == 1 && m.id < KVMBOX_CONSOLE_PORTS) {
			if (isatty((int)m.id)) {
				queue_ctrl(con, m.id, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
				queue_ctrl(con, m.id, VIRTIO_CONSOLE_RESIZE, 0);
			}
			queue_ctrl(con, m.id, VIRTIO_CONSOLE_PORT_OPEN, !con->closed[m.id]);
		} else if (m.id >= KVMBOX_CONSOLE_PORTS && m.event != VIRTIO_CONSOLE_DEVICE_READY) {
			virtio_device_fail(dev, "control message for port %u; the device has %u", m.id,
					   KVMBOX_CONSOLE_PORTS);
			return;
		}
		/* PORT_OPEN from the driver (a program opened/closed the port) needs nothing here. */
	}
	if (r < 0) {
		virtio_device_fail(dev, "control transmitq: %s", vq->error);
		return;
	}
	virtio_queue_interrupt(dev, q);
	flush_ctrl(con);
}

/* ---- output ------------------------------------------------------------------- */

/* Write all of iov to fd (pipes and terminals take part of it at a time; O_NONBLOCK fds wait). */
static int write_all(int fd, struct iovec *v, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(fd, v, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				poll(&pfd, 1, -1);
				continue;
			}
			return -errno;
		}
		while (cnt > 0 && (size_t)n >= v->iov_len) {
			n -= (ssize_t)v->iov_len;
			v++;
			cnt--;
		}
		if (cnt > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static void port_tx(struct virtio_console *con, uint16_t q, unsigned port)
{
	struct virtio_device *dev = &con->dev;
	struct virtq *vq = &dev->queues[q].vq;
	struct virtq_chain c = { .iov = con->iov, .cap = CONSOLE_QUEUE_SIZE };
	int r;
	while ((r = virtq_pop(vq, &c)) > 0) {
		/* 5.3.6.1: transmit buffers are device-readable. */
		if (c.nr_in) {
			virtio_device_fail(dev, "port %u transmit buffer %u is device-writable", port, c.head);
			return;
		}
		struct iovec v[CONSOLE_QUEUE_SIZE];
		for (unsigned i = 0; i < c.nr_out; i++)
			v[i] = (struct iovec){ c.iov[i].base, c.iov[i].len };
		uint32_t gen = con->generation;
		int err = 0;
		if (!con->closed[port]) {
			/* The guest's pages stay posted until we push: write them without the lock. */
			pthread_mutex_unlock(&dev->lock);
			err = write_all((int)port, v, (int)c.nr_out);
			pthread_mutex_lock(&dev->lock);
		}
		if (gen != con->generation || !virtio_queue_usable(dev, q))
			return; /* reset meanwhile */
		if (err && !con->closed[port]) {
			/* A closed pipe or a failing file: tell the driver before returning the buffer. */
			con->closed[port] = true;
			queue_ctrl(con, port, VIRTIO_CONSOLE_PORT_OPEN, 0);
			flush_ctrl(con);
		}
		virtq_push(vq, c.head, 0);
		virtio_queue_interrupt(dev, q);
	}
	if (r < 0)
		virtio_device_fail(dev, "port %u transmitq: %s", port, vq->error);
}

/* ---- input (port 0) ------------------------------------------------------------ */

static void *reader_main(void *arg)
{
	struct virtio_console *con = arg;
	struct virtio_device *dev = &con->dev;
	struct virtq_chain c = { .cap = CONSOLE_QUEUE_SIZE };
	struct virtq_iov iov[CONSOLE_QUEUE_SIZE];
	c.iov = iov;
	pthread_mutex_lock(&dev->lock);
	for (;;) {
		int r = 0;
		if (virtio_queue_usable(dev, 0) && !con->closed[0])
			r = virtq_pop(&dev->queues[0].vq, &c);
		if (r < 0) {
			virtio_device_fail(dev, "port 0 receiveq: %s", dev->queues[0].vq.error);
			continue;
		}
		if (r == 0) {
			/* Ask for a notification and re-check before sleeping (no lost wakeup). */
			if (virtio_queue_usable(dev, 0) && !con->closed[0] &&
			    virtq_enable_notify(&dev->queues[0].vq))
				continue;
			pthread_cond_wait(&con->rx_posted, &dev->lock);
			continue;
		}
		if (c.nr_out) {
			virtio_device_fail(dev, "port 0 receive buffer %u is device-readable", c.head);
			continue;
		}
		struct iovec v[CONSOLE_QUEUE_SIZE];
		for (unsigned i = 0; i < c.nr_in; i++)
			v[i] = (struct iovec){ c.iov[i].base, c.iov[i].len };
		uint32_t gen = con->generation;
		pthread_mutex_unlock(&dev->lock);
		ssize_t n;
		do {
			n = readv(0, v, (int)c.nr_in);
			if (n < 0 && errno == EAGAIN) {
				struct pollfd pfd = { .fd = 0, .events = POLLIN };
				poll(&pfd, 1, -1);
			}
		} while (n < 0 && (errno == EINTR || errno == EAGAIN));
		pthread_mutex_lock(&dev->lock);
		if (gen != con->generation || !virtio_queue_usable(dev, 0))
			continue;
		virtq_push(&dev->queues[0].vq, c.head, n > 0 ? (uint32_t)n : 0);
		virtio_queue_interrupt(dev, 0);
		if (n <= 0) {
			/* End of file (or an error): the port's host side closed (5.3.6.2 PORT_OPEN 0). */
			con->closed[0] = true;
			queue_ctrl(con, 0, VIRTIO_CONSOLE_PORT_OPEN, 0);
			flush_ctrl(con);
		}
	}
	return NULL;
}

/* ---- the device interface ------------------------------------------------------------ */

static void console_notify(struct virtio_device *dev, uint16_t q)
{
	struct virtio_console *con = dev->priv;
	/*
	 * With EVENT_IDX the driver notifies only when avail_event asks
	 * (2.7.10): every queue re-arms it after its work, and re-checks.
	 */
	if (q == VIRTIO_CONSOLE_CTRL_TX) {
		do
			ctrl_tx(con, q);
		while (virtio_queue_usable(dev, q) && virtq_enable_notify(&dev->queues[q].vq));
	} else if (q == VIRTIO_CONSOLE_CTRL_RX) {
		do
			flush_ctrl(con);
		while (virtio_queue_usable(dev, q) && virtq_enable_notify(&dev->queues[q].vq) &&
		       con->nr_pending);
	} else if (q == 0) {
		/* (The reader thread re-arms port 0's receiveq when it runs out of buffers.) */
		/* Port 0 receive buffers: the reader thread, started at the first one. */
		if (!con->reader_started) {
			con->reader_started = true;
			pthread_attr_t attr;
			pthread_attr_init(&attr);
			pthread_attr_setstacksize(&attr, 256 * 1024);
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			if (pthread_create(&con->reader, &attr, reader_main, con))
				virtio_device_fail(dev, "cannot start the stdin reader thread");
			pthread_attr_destroy(&attr);
		}
		pthread_cond_signal(&con->rx_posted);
	} else if (q & 1) {
		port_tx(con, q, q == 1 ? 0 : (q - 3) / 2);
		/* Keep going while the driver posted more during the host write. */
		while (virtio_queue_usable(dev, q) && virtq_enable_notify(&dev->queues[q].vq))
			port_tx(con, q, q == 1 ? 0 : (q - 3) / 2);
	}
	/* Receive queues of ports 1 and 2 carry nothing: those host fds are output only. */
}

static void console_config_read(struct virtio_device *dev, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_console *con = dev->priv;
	memcpy(buf, (char *)&con->config + off, len);
}

static void console_reset(struct virtio_device *dev)
{
	struct virtio_console *con = dev->priv;
	con->generation++;
	con->nr_pending = 0;
}

static const struct virtio_device_ops console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.features = 1ull << VIRTIO_CONSOLE_F_MULTIPORT,
	.num_queues = NR_QUEUES,
	.queue_num_max = CONSOLE_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_console_config),
	.config_read = console_config_read,
	.notify = console_notify,
	.reset = console_reset,
};

struct virtio_device *virtio_console_create(struct vm *vm)
{
	struct virtio_console *con = calloc(1, sizeof(*con));
	if (!con)
		return NULL;
	virtio_device_init(&con->dev, &console_ops, vm, con);
	con->config.max_nr_ports = KVMBOX_CONSOLE_PORTS;
	pthread_cond_init(&con->rx_posted, NULL);
	return &con->dev;
}
