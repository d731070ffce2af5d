/* ELF64 executable parsing and validation (pure; System V gABI ch. 4-5, x86-64 psABI). */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include "elf.h"
#include <kvmbox.h>

#define PAGE 4096ull

static int fail(char *err, size_t err_size, const char *msg)
{
	snprintf(err, err_size, "%s", msg);
	return -1;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386: return "i386";
	case EM_ARM: return "ARM";
	case EM_AARCH64: return "AArch64";
	case EM_RISCV: return "RISC-V";
	case EM_PPC: return "PowerPC";
	case EM_PPC64: return "PowerPC64";
	case EM_S390: return "s390";
	case EM_MIPS: return "MIPS";
	case EM_SPARCV9: return "SPARC64";
	case EM_LOONGARCH: return "LoongArch";
	case EM_IA_64: return "IA-64";
	default: return "another architecture";
	}
}

int elf_parse(const void *buf, size_t len, struct elf_image *img, char *err, size_t err_size)
{
	const uint8_t *b = buf;
	Elf64_Ehdr eh;

	memset(img, 0, sizeof(*img));
	if (len < 4 || memcmp(b, ELFMAG, SELFMAG) != 0)
		return fail(err, err_size, "not an ELF file");
	if (len < EI_NIDENT)
		return fail(err, err_size, "truncated (ELF header past the end of the file)");
	if (b[EI_CLASS] == ELFCLASS32)
		return fail(err, err_size, "32-bit ELF, not x86-64");
	if (b[EI_CLASS] != ELFCLASS64)
		return fail(err, err_size, "unknown ELF class");
	if (b[EI_DATA] != ELFDATA2LSB)
		return fail(err, err_size, "big-endian ELF, not x86-64");
	if (len < sizeof(eh))
		return fail(err, err_size, "truncated (ELF header past the end of the file)");
	memcpy(&eh, b, sizeof(eh));
	if (eh.e_machine != EM_X86_64) {
		snprintf(err, err_size, "built for %s (e_machine %u), not x86-64",
			 machine_name(eh.e_machine), eh.e_machine);
		return -1;
	}
	if (eh.e_type == ET_REL)
		return fail(err, err_size, "an object file (ET_REL), not an executable");
	if (eh.e_type == ET_CORE)
		return fail(err, err_size, "a core file, not an executable");
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return fail(err, err_size, "not an executable (unknown e_type)");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, err_size, "bad program header size (e_phentsize is not 56)");
	if (eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
		return fail(err, err_size, "no program headers");
	/* phoff + phnum * 56 without overflow: phnum < 65535 so the product fits. */
	uint64_t ph_bytes = (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (eh.e_phoff > len || ph_bytes > len - eh.e_phoff)
		return fail(err, err_size, "truncated (program headers past the end of the file)");

	img->type = eh.e_type;
	img->entry = eh.e_entry;
	img->phnum = eh.e_phnum;
	img->phentsize = eh.e_phentsize;
	bool have_phdr = false;
	uint64_t prev_end = 0;

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, b + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		switch (ph.p_type) {
		case PT_INTERP: {
			if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
				return fail(err, err_size, "truncated (PT_INTERP past the end of the file)");
			size_t n = ph.p_filesz < sizeof(img->interp) - 1 ? ph.p_filesz
									 : sizeof(img->interp) - 1;
			memcpy(img->interp, b + ph.p_offset, n);
			img->interp[n] = 0;
			img->interp[strnlen(img->interp, n)] = 0;
			img->has_interp = true;
			break;
		}
		case PT_PHDR:
			img->phdr_vaddr = ph.p_vaddr;
			have_phdr = true;
			break;
		case PT_GNU_STACK:
			img->exec_stack = (ph.p_flags & PF_X) != 0;
			break;
		case PT_LOAD: {
			if (img->nr_segments == ELF_MAX_SEGMENTS)
				return fail(err, err_size, "too many PT_LOAD segments");
			if (ph.p_filesz > ph.p_memsz)
				return fail(err, err_size, "bad segment (file size larger than memory size)");
			if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
				return fail(err, err_size, "truncated (a segment extends past the end of the file)");
			if (ph.p_vaddr >= KVMBOX_USER_TOP || ph.p_memsz > KVMBOX_USER_TOP - ph.p_vaddr)
				return fail(err, err_size, "bad segment (address outside the user address space)");
			/* mmap maps file pages: vaddr and offset must agree modulo the page size (gABI ch. 5). */
			if ((ph.p_vaddr - ph.p_offset) % PAGE != 0)
				return fail(err, err_size, "bad segment (address and file offset not page-congruent)");
			if (img->nr_segments > 0) {
				/* Sorted by vaddr (gABI: "PT_LOAD entries ... ascending order"); a shared boundary page is fine. */
				if (ph.p_vaddr < prev_end)
					return fail(err, err_size, "bad segments (overlapping or out of order)");
			}
			struct elf_segment *s = &img->segments[img->nr_segments++];
			s->vaddr = ph.p_vaddr;
			s->memsz = ph.p_memsz;
			s->offset = ph.p_offset;
			s->filesz = ph.p_filesz;
			s->flags = ph.p_flags & (PF_R | PF_W | PF_X);
			prev_end = ph.p_vaddr + ph.p_memsz;
			break;
		}
		default:
			break;
		}
	}
	if (img->has_interp) {
		snprintf(err, err_size, "dynamically linked: it asks for the interpreter %s; "
			 "kvmbox runs static executables (build with -static)", img->interp);
		return -1;
	}
	if (img->nr_segments == 0)
		return fail(err, err_size, "no loadable segments");
	img->min_vaddr = img->segments[0].vaddr & ~(PAGE - 1);
	const struct elf_segment *last = &img->segments[img->nr_segments - 1];
	img->max_vaddr = (last->vaddr + last->memsz + PAGE - 1) & ~(PAGE - 1);
	if (img->type == ET_DYN && img->max_vaddr > KVMBOX_USER_TOP - KVMBOX_PIE_BASE)
		return fail(err, err_size, "bad segment (too large for the PIE load address)");

	bool entry_ok = false;
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->segments[i];
		if ((s->flags & PF_X) && img->entry >= s->vaddr && img->entry - s->vaddr < s->memsz)
			entry_ok = true;
		/* No PT_PHDR: the headers are mapped where the segment holding e_phoff puts them. */
		if (!have_phdr && eh.e_phoff >= s->offset && eh.e_phoff - s->offset < s->filesz &&
		    ph_bytes <= s->filesz - (eh.e_phoff - s->offset)) {
			img->phdr_vaddr = s->vaddr + (eh.e_phoff - s->offset);
			have_phdr = true;
		}
	}
	if (!entry_ok)
		return fail(err, err_size, "bad entry point (not inside an executable segment)");
	return 0;
}
