/* The guest's virtio-mmio driver core and driver-side split virtqueues (virtio spec v1.2, 3.1, 2.7, 4.2). */
#ifndef GUEST_VIRTIO_DRV_H
#define GUEST_VIRTIO_DRV_H
#include "types.h"
#include <virtio.h>
#include <hypercall.h>

/* Driver queues hold at most this many entries: desc + avail + used then fit one page (2.7). */
#define VQ_MAX_SIZE 128

struct virtio_dev;

/* A split virtqueue, driver side. Descriptors are handed out as chains from a free list. */
struct vq {
	struct virtio_dev *dev;
	uint16_t index;           /* queue number */
	uint16_t num;             /* size (power of 2) */
	uint16_t free_head;       /* returned descriptors, linked by next (list_len of them) */
	uint16_t list_len;
	uint16_t fresh;           /* descriptors [fresh, num) were never used (no links to set up) */
	uint16_t nr_free;
	uint16_t avail_idx;       /* our copy of avail->idx */
	uint16_t last_used;       /* next used entry to consume */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	void **token;             /* per chain head: the caller's request (num entries) */
};

struct virtio_dev {
	uint64_t regs_pa;         /* register window (FDT reg) */
	volatile uint8_t *regs;   /* ... in the direct map */
	uint32_t vector;          /* LAPIC vector (FDT interrupts) */
	uint32_t device_id;
	uint64_t features;        /* negotiated */
	bool ready;               /* DRIVER_OK done */
	bool broken;              /* the device asked for a reset: no more requests */
	unsigned nr_vqs;
	uint32_t unused_vqs;      /* set before virtio_init: queues the driver leaves not ready (never used) */
	struct vq *vqs;
	/* Called from the interrupt handler: consume used buffers; true if there were any. */
	bool (*used)(struct virtio_dev *d);
	void *priv;
};

/*
 * The first device with this ID in the device tree (compatible
 * "virtio,mmio"), not yet initialized; NULL if there is none. The tree is
 * scanned once, at the first call.
 */
struct virtio_dev *virtio_find(uint32_t device_id);
/* The n-th (from 0) such device in device-tree order, or NULL. */
struct virtio_dev *virtio_find_nth(uint32_t device_id, unsigned n);
/* A 32-bit field of the device's configuration space (4.2.2: 32-bit access; one exit). */
uint32_t virtio_config_read32(struct virtio_dev *d, uint32_t off);

/*
 * The spec's initialization sequence (3.1.1): reset, ACKNOWLEDGE, DRIVER,
 * features (VERSION_1 and EVENT_IDX required, plus `wanted` if offered),
 * FEATURES_OK and its re-read, nr_vqs queues of up to queue_size entries,
 * DRIVER_OK. 0, or -ENODEV with the device marked FAILED.
 */
int virtio_init(struct virtio_dev *d, uint64_t wanted, unsigned nr_vqs, uint16_t queue_size,
		bool (*used)(struct virtio_dev *d));

/*
 * Post a chain: device-readable segments out[0, n_out) then device-writable
 * in[0, n_in), pointing straight at the caller's pages (zero copy). token
 * comes back from vq_get_used. 0, or -ENOSPC when too few descriptors are free.
 */
int vq_add(struct vq *q, const struct kvmbox_seg *out, unsigned n_out,
	   const struct kvmbox_seg *in, unsigned n_in, void *token);
/* Make the posted chains visible and notify the device if it asked (2.7.13, EVENT_IDX). */
void vq_kick(struct vq *q);
/* The next completed chain's token and written length, or NULL; frees its descriptors. */
void *vq_get_used(struct vq *q, uint32_t *len);

/* A request's completion: the token the drivers post (or the first member of theirs). */
struct vq_req {
	bool done;
	uint32_t len;             /* bytes the device wrote (2.7.8) */
};

/*
 * A one-queue device's interrupt (virtio_init's used callback): mark every
 * completed vq_req on queue 0 done and wake the threads asleep on the
 * device. True if anything completed.
 */
bool vq_used_wake(struct virtio_dev *d);

/* Sleep until r is done or the device broke: r->done. */
bool vq_wait(struct virtio_dev *d, const struct vq_req *r);

/* The interrupt for vector, if it is a virtio device's (trap.c): true if handled. */
bool virtio_interrupt(unsigned vector, bool from_user);
#endif
