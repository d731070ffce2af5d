/* x86-64 4-level page tables (SDM vol. 3A 4.5) for user address spaces. */
#include "mm.h"
#include "lib.h"

void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* The next level's table, creating it when asked; NULL if absent, out of memory, or a large page. */
static inline uint64_t *next_level(uint64_t *e, bool create)
{
	uint64_t v = *e;
	if (likely((v & (PTE_P | PTE_PS)) == PTE_P))
		return P2V(v & PTE_ADDR);
	if (v & PTE_P)
		return NULL; /* a large page: not in user address spaces */
	if (!create)
		return NULL;
	uint64_t pa = page_alloc_table();
	if (!pa)
		return NULL;
	*e = pa | PTE_P | PTE_W | PTE_U;
	return P2V(pa);
}

/*
 * The leaf PTE for va, creating missing intermediate tables when asked.
 * Intermediate entries are P|W|U: the leaf alone decides access. Unrolled:
 * this walk is on every fault and user copy, where each instruction counts.
 */
uint64_t *pte_walk(uint64_t pml4, uint64_t va, bool create)
{
	uint64_t *t = P2V(pml4);
	if (!(t = next_level(&t[(va >> 39) & 511], create)))
		return NULL;
	if (!(t = next_level(&t[(va >> 30) & 511], create)))
		return NULL;
	if (!(t = next_level(&t[(va >> 21) & 511], create)))
		return NULL;
	return &t[(va >> 12) & 511];
}

int map_page(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *pte = pte_walk(pml4, va, true);
	if (!pte)
		return -12; /* -ENOMEM */
	*pte = pa | flags | PTE_P;
	return 0;
}

/*
 * Visit each leaf PTE that holds a frame (present, or kept while PROT_NONE)
 * in [start, end), skipping absent tables a level at a time, so a sparse
 * range costs per table, not per page, and in a leaf table runs of empty
 * entries eight at a time (munmap of a big, barely touched mapping).
 */
void pt_for_each(uint64_t pml4, uint64_t start, uint64_t end, pte_fn fn, void *ctx)
{
	uint64_t va = start;
	while (va < end) {
		uint64_t *l4 = P2V(pml4);
		uint64_t e = l4[(va >> 39) & 511];
		if (!(e & PTE_P)) {
			va = (va | ((1ull << 39) - 1)) + 1;
			continue;
		}
		uint64_t *l3 = P2V(e & PTE_ADDR);
		e = l3[(va >> 30) & 511];
		if (!(e & PTE_P) || (e & PTE_PS)) {
			va = (va | ((1ull << 30) - 1)) + 1;
			continue;
		}
		uint64_t *l2 = P2V(e & PTE_ADDR);
		e = l2[(va >> 21) & 511];
		if (!(e & PTE_P) || (e & PTE_PS)) {
			va = (va | ((1ull << 21) - 1)) + 1;
			continue;
		}
		uint64_t *l1 = P2V(e & PTE_ADDR);
		uint64_t table_end = (va | ((1ull << 21) - 1)) + 1;
		uint64_t stop = MIN(end, table_end);
		while (va < stop) {
			uint64_t *pte = &l1[(va >> 12) & 511];
			/* Eight empty entries (an aligned group inside the range) at a time. */
			if (!((va >> 12) & 7) && va + 8 * PAGE_SIZE <= stop &&
			    !((pte[0] | pte[1] | pte[2] | pte[3] | pte[4] | pte[5] | pte[6] | pte[7]) & (PTE_P | PTE_HELD))) {
				va += 8 * PAGE_SIZE;
				continue;
			}
			if (PTE_HAS_FRAME(*pte))
				fn(pte, va, ctx);
			va += PAGE_SIZE;
		}
	}
}
