/* Small kernel object allocator: power-of-two size classes carved from pages. */
#include "mm.h"
#include "lib.h"
#include "platform.h"

/*
 * Each object carries an 16-byte header holding its class, so kfree needs no
 * lookup. Objects are handed out zeroed: fresh pages are zero already, and a
 * recycled object is cleared on free (small: stays in the guest).
 */
#define MIN_SHIFT 5  /* 32 bytes incl. header */
#define MAX_SHIFT 12 /* a whole page */
#define HDR 16

struct free_obj {
	struct free_obj *next;
};

static struct free_obj *free_lists[MAX_SHIFT + 1];
static uint8_t *carve_ptr[MAX_SHIFT + 1];
static size_t carve_left[MAX_SHIFT + 1];

void *kmalloc(size_t size)
{
	unsigned shift = MIN_SHIFT;
	while ((1ul << shift) < size + HDR)
		shift++;
	if (shift > MAX_SHIFT)
		return NULL;
	uint8_t *obj;
	if (free_lists[shift]) {
		obj = (uint8_t *)free_lists[shift];
		free_lists[shift] = free_lists[shift]->next;
		((struct free_obj *)obj)->next = NULL;
	} else {
		if (carve_left[shift] == 0) {
			uint64_t pa = page_alloc_zeroed();
			if (!pa)
				return NULL;
			carve_ptr[shift] = P2V(pa);
			carve_left[shift] = PAGE_SIZE >> shift;
		}
		obj = carve_ptr[shift];
		carve_ptr[shift] += 1ul << shift;
		carve_left[shift]--;
	}
	*(uint64_t *)obj = shift;
	return obj + HDR;
}

void kfree(void *p)
{
	if (!p)
		return;
	uint8_t *obj = (uint8_t *)p - HDR;
	unsigned shift = (unsigned)*(uint64_t *)obj;
	BUG_ON(shift < MIN_SHIFT || shift > MAX_SHIFT);
	kmem_zero(obj, 1ul << shift);
	((struct free_obj *)obj)->next = free_lists[shift];
	free_lists[shift] = (struct free_obj *)obj;
}
