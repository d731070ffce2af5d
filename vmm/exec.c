/* HC_EXEC: execve's new image built natively (fs/exec.c, fs/binfmt_elf.c, fs/binfmt_script.c) from the guest's free frames. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "elf.h"
#include "exec.h"
#include "guest_mem.h"
#include "log.h"
#include "pagetable_x86_64.h"
#include "process_image.h"

#define PAGE KVMBOX_PAGE_SIZE
/* fs/exec.c bprm_stack_limits: a quarter of the stack limit, at least ARG_MAX (32 pages). */
#define ARG_LIMIT (KVMBOX_STACK_MAX / 4 > 32 * PAGE ? KVMBOX_STACK_MAX / 4 : 32 * PAGE)
#define MAX_SEGS (1u << 20)

/* ---- frames from the guest's pool, with undo ------------------------------ */

struct taken {
	uint64_t gpa, link;       /* link: the frame's first word before we took it */
	int from;                 /* 0 or 1: that list; 2: the fresh range */
};

struct pool_alloc {
	struct frame_alloc fa;    /* first: take() gets this pointer */
	struct kvmbox_frame_pool p; /* working copy, written back only on success */
	uint32_t *counts;         /* the frame table */
	uint64_t nframes;
	struct taken *t;
	size_t n, cap;
};

static bool frame_ok(const struct pool_alloc *pa, uint64_t gpa)
{
	return gpa && gpa % PAGE == 0 && gpa / PAGE < pa->nframes;
}

static uint64_t pool_take(struct frame_alloc *fa)
{
	struct pool_alloc *pa = (struct pool_alloc *)fa;
	struct vm *vm = fa->vm;
	struct kvmbox_frame_pool *p = &pa->p;
	struct taken t = { 0 };
	/* Never-touched frames first: no shadow MMU can hold a stale copy of them as a page table. */
	if (p->fresh_next < p->fresh_end)
		t.from = 2;
	else if (p->count[0] && p->list[0])
		t.from = 0;
	else if (p->count[1] && p->list[1])
		t.from = 1;
	else
		return 0;
	t.gpa = t.from == 2 ? p->fresh_next : p->list[t.from];
	/* A free frame is in memory and unused; anything else is a corrupt list: stop taking. */
	if (!frame_ok(pa, t.gpa) || pa->counts[t.gpa / PAGE] != 0)
		return 0;
	uint8_t *page = GUEST_PTR(vm, t.gpa, PAGE);
	if (t.from == 2) {
		p->fresh_next += PAGE;   /* never touched: already zero */
	} else {
		memcpy(&t.link, page, 8);
		memset(page, 0, PAGE);
		p->list[t.from] = t.link;
		p->count[t.from]--;
	}
	if (pa->n == pa->cap) {
		pa->cap = pa->cap ? 2 * pa->cap : 256;
		pa->t = realloc(pa->t, pa->cap * sizeof(*pa->t));
		if (!pa->t)
			die(EXIT_VMM_ERROR, "out of host memory");
	}
	pa->t[pa->n++] = t;
	return t.gpa;
}

/* A failed build: every frame back as it was (links restored, fresh frames zero again). */
static void pool_undo(struct pool_alloc *pa)
{
	for (size_t i = pa->n; i-- > 0;) {
		uint8_t *page = GUEST_PTR(pa->fa.vm, pa->t[i].gpa, PAGE);
		memset(page, 0, PAGE);
		if (pa->t[i].from != 2)
			memcpy(page, &pa->t[i].link, 8);
	}
	pa->n = 0;
}

/* One use less of a frame (the guest's page_put); at zero it goes on list[0]. */
static void pool_put(struct pool_alloc *pa, uint64_t gpa)
{
	if (!frame_ok(pa, gpa) || pa->counts[gpa / PAGE] == 0) {
		warn("HC_EXEC: release of frame 0x%llx that is not in use (ignored)", (unsigned long long)gpa);
		return;
	}
	if (--pa->counts[gpa / PAGE])
		return;
	memcpy(GUEST_PTR(pa->fa.vm, gpa, PAGE), &pa->p.list[0], 8);
	pa->p.list[0] = gpa;
	pa->p.count[0]++;
}

