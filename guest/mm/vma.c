/* VMAs: the sorted list of mappings of a user address space. */
#include "mm.h"
#include "lib.h"
#include "errno.h"

struct vma *vma_find(struct mm *mm, uint64_t addr)
{
	struct vma *c = mm->vma_cache;
	if (c && c->start <= addr && addr < c->end)
		return c;
	for (struct vma *v = mm->vmas; v && v->start <= addr; v = v->next)
		if (addr < v->end)
			return mm->vma_cache = v;
	return NULL;
}

static bool range_free(struct mm *mm, uint64_t start, uint64_t end)
{
	for (struct vma *v = mm->vmas; v && v->start < end; v = v->next)
		if (v->end > start)
			return false;
	return true;
}

static uint64_t pte_flags_for(uint32_t flags);

/*
 * The boot path counts instructions: the VMM's list is sorted and disjoint,
 * so link it as it is, from one allocation-free static array (kfree knows
 * to leave these alone).
 */
static struct vma boot_vmas[KVMBOX_BOOT_MAX_VMAS];

int vma_adopt_boot(struct mm *mm, const struct kvmbox_boot_vma *bv, uint32_t n)
{
	if (n > KVMBOX_BOOT_MAX_VMAS)
		return -EINVAL;
	struct vma **pp = &mm->vmas;
	for (uint32_t i = 0; i < n; i++) {
		struct vma *v = &boot_vmas[i];
		v->start = bv[i].start;
		v->end = bv[i].end;
		vma_set_flags(v, bv[i].flags);
		v->pgoff = bv[i].pgoff;
		*pp = v;
		pp = &v->next;
	}
	return 0;
}

void vma_free(struct vma *v)
{
	if (v < boot_vmas || v >= boot_vmas + KVMBOX_BOOT_MAX_VMAS)
		kfree(v);
}

int vma_insert(struct mm *mm, uint64_t start, uint64_t end, uint32_t flags)
{
	if (start >= end || end > KVMBOX_USER_MAP_TOP || (start | end) & ~PAGE_MASK)
		return -EINVAL;
	if (!range_free(mm, start, end))
		return -EEXIST;
	mm->vma_cache = NULL;
	struct vma **pp = &mm->vmas;
	while (*pp && (*pp)->start < start)
		pp = &(*pp)->next;
	/* Merge with the previous neighbour when it ends here with the same flags. */
	struct vma *prev = NULL;
	for (struct vma *v = mm->vmas; v && v != *pp; v = v->next)
		prev = v;
	if (prev && prev->end == start && prev->flags == flags) {
		prev->end = end;
		if (prev->next && prev->next->start == end && prev->next->flags == flags) {
			struct vma *n = prev->next;
			prev->end = n->end;
			prev->next = n->next;
			vma_free(n);
		}
		return 0;
	}
	struct vma *v = kmalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->start = start;
	v->end = end;
	vma_set_flags(v, flags);
	v->next = *pp;
	*pp = v;
	return 0;
}

/* Split so that no VMA straddles addr. */
static int split_at(struct mm *mm, uint64_t addr)
{
	mm->vma_cache = NULL;
	struct vma *v = vma_find(mm, addr);
	if (!v || v->start == addr)
		return 0;
	struct vma *n = kmalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = *v;
	n->start = addr;
	if (v->flags & KVMBOX_VMA_IMAGE)
		n->pgoff += (uint32_t)((addr - v->start) / PAGE_SIZE);
	v->end = addr;
	v->next = n;
	return 0;
}

/*
 * Free the frames mapped in [start, end). TLB: invlpg for the first few
 * pages, then one CR3 reload at the end instead (user pages are not global),
 * which is cheaper than a per-page invlpg for big ranges on either kind of host.
 */
#define INVLPG_MAX 32

struct unmap_ctx {
	unsigned n;
};

static void unmap_one(uint64_t *pte, uint64_t va, void *ctx)
{
	struct unmap_ctx *u = ctx;
	uint64_t pa = *pte & PTE_ADDR;
	*pte = 0;
	if (++u->n <= INVLPG_MAX)
		invlpg(va);
	page_put(pa);
}

void unmap_pages(struct mm *mm, uint64_t start, uint64_t end)
{
	struct unmap_ctx u = { 0 };
	pt_for_each(mm->pml4, start, end, unmap_one, &u);
	if (u.n > INVLPG_MAX) {
		uint64_t cr3;
		__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
	}
}

int vma_remove(struct mm *mm, uint64_t start, uint64_t end)
{
	int r = split_at(mm, start);
	if (!r)
		r = split_at(mm, end);
	if (r)
		return r;
	struct vma **pp = &mm->vmas;
	mm->vma_cache = NULL;
	while (*pp) {
		struct vma *v = *pp;
		if (v->start >= start && v->end <= end) {
			unmap_pages(mm, v->start, v->end);
			*pp = v->next;
			vma_free(v);
		} else {
			pp = &v->next;
		}
	}
	return 0;
}

/*
 * mremap's move: the page-table entries of [from, from + len) go to
 * [to, to + len) as they are (frames, COW and shared bits, PROT_NONE's held
 * frames): no data is copied. The destination's tables are created as
 * needed; if that fails, what moved goes back and the result is -ENOMEM.
 */
