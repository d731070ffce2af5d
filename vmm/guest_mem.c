/* Guest memory: memfd backing, the one checked gpa translation, 4-level page walks (pure: no KVM). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "guest_mem.h"

void *guest_ptr_at(struct vm *vm, uint64_t gpa, uint64_t len, const char *file, int line)
{
	/* Two checks, so gpa + len never has to be computed (it may wrap). */
	if (gpa > vm->mem_size || len > vm->mem_size - gpa) {
		if (vm->verbose)
			fprintf(stderr, "kvmbox: %s:%d: guest address 0x%llx + 0x%llx is outside "
				"guest memory (0x%llx bytes)\n", file, line, (unsigned long long)gpa,
				(unsigned long long)len, (unsigned long long)vm->mem_size);
		return NULL;
	}
	return vm->mem + gpa;
}

#define PTE_P    (1ull << 0)
#define PTE_PS   (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull

int gva_to_gpa(struct vm *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa)
{
	/* Canonical: bits 63..47 all equal (SDM vol. 1 3.3.7.1). */
	uint64_t top = gva >> 47;
	if (top != 0 && top != 0x1ffff)
		return -1;
	uint64_t table = cr3 & PTE_ADDR;
	for (int level = 4; level >= 1; level--) {
		int shift = 12 + 9 * (level - 1);
		uint64_t idx = (gva >> shift) & 511;
		uint64_t *entry = GUEST_PTR(vm, table + idx * 8, 8);
		if (!entry)
			return -1;
		uint64_t e = *entry;
		if (!(e & PTE_P))
			return -1;
		/* PS in a PDPTE maps 1 GiB, in a PDE 2 MiB (SDM vol. 3A 4.5.4). */
		if (level == 4 || level == 1 || !(e & PTE_PS)) {
			table = e & PTE_ADDR;
			if (level == 1) {
				*gpa = table | (gva & 0xfff);
				return 0;
			}
			continue;
		}
		uint64_t mask = (1ull << shift) - 1;
		*gpa = ((e & PTE_ADDR) & ~mask) | (gva & mask);
		return 0;
	}
	return -1;
}

size_t guest_read_gva(struct vm *vm, uint64_t cr3, uint64_t gva, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		uint64_t va = gva + done, pa;
		if (va < gva)                  /* wrapped past the top */
			break;
		size_t chunk = 4096 - (va & 4095);
		if (chunk > len - done)
			chunk = len - done;
		if (gva_to_gpa(vm, cr3, va, &pa))
			break;
		void *p = GUEST_PTR(vm, pa, chunk);
		if (!p)
			break;
		memcpy((char *)buf + done, p, chunk);
		done += chunk;
	}
	return done;
}

int guest_mem_create(struct vm *vm, uint64_t mem_size)
{
	vm->mem_fd = memfd_create("kvmbox-guest", MFD_CLOEXEC);
	if (vm->mem_fd < 0)
		return -1;
	if (ftruncate(vm->mem_fd, mem_size) < 0)
		return -1;
	void *p = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       vm->mem_fd, 0);
	if (p == MAP_FAILED)
		return -1;
	vm->mem = p;
	vm->mem_size = mem_size;
	return 0;
}
