/* virtio-rng (virtio spec v1.2, 5.4): fill each device-writable buffer with host entropy. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "virtio_rng.h"

#define RNG_QUEUE_SIZE 64
#define RNG_MAX_BUFFERS RNG_QUEUE_SIZE /* a chain is never longer than the queue (2.7.5.3.1) */

struct virtio_rng {
	struct virtio_device dev;
	int test_pattern;                /* 0, or the byte value to serve (tests) */
	struct virtq_iov iov[RNG_MAX_BUFFERS];
};

/* Fill [p, p + len) from the host's entropy pool (getrandom(2): never short after init, but loop). */
static size_t fill(struct virtio_rng *rng, void *p, size_t len)
{
	if (rng->test_pattern) {
		memset(p, rng->test_pattern, len);
		return len;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = getrandom((char *)p + done, len - done, 0);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

static void rng_notify(struct virtio_device *dev, uint16_t q)
{
	struct virtio_rng *rng = dev->priv;
	struct virtq *vq = &dev->queues[q].vq;
	struct virtq_chain c = { .iov = rng->iov, .cap = RNG_MAX_BUFFERS };
	do {
		int r;
		while ((r = virtq_pop(vq, &c)) > 0) {
			/* 5.4.6.1: the driver's buffers are device-writable only. */
			if (c.nr_out) {
				virtio_device_fail(dev, "request %u has a device-readable buffer", c.head);
				return;
			}
			uint64_t written = 0;
			for (unsigned i = 0; i < c.nr_in; i++)
				written += fill(rng, c.iov[i].base, c.iov[i].len);
			virtq_push(vq, c.head, (uint32_t)written);
		}
		if (r < 0) {
			virtio_device_fail(dev, "request queue: %s", vq->error);
			return;
		}
		virtio_queue_interrupt(dev, q);
	} while (virtq_enable_notify(vq));
}

static const struct virtio_device_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_num_max = RNG_QUEUE_SIZE,
	.notify = rng_notify,
};

struct virtio_device *virtio_rng_create(struct vm *vm, int test_pattern)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	if (!rng)
		return NULL;
	virtio_device_init(&rng->dev, &rng_ops, vm, rng);
	rng->test_pattern = test_pattern & 0xff;
	return &rng->dev;
}
