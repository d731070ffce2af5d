/*
 * Check the auxiliary vector against what the program can see of itself.
 * Prints one PASS/FAIL line per property (only properties that hold both
 * natively and in the guest) and exits 0 only if all passed.
 */
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern const ElfW(Ehdr) __ehdr_start;
extern char _start[];

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", what);
	failed |= !ok;
}

int main(int argc, char **argv)
{
	(void)argc;
	const ElfW(Ehdr) *eh = &__ehdr_start;
	const ElfW(Phdr) *ph = (const void *)((const char *)eh + eh->e_phoff);

	check(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ == 4096");
	check(getauxval(AT_PHDR) == (unsigned long)ph, "AT_PHDR == __ehdr_start + e_phoff");
	check(getauxval(AT_PHNUM) == eh->e_phnum, "AT_PHNUM == e_phnum");
	check(getauxval(AT_PHENT) == sizeof(ElfW(Phdr)), "AT_PHENT == sizeof(Elf64_Phdr)");
	check(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY == _start");

	/*
	 * The load bias (0 unless static PIE): where the segment holding file
	 * offset 0 ended up. AT_PHDR must lie inside a PT_LOAD segment, and
	 * PT_PHDR (if any) and e_entry, biased, must agree with what auxv says.
	 */
	int in_load = 0, phdr_ok = 1;
	uintptr_t bias = 0;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
			bias = (uintptr_t)eh - ph[i].p_vaddr;
			break;
		}
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && eh->e_phoff >= ph[i].p_offset &&
		    eh->e_phoff + eh->e_phnum * sizeof(*ph) <= ph[i].p_offset + ph[i].p_filesz)
			in_load = 1;
		if (ph[i].p_type == PT_PHDR && ph[i].p_vaddr + bias != (uintptr_t)ph)
			phdr_ok = 0;
	}
	check(in_load, "program headers are inside a PT_LOAD segment");
	check(phdr_ok, "PT_PHDR (if any) + load bias == AT_PHDR");
	check(getauxval(AT_ENTRY) == eh->e_entry + bias, "AT_ENTRY == e_entry + load bias");

	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	int nonzero = 0;
	if (rnd)
		for (int i = 0; i < 16; i++)
			nonzero |= rnd[i];
	check(rnd != NULL, "AT_RANDOM present");
	check(nonzero, "AT_RANDOM 16 bytes readable, not all zero");

	const char *execfn = (const char *)getauxval(AT_EXECFN);
	check(execfn && !strcmp(execfn, argv[0]), "AT_EXECFN == argv[0]");

	check(getauxval(AT_UID) == getuid(), "AT_UID == getuid()");
	check(getauxval(AT_SECURE) == 0, "AT_SECURE == 0");

	/* The SysV initial stack: auxv follows the environment's NULL. */
	char **e = argv;
	while (*e)
		e++;
	e++;
	while (*e)
		e++;
	const ElfW(auxv_t) *av = (const void *)(e + 1);
	int found_pagesz = 0, n = 0;
	for (; av->a_type != AT_NULL && n < 64; av++, n++)
		if (av->a_type == AT_PAGESZ && av->a_un.a_val == 4096)
			found_pagesz = 1;
	check(found_pagesz && n < 64, "auxv follows envp on the initial stack, AT_NULL-terminated");

	/* The stack pointer at entry was 16-byte aligned: argv sits 8 bytes above it. */
	check(((uintptr_t)argv & 15) == 8, "argv is at initial rsp + 8 (rsp 16-byte aligned)");

	printf("%s\n", failed ? "FAIL auxv" : "PASS auxv");
	return failed;
}
