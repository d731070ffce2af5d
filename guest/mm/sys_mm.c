/* mmap, munmap, mremap, mprotect, brk, madvise. */
#include "syscalls.h"
#include "mm.h"
#include "proc.h"
#include "fs.h"
#include "lib.h"
#include "errno.h"

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE 0x0f
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_GROWSDOWN 0x100
#define MAP_DENYWRITE 0x800
#define MAP_EXECUTABLE 0x1000
#define MAP_LOCKED 0x2000
#define MAP_NORESERVE 0x4000
#define MAP_POPULATE 0x8000
#define MAP_NONBLOCK 0x10000
#define MAP_STACK 0x20000
#define MAP_HUGETLB 0x40000
#define MAP_FIXED_NOREPLACE 0x100000
#define MADV_DONTNEED 4
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MREMAP_DONTUNMAP 4

/* Where a mapping of size bytes goes without MAP_FIXED: the hint if that range is free, else top-down. 0: none. */
static uint64_t pick_area(struct mm *mm, uint64_t addr, uint64_t size)
{
	if (addr && !(addr & ~PAGE_MASK) && addr + size > addr && addr + size <= KVMBOX_USER_MAP_TOP &&
	    vma_range_free(mm, addr, addr + size))
		return addr;
	return vma_find_free(mm, size);
}

static uint32_t prot_to_vma(int prot)
{
	uint32_t f = 0;
	if (prot & PROT_READ)
		f |= KVMBOX_VMA_READ;
	if (prot & PROT_WRITE)
		f |= KVMBOX_VMA_WRITE | KVMBOX_VMA_READ; /* x86 cannot map write-only */
	if (prot & PROT_EXEC)
		f |= KVMBOX_VMA_EXEC | KVMBOX_VMA_READ;
	return f;
}

/* Private file mapping: the contents are copied in now (by the VMM where CPL0 is emulated). */
static long populate_from_file(struct mm *mm, uint64_t start, size_t len, struct file *f, off_t off,
			       uint32_t flags)
{
	for (uint64_t va = start; va < start + len; va += PAGE_SIZE) {
		uint64_t pa = page_alloc_zeroed();
		if (!pa)
			return -ENOMEM;
		ssize_t n = file_read_phys(f, pa, PAGE_SIZE, off + (off_t)(va - start));
		if (n < 0) {
			page_put(pa);
			return n;
		}
		if (map_page(mm->pml4, va, pa, PTE_P | vma_pte_flags(flags))) {
			page_put(pa);
			return -ENOMEM;
		}
	}
	return 0;
}

long sys_mmap(uint64_t addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct mm *mm = current_proc()->mm;
	if (!len)
		return -EINVAL;
	if (off & (off_t)~PAGE_MASK)
		return -EINVAL;
	int type = flags & MAP_TYPE;
	if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	uint64_t size = ALIGN_UP((uint64_t)len, PAGE_SIZE);
	if (size < len || size > KVMBOX_USER_MAP_TOP)
		return -ENOMEM;
	struct file *f = NULL;
	if (!(flags & MAP_ANONYMOUS)) {
		f = fd_get(fd);
		if (!f)
			return -EBADF;
		if (type != MAP_PRIVATE)
			return -ENODEV; /* shared file mappings need a page cache */
	}
	uint64_t start;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & ~PAGE_MASK)
			return -EINVAL;
		if (addr + size < addr || addr + size > KVMBOX_USER_MAP_TOP || addr < PAGE_SIZE)
			return flags & MAP_FIXED ? -EINVAL : -ENOMEM;
		start = addr;
		if (flags & MAP_FIXED_NOREPLACE) {
			if (!vma_range_free(mm, start, start + size))
				return -EEXIST;
		} else {
			int r = vma_remove(mm, start, start + size);
			if (r)
				return r;
		}
	} else {
		/* A hint is honoured when the range is free. */
		start = pick_area(mm, addr, size);
		if (!start)
			return -ENOMEM;
	}
	uint32_t vflags = prot_to_vma(prot);
	if (type != MAP_PRIVATE)
		vflags |= KVMBOX_VMA_SHARED; /* anonymous: shared with the children forked from here on (mm_clone) */
	int r = vma_insert(mm, start, start + size, vflags);
	if (r)
		return r;
	if (f) {
		long e = populate_from_file(mm, start, size, f, off, vflags);
		if (e) {
			vma_remove(mm, start, start + size);
			return e;
		}
	}
	return (long)start;
}

