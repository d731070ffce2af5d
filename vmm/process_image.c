/* A process image (the first process, execve): what Linux's execve does for a static ELF (fs/binfmt_elf.c load_elf_binary, create_elf_tables; fs/exec.c). */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
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

static int add_vma(struct kvmbox_boot_process *out, uint64_t start, uint64_t end, uint32_t flags,
		   uint32_t pgoff)
{
	if (start >= end)
		return 0;
	if (out->nr_vmas == KVMBOX_BOOT_MAX_VMAS)
		return -ENOEXEC;
	out->vmas[out->nr_vmas++] = (struct kvmbox_boot_vma){ .start = start, .end = end, .flags = flags, .pgoff = pgoff };
	return 0;
}

/* Map the pages of one segment that hold file data and copy it in (Linux maps them from the file). */
static int load_segment(struct vm *vm, struct frame_alloc *fa, const struct process_params *p,
			uint64_t pml4, uint64_t bias, const struct elf_segment *s)
{
	if (s->filesz == 0)
		return 0;
	uint64_t va = bias + s->vaddr, file_end = va + s->filesz;
	/* The file page under the first byte: vaddr and offset are page-congruent (elf_parse). */
	uint64_t first = align_down(va, PAGE);
	uint64_t file_first = s->offset - (va - first);
	for (uint64_t page = first; page < file_end; page += PAGE) {
		uint64_t *pte = pt_user_pte(vm, fa, pml4, page);
		if (!pte)
			return -ENOMEM;
		uint64_t from = page;  /* copy [from, to) of this page from the file */
		if (*pte & PT_P) {
			/* Shared boundary page: one frame, union of the permissions; keep the earlier bytes. */
			if (s->flags & PF_W)
				*pte |= PT_W | PT_D;
			if (s->flags & PF_X)
				*pte &= ~PT_NX;
			from = va > page ? va : page;
		} else {
			uint64_t frame = fa->take(fa);
			if (!frame)
				return -ENOMEM;
			*pte = frame | PT_P | PT_U | PT_A | ((s->flags & PF_W) ? PT_W | PT_D : 0) |
			       ((s->flags & PF_X) ? 0 : PT_NX);
		}
		uint64_t to = file_end < page + PAGE ? file_end : page + PAGE;
		uint64_t foff = file_first + (from - first);
		uint8_t *dst = GUEST_PTR(vm, (*pte & PT_ADDR) + (from - page), to - from);
		/* elf_parse checked that the segment's file bytes lie inside the file. */
		if (foff + (to - from) > p->file_size || !dst)
			die(EXIT_VMM_ERROR, "internal error: segment copy outside the file");
		/* Bytes after the file data in the last page stay zero, as Linux's padzero() leaves them. */
		memcpy(dst, p->file + foff, to - from);
	}
	return 0;
}

/* The initial stack's pages: host pointers, one per page, lowest first. */
struct stack_pages {
	uint64_t low;
	uint8_t **page;
};

/* Write len bytes at user address va of the new stack (may cross pages). */
static void stack_put(const struct stack_pages *st, uint64_t va, const void *src, size_t len)
{
	const uint8_t *s = src;
	while (len) {
		uint64_t off = va - st->low;
		size_t n = PAGE - off % PAGE;
		if (n > len)
			n = len;
		memcpy(st->page[off / PAGE] + off % PAGE, s, n);
		va += n;
		s += n;
		len -= n;
	}
}

static void stack_put_u64(const struct stack_pages *st, uint64_t va, uint64_t v)
{
	stack_put(st, va, &v, 8);
}

