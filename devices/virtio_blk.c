/*
 * virtio-blk (virtio spec v1.2, 5.2) over a raw image file. Every request
 * is checked before any host I/O (header size, direction of each part,
 * 512-byte multiples, range inside the capacity, read-only); the data
 * moves by io_uring straight between the image and the guest's buffers
 * (iovecs into guest memory: no bounce buffer on the host either).
 * Completions the submit itself produced (page-cache hits) are finished
 * at once; the others arrive on an eventfd the I/O thread watches.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "virtio_blk.h"

#define BLK_QUEUE_SIZE 128
/* A chain never has more buffers than the queue has entries (2.7.5.3.1). */
#define BLK_MAX_BUFFERS BLK_QUEUE_SIZE
#define BLK_MAX_DISCARD_SEG 16
#define BLK_MAX_DISCARD_SECTORS (1u << 23)   /* 4 GiB per segment */
#define BLK_RING_ENTRIES 256

struct blk_req {
	bool busy;                /* submitted to io_uring, not yet completed */
	uint16_t head;
	unsigned pending;         /* SQEs not yet completed */
	uint64_t expect;          /* IN/OUT: the byte count each completion must report */
	uint8_t result;           /* VIRTIO_BLK_S_* to write at the end */
	uint8_t *status;          /* the status byte, in guest memory */
	uint32_t used_len;        /* bytes written into the device-writable part (2.7.8) */
	struct iovec iov[BLK_MAX_BUFFERS];
};

struct virtio_blk {
	struct virtio_device dev;
	int fd;
	bool ro;
	struct virtio_blk_config config;
	char id[VIRTIO_BLK_ID_BYTES];
	struct io_uring ring;
	int event_fd;             /* io_uring completions (io_uring_register_eventfd) */
	unsigned inflight;        /* requests in io_uring */
	bool draining;            /* reset: complete requests without touching the queue */
	struct virtq_iov chain_iov[BLK_MAX_BUFFERS];
	struct blk_req reqs[BLK_QUEUE_SIZE]; /* indexed by chain head (< queue size) */
};

/* ---- images ------------------------------------------------------------------ */

int blk_image_open(const char *spec, struct blk_image *img, char *err, size_t err_size)
{
	memset(img, 0, sizeof(*img));
	img->fd = -1;
	char *path = strdup(spec);
	if (!path) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	/* PATH[,ro]: a suffix after the last comma is a flag, unless PATH itself has the comma. */
	char *comma = strrchr(path, ',');
	struct stat st;
	if (comma && stat(path, &st) < 0) {
		*comma = 0;
		if (strcmp(comma + 1, "ro")) {
			snprintf(err, err_size, "--disk %s: unknown flag \"%s\" (expected PATH or PATH,ro)",
				 spec, comma + 1);
			free(path);
			return -1;
		}
		img->ro = true;
	}
	if (!path[0]) {
		snprintf(err, err_size, "--disk %s: empty path", spec);
		free(path);
		return -1;
	}
	img->path = path;
	img->fd = open(path, (img->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (img->fd < 0 || fstat(img->fd, &st) < 0) {
		snprintf(err, err_size, "--disk %s: cannot open %s%s: %s", spec, path,
			 img->ro ? " for reading" : " for reading and writing", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "--disk %s: not a regular file (a raw disk image is one)", spec);
		goto fail;
	}
	img->size = (uint64_t)st.st_size;
	return 0;
fail:
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	free(path);
	img->path = NULL;
	return -1;
}

/* ---- requests ------------------------------------------------------------------ */

/*
 * iovecs for bytes [off, off + len) of the chain's buffers [first, first + n):
 * the guest's own memory (checked by the walker). Returns how many.
 */
static unsigned chain_iovecs(const struct virtq_chain *c, unsigned first, unsigned n, uint64_t off,
			     uint64_t len, struct iovec *out)
{
	unsigned k = 0;
	for (unsigned i = first; i < first + n && len; i++) {
		const struct virtq_iov *v = &c->iov[i];
		if (off >= v->len) {
			off -= v->len;
			continue;
		}
		uint64_t take = v->len - off < len ? v->len - off : len;
		out[k++] = (struct iovec){ (char *)v->base + off, take };
		len -= take;
		off = 0;
	}
	return k;
}

static struct io_uring_sqe *get_sqe(struct virtio_blk *b)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	if (!sqe) {
		io_uring_submit(&b->ring); /* the kernel takes the queued ones: room again */
		sqe = io_uring_get_sqe(&b->ring);
	}
	return sqe;
}

/* Finish a request: status byte, used ring (unless the queue went away meanwhile). */
static void finish(struct virtio_blk *b, struct blk_req *r)
{
	r->busy = false;
	if (b->draining || !virtio_queue_usable(&b->dev, 0))
		return;
	__atomic_store_n(r->status, r->result, __ATOMIC_RELAXED);
	virtq_push(&b->dev.queues[0].vq, r->head, r->used_len);
}

/* Inside the disk: [sector, sector + bytes / 512) within capacity, without overflow. */
static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t cap = b->config.capacity;
	return sector <= cap && bytes / VIRTIO_BLK_SECTOR_SIZE <= cap - sector;
}

