/*
 * A short road to user memory for the hot paths (pipe read/write, poll):
 * walk the current page tables inline and accept only the plain case -- a
 * present 4 KiB user page, writable if we are to write -- in about twenty
 * instructions. Anything else (not yet faulted in, copy-on-write, a bad
 * address) returns 0 and the caller takes the checked path of uaccess.h,
 * which faults pages in and reports EFAULT. Nothing here dereferences a
 * user address: only the page tables, through the direct map.
 */
#ifndef GUEST_FS_UFAST_H
#define GUEST_FS_UFAST_H
#include <mm.h>
#include <proc.h>

/* Physical address of user byte va for reading (or writing), or 0. */
static inline uint64_t ufast_pa(uint64_t va, bool write)
{
	if (unlikely(va >= KVMBOX_USER_MAP_TOP))
		return 0;
	const uint64_t need = PTE_P | PTE_U, mask = PTE_P | PTE_U | PTE_PS;
	uint64_t e = ((uint64_t *)P2V(this_cpu()->mm->pml4))[(va >> 39) & 511];
	if (unlikely((e & mask) != need))
		return 0;
	e = ((uint64_t *)P2V(e & PTE_ADDR))[(va >> 30) & 511];
	if (unlikely((e & mask) != need))
		return 0;
	e = ((uint64_t *)P2V(e & PTE_ADDR))[(va >> 21) & 511];
	if (unlikely((e & mask) != need))
		return 0;
	e = ((uint64_t *)P2V(e & PTE_ADDR))[(va >> 12) & 511];
	if (unlikely((e & need) != need || (write && !(e & PTE_W))))
		return 0;
	return (e & PTE_ADDR) | (va & ~PAGE_MASK);
}

/* Bytes from va to the end of its page. */
static inline uint64_t ufast_page_left(uint64_t va)
{
	return PAGE_SIZE - (va & ~PAGE_MASK);
}
#endif