/* Write the initial stack (fs/binfmt_elf.c create_elf_tables) and map it: 0 and *rsp, or -errno. */
static int build_stack(struct vm *vm, struct frame_alloc *fa, const struct process_params *p,
		       uint64_t pml4, uint64_t bias, struct kvmbox_boot_process *out, uint64_t *rsp)
{
	const struct elf_image *img = p->img;
	uint64_t top = KVMBOX_STACK_TOP;
	uint64_t pos = top - 8;             /* fs/exec.c: bprm->p = vm_end - sizeof(void *) */
	uint64_t str_len = strlen(p->execfn) + 1;
	for (int i = 0; i < p->envc; i++)
		str_len += strlen(p->envp[i]) + 1;
	for (int i = 0; i < p->argc; i++)
		str_len += strlen(p->argv[i]) + 1;
	/* Linux caps arguments + environment (and their pointers) at a quarter of the stack limit (fs/exec.c). */
	if (str_len + ((uint64_t)p->argc + p->envc) * 8 > KVMBOX_STACK_MAX / 4)
		return -E2BIG;

	enum { AUXV_WORDS = 2 * 19 };
	uint64_t items = (p->argc + 1) + (p->envc + 1) + 1;
	uint64_t strings_start = pos - str_len;
	uint64_t plat = (strings_start & ~15ull) - 7;   /* arch_align_stack, then "x86_64" */
	uint64_t rnd = plat - 16;                        /* AT_RANDOM bytes */
	uint64_t sp = (rnd - AUXV_WORDS * 8 - items * 8) & ~15ull; /* STACK_ROUND: rsp % 16 == 0 */

	struct stack_pages st = { .low = align_down(sp, PAGE) };
	uint64_t npages = (top - st.low) / PAGE;
	uint8_t *one[1];
	st.page = npages == 1 ? one : malloc(npages * sizeof(*st.page));
	if (!st.page)
		die(EXIT_VMM_ERROR, "out of host memory");
	int r = 0;
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t *pte = pt_user_pte(vm, fa, pml4, st.low + i * PAGE);
		uint64_t frame = pte ? fa->take(fa) : 0;
		if (!frame) {
			r = -ENOMEM;
			goto out;
		}
		*pte = frame | PT_P | PT_U | PT_W | PT_A | PT_D | (img->exec_stack ? 0 : PT_NX);
		st.page[i] = GUEST_PTR(vm, frame, PAGE);
	}

	/*
	 * Strings, low to high: argv[0..], envp[0..], the file name (copy_strings
	 * order); their pointers go straight into the vectors above argc at sp.
	 */
	uint64_t argv_ptr = sp + 8, envp_ptr = argv_ptr + 8 * (p->argc + 1);
	uint64_t s = strings_start;
	stack_put_u64(&st, sp, p->argc);
	for (int i = 0; i < p->argc; i++) {
		size_t l = strlen(p->argv[i]) + 1;
		stack_put(&st, s, p->argv[i], l);
		stack_put_u64(&st, argv_ptr + 8 * i, s);
		s += l;
	}
	stack_put_u64(&st, argv_ptr + 8 * p->argc, 0);
	for (int i = 0; i < p->envc; i++) {
		size_t l = strlen(p->envp[i]) + 1;
		stack_put(&st, s, p->envp[i], l);
		stack_put_u64(&st, envp_ptr + 8 * i, s);
		s += l;
	}
	stack_put_u64(&st, envp_ptr + 8 * p->envc, 0);
	uint64_t execfn_va = s;
	stack_put(&st, s, p->execfn, strlen(p->execfn) + 1);
	stack_put(&st, plat, "x86_64", 7);
	uint8_t random[16];
	if (getrandom(random, sizeof(random), 0) != sizeof(random))
		die(EXIT_VMM_ERROR, "getrandom failed");
	stack_put(&st, rnd, random, 16);
	uint64_t auxv_va = envp_ptr + 8 * (p->envc + 1);
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
	stack_put(&st, auxv_va, auxv, sizeof(auxv));
	out->auxv = auxv_va;
	out->auxv_bytes = sizeof(auxv);
	*rsp = sp;
out:
	if (st.page != one)
		free(st.page);
	return r;
}

int process_build_in(struct vm *vm, struct frame_alloc *fa, const struct process_params *p,
		     struct kvmbox_boot_process *out)
{
	const struct elf_image *img = p->img;
	memset(out, 0, sizeof(*out));
	if (p->exe_path)
		snprintf(out->exe_path, sizeof(out->exe_path), "%s", p->exe_path);
	if (p->cwd)
		snprintf(out->cwd, sizeof(out->cwd), "%s", p->cwd);

	/* ET_DYN without an interpreter is a static PIE: load it at a fixed bias (no ASLR). */
	uint64_t bias = img->type == ET_DYN ? KVMBOX_PIE_BASE : 0;
	uint64_t pml4 = pt_new_user_pml4(vm, fa, vm->kernel_pml4);
	if (!pml4)
		return -ENOMEM;

	uint64_t brk = 0;
	int r;
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->segments[i];
		if ((r = load_segment(vm, fa, p, pml4, bias, s)))
			return r;
		uint64_t start = align_down(bias + s->vaddr, PAGE);
		uint64_t end = align_up(bias + s->vaddr + s->memsz, PAGE);
		uint32_t flags = vma_flags(s->flags);
		/* A page shared with the previous segment belongs to the earlier VMA, with both permissions. */
		if (out->nr_vmas > 0 && out->vmas[out->nr_vmas - 1].end > start) {
			out->vmas[out->nr_vmas - 1].flags |= flags;
			start = out->vmas[out->nr_vmas - 1].end;
		}
		/* The file page at start, for /proc/PID/maps (the ELF gives vaddr == offset modulo the page). */
		uint32_t pgoff = (uint32_t)((align_down(s->offset, PAGE) + start - align_down(bias + s->vaddr, PAGE)) / PAGE);
		if ((r = add_vma(out, start, end, flags, pgoff)))
			return r;
		if (end > brk)
			brk = end;
	}
	out->brk_start = brk;

	uint32_t sflags = KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_GROWSDOWN |
			  (img->exec_stack ? KVMBOX_VMA_EXEC : 0);
	if ((r = add_vma(out, KVMBOX_STACK_TOP - KVMBOX_STACK_MAX, KVMBOX_STACK_TOP, sflags, 0)))
		return r;
	if ((r = build_stack(vm, fa, p, pml4, bias, out, &out->stack_pointer)))
		return r;
	out->entry = bias + img->entry;
	out->pml4 = pml4;
	return 0;
}

/* The boot allocator as a frame source: it dies with the --mem hint when memory runs out. */
static uint64_t boot_take(struct frame_alloc *fa)
{
	return boot_alloc(fa->vm, PAGE, "first process");
}

void process_build(struct vm *vm, const struct process_params *p, struct kvmbox_boot_process *out)
{
	struct frame_alloc fa = { boot_take, vm };
	struct process_params q = *p;
	q.file = GUEST_PTR(vm, p->file_gpa, p->file_size);
	if (!q.file)
		die(EXIT_VMM_ERROR, "internal error: the program is outside guest memory");
	int r = process_build_in(vm, &fa, &q, out);
	if (r == -E2BIG)
		die(EXIT_VMM_ERROR, "argument list too long");
	if (r == -ENOEXEC)
		die(EXIT_CANNOT_RUN, "%s: cannot run: too many segments", p->exe_path);
	if (r)
		die(EXIT_VMM_ERROR, "internal error: building the first process failed (%d)", r);
}
