/* mmap, munmap, mprotect, brk, madvise. */
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
			for (uint64_t a = start; a < start + size; a += PAGE_SIZE)
				if (vma_find(mm, a))
					return -EEXIST;
		} else {
			int r = vma_remove(mm, start, start + size);
			if (r)
				return r;
		}
	} else {
		/* A hint is honoured when the range is free. */
		start = 0;
		if (addr && !(addr & ~PAGE_MASK) && addr + size > addr && addr + size <= KVMBOX_USER_MAP_TOP) {
			bool free = true;
			for (struct vma *v = mm->vmas; v && v->start < addr + size; v = v->next)
				if (v->end > addr)
					free = false;
			if (free)
				start = addr;
		}
		if (!start)
			start = vma_find_free(mm, size);
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
	for (struct vma *v = mm->vmas; v && v->start < end; v = v->next) {
		if (v->end <= addr || (v->flags & KVMBOX_VMA_SHARED))
			continue;
		unmap_pages(mm, MAX(v->start, addr), MIN(v->end, end));
	}
	return 0;
}
