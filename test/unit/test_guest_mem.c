/* Unit test of vmm/guest_mem.c: GUEST_PTR bounds (overflow safe) and gva_to_gpa on hand-built page tables. */
#include <stdint.h>
#include "unit.h"
#include "vmm/guest_mem.h"

#define MEM (4ull << 20)
#define P 1ull
#define W 2ull
#define PS 0x80ull

static uint64_t *table(struct vm *vm, uint64_t gpa) { return (uint64_t *)(vm->mem + gpa); }

int main(void)
{
	struct vm vm = { .mem = calloc(1, MEM), .mem_size = MEM };
	uint8_t *base = vm.mem;

	/* GUEST_PTR: [gpa, gpa + len) must lie inside [0, mem_size). */
	CHECK(GUEST_PTR(&vm, 0, 8) == base);
	CHECK(GUEST_PTR(&vm, MEM - 8, 8) == base + MEM - 8);
	CHECK(GUEST_PTR(&vm, 0, MEM) == base);
	CHECK(GUEST_PTR(&vm, MEM - 8, 9) == NULL);       /* len past the end */
	CHECK(GUEST_PTR(&vm, MEM, 1) == NULL);           /* gpa at the end */
	CHECK(GUEST_PTR(&vm, MEM + 1, 0) == NULL);       /* gpa past the end, even empty */
	CHECK(GUEST_PTR(&vm, 0, MEM + 1) == NULL);
	CHECK(GUEST_PTR(&vm, 16, UINT64_MAX) == NULL);   /* gpa + len wraps around */
	CHECK(GUEST_PTR(&vm, UINT64_MAX, 2) == NULL);
	CHECK(GUEST_PTR(&vm, UINT64_MAX - 7, 8) == NULL);
	CHECK(GUEST_PTR(&vm, 4096, UINT64_MAX - 4095) == NULL);
	CHECK(GUEST_PTR(&vm, MEM, 0) == base + MEM);     /* zero size: the end pointer is fine */
	CHECK(GUEST_PTR(&vm, 100, 0) == base + 100);

	/*
	 * Page tables: PML4 at 0x1000. User va 0x400000 -> 4K page at 0x10000;
	 * va 0x40000000 (1 GiB) -> 2 MiB page at 0x200000; kernel va
	 * 0xffff888000000000 -> 1 GiB page at 0.
	 */
	uint64_t pml4 = 0x1000, pdpt = 0x2000, pd = 0x3000, pt = 0x4000, pd2 = 0x5000, kpdpt = 0x6000;
	table(&vm, pml4)[0] = pdpt | P | W;
	table(&vm, pdpt)[0] = pd | P | W;
	table(&vm, pd)[2] = pt | P | W;                  /* va 0x400000: PD index 2 */
	table(&vm, pt)[0] = 0x10000 | P | W;
	table(&vm, pt)[1] = 0x11000 | W;                 /* not present */
	table(&vm, pdpt)[1] = pd2 | P | W;               /* va 0x40000000 */
	table(&vm, pd2)[0] = 0x200000 | P | W | PS;
	table(&vm, pd2)[1] = 0x400000 | W | PS;          /* not present 2 MiB page */
	table(&vm, pml4)[273] = kpdpt | P | W;
	table(&vm, kpdpt)[0] = 0 | P | W | PS;           /* 1 GiB page */

	uint64_t gpa = 0;
	CHECK(gva_to_gpa(&vm, pml4, 0x400123, &gpa) == 0 && gpa == 0x10123);
	CHECK(gva_to_gpa(&vm, pml4 | 0x18 /* PWT|PCD: ignored */, 0x400fff, &gpa) == 0 && gpa == 0x10fff);
	CHECK(gva_to_gpa(&vm, pml4, 0x401000, &gpa) == -1);        /* PTE not present */
	CHECK(gva_to_gpa(&vm, pml4, 0x600000, &gpa) == -1);        /* PDE not present */
	CHECK(gva_to_gpa(&vm, pml4, 0x40012345, &gpa) == 0 && gpa == 0x212345);  /* 2 MiB */
	CHECK(gva_to_gpa(&vm, pml4, 0x40212345, &gpa) == -1);      /* 2 MiB, not present */
	CHECK(gva_to_gpa(&vm, pml4, 0xffff888000123456ull, &gpa) == 0 && gpa == 0x123456); /* 1 GiB */
	CHECK(gva_to_gpa(&vm, pml4, 0xffff888000000000ull + (1ull << 30), &gpa) == -1);
	CHECK(gva_to_gpa(&vm, pml4, 0x0000800000000000ull, &gpa) == -1); /* non-canonical */
	CHECK(gva_to_gpa(&vm, pml4, 0x8000000000000000ull, &gpa) == -1);
	CHECK(gva_to_gpa(&vm, MEM, 0x400000, &gpa) == -1);         /* PML4 outside memory */
	table(&vm, pt)[2] = (MEM + 0x1000) | P;                    /* frame outside memory: translated, not readable */
	CHECK(gva_to_gpa(&vm, pml4, 0x402000, &gpa) == 0 && gpa == MEM + 0x1000);
	table(&vm, pd)[3] = (MEM << 4) | P;                        /* page table outside memory */
	CHECK(gva_to_gpa(&vm, pml4, 0x600000, &gpa) == -1);

	/* guest_read_gva stops at the first unreadable byte. */
	memcpy(base + 0x10ff0, "0123456789abcdef", 16);
	char out[32];
	CHECK(guest_read_gva(&vm, pml4, 0x400ff0, out, 16) == 16 && !memcmp(out, "0123456789abcdef", 16));
	CHECK(guest_read_gva(&vm, pml4, 0x400ff8, out, 16) == 8);  /* next page not present */
	CHECK(guest_read_gva(&vm, pml4, 0x402000, out, 4) == 0);   /* frame outside memory */
	free(vm.mem);
	UNIT_DONE();
}