/*
 * Check one chain and either finish it at once (bad request, GET_ID,
 * nothing to do) or hand it to io_uring. Returns -1 only when the chain
 * has no status byte to report on: the driver broke the queue.
 */
static int start_request(struct virtio_blk *b, const struct virtq_chain *c)
{
	struct virtio_device *dev = &b->dev;
	/* 5.2.6: the last device-writable byte is the status. */
	if (c->in_len < 1) {
		virtio_device_fail(dev, "request %u has no device-writable status byte", c->head);
		return -1;
	}
	struct blk_req *r = &b->reqs[c->head];
	if (r->busy) {
		virtio_device_fail(dev, "request %u made available again while in flight", c->head);
		return -1;
	}
	const struct virtq_iov *last = &c->iov[c->nr_out + c->nr_in - 1];
	r->head = c->head;
	r->status = (uint8_t *)last->base + last->len - 1;
	r->result = VIRTIO_BLK_S_IOERR;
	r->used_len = 1;
	r->pending = 0;
	r->expect = 0;

	struct virtio_blk_outhdr h;
	uint64_t data_in = c->in_len - 1;                      /* writable bytes before the status */
	if (c->out_len < sizeof(h) || virtq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		goto done;                                     /* no header: IOERR */
	uint64_t data_out = c->out_len - sizeof(h);            /* readable bytes after the header */
	struct io_uring_sqe *sqe;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool in = h.type == VIRTIO_BLK_T_IN;
		uint64_t len = in ? data_in : data_out;
		/* 5.2.6.1: data is a multiple of 512 bytes, in the one direction the type says. */
		if ((in ? data_out : data_in) || len % VIRTIO_BLK_SECTOR_SIZE || !in_range(b, h.sector, len))
			goto done;
		/* 5.2.6.2: a read-only device fails every write and writes nothing. */
		if (!in && b->ro)
			goto done;
		if (len == 0) {
			r->result = VIRTIO_BLK_S_OK;
			goto done;
		}
		unsigned n = in ? chain_iovecs(c, c->nr_out, c->nr_in, 0, len, r->iov)
				: chain_iovecs(c, 0, c->nr_out, sizeof(h), len, r->iov);
		if (!(sqe = get_sqe(b)))
			goto done;
		if (in)
			io_uring_prep_readv(sqe, b->fd, r->iov, n, h.sector * VIRTIO_BLK_SECTOR_SIZE);
		else
			io_uring_prep_writev(sqe, b->fd, r->iov, n, h.sector * VIRTIO_BLK_SECTOR_SIZE);
		io_uring_sqe_set_data(sqe, r);
		r->expect = len;
		r->pending = 1;
		r->result = VIRTIO_BLK_S_OK;
		r->used_len = (uint32_t)(in ? len + 1 : 1);
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		/* 5.2.6.1: sector 0 and no data. */
		if (h.sector || data_in || data_out)
			goto done;
		if (!(sqe = get_sqe(b)))
			goto done;
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data(sqe, r);
		r->pending = 1;
		r->result = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		/* 5.2.6: up to 20 bytes, NUL-terminated when shorter. */
		uint64_t n = data_in < VIRTIO_BLK_ID_BYTES ? data_in : VIRTIO_BLK_ID_BYTES;
		if (data_out || data_in == 0)
			goto done;
		virtq_chain_write(c, 0, b->id, n);
		r->used_len = (uint32_t)n + 1;
		r->result = VIRTIO_BLK_S_OK;
		goto done;
	}
	case VIRTIO_BLK_T_DISCARD: {
		uint64_t nseg = data_out / sizeof(struct virtio_blk_discard);
		if (data_in || data_out % sizeof(struct virtio_blk_discard) || nseg == 0 ||
		    nseg > BLK_MAX_DISCARD_SEG || b->ro)
			goto done;
		struct virtio_blk_discard seg[BLK_MAX_DISCARD_SEG];
		virtq_chain_read(c, sizeof(h), seg, nseg * sizeof(seg[0]));
		for (uint64_t i = 0; i < nseg; i++) {
			/* 5.2.6.2: the unmap flag and unknown flags are UNSUPP on a discard. */
			if (seg[i].flags) {
				r->result = VIRTIO_BLK_S_UNSUPP;
				goto done;
			}
			if (seg[i].num_sectors > BLK_MAX_DISCARD_SECTORS ||
			    !in_range(b, seg[i].sector, (uint64_t)seg[i].num_sectors * VIRTIO_BLK_SECTOR_SIZE))
				goto done;
		}
		r->result = VIRTIO_BLK_S_OK;
		for (uint64_t i = 0; i < nseg; i++) {
			if (!seg[i].num_sectors)
				continue;
			if (!(sqe = get_sqe(b))) {
				r->result = VIRTIO_BLK_S_IOERR;
				break;
			}
			/* A hole reads back as zeros; the image keeps its size. */
			io_uring_prep_fallocate(sqe, b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						seg[i].sector * VIRTIO_BLK_SECTOR_SIZE,
						(uint64_t)seg[i].num_sectors * VIRTIO_BLK_SECTOR_SIZE);
			io_uring_sqe_set_data(sqe, r);
			r->pending++;
		}
		if (!r->pending)
			goto done;
		break;
	}
	default:
		r->result = VIRTIO_BLK_S_UNSUPP;
		goto done;
	}
	r->busy = true;
	b->inflight++;
	return 0;
