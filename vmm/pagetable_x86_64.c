/* x86-64 4-level page tables built natively (SDM vol. 3A 4.5): kernel half and user mappings. */
#include <string.h>
#include "boot_alloc.h"
#include "guest_mem.h"
#include "log.h"
#include "pagetable_x86_64.h"

static uint64_t *table_at(struct vm *vm, uint64_t gpa)
{
	uint64_t *t = GUEST_PTR(vm, gpa, 4096);
	if (!t)
		die(EXIT_VMM_ERROR, "internal error: page table at 0x%llx outside guest memory",
		    (unsigned long long)gpa);
	return t;
}

static uint64_t new_table(struct vm *vm)
{
	/* Fresh boot-allocator pages are zero: no entries present. */
	return boot_alloc(vm, 4096, "page tables");
}

uint64_t pt_build_kernel(struct vm *vm)
{
	const uint64_t table_flags = PT_P | PT_W | PT_A;
	uint64_t pml4 = new_table(vm);

	/* Direct map: gpa p at KVMBOX_DIRECT_MAP_BASE + p (PML4 index 273; 512 GiB covers --mem's 64 GiB cap). */
	const uint64_t leaf = PT_P | PT_W | PT_A | PT_D | PT_PS | PT_G | PT_NX;
	uint64_t gib = align_up(vm->mem_size, 1ull << 30) >> 30;
	uint64_t pdpt = new_table(vm);
	table_at(vm, pml4)[(KVMBOX_DIRECT_MAP_BASE >> 39) & 511] = pdpt | table_flags;
	for (uint64_t g = 0; g < gib; g++) {
		if (vm->pdpe1gb) {
			table_at(vm, pdpt)[g] = (g << 30) | leaf;
			continue;
		}
		uint64_t pd = new_table(vm);
		table_at(vm, pdpt)[g] = pd | table_flags;
		uint64_t *t = table_at(vm, pd);
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t pa = (g << 30) + (i << 21);
			if (pa >= vm->mem_size)
				break;
			t[i] = pa | leaf;
		}
	}

	/*
	 * The virtio-mmio window (virtio_bus.c) in the direct map too, so the
	 * guest reaches device registers at P2V(reg) like memory: accesses there
	 * find no memory slot and exit as MMIO.
	 */
	if (vm->virtio_base) {
		uint64_t g = vm->virtio_base >> 30;
		if (vm->pdpe1gb) {
			table_at(vm, pdpt)[g] = (g << 30) | leaf;
		} else {
			uint64_t pd = new_table(vm);
			table_at(vm, pdpt)[g] = pd | table_flags;
			table_at(vm, pd)[0] = vm->virtio_base | leaf;
		}
	}

	/* Kernel image: physical [0, 1 GiB) at KVMBOX_KERNEL_BASE = PML4[511], PDPT[510]. */
	const uint64_t kleaf = PT_P | PT_W | PT_A | PT_D | PT_PS | PT_G;
	uint64_t kpdpt = new_table(vm);
	table_at(vm, pml4)[(KVMBOX_KERNEL_BASE >> 39) & 511] = kpdpt | table_flags;
	uint64_t kidx = (KVMBOX_KERNEL_BASE >> 30) & 511;
	if (vm->pdpe1gb) {
		table_at(vm, kpdpt)[kidx] = 0 | kleaf;
	} else {
		uint64_t pd = new_table(vm);
		table_at(vm, kpdpt)[kidx] = pd | table_flags;
		uint64_t *t = table_at(vm, pd);
		for (uint64_t i = 0; i < 512; i++)
			t[i] = (i << 21) | kleaf;
	}
	return pml4;
}

uint64_t pt_new_user_pml4(struct vm *vm, struct frame_alloc *fa, uint64_t kernel_pml4)
{
	uint64_t pml4 = fa->take(fa);
	if (!pml4)
		return 0;
	memcpy(table_at(vm, pml4) + 256, table_at(vm, kernel_pml4) + 256, 256 * 8);
	return pml4;
}

uint64_t *pt_user_pte(struct vm *vm, struct frame_alloc *fa, uint64_t pml4, uint64_t va)
{
	uint64_t table = pml4;
	for (int level = 4; level > 1; level--) {
		uint64_t *e = &table_at(vm, table)[(va >> (12 + 9 * (level - 1))) & 511];
		if (!(*e & PT_P)) {
			uint64_t t = fa ? fa->take(fa) : 0;
			if (!t)
				return NULL;
			*e = t | PT_P | PT_W | PT_U | PT_A;
		}
		table = *e & PT_ADDR;
	}
	return &table_at(vm, table)[(va >> 12) & 511];
}
