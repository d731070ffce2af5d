/* HC_FORK: fork's copy-on-write address-space copy: the child's page tables built natively (shared/hypercall.h). */
#include <errno.h>
#include <string.h>
#include "fork.h"
#include "guest_mem.h"
#include "pagetable_x86_64.h"

#define PAGE KVMBOX_PAGE_SIZE
#define M2 (1ull << 21)
#define G1 (1ull << 30)
#define G512 (1ull << 39)

struct fork_ctx {
	struct vm *vm;
	uint32_t *counts;         /* the guest's frame table: uses per frame */
	uint64_t nframes;
	struct kvmbox_hc_fork *a;
};

static bool frame_ok(const struct fork_ctx *c, uint64_t gpa)
{
	return gpa && gpa / PAGE < c->nframes;
}

/* The next level's table of a present, non-large entry that points into guest memory, or NULL. */
static uint64_t *table_of(const struct fork_ctx *c, uint64_t e)
{
	if ((e & (PT_P | PT_PS)) != PT_P || !frame_ok(c, e & PT_ADDR))
		return NULL;
	return GUEST_PTR(c->vm, e & PT_ADDR, PAGE);
}

/*
 * The child's tables the walk will need: one per parent table below the
 * PML4 (the tree has the same shape). -EINVAL for what the guest never
 * builds: large pages in the user half, tables outside memory or not in use.
 */
static long count_tables(const struct fork_ctx *c, const uint64_t *t, int level)
{
	long n = 0;
	for (unsigned i = 0; i < (level == 4 ? 256u : 512u); i++) {
		uint64_t e = t[i];
		if (level == 1 || !(e & PT_P))
			continue;
		const uint64_t *next = table_of(c, e);
		if (!next || !c->counts[(e & PT_ADDR) / PAGE])
			return -EINVAL;
		long m = count_tables(c, next, level - 1);
		if (m < 0)
			return m;
		n += 1 + m;
	}
	return n;
}

/* A never-touched (zero) frame from the pool, in use once; count_tables made sure there are enough. */
static uint64_t take_fresh(struct fork_ctx *c)
{
	uint64_t pa = c->a->pool.fresh_next;
	c->a->pool.fresh_next += PAGE;
	c->counts[pa / PAGE] = 1;
	c->a->tables++;
	return pa;
}

/* The child's table under entry *ce (creating it, linked as the parent's entry pe is). */
static uint64_t *child_next(struct fork_ctx *c, uint64_t *ce, uint64_t pe)
{
	if (!(*ce & PT_P))
		*ce = take_fresh(c) | (pe & ~PT_ADDR);
	return GUEST_PTR(c->vm, *ce & PT_ADDR, PAGE);
}

/* One leaf table: the child's entries, the parent's changes into wp_buf. */
static void copy_leaf_table(struct fork_ctx *c, uint64_t l1pa, uint64_t *child, struct kvmbox_fork_wp *wp)
{
	const uint64_t *t = GUEST_PTR(c->vm, l1pa, PAGE);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i], n = e;
		if (!(e & (PT_P | KVMBOX_PTE_HELD)) || !frame_ok(c, e & PT_ADDR))
			continue;
		if ((e & PT_W) && !(e & KVMBOX_PTE_SHARED))
			n = (e & ~PT_W) | KVMBOX_PTE_COW; /* a write then faults with P=1, W=1 (SDM vol. 3A 4.7) */
		else if ((e & KVMBOX_PTE_HELD) && !(e & (KVMBOX_PTE_COW | KVMBOX_PTE_SHARED)))
			n = e | KVMBOX_PTE_COW;           /* PROT_NONE now, maybe writable later */
		if (n != e)
			wp[c->a->wp_n++] = (struct kvmbox_fork_wp){ l1pa + 8 * i, n };
		child[i] = n & ~(PT_A | PT_D);
		c->counts[(e & PT_ADDR) / PAGE]++;
		c->a->frames++;
	}
}

static int do_fork(struct vm *vm, struct kvmbox_hc_fork *a)
{
	struct fork_ctx c = { .vm = vm, .nframes = vm->mem_size / PAGE, .a = a };
	c.counts = GUEST_PTR(vm, vm->frame_table, c.nframes * 4);
	struct kvmbox_frame_pool *p = &a->pool;
	const uint64_t *l4 = a->pml4 % PAGE ? NULL : GUEST_PTR(vm, a->pml4, PAGE);
	struct kvmbox_fork_wp *wp = GUEST_PTR(vm, a->wp_buf, (uint64_t)a->wp_max * sizeof(*wp));
	if (!c.counts || !l4 || !wp || a->wp_max < 512 || a->va % M2 || a->va > KVMBOX_USER_TOP ||
	    p->fresh_next % PAGE || p->fresh_end % PAGE || p->fresh_next > p->fresh_end || p->fresh_end > vm->mem_size)
		return -EINVAL;
	a->wp_n = 0;
	if (!a->child_pml4) {
		if (a->va)
			return -EINVAL;
		long n = count_tables(&c, l4, 4);
		if (n < 0)
			return (int)n;
		if ((uint64_t)n + 1 > (p->fresh_end - p->fresh_next) / PAGE)
			return -ENOMEM;
		a->tables = a->frames = 0;
		a->child_pml4 = take_fresh(&c);
		uint64_t *cl4 = GUEST_PTR(vm, a->child_pml4, PAGE);
		memcpy(cl4 + 256, l4 + 256, 256 * 8); /* the kernel half, the same in every address space */
	} else if (!frame_ok(&c, a->child_pml4) || a->child_pml4 % PAGE) {
		return -EINVAL;
	}
	uint64_t *cl4 = GUEST_PTR(vm, a->child_pml4, PAGE);
	uint64_t va = a->va;
	while (va < KVMBOX_USER_TOP && a->wp_n + 512 <= a->wp_max) {
		uint64_t e4 = l4[(va >> 39) & 511];
		const uint64_t *l3 = table_of(&c, e4);
		if (!l3) {
			va = (va | (G512 - 1)) + 1;
			continue;
		}
		uint64_t e3 = l3[(va >> 30) & 511];
		const uint64_t *l2 = table_of(&c, e3);
		if (!l2) {
			va = (va | (G1 - 1)) + 1;
			continue;
		}
		uint64_t e2 = l2[(va >> 21) & 511];
		if (table_of(&c, e2)) {
			/* count_tables saw every one of these tables: the fresh frames suffice. */
			uint64_t *c3 = child_next(&c, &cl4[(va >> 39) & 511], e4);
			uint64_t *c2 = child_next(&c, &c3[(va >> 30) & 511], e3);
			uint64_t *c1 = child_next(&c, &c2[(va >> 21) & 511], e2);
			copy_leaf_table(&c, e2 & PT_ADDR, c1, wp);
		}
		va += M2;
	}
	a->va = va < KVMBOX_USER_TOP ? va : KVMBOX_USER_TOP;
	return 0;
}

void hc_fork(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_fork *a = arg;
	a->ret = do_fork(vcpu->vm, a);
}
