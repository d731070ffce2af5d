/* virtio-rng driver (virtio spec v1.2, 5.4): getrandom(2) and /dev/[u]random read straight into the program's pages. */
#include "virtio_drv.h"
#include "errno.h"
#include "lib.h"
#include "proc.h"
#include "random.h"
#include "uaccess.h"

#define RNG_QUEUE_SIZE 16
#define RNG_MAX_SEGS 8

static struct virtio_dev *rng;
static enum { RNG_UNPROBED, RNG_READY, RNG_NONE } state;

/* Lazily, at the first request: the device from the device tree, initialized (3.1.1). */
static bool rng_ready(void)
{
	if (likely(state == RNG_READY))
		return !rng->broken;
	if (state == RNG_NONE)
		return false;
	rng = virtio_find(VIRTIO_ID_RNG);
	state = rng && virtio_init(rng, 0, 1, RNG_QUEUE_SIZE, vq_used_wake) == 0 ? RNG_READY : RNG_NONE;
	return state == RNG_READY;
}

long virtio_rng_read(uint64_t ubuf, size_t len)
{
	if (!rng_ready())
		return -ENODEV;
	struct vq *q = &rng->vqs[0];
	size_t done = 0;
	while (done < len) {
		struct kvmbox_seg segs[RNG_MAX_SEGS];
		unsigned n;
		/* The program's own pages, faulted in writable: the device fills them (zero copy). */
		long got = user_segs(ubuf + done, len - done, true, segs, RNG_MAX_SEGS, &n);
		if (got < 0)
			return done ? (long)done : got;
		struct vq_req r = { 0 };
		while (vq_add(q, NULL, 0, segs, n, &r) == -ENOSPC && !rng->broken)
			sleep_on(rng, false, 0); /* other threads' requests hold the descriptors */
		if (rng->broken)
			return done ? (long)done : -ENODEV;
		vq_kick(q);
		if (!vq_wait(rng, &r))
			return done ? (long)done : -ENODEV;
		done += MIN((size_t)r.len, (size_t)got);
		if (r.len < (uint64_t)got)
			break; /* the device gave less: return what we have (5.4.6.2 allows it) */
	}
	return (long)done;
}
