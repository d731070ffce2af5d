/* The first process: what Linux's execve does for a static ELF (fs/binfmt_elf.c load_elf_binary, create_elf_tables; fs/exec.c). */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "boot_alloc.h"
#include "guest_mem.h"
#include "log.h"
#include "pagetable_x86_64.h"
#include "process_image.h"

#define PAGE KVMBOX_PAGE_SIZE

static uint32_t vma_flags(uint32_t pf)
{
	return ((pf & PF_R) ? KVMBOX_VMA_READ : 0) | ((pf & PF_W) ? KVMBOX_VMA_WRITE : 0) |
	       ((pf & PF_X) ? KVMBOX_VMA_EXEC : 0) | KVMBOX_VMA_IMAGE;
}

static void add_vma(struct kvmbox_boot_process *out, uint64_t start, uint64_t end, uint32_t flags)
{
	if (start >= end)
		return;
	if (out->nr_vmas == KVMBOX_BOOT_MAX_VMAS)
		die(EXIT_CANNOT_RUN, "%s: cannot run: too many segments", out->exe_path);
	out->vmas[out->nr_vmas++] = (struct kvmbox_boot_vma){ .start = start, .end = end, .flags = flags };
}

/* Map the pages of one segment that hold file data and copy it in (Linux maps them from the file). */
static void load_segment(struct vm *vm, const struct process_params *p, uint64_t pml4,
			 uint64_t bias, const struct elf_segment *s)
{
	if (s->filesz == 0)
		return;
	uint64_t va = bias + s->vaddr, file_end = va + s->filesz;
	/* The file page under the first byte: vaddr and offset are page-congruent (elf_parse). */
	uint64_t first = align_down(va, PAGE);
	uint64_t file_first = s->offset - (va - first);
	for (uint64_t page = first; page < file_end; page += PAGE) {
		uint64_t *pte = pt_user_pte(vm, pml4, page, true);
		uint64_t from = page;  /* copy [from, to) of this page from the file */
		if (*pte & PT_P) {
			/* Shared boundary page: one frame, union of the permissions; keep the earlier bytes. */
			if (s->flags & PF_W)
				*pte |= PT_W | PT_D;
			if (s->flags & PF_X)
				*pte &= ~PT_NX;
			from = va > page ? va : page;
		} else {
			uint64_t frame = boot_alloc(vm, PAGE, "program image");
			*pte = frame | PT_P | PT_U | PT_A | ((s->flags & PF_W) ? PT_W | PT_D : 0) |
			       ((s->flags & PF_X) ? 0 : PT_NX);
		}
		uint64_t to = file_end < page + PAGE ? file_end : page + PAGE;
		uint64_t foff = file_first + (from - first);
		uint8_t *src = GUEST_PTR(vm, p->file_gpa + foff, to - from);
		uint8_t *dst = GUEST_PTR(vm, (*pte & PT_ADDR) + (from - page), to - from);
		if (!src || foff + (to - from) > p->file_size || !dst)
			die(EXIT_VMM_ERROR, "internal error: segment copy outside the file");
		/* Bytes after the file data in the last page stay zero, as Linux's padzero() leaves them. */
		memcpy(dst, src, to - from);
	}
}

/* Write the initial stack (fs/binfmt_elf.c create_elf_tables) and map it; returns rsp. */
static uint64_t build_stack(struct vm *vm, const struct process_params *p, uint64_t pml4,
			    uint64_t bias, struct kvmbox_boot_process *out)
{
	const struct elf_image *img = p->img;
	uint64_t top = KVMBOX_STACK_TOP;
	uint64_t pos = top - 8;             /* fs/exec.c: bprm->p = vm_end - sizeof(void *) */
	uint64_t str_len = strlen(p->execfn) + 1;
	for (int i = 0; i < p->envc; i++)
		str_len += strlen(p->envp[i]) + 1;
	for (int i = 0; i < p->argc; i++)
		str_len += strlen(p->argv[i]) + 1;
	/* Linux caps arguments + environment at a quarter of the stack limit (fs/exec.c). */
	if (str_len > KVMBOX_STACK_MAX / 4)
		die(EXIT_VMM_ERROR, "argument list too long");

	enum { AUXV_WORDS = 2 * 19 };
	uint64_t items = (p->argc + 1) + (p->envc + 1) + 1;
	uint64_t strings_start = pos - str_len;
	uint64_t plat = (strings_start & ~15ull) - 7;   /* arch_align_stack, then "x86_64" */
	uint64_t rnd = plat - 16;                        /* AT_RANDOM bytes */
	uint64_t sp = (rnd - AUXV_WORDS * 8 - items * 8) & ~15ull; /* STACK_ROUND: rsp % 16 == 0 */

	uint64_t low = align_down(sp, PAGE);
	uint64_t npages = (top - low) / PAGE;
	uint64_t frames = boot_alloc(vm, npages * PAGE, "initial stack");
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t *pte = pt_user_pte(vm, pml4, low + i * PAGE, true);
		*pte = (frames + i * PAGE) | PT_P | PT_U | PT_W | PT_A | PT_D |
		       (img->exec_stack ? 0 : PT_NX);
	}
	/* The frames are contiguous: user va -> host pointer is one offset. */
	uint8_t *base = GUEST_PTR(vm, frames, npages * PAGE);