long sys_munmap(uint64_t addr, size_t len)
{
	if ((addr & ~PAGE_MASK) || !len)
		return -EINVAL;
	uint64_t size = ALIGN_UP((uint64_t)len, PAGE_SIZE);
	if (addr + size < addr || addr + size > KVMBOX_USER_MAP_TOP)
		return -EINVAL;
	return vma_remove(current_proc()->mm, addr, addr + size);
}

/*
 * Move [addr, addr + old_len) of VMA v to new_addr as a mapping of new_len
 * bytes (Linux's move_vma): the page-table entries move, no data is
 * copied; the part beyond old_len is demand-zero. The old range is then
 * unmapped, or with MREMAP_DONTUNMAP stays mapped without its pages (it
 * reads zero, as Linux's private anonymous memory does).
 */
static long move_mapping(struct mm *mm, struct vma *v, uint64_t addr, uint64_t old_len, uint64_t new_len,
			 uint64_t new_addr, bool dontunmap)
{
	uint32_t flags = v->flags & ~(KVMBOX_VMA_HEAP | KVMBOX_VMA_GROWSDOWN);
	uint32_t pgoff = v->pgoff + (uint32_t)((addr - v->start) / PAGE_SIZE);
	int r = vma_insert(mm, new_addr, new_addr + new_len, flags);
	if (r)
		return r;
	struct vma *n = vma_find(mm, new_addr);
	if (n && n->start == new_addr)
		n->pgoff = pgoff;
	r = vma_move_pages(mm, addr, MIN(old_len, new_len), new_addr);
	if (r) {
		vma_remove(mm, new_addr, new_addr + new_len);
		return r;
	}
	mm->fault_next = 0;
	if (!dontunmap)
		vma_remove(mm, addr, addr + old_len);
	return (long)new_addr;
}

/*
 * mremap(2) as Linux 6.x's mm/mremap.c decides: the parameter checks
 * (check_mremap_params), the VMA at addr (check_prep_vma: EFAULT when there
 * is none, or when a range to move or grow runs past it), then no change,
 * shrink in place, grow in place if the range after the VMA is free, or
 * move (MREMAP_MAYMOVE; always with MREMAP_FIXED/MREMAP_DONTUNMAP).
 */
