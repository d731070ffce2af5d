/* The device side of a split virtqueue (virtio spec v1.2, 2.7). Every value read from the rings is untrusted. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "vmm/guest_mem.h"
#include "virtqueue.h"

static int broken(struct virtq *vq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int broken(struct virtq *vq, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vq->error, sizeof(vq->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* The driver writes the rings concurrently: read each shared word exactly once. */
static inline uint16_t load16(const uint16_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

int virtq_setup(struct virtq *vq, struct vm *vm, uint32_t num, uint64_t desc_gpa,
		uint64_t avail_gpa, uint64_t used_gpa, bool event_idx, bool indirect)
{
	memset(vq, 0, sizeof(*vq));
	vq->vm = vm;
	/* 2.7: "Queue Size ... a power of 2", at most 32768; 0 means no queue. */
	if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
		return broken(vq, "queue size %u is not a power of 2 in 1..32768", num);
	/* 2.7 Table "Virtqueue Part Alignment": 16, 2, 4. */
	if ((desc_gpa & 15) || (avail_gpa & 1) || (used_gpa & 3))
		return broken(vq, "misaligned ring (descriptors 0x%llx, available 0x%llx, used 0x%llx)",
			      (unsigned long long)desc_gpa, (unsigned long long)avail_gpa,
			      (unsigned long long)used_gpa);
	vq->desc = GUEST_PTR(vm, desc_gpa, VIRTQ_DESC_BYTES(num));
	vq->avail = GUEST_PTR(vm, avail_gpa, VIRTQ_AVAIL_BYTES(num));
	vq->used = GUEST_PTR(vm, used_gpa, VIRTQ_USED_BYTES(num));
	if (!vq->desc || !vq->avail || !vq->used)
		return broken(vq, "ring outside guest memory (descriptors 0x%llx, available 0x%llx, "
			      "used 0x%llx, %u entries)", (unsigned long long)desc_gpa,
			      (unsigned long long)avail_gpa, (unsigned long long)used_gpa, num);
	vq->num = (uint16_t)num; /* 32768 fits; index arithmetic below is mod num */
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	/* The device starts at the driver's current indexes (both 0 after a reset). */
	vq->last_avail = load16(&vq->avail->idx);
	vq->used_idx = vq->signalled_used = load16(&vq->used->idx);
	return 0;
}

/* Append one translated buffer to the chain, enforcing readable-before-writable (2.7.4.2). */
static int add_buffer(struct virtq *vq, struct virtq_chain *c, const struct virtq_desc *d)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	if (!writable && c->nr_in)
		return broken(vq, "chain %u: a device-readable descriptor after a device-writable one",
			      c->head);
	if (d->len == 0)
		return 0; /* nothing to read or write; not worth a slot */
	void *p = GUEST_PTR(vq->vm, d->addr, d->len);
	if (!p)
		return broken(vq, "chain %u: buffer 0x%llx+0x%x outside guest memory", c->head,
			      (unsigned long long)d->addr, d->len);
	if (c->nr_out + c->nr_in >= c->cap)
		return broken(vq, "chain %u: more than %u buffers", c->head, c->cap);
	c->iov[c->nr_out + c->nr_in] = (struct virtq_iov){ p, d->len };
	if (writable) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	/* Used lengths are 32-bit (2.7.8): a writable part beyond 4 GiB cannot be reported. */
	if (c->in_len > UINT32_MAX)
		return broken(vq, "chain %u: more than 4 GiB of writable buffers", c->head);
	return 0;
}

