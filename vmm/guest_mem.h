/* Guest memory: the memfd backing, THE checked gpa translation, page-table walks. */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H
#include <stdint.h>
#include "vm.h"

/*
 * Host pointer to guest-physical [gpa, gpa + len), or NULL if any byte of it
 * is outside guest memory (overflow safe: gpa + len may wrap). len == 0 is
 * valid for any gpa <= mem_size (a pointer to the end, as for C arrays).
 * With vm->verbose a failure is reported with the caller's file:line.
 * Every guest address the VMM touches goes through here.
 */
void *guest_ptr_at(struct vm *vm, uint64_t gpa, uint64_t len, const char *file, int line);
#define GUEST_PTR(vm, gpa, len) guest_ptr_at(vm, gpa, len, __FILE__, __LINE__)

/*
 * Translate gva through the 4-level page tables at cr3 (SDM vol. 3A 4.5):
 * checks P at each level, handles 1 GiB and 2 MiB pages, rejects
 * non-canonical addresses and tables outside guest memory. 0 or -1.
 */
int gva_to_gpa(struct vm *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa);

/* Copy up to len bytes at gva (through cr3) into buf; returns the bytes readable from the start. */
size_t guest_read_gva(struct vm *vm, uint64_t cr3, uint64_t gva, void *buf, size_t len);

/*
 * Create the memfd of mem_size bytes and map it (MAP_SHARED|MAP_NORESERVE:
 * host memory is consumed only as the guest touches it; it reads as zero).
 * 0 or -1 with errno.
 */
int guest_mem_create(struct vm *vm, uint64_t mem_size);

static inline uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }
static inline uint64_t align_down(uint64_t x, uint64_t a) { return x & ~(a - 1); }
#endif