/* The user half of an address space, as the guest's mm_put frees it (mm/mm.c, mm/vma.c). */
static void release_user_half(struct pool_alloc *pa, uint64_t pml4)
{
	struct vm *vm = pa->fa.vm;
	const uint64_t *l4 = GUEST_PTR(vm, pml4, PAGE);
	for (int i = 0; i < 256; i++) {
		if (!(l4[i] & PT_P) || !frame_ok(pa, l4[i] & PT_ADDR))
			continue;
		uint64_t l3pa = l4[i] & PT_ADDR;
		const uint64_t *l3 = GUEST_PTR(vm, l3pa, PAGE);
		for (int j = 0; j < 512; j++) {
			if (!(l3[j] & PT_P) || (l3[j] & PT_PS) || !frame_ok(pa, l3[j] & PT_ADDR))
				continue;
			uint64_t l2pa = l3[j] & PT_ADDR;
			const uint64_t *l2 = GUEST_PTR(vm, l2pa, PAGE);
			for (int k = 0; k < 512; k++) {
				if (!(l2[k] & PT_P) || (l2[k] & PT_PS) || !frame_ok(pa, l2[k] & PT_ADDR))
					continue;
				uint64_t l1pa = l2[k] & PT_ADDR;
				const uint64_t *l1 = GUEST_PTR(vm, l1pa, PAGE);
				for (int m = 0; m < 512; m++)
					if (l1[m] & (PT_P | KVMBOX_PTE_HELD))
						pool_put(pa, l1[m] & PT_ADDR);
				pool_put(pa, l1pa);
			}
			pool_put(pa, l2pa);
		}
		pool_put(pa, l3pa);
	}
	pool_put(pa, pml4);
}

/* ---- reading the caller's memory through its page tables ------------------ */

struct uread {
	struct vm *vm;
	uint64_t cr3;
	uint64_t page_va;         /* the last page translated */
	const uint8_t *page;
	uint64_t fault_va;        /* -EAGAIN: the page the guest must fault in */
};

/* Host pointer to user byte va: 0, -EFAULT (not a user address), -EAGAIN (not present). */
static int uread_at(struct uread *u, uint64_t va, const uint8_t **out)
{
	uint64_t pva = va & ~(uint64_t)(PAGE - 1);
	if (u->page && u->page_va == pva) {
		*out = u->page + (va - pva);
		return 0;
	}
	if (va >= KVMBOX_USER_MAP_TOP)
		return -EFAULT;
	uint64_t table = u->cr3 & PT_ADDR, gpa = 0;
	for (int level = 4; level >= 1; level--) {
		const uint64_t *t = GUEST_PTR(u->vm, table, PAGE);
		if (!t)
			return -EFAULT;
		int shift = 12 + 9 * (level - 1);
		uint64_t e = t[(va >> shift) & 511];
		if (!(e & PT_P)) {
			u->fault_va = va;
			return -EAGAIN;
		}
		if (!(e & PT_U))
			return -EFAULT;
		if (level == 1 || ((level == 2 || level == 3) && (e & PT_PS))) {
			uint64_t size = 1ull << shift;
			gpa = ((e & PT_ADDR) & ~(size - 1)) + (pva & (size - 1));
			break;
		}
		table = e & PT_ADDR;
	}
	const uint8_t *p = GUEST_PTR(u->vm, gpa, PAGE);
	if (!p)
		return -EFAULT;
	u->page_va = pva;
	u->page = p;
	*out = p + (va - pva);
	return 0;
}

static int uread_u64(struct uread *u, uint64_t va, uint64_t *v)
{
	uint8_t b[8];
	for (int i = 0; i < 8;) {
		const uint8_t *p;
		int r = uread_at(u, va + i, &p);
		if (r)
			return r;
		size_t n = PAGE - (va + i) % PAGE;
		if (n > 8u - i)
			n = 8 - i;
		memcpy(b + i, p, n);
		i += n;
	}
	memcpy(v, b, 8);
	return 0;
}

/* Strings collected into one growing buffer, remembered by offset. */
struct strtab {
	char *buf;
	size_t len, cap;
	size_t *off;
	int n, cap_off;
	uint64_t total;           /* bytes counted against ARG_LIMIT (strings and pointers) */
};

