/* Physical page allocator: never-touched memory first (it is already zero), then a free list. */
#include "mm.h"
#include "lib.h"
#include "platform.h"

/*
 * The VMM hands over [free_start, mem_size) untouched, so those frames read
 * as zero and demand-zero faults need no zeroing at CPL0 until memory is
 * recycled. Freed frames go on a LIFO list threaded through the frames.
 */
static uint64_t fresh_next, fresh_end;
static uint64_t free_head;      /* pa of the first free frame, 0 if none */
static uint64_t nr_free_listed;
static uint32_t *frames;        /* use count per frame (boot_info.frame_table) */

void palloc_init(void)
{
	fresh_next = boot_info->free_start;
	fresh_end = boot_info->mem_size & PAGE_MASK;
	frames = P2V(boot_info->frame_table);
}

static uint64_t take(bool *is_zero)
{
	uint64_t pa = free_head;
	if (pa) {
		free_head = *(uint64_t *)P2V(pa);
		nr_free_listed--;
		*is_zero = false;
	} else if (fresh_next < fresh_end) {
		pa = fresh_next;
		fresh_next += PAGE_SIZE;
		*is_zero = true;
	} else {
		return 0;
	}
	frames[pa >> 12] = 1;
	return pa;
}

uint64_t page_alloc(void)
{
	bool z;
	return take(&z);
}

uint64_t page_alloc_zeroed(void)
{
	bool z;
	uint64_t pa = take(&z);
	if (pa && !z)
		pmem_zero(pa, PAGE_SIZE);
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
	*(uint64_t *)P2V(pa) = free_head;
	free_head = pa;
	nr_free_listed++;
}

uint64_t pages_free(void)
{
	return nr_free_listed + (fresh_end - fresh_next) / PAGE_SIZE;
}
