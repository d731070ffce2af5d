/* Checked user-memory access through a software page walk (xv6's copyin/copyout model). */
#include "uaccess.h"
#include "mm.h"
#include "proc.h"
#include "platform.h"
#include "lib.h"
#include "errno.h"
#include "debug.h"

/*
 * The physical address behind user address va for the requested access,
 * faulting the page in if the VMA allows it. The kernel never dereferences
 * a user address, so a bad pointer is an error return, never a kernel fault.
 */
static int user_pa(struct mm *mm, uint64_t va, bool write, uint64_t *pa)
{
	if (va >= KVMBOX_USER_MAP_TOP)
		return -EFAULT;
	for (int tries = 0; tries < 2; tries++) {
		uint64_t *pte = pte_walk(mm->pml4, va, false);
		if (pte && (((*pte & (PTE_P | PTE_U)) == (PTE_P | PTE_U) && (!write || (*pte & PTE_W))) ||
			    (unlikely(debug_nr_watches) && (*pte & PTE_P) && debug_watch_kernel_access(mm, va, pte, write)))) {
			*pa = (*pte & PTE_ADDR) | (va & ~PAGE_MASK);
			return 0;
		}
		if (handle_user_fault(mm, va, write, false))
			return -EFAULT;
	}
	return -EFAULT;
}

/* Both checks: the end must not wrap around, and must stay in the user half. */
static bool range_ok(uint64_t uaddr, size_t n)
{
	return uaddr + n >= uaddr && uaddr + n <= KVMBOX_USER_MAP_TOP;
}

static int copy_user(uint64_t uaddr, void *kbuf, size_t n, bool to_user)
{
	if (!range_ok(uaddr, n))
		return -EFAULT;
	struct mm *mm = current_proc()->mm;
	uint8_t *k = kbuf;
	while (n) {
		uint64_t pa;
		if (user_pa(mm, uaddr, to_user, &pa))
			return -EFAULT;
		size_t chunk = MIN(n, PAGE_SIZE - (uaddr & ~PAGE_MASK));
		if (to_user)
			kmem_copy(P2V(pa), k, chunk);
		else
			kmem_copy(k, P2V(pa), chunk);
		k += chunk;
		uaddr += chunk;
		n -= chunk;
	}
	return 0;
}

int copy_from_user(void *dst, uint64_t usrc, size_t n)
{
	return copy_user(usrc, dst, n, false);
}

int copy_to_user(uint64_t udst, const void *src, size_t n)
{
	return copy_user(udst, (void *)src, n, true);
}

int clear_user(uint64_t udst, size_t n)
{
	if (!range_ok(udst, n))
		return -EFAULT;
	struct mm *mm = current_proc()->mm;
	while (n) {
		uint64_t pa;
		if (user_pa(mm, udst, true, &pa))
			return -EFAULT;
		size_t chunk = MIN(n, PAGE_SIZE - (udst & ~PAGE_MASK));
		pmem_zero(pa, chunk);
		udst += chunk;
		n -= chunk;
	}
	return 0;
}

long strncpy_from_user(char *dst, uint64_t usrc, size_t max)
{
	struct mm *mm = current_proc()->mm;
	size_t i = 0;
	while (i < max) {
		uint64_t pa;
		if (user_pa(mm, usrc + i, false, &pa))
			return -EFAULT;
		const char *src = P2V(pa);
		size_t chunk = MIN(max - i, PAGE_SIZE - ((usrc + i) & ~PAGE_MASK));
		for (size_t j = 0; j < chunk; j++) {
			dst[i + j] = src[j];
			if (!src[j])
				return (long)(i + j);
		}
		i += chunk;
	}
	return -ENAMETOOLONG;
}

long user_segs(uint64_t uaddr, size_t len, bool write, struct kvmbox_seg *segs,
	       unsigned max_segs, unsigned *nr_segs)
{
	struct mm *mm = current_proc()->mm;
	unsigned n = 0;
	size_t done = 0;
	uint64_t *pte = NULL;
	uint64_t want = PTE_P | PTE_U | (write ? PTE_W : 0);
	if (uaddr + len < uaddr)
		len = -uaddr; /* clamp: the walk stops at the first bad page anyway */
	while (done < len) {
		uint64_t pa, va = uaddr + done;
		/*
		 * The next page's entry follows in the same page table (512 per
		 * table): a walk only at the first page and at 2 MiB boundaries,
		 * ~10 CPL0 instructions a page instead of ~130 (a 64 KiB write).
		 */
		if (pte && (va & 0x1ff000))
			pte++;
		else
			pte = pte_walk(mm->pml4, va, false);
		uint64_t e = pte ? *pte : 0;
		if (va < KVMBOX_USER_MAP_TOP && (e & (PTE_P | PTE_U)) == (PTE_P | PTE_U) &&
		    (!write || (e & PTE_W))) {
			pa = (e & PTE_ADDR) | (va & ~PAGE_MASK);
		} else {
			if (user_pa(mm, va, write, &pa))
				break;
			pte = pte_walk(mm->pml4, va, false); /* the fault may have made the table */
		}
		size_t chunk = MIN(len - done, PAGE_SIZE - ((uaddr + done) & ~PAGE_MASK));
		if (n && segs[n - 1].gpa + segs[n - 1].len == pa) {
			segs[n - 1].len += chunk;
		} else {
			if (n == max_segs)
				break;
			segs[n].gpa = pa;
			segs[n].len = chunk;
			n++;
		}
		done += chunk;
		/*
		 * Whole pages that continue the segment physically (fresh frames come
		 * in order): about eight instructions a page (a 1 MiB block read).
		 */
		uint64_t expect = want | ((pa & PTE_ADDR) + PAGE_SIZE);
		while (pte && len - done >= PAGE_SIZE && ((uaddr + done) >> 12) & 511 &&
		       (pte[1] & (want | PTE_ADDR)) == expect) {
			pte++;
			segs[n - 1].len += PAGE_SIZE;
			done += PAGE_SIZE;
			expect += PAGE_SIZE;
		}
	}
	*nr_segs = n;
	if (!done && len)
		return -EFAULT;
	return (long)done;
}
