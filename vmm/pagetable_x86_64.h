/* x86-64 4-level page tables built natively in guest memory: the kernel half and user mappings. */
#ifndef VMM_PAGETABLE_X86_64_H
#define VMM_PAGETABLE_X86_64_H
#include <stdbool.h>
#include <stdint.h>
#include "vm.h"

/* Page-table entry bits (SDM vol. 3A 4.5, tables 4-15 .. 4-20). */
#define PT_P    (1ull << 0)
#define PT_W    (1ull << 1)
#define PT_U    (1ull << 2)
#define PT_A    (1ull << 5)
#define PT_D    (1ull << 6)
#define PT_PS   (1ull << 7)
#define PT_G    (1ull << 8)
#define PT_NX   (1ull << 63)
#define PT_ADDR 0x000ffffffffff000ull

/*
 * Build the kernel PML4 from the boot allocator: PML4[273] maps all guest
 * memory at KVMBOX_DIRECT_MAP_BASE (RW, NX, global; 1 GiB pages when
 * vm->pdpe1gb, else 2 MiB), PML4[511] maps physical [0, 1 GiB) at
 * KVMBOX_KERNEL_BASE (RW, executable, global). Returns its gpa.
 */
uint64_t pt_build_kernel(struct vm *vm);

/*
 * Where the frames of a user address space come from: the boot allocator
 * for the first process, the guest's free frames for execve (exec.c).
 * take returns the gpa of a zeroed frame, or 0 when none is left.
 */
struct frame_alloc {
	uint64_t (*take)(struct frame_alloc *fa);
	struct vm *vm;
};

/* A new process PML4 whose entries 256..511 are the kernel PML4's: its gpa, 0 if fa is empty. */
uint64_t pt_new_user_pml4(struct vm *vm, struct frame_alloc *fa, uint64_t kernel_pml4);

/*
 * Host pointer to the 4 KiB leaf PTE for user address va under pml4,
 * allocating missing tables from fa when fa is not NULL (their entries are
 * P|W|U so the leaf decides the access). NULL if absent or fa ran out.
 */
uint64_t *pt_user_pte(struct vm *vm, struct frame_alloc *fa, uint64_t pml4, uint64_t va);
#endif
