/* ELF64 executable parsing and validation (pure: no KVM, unit-tested on hostile input). */
#ifndef VMM_ELF_H
#define VMM_ELF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 16

struct elf_segment {
	uint64_t vaddr, memsz;    /* before the load bias */
	uint64_t offset, filesz;  /* within the file */
	uint32_t flags;           /* PF_R | PF_W | PF_X */
};

struct elf_image {
	uint16_t type;            /* ET_EXEC or ET_DYN (static PIE) */
	uint64_t entry;           /* before the load bias */
	uint16_t phnum, phentsize;
	uint64_t phdr_vaddr;      /* where the program headers are mapped (for AT_PHDR), before bias */
	unsigned nr_segments;     /* PT_LOAD segments, in file order */
	struct elf_segment segments[ELF_MAX_SEGMENTS];
	uint64_t min_vaddr, max_vaddr; /* page-aligned span of the PT_LOAD segments */
	bool exec_stack;          /* PT_GNU_STACK has PF_X */
	bool has_interp;          /* PT_INTERP present: dynamically linked */
	char interp[256];         /* its path, NUL-terminated (truncated if longer) */
};

/*
 * Check that buf[0, len) is a loadable static x86-64 ELF executable and
 * describe it. Returns 0, or -1 with a one-line reason in err, e.g.
 * "not an ELF file", "truncated (program headers past the end of the file)",
 * "built for AArch64 (e_machine 183), not x86-64", "32-bit ELF",
 * "dynamically linked: it asks for the interpreter /lib64/ld-linux-x86-64.so.2;
 * build it with -static", "a shared library, not an executable". Never reads
 * outside buf; rejects overlapping, unaligned or overflowing segments.
 */
int elf_parse(const void *buf, size_t len, struct elf_image *img, char *err, size_t err_size);
#endif
