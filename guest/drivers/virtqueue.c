/* Driver-side split virtqueue (virtio spec v1.2, 2.7): descriptor free list, available ring, used ring, EVENT_IDX. */
#include "virtio_drv.h"
#include "errno.h"
#include "lib.h"
#include "proc.h"

/* Device registers: 32-bit, aligned (4.2.2.2); each access is an exit to the VMM. */
static inline void reg_write(struct virtio_dev *d, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(d->regs + off) = v;
}

int vq_add(struct vq *q, const struct kvmbox_seg *out, unsigned n_out,
	   const struct kvmbox_seg *in, unsigned n_in, void *token)
{
	unsigned n = n_out + n_in;
	if (n == 0 || n > q->nr_free)
		return -ENOSPC;
	uint16_t head = 0, prev = 0;
	for (unsigned k = 0; k < n; k++) {
		const struct kvmbox_seg *s = k < n_out ? &out[k] : &in[k - n_out];
		/* A returned descriptor, else a never-used one. */
		uint16_t i;
		if (q->list_len) {
			i = q->free_head;
			q->free_head = q->desc[i].next;
			q->list_len--;
		} else {
			i = q->fresh++;
		}
		struct virtq_desc *d = &q->desc[i];
		d->addr = s->gpa;
		d->len = (uint32_t)s->len;
		d->flags = (k >= n_out ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
		if (k)
			q->desc[prev].next = i;
		else
			head = i;
		prev = i;
	}
	q->nr_free -= n;
	q->token[head] = token;
	q->avail->ring[q->avail_idx & (q->num - 1)] = head;
	q->avail_idx++;
	return 0;
}

void vq_kick(struct vq *q)
{
	uint16_t old = q->avail->idx, now = q->avail_idx;
	/* Ring entries before the index (2.7.13.2); x86 keeps stores in order. */
	__asm__ volatile("" ::: "memory");
	q->avail->idx = now;
	/* The index store before reading avail_event (2.7.13.3): a store-load fence. */
	__asm__ volatile("mfence" ::: "memory");
	uint16_t avail_event = *(volatile uint16_t *)((volatile uint8_t *)q->used + 4 + 8 * (uint32_t)q->num);
	if (virtq_need_event(avail_event, now, old))
		reg_write(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index); /* an ioeventfd: no exit to the VMM */
}

bool vq_used_wake(struct virtio_dev *d)
{
	struct vq_req *r;
	uint32_t len;
	bool any = false;
	while ((r = vq_get_used(&d->vqs[0], &len))) {
		r->len = len;
		r->done = true;
		any = true;
	}
	wakeup(d);
	return any;
}

bool vq_wait(struct virtio_dev *d, const struct vq_req *r)
{
	while (!r->done && !d->broken)
		sleep_on(d, false, 0);
	return r->done;
}

void *vq_get_used(struct vq *q, uint32_t *len)
{
	if (q->last_used == *(volatile uint16_t *)&q->used->idx)
		return NULL;
	__asm__ volatile("" ::: "memory"); /* the element after the index (x86: loads in order) */
	struct virtq_used_elem *e = &q->used->ring[q->last_used & (q->num - 1)];
	uint16_t head = (uint16_t)e->id;
	*len = e->len;
	q->last_used++;
	/*
	 * Interrupt again at the next used entry (EVENT_IDX used_event, 2.7.10),
	 * then a store-load fence before the next look at used->idx (Linux's
	 * virtio_store_mb): otherwise the device can read the old used_event
	 * after our load of the index, decide against an interrupt for an
	 * entry we did not see, and the waiter sleeps for ever.
	 */
	*(volatile uint16_t *)&q->avail->ring[q->num] = q->last_used;
	__asm__ volatile("mfence" ::: "memory");
	if (head >= q->num)
		return NULL; /* a broken device; the chain is lost */
	void *token = q->token[head];
	q->token[head] = NULL;
	/* Return the chain to the free list. */
	uint16_t i = head;
	unsigned n = 1;
	while ((q->desc[i].flags & VIRTQ_DESC_F_NEXT) && n < q->num) {
		i = q->desc[i].next;
		n++;
	}
	q->desc[i].next = q->free_head;
	q->free_head = head;
	q->list_len += n;
	q->nr_free += n;
	return token;
}