static void strtab_reserve(struct strtab *s, size_t more)
{
	if (s->len + more > s->cap) {
		s->cap = (s->len + more) * 2 + PAGE;
		s->buf = realloc(s->buf, s->cap);
	}
	if (s->n == s->cap_off) {
		s->cap_off = s->cap_off ? 2 * s->cap_off : 64;
		s->off = realloc(s->off, s->cap_off * sizeof(*s->off));
	}
	if (!s->buf || !s->off)
		die(EXIT_VMM_ERROR, "out of host memory");
}

/* The string of len bytes just appended at start is complete: count it (copy_strings' limits). */
static int strtab_end(struct strtab *s, size_t start)
{
	size_t len = s->len - start;
	if (len + 1 > KVMBOX_EXEC_MAX_ARG_STRLEN || (s->total += len + 1) > ARG_LIMIT)
		return -E2BIG;
	strtab_reserve(s, 1);
	s->buf[s->len++] = 0;
	s->off[s->n++] = start;
	return 0;
}

static int strtab_add(struct strtab *s, const char *str)
{
	size_t start = s->len, len = strlen(str);
	strtab_reserve(s, len + 1);
	memcpy(s->buf + s->len, str, len);
	s->len += len;
	return strtab_end(s, start);
}

/* Append the user string at va. */
static int strtab_add_user(struct strtab *s, struct uread *u, uint64_t va)
{
	size_t start = s->len;
	for (;;) {
		const uint8_t *p;
		int r = uread_at(u, va, &p);
		if (r)
			return r;
		size_t avail = PAGE - va % PAGE;
		const uint8_t *z = memchr(p, 0, avail);
		size_t n = z ? (size_t)(z - p) : avail;
		if (s->len - start + n + 1 > KVMBOX_EXEC_MAX_ARG_STRLEN)
			return -E2BIG;
		strtab_reserve(s, n + 1);
		memcpy(s->buf + s->len, p, n);
		s->len += n;
		va += n;
		if (z)
			return strtab_end(s, start);
	}
}

/* Count a NULL-terminated user vector (count() in fs/exec.c); vec 0 is empty. */
static int count_vec(struct uread *u, uint64_t vec, int *n)
{
	*n = 0;
	if (!vec)
		return 0;
	for (;; (*n)++) {
		uint64_t ptr;
		int r = uread_u64(u, vec + 8ull * *n, &ptr);
		if (r)
			return r;
		if (!ptr)
			return 0;
		if ((uint64_t)*n >= ARG_LIMIT / 8)
			return -E2BIG;
	}
}

static int add_vec(struct strtab *s, struct uread *u, uint64_t vec, int from, int n)
{
	for (int i = from; i < n; i++) {
		uint64_t ptr;
		int r = uread_u64(u, vec + 8ull * i, &ptr);
		if (!r)
			r = strtab_add_user(s, u, ptr);
		if (r)
			return r;
	}
	return 0;
}

/* ---- "#!" scripts (fs/binfmt_script.c) ------------------------------------- */

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/*
 * Parse the "#!" line and put its interpreter path and optional argument in
 * front of the strings a->interp holds (the scripts before this one):
 * KVMBOX_EXEC_SCRIPT, or -ENOEXEC (no interpreter, or the strings of the
 * whole chain do not fit).
 */
