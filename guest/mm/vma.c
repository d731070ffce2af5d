/* VMAs: the sorted list of mappings of a user address space. */
#include "mm.h"
#include "lib.h"
#include "errno.h"

struct vma *vma_find(struct mm *mm, uint64_t addr)
{
	for (struct vma *v = mm->vmas; v && v->start <= addr; v = v->next)
		if (addr < v->end)
			return v;
	return NULL;
}

static bool range_free(struct mm *mm, uint64_t start, uint64_t end)
{
	for (struct vma *v = mm->vmas; v && v->start < end; v = v->next)
		if (v->end > start)
			return false;
	return true;
}

int vma_insert(struct mm *mm, uint64_t start, uint64_t end, uint32_t flags)
{
	if (start >= end || end > KVMBOX_USER_MAP_TOP || (start | end) & ~PAGE_MASK)
		return -EINVAL;
	if (!range_free(mm, start, end))
		return -EEXIST;
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
			kfree(n);
		}
		return 0;
	}
	struct vma *v = kmalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->start = start;
	v->end = end;
	v->flags = flags;
	v->next = *pp;
	*pp = v;
	return 0;
}

/* Split so that no VMA straddles addr. */
static int split_at(struct mm *mm, uint64_t addr)
{
	struct vma *v = vma_find(mm, addr);
	if (!v || v->start == addr)
		return 0;
	struct vma *n = kmalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = *v;
	n->start = addr;
	v->end = addr;
	v->next = n;
	return 0;
}

static void unmap_pages(struct mm *mm, uint64_t start, uint64_t end)
{
	for (uint64_t va = start; va < end; va += PAGE_SIZE) {
		uint64_t *pte = pte_walk(mm->pml4, va, false);
		if (!pte || !PTE_HAS_FRAME(*pte))
			continue;
		uint64_t pa = *pte & PTE_ADDR;
		*pte = 0;
		invlpg(va);
		page_put(pa);
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
	while (*pp) {
		struct vma *v = *pp;
		if (v->start >= start && v->end <= end) {
			unmap_pages(mm, v->start, v->end);
			*pp = v->next;
			kfree(v);
		} else {
			pp = &v->next;
		}
	}
	return 0;
}

uint64_t vma_find_free(struct mm *mm, uint64_t len)
{
	uint64_t top = mm->mmap_base;
	/* Walk gaps from the top down: collect VMAs below top in order. */
	while (top >= len + PAGE_SIZE * 16) {
		uint64_t start = top - len;
		struct vma *clash = NULL;
		for (struct vma *v = mm->vmas; v && v->start < top; v = v->next)
			if (v->end > start)
				clash = v; /* the highest VMA overlapping [start, top) */
		if (!clash)
			return start;
		top = clash->start;
	}
	return 0;
}

static uint64_t pte_flags_for(uint32_t flags)
{
	uint64_t f = PTE_U;
	if (flags & KVMBOX_VMA_WRITE)
		f |= PTE_W;
	if (!(flags & KVMBOX_VMA_EXEC))
		f |= PTE_NX;
	return f;
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
		v->flags = keep | flags;
		for (uint64_t va = v->start; va < v->end; va += PAGE_SIZE) {
			uint64_t *pte = pte_walk(mm->pml4, va, false);
			if (!pte || !PTE_HAS_FRAME(*pte))
				continue;
			uint64_t pa = *pte & PTE_ADDR;
			if (!(flags & (KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_EXEC)))
				*pte = pa | PTE_HELD | (*pte & PTE_COW); /* PROT_NONE: not present, frame kept */
			else
				*pte = pa | PTE_P | pte_flags_for(flags) | (*pte & (PTE_A | PTE_D | PTE_COW));
			invlpg(va);
		}
	}
	return 0;
}

uint64_t vma_pte_flags(uint32_t flags)
{
	return pte_flags_for(flags);
}