done:
	finish(b, r);
	return 0;
}

static void reap(struct virtio_blk *b);

static void blk_notify(struct virtio_device *dev, uint16_t q)
{
	struct virtio_blk *b = dev->priv;
	struct virtq *vq = &dev->queues[q].vq;
	struct virtq_chain c = { .iov = b->chain_iov, .cap = BLK_MAX_BUFFERS };
	do {
		int r;
		while ((r = virtq_pop(vq, &c)) > 0) {
			if (start_request(b, &c)) {
				io_uring_submit(&b->ring); /* what was started still completes */
				return;
			}
		}
		io_uring_submit(&b->ring);
		/*
		 * Reads the page cache holds complete inside the submit: finish them
		 * now rather than after the eventfd's trip through epoll (which then
		 * finds nothing). Not io_uring_register_eventfd_async: completions
		 * posted by task work in this thread would never signal it.
		 */
		reap(b);
		if (r < 0) {
			virtio_device_fail(dev, "request queue: %s", vq->error);
			return;
		}
		virtio_queue_interrupt(dev, q);
	} while (virtq_enable_notify(vq));
}

/* Take every completion io_uring has; finish the requests whose last SQE it was. */
static void reap(struct virtio_blk *b)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&b->ring, head, cqe) {
		struct blk_req *r = io_uring_cqe_get_data(cqe);
		n++;
		if (!r || !r->busy)
			continue;
		/* A short transfer is an error too: the image shrank under us, or the host failed. */
		if (cqe->res < 0 || (r->expect && (uint64_t)cqe->res != r->expect))
			r->result = VIRTIO_BLK_S_IOERR;
		if (--r->pending == 0) {
			b->inflight--;
			finish(b, r);
		}
	}
	io_uring_cq_advance(&b->ring, n);
}