static int parse_script(struct kvmbox_hc_exec *a, const uint8_t *file, uint64_t size)
{
	char buf[KVMBOX_EXEC_INTERP_MAX];
	size_t n = size < sizeof(buf) ? size : sizeof(buf);
	memcpy(buf, file, n);
	char *end = memchr(buf, '\n', n);
	bool cut = !end && size > n;   /* the line goes on past what Linux reads */
	if (!end)
		end = buf + n;
	char *p = buf + 2;
	while (p < end && is_blank(*p))
		p++;
	char *name = p;
	while (p < end && !is_blank(*p) && *p)
		p++;
	if (p == name || (cut && p == end))
		return -ENOEXEC;   /* no interpreter, or its name does not fit */
	size_t name_len = p - name;
	while (p < end && is_blank(*p))
		p++;
	char *arg = p;
	char *arg_end = end;
	while (arg_end > arg && (is_blank(arg_end[-1]) || arg_end[-1] == '\r' || !arg_end[-1]))
		arg_end--;
	/* A NUL inside the argument ends it, as the C string Linux takes. */
	char *z = memchr(arg, 0, arg_end - arg);
	if (z)
		arg_end = z;
	/* The strings already there (validated by build()) move up. */
	size_t old_len = 0;
	for (uint32_t i = 0; i < a->interp_argc; i++)
		old_len += strlen(a->interp + old_len) + 1;
	size_t add = name_len + 1 + (arg_end > arg ? (size_t)(arg_end - arg) + 1 : 0);
	if (old_len + add > sizeof(a->interp) - 1)
		return -ENOEXEC;
	memmove(a->interp + add, a->interp, old_len);
	memset(a->interp + add + old_len, 0, sizeof(a->interp) - add - old_len);
	memcpy(a->interp, name, name_len);
	a->interp[name_len] = 0;
	a->interp_argc++;
	if (arg_end > arg) {
		memcpy(a->interp + name_len + 1, arg, arg_end - arg);
		a->interp[add - 1] = 0;
		a->interp_argc++;
	}
	return KVMBOX_EXEC_SCRIPT;
}

/* ---- the hypercall --------------------------------------------------------- */

/* The executable's bytes as one host buffer: its own memory if one segment, else a copy (*copy). */
static int file_bytes(struct vm *vm, const struct kvmbox_hc_exec *a, const uint8_t **out, uint8_t **copy)
{
	*copy = NULL;
	if (a->file_size == 0) {
		*out = (const uint8_t *)"";
		return 0;
	}
	if (a->nr_segs == 0 || a->nr_segs > MAX_SEGS)
		return -EINVAL;
	const struct kvmbox_seg *segs = GUEST_PTR(vm, a->segs, (uint64_t)a->nr_segs * sizeof(*segs));
	if (!segs)
		return -EFAULT;
	if (a->nr_segs == 1 && segs[0].len == a->file_size) {
		*out = GUEST_PTR(vm, segs[0].gpa, segs[0].len);
		return *out ? 0 : -EFAULT;
	}
	uint8_t *buf = malloc(a->file_size);
	if (!buf)
		return -ENOMEM;
	uint64_t done = 0;
	unsigned left = a->nr_segs;
	while (left--) {
		struct kvmbox_seg s = *segs++;
		if (s.len == 0 && s.gpa) {
			/* A continuation: the rest of the list is at s.gpa. */
			segs = GUEST_PTR(vm, s.gpa, (uint64_t)left * sizeof(*segs));
			if (!segs)
				goto fault;
			continue;
		}
		const void *src = GUEST_PTR(vm, s.gpa, s.len);
		if (!src || s.len > a->file_size - done)
			goto fault;
		memcpy(buf + done, src, s.len);
		done += s.len;
	}
	if (done != a->file_size)
		goto fault;
	*out = buf;
	*copy = buf;
	return 0;
fault:
	free(buf);
	return -EFAULT;
}

/* Collect argv (with a script's interpreter strings in front) and envp; *argc, *envc. */
static int collect_args(struct vm *vm, struct kvmbox_hc_exec *a, const char *execfn,
			struct strtab *s, int *argc, int *envc)
{
	struct uread u = { .vm = vm, .cr3 = a->cr3 };
	int nargv, nenvp, r;
	if ((r = count_vec(&u, a->argv, &nargv)) || (r = count_vec(&u, a->envp, &nenvp)))
		goto out;
	/* Pointers count against the limit too; an empty argv gets "" (Linux 5.18+). */
	uint64_t ptrs = ((uint64_t)(nargv ? nargv : 1) + nenvp) * 8;
	if (ptrs >= ARG_LIMIT) {
		r = -E2BIG;
		goto out;
	}
	s->total = ptrs + strlen(execfn) + 1;
	if (a->interp_argc) {
		const char *q = a->interp;
		for (uint32_t i = 0; i < a->interp_argc; i++) {
			if ((r = strtab_add(s, q)))
				goto out;
			q += strlen(q) + 1;
		}
		if ((r = strtab_add(s, execfn)) ||
		    (r = add_vec(s, &u, a->argv, 1, nargv)))
			goto out;
	} else if (nargv == 0) {
		if ((r = strtab_add(s, "")))
			goto out;
	} else if ((r = add_vec(s, &u, a->argv, 0, nargv))) {
		goto out;
	}
	*argc = s->n;
	if ((r = add_vec(s, &u, a->envp, 0, nenvp)))
		goto out;
	*envc = s->n - *argc;
out:
	if (r == -EAGAIN)
		a->fault_va = u.fault_va;
	return r;
}