#define AT(va) (base + ((va) - low))

	/*
	 * Strings, low to high: argv[0..], envp[0..], the file name (copy_strings
	 * order); their pointers go straight into the vectors above argc at sp.
	 */
	uint64_t *q = (uint64_t *)AT(sp);
	uint64_t *argv_ptr = q + 1, *envp_ptr = q + 1 + p->argc + 1;
	uint64_t s = strings_start;
	*q = p->argc;
	for (int i = 0; i < p->argc; i++) {
		size_t l = strlen(p->argv[i]) + 1;
		memcpy(AT(s), p->argv[i], l);
		argv_ptr[i] = s;
		s += l;
	}
	argv_ptr[p->argc] = 0;
	for (int i = 0; i < p->envc; i++) {
		size_t l = strlen(p->envp[i]) + 1;
		memcpy(AT(s), p->envp[i], l);
		envp_ptr[i] = s;
		s += l;
	}
	envp_ptr[p->envc] = 0;
	uint64_t execfn_va = s;
	memcpy(AT(s), p->execfn, strlen(p->execfn) + 1);
	memcpy(AT(plat), "x86_64", 7);
	uint8_t random[16];
	if (getrandom(random, sizeof(random), 0) != sizeof(random))
		die(EXIT_VMM_ERROR, "getrandom failed");
	memcpy(AT(rnd), random, 16);
	q = envp_ptr + p->envc + 1;
	uint64_t auxv_va = sp + ((uint8_t *)q - AT(sp));
	/* Same entries and order as create_elf_tables (no vDSO, no AT_MINSIGSTKSZ). */
	const uint64_t auxv[AUXV_WORDS] = {
		AT_HWCAP, vm->hwcap,
		AT_PAGESZ, PAGE,
		AT_CLKTCK, 100,
		AT_PHDR, bias + img->phdr_vaddr,
		AT_PHENT, sizeof(Elf64_Phdr),
		AT_PHNUM, img->phnum,
		AT_BASE, 0,
		AT_FLAGS, 0,
		AT_ENTRY, bias + img->entry,
		AT_UID, 0,
		AT_EUID, 0,
		AT_GID, 0,
		AT_EGID, 0,
		AT_SECURE, 0,
		AT_RANDOM, rnd,
		AT_HWCAP2, 0,
		AT_EXECFN, execfn_va,
		AT_PLATFORM, plat,
		AT_NULL, 0,
	};
	memcpy(q, auxv, sizeof(auxv));
#undef AT
	out->auxv = auxv_va;
	out->auxv_bytes = sizeof(auxv);
	return sp;
}

void process_build(struct vm *vm, const struct process_params *p, struct kvmbox_boot_process *out)
{
	const struct elf_image *img = p->img;
	memset(out, 0, sizeof(*out));
	snprintf(out->exe_path, sizeof(out->exe_path), "%s", p->exe_path);
	snprintf(out->cwd, sizeof(out->cwd), "%s", p->cwd);

	/* ET_DYN without an interpreter is a static PIE: load it at a fixed bias (no ASLR). */
	uint64_t bias = img->type == ET_DYN ? KVMBOX_PIE_BASE : 0;
	uint64_t pml4 = pt_new_user_pml4(vm, vm->kernel_pml4);

	uint64_t brk = 0;
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->segments[i];
		load_segment(vm, p, pml4, bias, s);
		uint64_t start = align_down(bias + s->vaddr, PAGE);
		uint64_t end = align_up(bias + s->vaddr + s->memsz, PAGE);
		uint32_t flags = vma_flags(s->flags);
		/* A page shared with the previous segment belongs to the earlier VMA, with both permissions. */
		if (out->nr_vmas > 0 && out->vmas[out->nr_vmas - 1].end > start) {
			out->vmas[out->nr_vmas - 1].flags |= flags;
			start = out->vmas[out->nr_vmas - 1].end;
		}
		add_vma(out, start, end, flags);
		if (end > brk)
			brk = end;
	}
	out->brk_start = brk;

	uint32_t sflags = KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_GROWSDOWN |
			  (img->exec_stack ? KVMBOX_VMA_EXEC : 0);
	add_vma(out, KVMBOX_STACK_TOP - KVMBOX_STACK_MAX, KVMBOX_STACK_TOP, sflags);
	out->stack_pointer = build_stack(vm, p, pml4, bias, out);
	out->entry = bias + img->entry;
	out->pml4 = pml4;
}
