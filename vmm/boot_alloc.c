/* The boot allocator: bump allocation of zero pages of guest memory (shared/boot.h layout). */
#include "boot_alloc.h"
#include "guest_mem.h"
#include "log.h"

uint64_t boot_alloc(struct vm *vm, uint64_t bytes, const char *what)
{
	uint64_t start = align_up(vm->alloc_next, KVMBOX_PAGE_SIZE);
	uint64_t size = align_up(bytes, KVMBOX_PAGE_SIZE);
	/* Both checks: start may already be past the end, and the sum may wrap. */
	if (start > vm->mem_size || size > vm->mem_size - start || size < bytes)
		die(EXIT_VMM_ERROR, "guest memory (%llu MiB) is too small for the %s: raise --mem",
		    (unsigned long long)(vm->mem_size >> 20), what);
	vm->alloc_next = start + size;
	return start;
}