/* Walk an indirect table (2.7.5.3): no nesting, no NEXT on the referring descriptor. */
static int walk_indirect(struct virtq *vq, struct virtq_chain *c, const struct virtq_desc *ref)
{
	if (!vq->indirect)
		return broken(vq, "chain %u: indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC",
			      c->head);
	if (ref->flags & VIRTQ_DESC_F_NEXT)
		return broken(vq, "chain %u: indirect descriptor with NEXT set", c->head);
	if (ref->len == 0 || ref->len % sizeof(struct virtq_desc))
		return broken(vq, "chain %u: indirect table length %u is not a multiple of 16",
			      c->head, ref->len);
	uint32_t count = ref->len / sizeof(struct virtq_desc);
	if (count > vq->num)
		return broken(vq, "chain %u: indirect table of %u descriptors exceeds the queue size %u",
			      c->head, count, vq->num);
	const struct virtq_desc *table = GUEST_PTR(vq->vm, ref->addr, ref->len);
	if (!table)
		return broken(vq, "chain %u: indirect table 0x%llx+0x%x outside guest memory", c->head,
			      (unsigned long long)ref->addr, ref->len);
	/* Start at entry 0; at most count steps, so a loop ends as "too long". */
	uint32_t i = 0;
	for (uint32_t steps = 0;; steps++) {
		if (steps >= count)
			return broken(vq, "chain %u: indirect chain loops or exceeds its %u entries",
				      c->head, count);
		struct virtq_desc d;
		memcpy(&d, (const void *)&table[i], sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return broken(vq, "chain %u: nested indirect descriptor", c->head);
		if (add_buffer(vq, c, &d))
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= count)
			return broken(vq, "chain %u: indirect next %u past the table's %u entries",
				      c->head, d.next, count);
		i = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	/* 2.7.13.3: the driver never gets more than num ahead of the device. */
	if (pending > vq->num)
		return broken(vq, "available index %u is %u entries ahead, more than the queue size %u",
			      avail_idx, pending, vq->num);
	uint16_t head = load16(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);
	if (head >= vq->num)
		return broken(vq, "available ring entry %u names descriptor %u past the queue size %u",
			      vq->last_avail, head, vq->num);
	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;

	uint16_t i = head;
	for (uint32_t steps = 0;; steps++) {
		/* 2.7.5.3.1: no chain is longer than the queue; a loop ends here too. */
		if (steps >= vq->num)
			return broken(vq, "chain %u loops or is longer than the queue size %u", head, vq->num);
		struct virtq_desc d;
		memcpy(&d, (const void *)&vq->desc[i], sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (walk_indirect(vq, c, &d))
				return -1;
			break;
		}
		if (add_buffer(vq, c, &d))
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->num)
			return broken(vq, "chain %u: next %u past the queue size %u", head, d.next, vq->num);
		i = d.next;
	}
	vq->last_avail++;
	return 1;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct virtq_used_elem *e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	vq->used_idx++;
	/* The element before the index (2.7.8.2). */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_interrupt(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx;
	if (old == now)
		return false;
	vq->signalled_used = now;
	/* The used index store must be visible before we read the driver's event word. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		/* used_event sits after the available ring (2.7.10). */
		uint16_t used_event = load16(&vq->avail->ring[vq->num]);
		return virtq_need_event(used_event, now, old);
	}
	return !(load16(&vq->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_enable_notify(struct virtq *vq)
{
	if (vq->event_idx) {
		/* avail_event sits after the used ring (2.7.10). */
		uint16_t *avail_event = (uint16_t *)&vq->used->ring[vq->num];
		__atomic_store_n(avail_event, vq->last_avail, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&vq->used->flags, 0, __ATOMIC_RELAXED);
	}
	/* Publish the request before re-reading the index (the driver does the mirror image). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) != vq->last_avail;
}

uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, uint64_t len)
{
	uint64_t done = 0;
	for (unsigned i = 0; i < c->nr_out && done < len; i++) {
		const struct virtq_iov *v = &c->iov[i];
		if (off >= v->len) {
			off -= v->len;
			continue;
		}
		uint64_t n = v->len - off < len - done ? v->len - off : len - done;
		memcpy((char *)buf + done, (char *)v->base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf, uint64_t len)
{
	uint64_t done = 0;
	for (unsigned i = c->nr_out; i < c->nr_out + c->nr_in && done < len; i++) {
		const struct virtq_iov *v = &c->iov[i];
		if (off >= v->len) {
			off -= v->len;
			continue;
		}
		uint64_t n = v->len - off < len - done ? v->len - off : len - done;
		memcpy((char *)v->base + off, (const char *)buf + done, n);
		done += n;
		off = 0;
	}
	return done;
}