/* BUILD: the new image from the pool (nothing changes on error). */
static int build(struct vm *vm, struct kvmbox_hc_exec *a, struct pool_alloc *pa)
{
	if (a->interp_argc > 2 * KVMBOX_EXEC_MAX_SCRIPTS || a->interp[sizeof(a->interp) - 1])
		return -EINVAL;
	/* interp_argc strings must be there (collect_args and parse_script walk them). */
	size_t at = 0;
	for (uint32_t i = 0; i < a->interp_argc; i++) {
		const char *z = memchr(a->interp + at, 0, sizeof(a->interp) - at);
		if (!z || z == a->interp + sizeof(a->interp) - 1)
			return -EINVAL;
		at = (size_t)(z - a->interp) + 1;
	}
	const char *execfn = GUEST_PTR(vm, a->execfn, 1);
	size_t room = execfn ? vm->mem_size - a->execfn : 0;
	if (!execfn || !memchr(execfn, 0, room < PAGE ? room : PAGE))
		return -EFAULT;
	struct kvmbox_user_regs *regs = NULL;
	if (a->regs && !(regs = GUEST_PTR(vm, a->regs, KVMBOX_TRAP_FRAME_WORDS * 8)))
		return -EFAULT;

	struct strtab s = { 0 };
	uint8_t *copy = NULL;
	const uint8_t *file;
	int argc = 0, envc = 0;
	int r = collect_args(vm, a, execfn, &s, &argc, &envc);
	if (!r)
		r = file_bytes(vm, a, &file, &copy);
	if (r)
		goto out;

	if (a->file_size >= 2 && file[0] == '#' && file[1] == '!') {
		/* Another level of interpreter (the guest counts the levels: ELOOP). */
		r = parse_script(a, file, a->file_size);
		goto out;
	}
	struct elf_image img;
	char err[512];
	if (elf_parse(file, a->file_size, &img, err, sizeof(err))) {
		/* A dynamic executable's interpreter cannot run here: Linux's answer when it is missing. */
		r = img.has_interp ? -ENOENT : -ENOEXEC;
		goto out;
	}

	char **argv = malloc((size_t)(s.n + 1) * sizeof(char *));
	if (!argv)
		die(EXIT_VMM_ERROR, "out of host memory");
	for (int i = 0; i < s.n; i++)
		argv[i] = s.buf + s.off[i];
	struct process_params pp = {
		.img = &img, .file = file, .file_size = a->file_size,
		.argc = argc, .argv = argv, .envc = envc, .envp = argv + argc, .execfn = execfn,
	};
	struct kvmbox_boot_process image;
	r = process_build_in(vm, &pa->fa, &pp, &image);
	free(argv);
	if (r) {
		pool_undo(pa);
		goto out;
	}
	for (size_t i = 0; i < pa->n; i++)
		pa->counts[pa->t[i].gpa / PAGE] = 1;
	a->frames_used = pa->n;
	a->image = image;
	if (regs) {
		/* The entry state of a new image (SysV ABI 3.4.1; Linux's start_thread zeroes the rest). */
		memset(regs, 0, KVMBOX_TRAP_FRAME_WORDS * 8);
		regs->rip = regs->rcx = image.entry;
		regs->rsp = image.stack_pointer;
		regs->rflags = regs->r11 = 0x202;
		regs->cs = KVMBOX_SEL_UCODE;
		regs->ss = KVMBOX_SEL_UDATA;
		regs->orig_rax = ~0ull;
	}
out:
	free(copy);
	free(s.buf);
	free(s.off);
	return r;
}

