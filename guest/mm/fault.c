/* User page faults: demand-zero pages inside VMAs. */
#include "mm.h"
#include "lib.h"
#include "errno.h"

/*
 * Hot path on emulated-CPL0 hosts (every instruction ~0.5 us): the frame
 * comes from the allocator already zero (fresh memory from the host), so a
 * first touch costs a VMA lookup, a table walk and one store.
 */
int handle_user_fault(struct mm *mm, uint64_t va, bool write, bool exec)
{
	struct vma *v = vma_find(mm, va);
	if (!v)
		return -EFAULT;
	uint32_t need = write ? KVMBOX_VMA_WRITE : exec ? KVMBOX_VMA_EXEC : KVMBOX_VMA_READ;
	if (!(v->flags & need))
		return -EACCES;
	uint64_t *pte = pte_walk(mm->pml4, va, true);
	if (!pte)
		return -ENOMEM;
	if (*pte & PTE_P) {
		/* Mapped: a stale TLB entry after a permission change, or a write to a COW page. */
		if (write && !(*pte & PTE_W))
			return -EACCES; /* copy-on-write arrives with fork */
		invlpg(va);
		return 0;
	}
	if (*pte & PTE_HELD) {
		*pte = (*pte & PTE_ADDR) | PTE_P | vma_pte_flags(v->flags);
		invlpg(va);
		return 0;
	}
	uint64_t pa = page_alloc_zeroed();
	if (!pa)
		return -ENOMEM;
	*pte = pa | PTE_P | vma_pte_flags(v->flags);
	return 0;
}