long sys_mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags, uint64_t new_addr)
{
	struct mm *mm = current_proc()->mm;
	if (flags & ~(uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return -EINVAL;
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	old_len = (old_len + PAGE_SIZE - 1) & PAGE_MASK; /* PAGE_ALIGN: wraps to 0 as Linux's */
	new_len = (new_len + PAGE_SIZE - 1) & PAGE_MASK;
	if (!new_len)
		return -EINVAL;
	if (new_len > KVMBOX_USER_MAP_TOP || new_addr > KVMBOX_USER_MAP_TOP - new_len)
		return -EINVAL;
	bool to = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP);
	if (to) {
		if (new_addr & ~PAGE_MASK)
			return -EINVAL;
		if (!(flags & MREMAP_MAYMOVE))
			return -EINVAL;
		if ((flags & MREMAP_DONTUNMAP) && old_len != new_len)
			return -EINVAL;
		if (addr + old_len > new_addr && new_addr + new_len > addr)
			return -EINVAL; /* the ranges overlap */
	}
	struct vma *v = vma_find(mm, addr);
	if (!v)
		return -EFAULT;
	bool grows = !to && new_len > old_len;
	if (!to && !grows) {
		if (new_len < old_len) {
			if (old_len > KVMBOX_USER_MAP_TOP || addr > KVMBOX_USER_MAP_TOP - old_len)
				return -EINVAL; /* do_vmi_munmap's range check */
			int r = vma_remove(mm, addr + new_len, addr + old_len);
			if (r)
				return r;
		}
		return (long)addr;
	}
	/* Growing or moving: private memory cannot be "duplicated" from old_len 0 (nor shared, here). */
	if (!old_len)
		return -EINVAL;
	if (old_len > v->end - addr)
		return -EFAULT;
	if (!to) {
		uint64_t end = addr + new_len;
		if (addr + old_len == v->end && end <= KVMBOX_USER_MAP_TOP) {
			bool free = true;
			for (struct vma *n = v->next; n && n->start < end; n = n->next)
				free = false;
			if (free) {
				int r = vma_insert(mm, v->end, end, v->flags); /* merges into v */
				return r ? r : (long)addr;
			}
		}
		if (!(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
		new_addr = vma_find_free(mm, new_len);
		if (!new_addr)
			return -ENOMEM;
		return move_mapping(mm, v, addr, old_len, new_len, new_addr, false);
	}
	if (flags & MREMAP_FIXED) {
		int r = vma_remove(mm, new_addr, new_addr + new_len);
		if (r)
			return r;
		v = vma_find(mm, addr);
		if (!v)
			return -EFAULT;
	} else {
		new_addr = pick_area(mm, new_addr, new_len); /* MREMAP_DONTUNMAP alone: new_addr is a hint */
		if (!new_addr)
			return -ENOMEM;
	}
	return move_mapping(mm, v, addr, old_len, new_len, new_addr, flags & MREMAP_DONTUNMAP);
}

long sys_mprotect(uint64_t addr, size_t len, int prot)
{
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x01000000 | 0x02000000))
		return -EINVAL;
	uint64_t size = ALIGN_UP((uint64_t)len, PAGE_SIZE);
	if (addr + size < addr || addr + size > KVMBOX_USER_MAP_TOP)
		return -ENOMEM;
	if (!size)
		return 0;
	return vma_protect(current_proc()->mm, addr, addr + size, prot_to_vma(prot));
}

long sys_brk(uint64_t addr)
{
	struct mm *mm = current_proc()->mm;
	if (addr < mm->brk_start)
		return (long)mm->brk;
	uint64_t old_end = ALIGN_UP(mm->brk, PAGE_SIZE), new_end = ALIGN_UP(addr, PAGE_SIZE);
	if (new_end > old_end) {
		if (new_end > mm->mmap_base || new_end < addr)
			return (long)mm->brk;
		int r = vma_insert(mm, old_end, new_end,
				   KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_HEAP);
		if (r)
			return (long)mm->brk;
	} else if (new_end < old_end) {
		vma_remove(mm, new_end, old_end);
	}
	mm->brk = addr;
	return (long)addr;
}

long sys_madvise(uint64_t addr, size_t len, int advice)
{
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (advice != MADV_DONTNEED)
		return 0; /* advice only */
	uint64_t end = addr + ALIGN_UP((uint64_t)len, PAGE_SIZE);
	if (end < addr || end > KVMBOX_USER_MAP_TOP)
		return -EINVAL;
	/*
	 * Private pages: the next touch faults in a zero page. MAP_SHARED
	 * anonymous pages keep their contents (Linux: the shmem page stays in
	 * its file and is mapped again), so they stay as they are.
	 */
	struct mm *mm = current_proc()->mm;
	for (struct vma *v = vma_first_after(mm, addr); v && v->start < end; v = v->next) {
		if (v->flags & KVMBOX_VMA_SHARED)
			continue;
		unmap_pages(mm, MAX(v->start, addr), MIN(v->end, end));
	}
	return 0;
}