struct move_ctx {
	uint64_t pml4;
	int64_t delta;            /* to - from */
	unsigned n;               /* entries moved (flushes) */
	bool failed;
};

static void move_one(uint64_t *pte, uint64_t va, void *ctx)
{
	struct move_ctx *m = ctx;
	if (m->failed)
		return;
	uint64_t *dst = pte_walk(m->pml4, va + (uint64_t)m->delta, true);
	if (!dst) {
		m->failed = true;
		return;
	}
	*dst = *pte;
	*pte = 0;
	if (++m->n <= INVLPG_MAX)
		invlpg(va);
}

static void move_flush(struct move_ctx *m)
{
	if (m->n > INVLPG_MAX) {
		uint64_t cr3;
		__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
	}
	m->n = 0;
}

int vma_move_pages(struct mm *mm, uint64_t from, uint64_t len, uint64_t to)
{
	struct move_ctx m = { .pml4 = mm->pml4, .delta = (int64_t)(to - from) };
	pt_for_each(mm->pml4, from, from + len, move_one, &m);
	move_flush(&m);
	if (!m.failed)
		return 0;
	/* Back where they were: those tables exist, so this cannot fail. */
	struct move_ctx back = { .pml4 = mm->pml4, .delta = (int64_t)(from - to) };
	pt_for_each(mm->pml4, to, to + len, move_one, &back);
	move_flush(&back);
	return -ENOMEM;
}

/* The highest gap of len bytes below mmap_base (top-down, as Linux), in one pass. */
uint64_t vma_find_free(struct mm *mm, uint64_t len)
{
	uint64_t top = mm->mmap_base, best = 0, gap_start = PAGE_SIZE * 16;
	for (struct vma *v = mm->vmas;; v = v->next) {
		uint64_t gap_end = v ? MIN(v->start, top) : top;
		if (gap_end > gap_start && gap_end - gap_start >= len)
			best = gap_end - len;
		if (!v || v->start >= top)
			break;
		gap_start = MAX(gap_start, v->end);
	}
	return best;
}

static uint64_t pte_flags_for(uint32_t flags)
{
	uint64_t f = PTE_U;
	if (flags & KVMBOX_VMA_WRITE)
		f |= PTE_W;
	if (!(flags & KVMBOX_VMA_EXEC))
		f |= PTE_NX;
	if (flags & KVMBOX_VMA_SHARED)
		f |= PTE_SHARED;
	return f;
}

static void reprotect_one(uint64_t *pte, uint64_t va, void *ctx)
{
	uint32_t flags = *(uint32_t *)ctx;
	uint64_t pa = *pte & PTE_ADDR;
	if (!(flags & (KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_EXEC)))
		*pte = pa | PTE_HELD | (*pte & (PTE_COW | PTE_SHARED)); /* PROT_NONE: not present, frame kept */
	else if (*pte & PTE_COW)
		*pte = pa | PTE_P | (pte_flags_for(flags) & ~PTE_W) | (*pte & (PTE_A | PTE_D | PTE_COW));
	else
		*pte = pa | PTE_P | pte_flags_for(flags) | (*pte & (PTE_A | PTE_D));
	invlpg(va);
}

int vma_protect(struct mm *mm, uint64_t start, uint64_t end, uint32_t flags)
{
	/* Every page of the range must be mapped (ENOMEM otherwise, as Linux). */
	uint64_t a = start;
	for (struct vma *v = vma_find(mm, start); a < end; v = v->next) {
		if (!v || v->start > a)
			return -ENOMEM;
		a = v->end;
	}
	int r = split_at(mm, start);
	if (!r)
		r = split_at(mm, end);
	if (r)
		return r;
	for (struct vma *v = vma_find(mm, start); v && v->start < end; v = v->next) {
		uint32_t keep = v->flags & ~(KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_EXEC);
		vma_set_flags(v, keep | flags);
		pt_for_each(mm->pml4, v->start, v->end, reprotect_one, &v->flags); /* with KVMBOX_VMA_SHARED */
	}
	return 0;
}

uint64_t vma_pte_flags(uint32_t flags)
{
	return pte_flags_for(flags);
}

/*
 * #PF error code (SDM vol. 3A 4.7): P 1, W/R 2, U/S 4, RSVD 8, I/D 16, and
 * higher bits. fault_deny holds every bit whose presence sends a fault to
 * the slow path: P (copy-on-write, PROT_NONE), RSVD and the rest always, W
 * without write permission, I/D without exec, and U/S (set on every user
 * fault) when the VMA allows nothing, so that one test decides.
 */
void vma_set_flags(struct vma *v, uint32_t flags)
{
	uint32_t deny = ~(2u | 4u | 16u);
	if (!(flags & KVMBOX_VMA_WRITE))
		deny |= 2;
	if (!(flags & KVMBOX_VMA_EXEC))
		deny |= 16;
	if (!(flags & (KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_EXEC)))
		deny |= 4;
	v->flags = flags;
	v->fault_deny = deny;
	v->pte_bits = pte_flags_for(flags) | PTE_P;
}
