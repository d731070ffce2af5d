/* User page faults: demand-zero pages inside VMAs. */
#include "mm.h"
#include "lib.h"
#include "errno.h"
#include "proc.h"

/* Page-fault error code bits (SDM vol. 3A 4.7). */
#define PF_WRITE (1u << 1)
#define PF_INSTR (1u << 4)

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

/*
 * The #PF fast path from user mode (arch/x86_64/entry.S): returns 0 when the
 * page is now mapped. Anything else (no VMA, a permission violation, no
 * memory) returns nonzero and the general trap path turns it into a signal.
 *
 * Every instruction here costs ~1 us on emulated-CPL0 hosts, so the common
 * case is written out: the VMA from the one-entry cache, one test of the
 * error code against the VMA's fault_deny mask (vma.c), an unrolled table
 * walk, frames from the never-touched (already zero) region, one store
 * each. Intermediate entries never carry NX, so masking the low 12 bits
 * gives the next table's address.
 *
 * Fault-around: when this fault is at the page right after the last one
 * (sequential first touches), the following absent pages of the same VMA
 * and page table get fresh frames too, up to FAULT_AROUND in all: that
 * costs no host memory until touched and saves a whole fault each. A fault
 * anywhere else maps its one page, so sparse touches pay for nothing extra.
 *
 * No frame pointer (it would be 3 of the ~60 instructions): the paths that
 * can go wrong are tail calls, whose callees link to the entry's frame.
 */
#define FAULT_AROUND 8

/* Sequential first touches: map page and the absent pages after it (see user_page_fault). */
static __attribute__((noinline)) int fault_around(struct mm *mm, struct vma *v, uint64_t page, uint64_t *t)
{
	unsigned max = FAULT_AROUND, to_table_end = 512 - ((page >> 12) & 511);
	if (max > to_table_end)
		max = to_table_end;
	if (max > (v->end - page) >> 12)
		max = (unsigned)((v->end - page) >> 12);
	unsigned n = map_fresh_run(t, max, v->pte_bits);
	if (unlikely(!n))
		return handle_user_fault(mm, page, false, false); /* recycled frames: a read fault maps it writable if allowed */
	mm->fault_next = page + ((uint64_t)n << 12);
	return 0;
}

__attribute__((optimize("omit-frame-pointer")))
int user_page_fault(uint64_t addr, uint64_t err)
{
	struct mm *mm = this_cpu_mm();
	struct vma *v = mm->vma_cache;
	if (unlikely(!v || addr < v->start || addr >= v->end)) {
		v = vma_find(mm, addr);
		if (!v)
			return 1;
	}
	if (unlikely(err & v->fault_deny))
		return 1; /* PF_PROT (copy-on-write, PROT_NONE) or an access the VMA forbids */
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
	t = P2V(e & ~0xfffull) + ((addr >> 9) & (511 * 8));
	if (unlikely(*t))
		return handle_user_fault(mm, addr, err & PF_WRITE, err & PF_INSTR);
	uint64_t page = addr & PAGE_MASK;
	if (unlikely(page == mm->fault_next))
		return fault_around(mm, v, page, t);
	uint64_t pa = page_alloc_fresh();
	if (unlikely(!pa))
		return handle_user_fault(mm, addr, err & PF_WRITE, err & PF_INSTR);
	*t = pa | v->pte_bits;
	mm->fault_next = page + PAGE_SIZE;
	return 0;
}
