/* Physical page allocator: never-touched memory first (it is already zero), then a free list. */
#include "mm.h"
#include "lib.h"
#include "platform.h"
#include "proc.h"

/*
 * The VMM hands over [free_start, mem_size) untouched, so those frames read
 * as zero and demand-zero faults need no zeroing at CPL0 until memory is
 * recycled. Freed frames go on a "dirty" list; they are zeroed in batches
 * when a zeroed frame is wanted and moved to a "zero" list, whose frames
 * are zero but for the list link in their first word (cleared on use).
 */
static uint64_t fresh_next, fresh_end;
static uint64_t dirty_head, zero_head; /* LIFO lists threaded through the frames */
static uint64_t nr_dirty, nr_zero;
static uint32_t *frames;        /* use count per frame (boot_info.frame_table) */

/* Frames zeroed per batch: one HC_MEMOP where CPL0 is emulated (shared/hypercall.h). */
#define ZERO_BATCH KVMBOX_MEMOP_MAX_SEGS

void palloc_init(void)
{
	fresh_next = boot_info->free_start;
	fresh_end = boot_info->mem_size & PAGE_MASK;
	frames = P2V(boot_info->frame_table);
}

static uint64_t pop(uint64_t *head, uint64_t *count)
{
	uint64_t pa = *head;
	*head = *(uint64_t *)P2V(pa);
	(*count)--;
	return pa;
}

static void push(uint64_t *head, uint64_t *count, uint64_t pa)
{
	*(uint64_t *)P2V(pa) = *head;
	*head = pa;
	(*count)++;
}

uint64_t page_alloc_fresh(void)
{
	uint64_t pa = fresh_next;
	if (pa >= fresh_end)
		return 0;
	fresh_next = pa + PAGE_SIZE;
	frames[pa >> 12] = 1;
	return pa;
}

/*
 * Fault-around (fault.c): give never-used frames to the absent leaf entries
 * pte[0], pte[1], ... up to max of them, stopping at the first entry in
 * use; one pass, frames taken from the fresh region as it goes. Returns how
 * many were mapped (0: the fresh region is used up).
 */
unsigned map_fresh_run(uint64_t *pte, unsigned max, uint64_t bits)
{
	uint64_t pa = fresh_next, left = (fresh_end - pa) >> 12;
	if (max > left)
		max = (unsigned)left;
	uint32_t *c = &frames[pa >> 12];
	unsigned n = 0;
	while (n < max && !pte[n]) {
		pte[n] = pa | bits;
		c[n] = 1;
		pa += PAGE_SIZE;
		n++;
	}
	fresh_next = pa;
	return n;
}

uint64_t page_alloc_fresh_contig(unsigned n)
{
	uint64_t pa = fresh_next;
	if ((fresh_end - pa) >> 12 < n)
		return 0;
	fresh_next = pa + ((uint64_t)n << 12);
	for (unsigned i = 0; i < n; i++)
		frames[(pa >> 12) + i] = 1;
	return pa;
}

uint64_t page_alloc(void)
{
	uint64_t pa;
	if (dirty_head)
		pa = pop(&dirty_head, &nr_dirty);
	else if (fresh_next < fresh_end)
		pa = fresh_next, fresh_next += PAGE_SIZE;
	else if (zero_head)
		pa = pop(&zero_head, &nr_zero);
	else
		return 0;
	frames[pa >> 12] = 1;
	return pa;
}

uint64_t page_alloc_zeroed(void)
{
	uint64_t pa;
	if (zero_head) {
		pa = pop(&zero_head, &nr_zero);
		*(uint64_t *)P2V(pa) = 0; /* the list link */
	} else if (fresh_next < fresh_end) {
		pa = fresh_next, fresh_next += PAGE_SIZE;
	} else if (dirty_head) {
		/* Zero a batch of recycled frames at once: one exit instead of one per frame. */
		uint64_t batch[ZERO_BATCH];
		unsigned n = 0;
		while (dirty_head && n < ZERO_BATCH)
			batch[n++] = pop(&dirty_head, &nr_dirty);
		pmem_zero_pages(batch, n);
		for (unsigned i = 1; i < n; i++)
			push(&zero_head, &nr_zero, batch[i]);
		pa = batch[0];
	} else {
		return 0;
	}
	frames[pa >> 12] = 1;
	return pa;
}

/*
 * A frame for a page table. Where CPL0 is emulated KVM shadows the guest's
 * page tables and keeps them in sync by trapping the guest's own writes;
 * writes the VMM makes (HC_MEMOP, HC_EXEC) are not seen, so a recycled frame
 * that once was a page table and was zeroed by the VMM could bring back a
 * stale shadow. Page tables therefore come from never-touched frames, or
 * are zeroed here by the guest itself (rare: only once fresh memory is gone).
 */
uint64_t page_alloc_table(void)
{
	uint64_t pa = page_alloc_fresh();
	if (pa)
		return pa;
	pa = page_alloc();
	if (pa) {
		void *p = P2V(pa);
		uint64_t n = PAGE_SIZE / 8;
		__asm__ volatile("rep stosq" : "+D"(p), "+c"(n) : "a"(0ull) : "memory");
	}
	return pa;
}

void page_get(uint64_t pa)
{
	frames[pa >> 12]++;
}

uint32_t page_refcount(uint64_t pa)
{
	return frames[pa >> 12];
}

void page_put(uint64_t pa)
{
	uint32_t *c = &frames[pa >> 12];
	BUG_ON(*c == 0);
	if (--*c)
		return;
	push(&dirty_head, &nr_dirty, pa);
}

uint64_t pages_free(void)
{
	return nr_dirty + nr_zero + (fresh_end - fresh_next) / PAGE_SIZE;
}

/*
 * For a hypercall that allocates natively (HC_EXEC): the free frames as the
 * ABI describes them (shared/hypercall.h struct kvmbox_frame_pool), and
 * back. Between the two nothing else may allocate or free.
 */
void palloc_export(struct kvmbox_frame_pool *fp)
{
	fp->list[0] = dirty_head;
	fp->count[0] = nr_dirty;
	fp->list[1] = zero_head;
	fp->count[1] = nr_zero;
	fp->fresh_next = fresh_next;
	fp->fresh_end = fresh_end;
}

void palloc_import(const struct kvmbox_frame_pool *fp)
{
	dirty_head = fp->list[0];
	nr_dirty = fp->count[0];
	zero_head = fp->list[1];
	nr_zero = fp->count[1];
	fresh_next = fp->fresh_next;
}

/*
 * Kernel stacks: KSTACK_SIZE of contiguous frames from the never-touched
 * region (so no zeroing), recycled through their own free list.
 */
#define KSTACK_PAGES (KSTACK_SIZE / PAGE_SIZE)
static uint64_t free_kstacks; /* top of the first free stack, linked through the stack's lowest word */

uint64_t kstack_alloc(void)
{
	if (free_kstacks) {
		uint64_t top = free_kstacks;
		free_kstacks = *(uint64_t *)(top - KSTACK_SIZE);
		return top;
	}
	if (fresh_end - fresh_next < KSTACK_SIZE)
		return 0;
	uint64_t pa = fresh_next;
	fresh_next += KSTACK_SIZE;
	for (unsigned i = 0; i < KSTACK_PAGES; i++)
		frames[(pa >> 12) + i] = 1;
	return (uint64_t)P2V(pa) + KSTACK_SIZE;
}

void kstack_free(uint64_t top)
{
	*(uint64_t *)(top - KSTACK_SIZE) = free_kstacks;
	free_kstacks = top;
}
