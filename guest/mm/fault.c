/* User page faults: demand-zero pages inside VMAs. */
#include "mm.h"
#include "lib.h"
#include "errno.h"
#include "proc.h"

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
		/* Mapped: a write to a copy-on-write page, or a stale TLB entry. */
		if (write && !(*pte & PTE_W)) {
			if (!(*pte & PTE_COW))
				return -EACCES;
			return cow_fault(mm, va, pte, v);
		}
		invlpg(va);
		return 0;
	}
	if (*pte & PTE_HELD) {
		/* Back from PROT_NONE; a copy-on-write frame stays read-only until written. */
		uint64_t e = (*pte & (PTE_ADDR | PTE_COW)) | v->pte_bits;
		if (e & PTE_COW)
			e &= ~PTE_W;
		*pte = e;
		invlpg(va);
		if (write && (e & PTE_COW))
			return cow_fault(mm, va, pte, v);
		return 0;
	}
	uint64_t pa = page_alloc_zeroed();
	if (!pa)
		return -ENOMEM;
	*pte = pa | v->pte_bits;
	return 0;
}

/* Page-fault error code bits (SDM vol. 3A 4.7). */
#define PF_PROT  (1u << 0)
#define PF_WRITE (1u << 1)
#define PF_INSTR (1u << 4)

/*
 * The #PF fast path from user mode (arch/x86_64/entry.S): returns 0 when the
 * page is now mapped. Anything else (no VMA, a permission violation, no
 * memory) returns nonzero and the general trap path turns it into a signal.
 *
 * Every instruction here costs ~1 us on emulated-CPL0 hosts, so the common
 * case is written out: the VMA from the one-entry cache, an unrolled table
 * walk, a frame from the never-touched (already zero) region, one store.
 * Intermediate entries never carry NX, so masking the low 12 bits gives the
 * next table's address. Fault-around: the next absent pages of the same
 * VMA and page table get fresh frames too (up to FAULT_AROUND), which costs
 * no host memory until touched and saves a ~100-instruction fault each.
 */
#define FAULT_AROUND 8

long user_page_fault(uint64_t addr, uint64_t err)
{
	if (err & PF_PROT)
		return 1; /* present but forbidden: the slow path decides */
	struct mm *mm = this_cpu()->mm;
	struct vma *v = mm->vma_cache;
	if (unlikely(!v || addr < v->start || addr >= v->end)) {
		v = vma_find(mm, addr);
		if (!v)
			return 1;
	}
	uint32_t need = err & PF_WRITE ? KVMBOX_VMA_WRITE : err & PF_INSTR ? KVMBOX_VMA_EXEC : KVMBOX_VMA_READ;
	if (unlikely(!(v->flags & need)))
		return 1;
	uint64_t *t = P2V(mm->pml4);
	uint64_t e = t[(addr >> 39) & 511];
	if (unlikely(!(e & PTE_P)))
		return handle_user_fault(mm, addr, err & PF_WRITE, err & PF_INSTR);
	t = P2V(e & ~0xfffull);
	e = t[(addr >> 30) & 511];
	if (unlikely(!(e & PTE_P)))
		return handle_user_fault(mm, addr, err & PF_WRITE, err & PF_INSTR);
	t = P2V(e & ~0xfffull);
	e = t[(addr >> 21) & 511];
	if (unlikely(!(e & PTE_P)))
		return handle_user_fault(mm, addr, err & PF_WRITE, err & PF_INSTR);
	t = P2V(e & ~0xfffull);
	unsigned i = (addr >> 12) & 511;
	if (unlikely(t[i]))
		return handle_user_fault(mm, addr, err & PF_WRITE, err & PF_INSTR);
	uint64_t pa = page_alloc_fresh();
	if (unlikely(!pa))
		return handle_user_fault(mm, addr, err & PF_WRITE, err & PF_INSTR);
	uint64_t bits = v->pte_bits;
	t[i] = pa | bits;
	uint64_t end_i = i + FAULT_AROUND;
	uint64_t vma_end_i = i + ((v->end - (addr & PAGE_MASK)) >> 12);
	if (end_i > vma_end_i)
		end_i = vma_end_i;
	if (end_i > 512)
		end_i = 512;
	for (unsigned j = i + 1; j < end_i && !t[j]; j++) {
		pa = page_alloc_fresh();
		if (!pa)
			break;
		t[j] = pa | bits;
	}
	return 0;
}