/* SCAN: one chunk of the user half's frames and tables, children first (shared/hypercall.h). */
static int scan(struct vm *vm, struct kvmbox_hc_exec *a)
{
	const uint64_t G1 = 1ull << 30, G512 = 1ull << 39, M2 = 1ull << 21;
	uint64_t *buf = GUEST_PTR(vm, a->scan_buf, (uint64_t)a->scan_max * 8);
	const uint64_t *l4 = GUEST_PTR(vm, a->old_pml4 & PT_ADDR, PAGE);
	uint64_t va = a->scan_va;
	uint32_t n = 0;
	if (!buf || !l4)
		return -EFAULT;
	if (a->scan_max < 512 + 4 || a->old_pml4 % PAGE || va % M2 || va > KVMBOX_USER_TOP)
		return -EINVAL;
	while (va < KVMBOX_USER_TOP && n + 512 + 4 <= a->scan_max) {
		uint64_t e4 = l4[(va >> 39) & 511];
		const uint64_t *l3 = (e4 & PT_P) ? GUEST_PTR(vm, e4 & PT_ADDR, PAGE) : NULL;
		if (!l3) {
			va = (va | (G512 - 1)) + 1;
			continue;
		}
		uint64_t e3 = l3[(va >> 30) & 511];
		const uint64_t *l2 = (e3 & PT_P) && !(e3 & PT_PS) ? GUEST_PTR(vm, e3 & PT_ADDR, PAGE) : NULL;
		if (l2) {
			uint64_t e2 = l2[(va >> 21) & 511];
			const uint64_t *l1 = (e2 & PT_P) && !(e2 & PT_PS) ? GUEST_PTR(vm, e2 & PT_ADDR, PAGE) : NULL;
			if (l1) {
				for (int i = 0; i < 512; i++)
					if (l1[i] & (PT_P | KVMBOX_PTE_HELD))
						buf[n++] = (e2 & PT_ADDR) + 8 * i;
				buf[n++] = (e2 & PT_ADDR) | 1;
			}
			va += M2;
			if (va % G1 == 0)
				buf[n++] = (e3 & PT_ADDR) | 1;
		} else {
			va = (va | (G1 - 1)) + 1;
		}
		if (va % G512 == 0)
			buf[n++] = (e4 & PT_ADDR) | 1;
	}
	if (va >= KVMBOX_USER_TOP && n < a->scan_max) {
		buf[n++] = (a->old_pml4 & PT_ADDR) | 1;
		va = KVMBOX_USER_TOP;
	}
	a->scan_n = n;
	a->scan_va = va;
	return 0;
}

static int do_exec(struct vm *vm, struct kvmbox_hc_exec *a)
{
	if (a->flags == KVMBOX_EXEC_SCAN)
		return scan(vm, a);
	if ((a->flags & ~(KVMBOX_EXEC_BUILD | KVMBOX_EXEC_RELEASE)) || !a->flags)
		return -EINVAL;
	struct pool_alloc pa = { .fa = { pool_take, vm }, .p = a->pool, .nframes = vm->mem_size / PAGE };
	pa.counts = GUEST_PTR(vm, vm->frame_table, pa.nframes * 4);
	const struct kvmbox_frame_pool *p = &a->pool;
	if (p->fresh_next % PAGE || p->fresh_end % PAGE || p->fresh_next > p->fresh_end ||
	    p->fresh_end > vm->mem_size || !pa.counts)
		return -EINVAL;
	if ((a->flags & KVMBOX_EXEC_RELEASE) && (!frame_ok(&pa, a->old_pml4) || !pa.counts[a->old_pml4 / PAGE]))
		return -EINVAL;
	int r = 0;
	if (a->flags & KVMBOX_EXEC_BUILD)
		r = build(vm, a, &pa);
	free(pa.t);
	if (r)
		return r;
	if (a->flags & KVMBOX_EXEC_RELEASE)
		release_user_half(&pa, a->old_pml4);
	a->pool = pa.p;
	return 0;
}

void hc_exec(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_exec *a = arg;
	a->ret = do_exec(vcpu->vm, a);
}
