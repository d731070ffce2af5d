/* The device side of a split virtqueue (virtio spec v1.2, 2.7): hostile-guest-safe chain walking, used ring, EVENT_IDX. */
#ifndef DEVICES_VIRTQUEUE_H
#define DEVICES_VIRTQUEUE_H
#include <stdbool.h>
#include <stdint.h>
#include <virtio.h>
#include "vmm/vm.h"

/*
 * One buffer of a chain, already translated: base points into guest memory
 * (checked by GUEST_PTR, so [base, base + len) lies inside it).
 */
struct virtq_iov {
	void *base;
	uint32_t len;
};

/*
 * A descriptor chain as the device sees it (2.7.4): the device-readable
 * buffers first (iov[0, nr_out)), then the device-writable ones
 * (iov[nr_out, nr_out + nr_in)). The caller provides iov[0, cap).
 */
struct virtq_chain {
	uint16_t head;            /* the id to return in the used ring */
	unsigned nr_out, nr_in;
	uint64_t out_len, in_len; /* total bytes of each part */
	struct virtq_iov *iov;
	unsigned cap;
};

/*
 * A queue as the driver configured it. Nothing here trusts the guest: the
 * rings are re-read from guest memory on every access (the driver writes
 * them concurrently) and each value is checked once, in a local copy.
 */
struct virtq {
	struct vm *vm;            /* guest memory: every address goes through GUEST_PTR */
	uint16_t num;             /* queue size, a power of 2 */
	bool event_idx;           /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;            /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	struct virtq_desc *desc;  /* host pointers to the three areas (checked at setup) */
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t last_avail;      /* next available-ring entry the device takes */
	uint16_t used_idx;        /* our copy of used->idx (only the device writes it) */
	uint16_t signalled_used;  /* used_idx when we last decided about an interrupt */
	char error[200];          /* why the queue broke (virtq_pop/virtq_setup returned -1) */
};

/*
 * Check and map the areas the driver gave (2.7: sizes for num entries,
 * alignment 16/2/4; num a power of 2, at most VIRTQ_MAX_SIZE). 0, or -1 with
 * vq->error set.
 */
int virtq_setup(struct virtq *vq, struct vm *vm, uint32_t num, uint64_t desc_gpa,
		uint64_t avail_gpa, uint64_t used_gpa, bool event_idx, bool indirect);

/*
 * Take the next available chain into *c (whose iov/cap the caller set).
 * 1: a chain; 0: none available; -1: the driver broke the queue (an index,
 * address, length, flag or loop the spec forbids), vq->error says how. The
 * walk visits at most num descriptors in the ring plus at most num in one
 * indirect table (2.7.5.3.1: a chain is never longer than the queue), so it
 * terminates on any input.
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);

/* Hand chain head back with len bytes written (2.7.8); publishes used->idx. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * After pushes: does the driver want an interrupt (2.7.7.2: used_event with
 * EVENT_IDX, else the NO_INTERRUPT flag)? Call once per batch.
 */
bool virtq_should_interrupt(struct virtq *vq);

/*
 * Before going idle: ask for a notification at the next available buffer
 * (avail_event with EVENT_IDX, 2.7.10; else clear NO_NOTIFY) and re-check:
 * true if buffers arrived meanwhile (process them, then call this again).
 */
bool virtq_enable_notify(struct virtq *vq);

/* Copy out of / into a chain's readable / writable part, from byte offset off; returns bytes copied. */
uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, uint64_t len);
uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf, uint64_t len);
#endif
