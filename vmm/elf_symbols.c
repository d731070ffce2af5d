/* ELF section lookup and .symtab symbolization (pure; gABI ch. 4 "Sections", "Symbol Table"). */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include "elf_symbols.h"

/* Section header i, copied out after a bounds check. */
static int shdr_at(const uint8_t *b, size_t len, const Elf64_Ehdr *eh, unsigned i, Elf64_Shdr *sh)
{
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || i >= eh->e_shnum)
		return -1;
	uint64_t off = eh->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr);
	if (eh->e_shoff > len || off > len || sizeof(Elf64_Shdr) > len - off)
		return -1;
	memcpy(sh, b + off, sizeof(*sh));
	return 0;
}

static int header(const uint8_t *b, size_t len, Elf64_Ehdr *eh)
{
	if (len < sizeof(*eh) || memcmp(b, ELFMAG, SELFMAG) != 0 || b[EI_CLASS] != ELFCLASS64)
		return -1;
	memcpy(eh, b, sizeof(*eh));
	return 0;
}

/* Section data [offset, offset+size) lies inside the file. */
static int in_file(size_t len, const Elf64_Shdr *sh)
{
	return sh->sh_type != SHT_NOBITS && sh->sh_offset <= len && sh->sh_size <= len - sh->sh_offset;
}

int elf_find_section(const void *buf, size_t len, const char *name,
		     uint64_t *offset, uint64_t *size, uint64_t *addr)
{
	const uint8_t *b = buf;
	Elf64_Ehdr eh;
	Elf64_Shdr strs, sh;
	if (header(b, len, &eh) || shdr_at(b, len, &eh, eh.e_shstrndx, &strs) || !in_file(len, &strs))
		return -1;
	size_t nlen = strlen(name);
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		if (shdr_at(b, len, &eh, i, &sh))
			return -1;
		if (sh.sh_name >= strs.sh_size || nlen + 1 > strs.sh_size - sh.sh_name)
			continue;
		if (memcmp(b + strs.sh_offset + sh.sh_name, name, nlen + 1) != 0)
			continue;
		*offset = sh.sh_offset;
		*size = sh.sh_size;
		*addr = sh.sh_addr;
		return 0;
	}
	return -1;
}

int elf_symbolize(const void *buf, size_t len, uint64_t addr, char *out, size_t out_size,
		  uint64_t *start)
{
	const uint8_t *b = buf;
	Elf64_Ehdr eh;
	Elf64_Shdr sh, strtab;
	if (header(b, len, &eh))
		return -1;
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		if (shdr_at(b, len, &eh, i, &sh))
			return -1;
		if (sh.sh_type != SHT_SYMTAB || !in_file(len, &sh) ||
		    shdr_at(b, len, &eh, sh.sh_link, &strtab) || !in_file(len, &strtab))
			continue;
		/* Best: a function containing addr; else the nearest function symbol below it. */
		const Elf64_Sym *best = NULL;
		Elf64_Sym best_sym;
		uint64_t n = sh.sh_size / sizeof(Elf64_Sym);
		for (uint64_t k = 0; k < n; k++) {
			Elf64_Sym s;
			memcpy(&s, b + sh.sh_offset + k * sizeof(s), sizeof(s));
			unsigned type = ELF64_ST_TYPE(s.st_info);
			if ((type != STT_FUNC && type != STT_NOTYPE) || s.st_shndx == SHN_UNDEF ||
			    s.st_name == 0 || s.st_value > addr)
				continue;
			if (s.st_size && addr - s.st_value >= s.st_size)
				continue;
			if (!s.st_size && type != STT_FUNC && addr - s.st_value > 0x10000)
				continue;
			if (!best || s.st_value > best_sym.st_value ||
			    (s.st_value == best_sym.st_value && type == STT_FUNC)) {
				best_sym = s;
				best = &best_sym;
			}
		}
		if (!best || best->st_name >= strtab.sh_size)
			return -1;
		const char *name = (const char *)b + strtab.sh_offset + best->st_name;
		size_t max = strtab.sh_size - best->st_name;
		int nl = (int)strnlen(name, max < 200 ? max : 200);
		snprintf(out, out_size, "%.*s+0x%llx", nl, name,
			 (unsigned long long)(addr - best->st_value));
		if (start)
			*start = best->st_value;
		return 0;
	}
	return -1;
}

int elf_symbol_addr(const void *buf, size_t len, const char *name, uint64_t *addr)
{
	const uint8_t *b = buf;
	Elf64_Ehdr eh;
	Elf64_Shdr sh, strtab;
	size_t nlen = strlen(name);
	if (header(b, len, &eh))
		return -1;
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		if (shdr_at(b, len, &eh, i, &sh))
			return -1;
		if (sh.sh_type != SHT_SYMTAB || !in_file(len, &sh) ||
		    shdr_at(b, len, &eh, sh.sh_link, &strtab) || !in_file(len, &strtab))
			continue;
		for (uint64_t k = 0; k < sh.sh_size / sizeof(Elf64_Sym); k++) {
			Elf64_Sym s;
			memcpy(&s, b + sh.sh_offset + k * sizeof(s), sizeof(s));
			if (s.st_shndx == SHN_UNDEF || s.st_name >= strtab.sh_size ||
			    nlen + 1 > strtab.sh_size - s.st_name ||
			    memcmp(b + strtab.sh_offset + s.st_name, name, nlen + 1))
				continue;
			*addr = s.st_value;
			return 0;
		}
	}
	return -1;
}
