/* ELF section lookup and .symtab symbolization for crash and panic backtraces (pure, bounds checked). */
#ifndef VMM_ELF_SYMBOLS_H
#define VMM_ELF_SYMBOLS_H
#include <stddef.h>
#include <stdint.h>

/* Find section `name`; 0 with its file offset, size and address, or -1. */
int elf_find_section(const void *buf, size_t len, const char *name,
		     uint64_t *offset, uint64_t *size, uint64_t *addr);

/*
 * Write "function+0xoff" for addr (an unbiased ELF address) into out, from
 * the function symbols of .symtab, and the function's address into *start
 * (if not NULL). Returns 0, or -1 if there is no symtab or no symbol covers
 * addr. Never reads outside buf.
 */
int elf_symbolize(const void *buf, size_t len, uint64_t addr, char *out, size_t out_size,
		  uint64_t *start);

/* Address of the symbol called name in .symtab: 0 with *addr, or -1. */
int elf_symbol_addr(const void *buf, size_t len, const char *name, uint64_t *addr);
#endif