void virtio_blk_complete(struct virtio_device *dev)
{
	struct virtio_blk *b = dev->priv;
	uint64_t count;
	if (read(b->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&dev->lock);
	reap(b);
	if (virtio_queue_usable(dev, 0))
		virtio_queue_interrupt(dev, 0);
	pthread_mutex_unlock(&dev->lock);
}

int virtio_blk_event_fd(struct virtio_device *dev)
{
	return ((struct virtio_blk *)dev->priv)->event_fd;
}

/* 2.4: a reset forgets the queue; host I/O already started into guest memory is waited for. */
static void blk_reset(struct virtio_device *dev)
{
	struct virtio_blk *b = dev->priv;
	b->draining = true;
	while (b->inflight) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(&b->ring, &cqe) < 0)
			break;
		reap(b);
	}
	b->draining = false;
}

static void blk_config_read(struct virtio_device *dev, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_blk *b = dev->priv;
	memcpy(buf, (const uint8_t *)&b->config + off, len);
}

static const struct virtio_device_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_DISCARD),
	.num_queues = 1,
	.queue_num_max = BLK_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.notify = blk_notify,
	.reset = blk_reset,
};

static const struct virtio_device_ops blk_ro_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_DISCARD) |
		    (1ull << VIRTIO_BLK_F_RO),
	.num_queues = 1,
	.queue_num_max = BLK_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.notify = blk_notify,
	.reset = blk_reset,
};

struct virtio_device *virtio_blk_create(struct vm *vm, const struct blk_image *img, unsigned index,
					char *err, size_t err_size)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	virtio_device_init(&b->dev, img->ro ? &blk_ro_ops : &blk_ops, vm, b);
	b->fd = img->fd;
	b->ro = img->ro;
	snprintf(b->id, sizeof(b->id), "kvmbox-disk%u", index);
	b->config = (struct virtio_blk_config){
		.capacity = img->size / VIRTIO_BLK_SECTOR_SIZE,
		.seg_max = BLK_QUEUE_SIZE - 2, /* header and status take two descriptors */
		.blk_size = VIRTIO_BLK_SECTOR_SIZE,
		.max_discard_sectors = BLK_MAX_DISCARD_SECTORS,
		.max_discard_seg = BLK_MAX_DISCARD_SEG,
		.discard_sector_alignment = 8, /* 4 KiB: a host file system's block */
	};
	int e = io_uring_queue_init(BLK_RING_ENTRIES, &b->ring, 0);
	if (e < 0) {
		snprintf(err, err_size, "--disk %s: io_uring_queue_init: %s", img->path, strerror(-e));
		free(b);
		return NULL;
	}
	b->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->event_fd < 0 || (e = io_uring_register_eventfd(&b->ring, b->event_fd)) < 0) {
		snprintf(err, err_size, "--disk %s: io_uring eventfd: %s", img->path,
			 strerror(b->event_fd < 0 ? errno : -e));
		io_uring_queue_exit(&b->ring);
		if (b->event_fd >= 0)
			close(b->event_fd);
		free(b);
		return NULL;
	}
	return &b->dev;
}
