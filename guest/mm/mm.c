/* Address spaces: create, copy on fork (copy-on-write), destroy. */
#include "mm.h"
#include "proc.h"
#include "platform.h"
#include "lib.h"
#include "errno.h"

/* A new user half for mm: an empty PML4 whose entries 256..511 are the kernel's. */
static int mm_new_pml4(struct mm *mm)
{
	/* See page_alloc_table: a recycled frame must be written by the guest itself. */
	uint64_t pml4 = page_alloc_fresh();
	bool fresh = pml4 != 0;
	if (!fresh)
		pml4 = page_alloc_table();
	if (!pml4)
		return -ENOMEM;
	/* The kernel half (PML4 entries 256..511) is the same in every address space. */
	uint64_t *dst = (uint64_t *)P2V(pml4) + 256, *src = (uint64_t *)P2V(boot_info->kernel_pml4) + 256;
	if (fresh) {
		kmem_copy(dst, src, 256 * 8);
	} else {
		uint64_t n = 256;
		__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	}
	mm->pml4 = pml4;
	return 0;
}

struct mm *mm_create(void)
{
	struct mm *mm = kmalloc(sizeof(*mm));
	if (!mm)
		return NULL;
	if (mm_new_pml4(mm)) {
		kfree(mm);
		return NULL;
	}
	mm->users = 1;
	mm->stack_top = KVMBOX_STACK_TOP;
	mm->mmap_base = KVMBOX_STACK_TOP - KVMBOX_STACK_MAX - (1ull << 30);
	return mm;
}

struct cow_ctx {
	uint64_t child_pml4;
	int err;
};

/*
 * Share one frame with the child: private writable pages become read-only
 * and copy-on-write in both (SDM: a write then faults with P=1, W=1);
 * shared mappings stay writable and shared.
 */
static void cow_one(uint64_t *pte, uint64_t va, void *ctx)
{
	struct cow_ctx *c = ctx;
	if (c->err)
		return;
	uint64_t e = *pte;
	uint64_t *cpte = pte_walk(c->child_pml4, va, true);
	if (!cpte) {
		c->err = -ENOMEM;
		return;
	}
	if ((e & PTE_W) && !(e & PTE_SHARED)) {
		e = (e & ~PTE_W) | PTE_COW;
		*pte = e;
	} else if ((e & PTE_HELD) && (e & PTE_COW) == 0 && !(e & PTE_SHARED)) {
		e |= PTE_COW; /* PROT_NONE now, maybe writable later */
		*pte = e;
	}
	*cpte = e & ~(PTE_A | PTE_D);
	page_get(e & PTE_ADDR);
}

/*
 * MAP_SHARED anonymous memory is one object for every process that maps it
 * (Linux: a shmem file): before fork shares the frames, every page of a
 * shared VMA gets one, so a page first touched after the fork is the same
 * page in parent and child. PROT_NONE pages keep theirs as PTE_HELD.
 */
static int populate_shared(struct mm *mm, struct vma *v)
{
	uint64_t bits = v->pte_bits;
	if (!(v->flags & (KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_EXEC)))
		bits = (bits & ~PTE_P) | PTE_HELD;
	for (uint64_t va = v->start; va < v->end; va += PAGE_SIZE) {
		uint64_t *pte = pte_walk(mm->pml4, va, true);
		if (!pte)
			return -ENOMEM;
		if (PTE_HAS_FRAME(*pte))
			continue;
		uint64_t pa = page_alloc_zeroed();
		if (!pa)
			return -ENOMEM;
		*pte = pa | bits;
	}
	return 0;
}

/*
 * The copy done natively (HC_FORK, shared/hypercall.h): the VMM builds the
 * child's tables in never-touched frames and lists the parent's entries
 * that turn copy-on-write; we store those ourselves, so that a shadow MMU
 * sees them, and flush. Nonzero (nothing changed) when the VMM cannot: too
 * few fresh frames, or a VMM without HC_FORK.
 */
static int native_fork(struct mm *parent, struct mm *child)
{
	static struct kvmbox_hc_fork hc;
	static struct kvmbox_fork_wp wp[1024];
	hc.pml4 = parent->pml4;
	hc.child_pml4 = 0;
	hc.va = 0;
	hc.wp_buf = V2P(wp);
	hc.wp_max = ARRAY_SIZE(wp);
	palloc_export(&hc.pool);
	hypercall(KVMBOX_HC_FORK, &hc);
	if (hc.ret)
		return (int)hc.ret;
	for (;;) {
		for (struct kvmbox_fork_wp *w = wp, *end = wp + hc.wp_n; w < end; w++)
			*(uint64_t *)P2V(w->gpa) = w->val;
		if (hc.va >= KVMBOX_USER_TOP)
			break;
		hypercall(KVMBOX_HC_FORK, &hc);
		BUG_ON(hc.ret); /* only the first call can refuse */
	}
	palloc_import(&hc.pool);
	child->pml4 = hc.child_pml4;
	/* The parent's writable entries just became read-only: flush its TLB. */
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
	return 0;
}

/*
 * fork: the child's address space, sharing every frame copy-on-write (and
 * MAP_SHARED frames as they are): natively where the VMM can, else by a
 * walk here that visits only present entries, table by table.
 */
struct mm *mm_clone(struct mm *parent)
{
	struct mm *mm = kmalloc(sizeof(*mm));
	if (!mm)
		return NULL;
	mm->users = 1;
	mm->brk_start = parent->brk_start;
	mm->brk = parent->brk;
	mm->mmap_base = parent->mmap_base;
	mm->stack_top = parent->stack_top;
	for (struct vma *v = parent->vmas; v; v = v->next)
		if ((v->flags & KVMBOX_VMA_SHARED) && populate_shared(parent, v))
			goto fail;
	if (vma_clone(mm, parent))
		goto fail;
	if (native_fork(parent, mm) == 0)
		return mm;
	if (mm_new_pml4(mm))
		goto fail;
	struct cow_ctx c = { mm->pml4, 0 };
	pt_for_each(parent->pml4, 0, KVMBOX_USER_MAP_TOP, cow_one, &c);
	/* The parent's writable entries just became read-only: flush its TLB. */
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
	if (c.err)
		goto fail;
	return mm;
fail:
	mm_put(mm);
	return NULL;
}

void mm_teardown(struct mm *mm)
{
	/* The walk over empty entries natively, the clearing here (kernel/exec.c). */
	if (mm->pml4)
		mm_free_user_half(mm->pml4);
	for (struct vma *v = mm->vmas, *n; v; v = n) {
		n = v->next;
		vma_free(v);
	}
	mm->vmas = NULL;
	mm->vma_root = NULL;
	mm->vma_cache = NULL;
	mm->pml4 = 0;
}

void mm_put(struct mm *mm)
{
	if (--mm->users > 0)
		return;
	mm_teardown(mm);
	kfree(mm);
}

/*
 * A write to a copy-on-write page: copy it (natively, by the VMM, where CPL0
 * is emulated) unless this address space is its last user.
 */
int cow_fault(struct mm *mm, uint64_t va, uint64_t *pte, struct vma *v)
{
	uint64_t e = *pte, old = e & PTE_ADDR;
	if (page_refcount(old) == 1) {
		*pte = old | v->pte_bits;
		invlpg(va);
		return 0;
	}
	uint64_t pa = page_alloc();
	if (!pa)
		return -ENOMEM;
	pmem_copy(pa, old, PAGE_SIZE);
	*pte = pa | v->pte_bits;
	invlpg(va);
	page_put(old);
	return 0;
}
