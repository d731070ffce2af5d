/* Load the guest kernel ELF and apply its kernel header (IDT, TSS descriptors, TSS stacks). */
#ifndef VMM_KERNEL_LOADER_H
#define VMM_KERNEL_LOADER_H
#include "vm.h"

/*
 * Load the PT_LOAD segments of the kernel at vm->kernel_path to their
 * physical addresses (virtual - KVMBOX_KERNEL_BASE), read and check its
 * .kvmbox_header (magic, ABI version) into vm->khdr, set vm->kernel_entry and
 * vm->kernel_end. Dies with 125 and the reason on any problem.
 */
void kernel_load(struct vm *vm);

/* Fill the IDT gates and every CPU's TSS descriptor and TSS from vm->khdr. */
void kernel_apply_header(struct vm *vm);

/* Host pointer to kernel virtual [va, va + len) in the kernel image mapping, or NULL. */
void *kernel_ptr(struct vm *vm, uint64_t va, uint64_t len);
#endif
