/* The boot allocator: page-granular bump allocation of guest memory while the VMM lays out the guest. */
#ifndef VMM_BOOT_ALLOC_H
#define VMM_BOOT_ALLOC_H
#include <stdint.h>
#include "vm.h"

/*
 * bytes rounded up to whole pages at vm->alloc_next (page aligned); the
 * pages are untouched, so they read as zero. Dies (125) naming `what` and
 * the --mem fix when guest memory runs out.
 */
uint64_t boot_alloc(struct vm *vm, uint64_t bytes, const char *what);
#endif
