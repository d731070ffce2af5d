/* VMAs: the sorted list of mappings of a user address space. */
#include "mm.h"
#include "lib.h"
#include "errno.h"

/*
 * The VMAs are a list in address order (for walks) and an AVL tree over
 * the same nodes keyed by start (for lookups): with musl's malloc a
 * process has hundreds or thousands of mappings, and a linear walk at CPL0
 * costs ~10 instructions per VMA (mmap among 1,000 mappings was ~14,000).
 * Each node also keeps max_gap, the largest free gap just below a VMA of
 * its subtree (Linux's augmented rb_subtree_gap), so the top-down search
 * for free space is O(log n) too.
 */
#define GAP_FLOOR (PAGE_SIZE * 16)   /* vma_find_free never places anything below */

/*
 * Empty subtrees are this sentinel (height 0, max_gap 0), not NULL: no
 * test for a missing child on the paths that run on every mmap/munmap.
 * Its parent field is written and never read.
 */
static struct vma nil_vma;
#define NIL (&nil_vma)

/*
 * The free gap between v and its predecessor (above GAP_FLOOR), kept in
 * v->gap. The gap below the lowest VMA counts 0 here and is looked at on
 * its own (vma_find_free).
 */
static inline void update_gap(struct vma *v)
{
	uint64_t lo = v->prev ? v->prev->end : ~0ull;
	if (lo < GAP_FLOOR)
		lo = GAP_FLOOR;
	v->gap = v->start > lo ? v->start - lo : 0;
}

/* v's height and max_gap from its children: whether either changed. */
static inline bool fix(struct vma *v)
{
	int32_t hl = v->left->height, hr = v->right->height;
	int32_t h = 1 + (hl > hr ? hl : hr);
	uint64_t g = v->gap, ml = v->left->max_gap, mr = v->right->max_gap;
	if (ml > g)
		g = ml;
	if (mr > g)
		g = mr;
	bool changed = h != v->height || g != v->max_gap;
	v->height = h;
	v->max_gap = g;
	return changed;
}

/* Put n where old hangs under p (p NULL: the root). */
static inline void replace_child(struct mm *mm, struct vma *p, struct vma *old, struct vma *n)
{
	if (!p)
		mm->vma_root = n;
	else if (p->left == old)
		p->left = n;
	else
		p->right = n;
	n->parent = p;
}

static struct vma *rotate_left(struct mm *mm, struct vma *x)
{
	struct vma *y = x->right;
	replace_child(mm, x->parent, x, y);
	x->right = y->left;
	y->left->parent = x;
	y->left = x;
	x->parent = y;
	fix(x);
	fix(y);
	return y;
}

static struct vma *rotate_right(struct mm *mm, struct vma *x)
{
	struct vma *y = x->left;
	replace_child(mm, x->parent, x, y);
	x->left = y->right;
	y->right->parent = x;
	y->right = x;
	x->parent = y;
	fix(x);
	fix(y);
	return y;
}

/* Restore the AVL balance at x (children differ in height by at most 2): the subtree's root. */
static struct vma *balance(struct mm *mm, struct vma *x)
{
	int32_t bf = x->left->height - x->right->height;
	if (bf > 1) {
		if (x->left->left->height < x->left->right->height)
			rotate_left(mm, x->left);
		return rotate_right(mm, x);
	}
	if (bf < -1) {
		if (x->right->right->height < x->right->left->height)
			rotate_right(mm, x->right);
		return rotate_left(mm, x);
	}
	return x;
}

/*
 * From x up: heights and gaps from the children, rebalancing. Every other
 * node already agrees with its children, so the walk stops at the first
 * node that does not change -- once it has passed must (an ancestor of x
 * that needs fixing as well, or NULL).
 */
static void retrace(struct mm *mm, struct vma *x, struct vma *must)
{
	while (x) {
		bool changed = fix(x);
		struct vma *top = x;
		int32_t bf = x->left->height - x->right->height;
		if (bf > 1 || bf < -1)
			top = balance(mm, x);
		if (x == must)
			must = NULL;
		if (!changed && top == x && !must)
			return;
		x = top->parent;
	}
}

/* The VMA with the largest start <= addr, or NULL. */
static struct vma *floor_vma(const struct mm *mm, uint64_t addr)
{
	struct vma *x = mm->vma_root, *best = NULL;
	if (!x)
		return NULL;
	while (x != NIL) {
		if (x->start <= addr) {
			best = x;
			x = x->right;
		} else {
			x = x->left;
		}
	}
	return best;
}

/*
 * Link v (start and end set, disjoint from the others) into the list and
 * the tree, right after pred (NULL: first). A new leaf goes where the
 * in-order position is: pred's right child if it has none, else the left
 * child of pred's successor (the leftmost node of pred's right subtree).
 */
static void tree_insert(struct mm *mm, struct vma *v, struct vma *pred)
{
	struct vma *next = pred ? pred->next : mm->vmas, *p;
	v->left = v->right = NIL;
	v->height = 1;
	v->prev = pred;
	v->next = next;
	if (pred)
		pred->next = v;
	else
		mm->vmas = v;
	if (next)
		next->prev = v;
	if (!mm->vma_root) {
		p = NULL;
		mm->vma_root = v;
	} else if (pred && pred->right == NIL) {
		p = pred;
		p->right = v;
	} else {
		p = next;          /* pred's successor (or the first node): no left child */
		p->left = v;
	}
	v->parent = p;
	update_gap(v);
	v->max_gap = v->gap;
	if (next)
		update_gap(next);  /* the successor of a new leaf is an ancestor: retrace passes it */
	retrace(mm, p, next);
}

/* Unlink v from the list and the tree (not freed). */
static void tree_erase(struct mm *mm, struct vma *v)
{
	struct vma *next = v->next;
	if (v->prev)
		v->prev->next = next;
	else
		mm->vmas = next;
	if (next) {
		next->prev = v->prev;
		update_gap(next);
	}
	if (v->left != NIL && v->right != NIL) {
		/* The successor (the list's next, leftmost of the right subtree) takes v's place. */
		struct vma *s = next, *from = s;
		if (s->parent != v) {
			from = s->parent;
			from->left = s->right;
			s->right->parent = from;
			s->right = v->right;
			v->right->parent = s;
		}
		s->left = v->left;
		v->left->parent = s;
		replace_child(mm, v->parent, v, s);
		s->height = v->height;
		retrace(mm, from, s);
	} else {
		struct vma *c = v->left != NIL ? v->left : v->right;
		if (!v->parent && c == NIL) {
			mm->vma_root = NULL;
			return;
		}
		struct vma *p = v->parent;
		replace_child(mm, p, v, c);
		/*
		 * next's gap grew: next is in c's subtree when c is a right child
		 * (its leftmost node), else an ancestor of v. One walk passes both.
		 */
		if (c != NIL && c == v->right)
			retrace(mm, next, p);
		else
			retrace(mm, p, next);
	}
}

/* v ends at end now (no other VMA in between): the gap below the next one changes. */
static void set_end(struct mm *mm, struct vma *v, uint64_t end)
{
	v->end = end;
	if (v->next) {
		update_gap(v->next);
		retrace(mm, v->next, NULL);
	}
}

/* A balanced tree over the n list nodes from *cur on (in order), advancing *cur. */
static struct vma *build(struct vma **cur, uint64_t n)
{
	if (!n)
		return NIL;
	uint64_t nl = (n - 1) / 2;
	struct vma *l = build(cur, nl), *v = *cur;
	*cur = v->next;
	v->left = l;
	l->parent = v;
	v->right = build(cur, n - 1 - nl);
	v->right->parent = v;
	v->height = 0;
	fix(v);
	return v;
}

void vma_index(struct mm *mm)
{
	uint64_t n = 0;
	struct vma *prev = NULL;
	for (struct vma *v = mm->vmas; v; v = v->next) {
		v->prev = prev;
		update_gap(v);
		prev = v;
		n++;
	}
	struct vma *cur = mm->vmas;
	mm->vma_root = n ? build(&cur, n) : NULL;
	if (n)
		mm->vma_root->parent = NULL;
	mm->vma_cache = NULL;
}

/*
 * fork: copy each VMA, then give the copies the parent's tree shape through
 * v->copy (cheaper than building a tree again: no recursion, no fixes).
 */
static inline struct vma *copy_of(struct vma *v)
{
	return v == NIL ? NIL : v ? v->copy : NULL;
}

int vma_clone(struct mm *child, struct mm *parent)
{
	struct vma **pp = &child->vmas;
	for (struct vma *v = parent->vmas; v; v = v->next) {
		struct vma *n = kmalloc(sizeof(*n));
		if (!n) {
			*pp = NULL;
			vma_index(child);
			return -ENOMEM;
		}
		*n = *v;
		v->copy = n;
		*pp = n;
		pp = &n->next;
	}
	*pp = NULL;
	for (struct vma *v = parent->vmas; v; v = v->next) {
		struct vma *n = v->copy;
		n->prev = copy_of(v->prev);
		n->left = copy_of(v->left);
		n->right = copy_of(v->right);
		n->parent = copy_of(v->parent);
	}
	child->vma_root = copy_of(parent->vma_root);
	child->vma_cache = NULL;
	return 0;
}

struct vma *vma_find(struct mm *mm, uint64_t addr)
{
	struct vma *c = mm->vma_cache;
	if (c && c->start <= addr && addr < c->end)
		return c;
	c = floor_vma(mm, addr);
	if (c && addr < c->end)
		return mm->vma_cache = c;
	return NULL;
}

struct vma *vma_first_after(struct mm *mm, uint64_t addr)
{
	struct vma *v = floor_vma(mm, addr);
	if (!v)
		return mm->vmas;
	return addr < v->end ? v : v->next;
}

/* VMAs are disjoint and sorted: the last one starting below end is the only one that can reach start. */
bool vma_range_free(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *v = floor_vma(mm, end - 1);
	return !v || v->end <= start;
}

static uint64_t pte_flags_for(uint32_t flags);

/*
 * The boot path counts instructions: the VMM's list is sorted and disjoint,
 * so link it as it is, from one allocation-free static array (kfree knows
 * to leave these alone).
 */
static struct vma boot_vmas[KVMBOX_BOOT_MAX_VMAS];

int vma_adopt_boot(struct mm *mm, const struct kvmbox_boot_vma *bv, uint32_t n)
{
	if (n > KVMBOX_BOOT_MAX_VMAS)
		return -EINVAL;
	struct vma **pp = &mm->vmas;
	for (uint32_t i = 0; i < n; i++) {
		struct vma *v = &boot_vmas[i];
		v->start = bv[i].start;
		v->end = bv[i].end;
		vma_set_flags(v, bv[i].flags);
		v->pgoff = bv[i].pgoff;
		*pp = v;
		pp = &v->next;
	}
	*pp = NULL;
	vma_index(mm);
	return 0;
}

void vma_free(struct vma *v)
{
	if (v < boot_vmas || v >= boot_vmas + KVMBOX_BOOT_MAX_VMAS)
		kfree(v);
}

int vma_insert(struct mm *mm, uint64_t start, uint64_t end, uint32_t flags)
{
	if (start >= end || end > KVMBOX_USER_MAP_TOP || (start | end) & ~PAGE_MASK)
		return -EINVAL;
	/* The last VMA starting below end: the only one that could overlap, else the predecessor. */
	struct vma *prev = floor_vma(mm, end - 1);
	if (prev && prev->end > start)
		return -EEXIST;
	mm->vma_cache = NULL;
	/* Merge with the previous neighbour when it ends here with the same flags. */
	if (prev && prev->end == start && prev->flags == flags) {
		struct vma *n = prev->next;
		if (n && n->start == end && n->flags == flags) {
			uint64_t e = n->end;
			tree_erase(mm, n);
			vma_free(n);
			end = e;
		}
		set_end(mm, prev, end);
		return 0;
	}
	struct vma *v = kmalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->start = start;
	v->end = end;
	v->pgoff = 0;
	vma_set_flags(v, flags);
	tree_insert(mm, v, prev);
	mm->vma_cache = v;      /* a first touch usually follows */
	return 0;
}

/* Split so that no VMA straddles addr. */
static int split_at(struct mm *mm, uint64_t addr)
{
	mm->vma_cache = NULL;
	struct vma *v = floor_vma(mm, addr);
	if (!v || v->start == addr || addr >= v->end)
		return 0;
	struct vma *n = kmalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = *v;
	n->start = addr;
	if (v->flags & KVMBOX_VMA_IMAGE)
		n->pgoff += (uint32_t)((addr - v->start) / PAGE_SIZE);
	v->end = addr; /* n fills the rest: no gap changes but n's own (0) */
	tree_insert(mm, n, v);
	return 0;
}

/*
 * Free the frames mapped in [start, end). TLB: invlpg for the first few
 * pages, then one CR3 reload at the end instead (user pages are not global),
 * which is cheaper than a per-page invlpg for big ranges on either kind of host.
 */
#define INVLPG_MAX 32

struct unmap_ctx {
	unsigned n;
};

static void unmap_one(uint64_t *pte, uint64_t va, void *ctx)
{
	struct unmap_ctx *u = ctx;
	uint64_t pa = *pte & PTE_ADDR;
	*pte = 0;
	if (++u->n <= INVLPG_MAX)
		invlpg(va);
	page_put(pa);
}

void unmap_pages(struct mm *mm, uint64_t start, uint64_t end)
{
	struct unmap_ctx u = { 0 };
	pt_for_each(mm->pml4, start, end, unmap_one, &u);
	if (u.n > INVLPG_MAX) {
		uint64_t cr3;
		__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
	}
}

int vma_remove(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *v = floor_vma(mm, start);
	if (v && v->start == start && v->end == end) {
		/* The common case, one whole mapping: no split, one lookup. */
		mm->vma_cache = NULL;
		unmap_pages(mm, start, end);
		tree_erase(mm, v);
		vma_free(v);
		return 0;
	}
	int r = split_at(mm, start);
	if (!r)
		r = split_at(mm, end);
	if (r)
		return r;
	mm->vma_cache = NULL;
	/* After the splits every VMA meeting [start, end) lies inside it. */
	for (struct vma *n, *w = vma_first_after(mm, start); w && w->start < end; w = n) {
		v = w;
		n = v->next;
		unmap_pages(mm, v->start, v->end);
		tree_erase(mm, v);
		vma_free(v);
	}
	return 0;
}

/*
 * mremap's move: the page-table entries of [from, from + len) go to
 * [to, to + len) as they are (frames, COW and shared bits, PROT_NONE's held
 * frames): no data is copied. The destination's tables are created as
 * needed; if that fails, what moved goes back and the result is -ENOMEM.
 */
struct move_ctx {
	uint64_t pml4;
	int64_t delta;            /* to - from */
	unsigned n;               /* entries moved (flushes) */
	bool failed;
};

static void move_one(uint64_t *pte, uint64_t va, void *ctx)
{
	struct move_ctx *m = ctx;
	if (m->failed)
		return;
	uint64_t *dst = pte_walk(m->pml4, va + (uint64_t)m->delta, true);
	if (!dst) {
		m->failed = true;
		return;
	}
	*dst = *pte;
	*pte = 0;
	if (++m->n <= INVLPG_MAX)
		invlpg(va);
}

static void move_flush(struct move_ctx *m)
{
	if (m->n > INVLPG_MAX) {
		uint64_t cr3;
		__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
	}
	m->n = 0;
}

int vma_move_pages(struct mm *mm, uint64_t from, uint64_t len, uint64_t to)
{
	struct move_ctx m = { .pml4 = mm->pml4, .delta = (int64_t)(to - from) };
	pt_for_each(mm->pml4, from, from + len, move_one, &m);
	move_flush(&m);
	if (!m.failed)
		return 0;
	/* Back where they were: those tables exist, so this cannot fail. */
	struct move_ctx back = { .pml4 = mm->pml4, .delta = (int64_t)(from - to) };
	pt_for_each(mm->pml4, to, to + len, move_one, &back);
	move_flush(&back);
	return -ENOMEM;
}

/* In subtree t (max_gap >= len): the highest VMA whose own gap holds len bytes. */
static struct vma *highest_fit(struct vma *t, uint64_t len)
{
	for (;;) {
		if (t->right->max_gap >= len)
			t = t->right;
		else if (t->gap >= len)
			return t;
		else
			t = t->left;
	}
}

/*
 * The highest gap of len bytes below mmap_base (top-down, as Linux): the
 * gap that mmap_base falls in, else the highest VMA below it with enough
 * room under it -- the tree's max_gap skips whole subtrees, O(log n).
 */
uint64_t vma_find_free(struct mm *mm, uint64_t len)
{
	uint64_t top = mm->mmap_base;
	if (!len || len > top)
		return 0;
	struct vma *x = floor_vma(mm, top - 1);
	uint64_t lo = x ? x->end : 0;
	if (lo < GAP_FLOOR)
		lo = GAP_FLOOR;
	if (top > lo && top - lo >= len)
		return top - len;
	if (!x)
		return 0;
	/* x and what precedes it: x, its left subtree, then each ancestor we are right of, with its left subtree. */
	if (x->gap >= len)
		return x->start - len;
	if (x->left->max_gap >= len)
		return highest_fit(x->left, len)->start - len;
	for (struct vma *p = x->parent; p; x = p, p = p->parent) {
		if (p->right != x)
			continue;
		if (p->gap >= len)
			return p->start - len;
		if (p->left->max_gap >= len)
			return highest_fit(p->left, len)->start - len;
	}
	/* The lowest gap last: below the lowest VMA. */
	if (mm->vmas->start > GAP_FLOOR && mm->vmas->start - GAP_FLOOR >= len)
		return mm->vmas->start - len;
	return 0;
}

static uint64_t pte_flags_for(uint32_t flags)
{
	uint64_t f = PTE_U;
	if (flags & KVMBOX_VMA_WRITE)
		f |= PTE_W;
	if (!(flags & KVMBOX_VMA_EXEC))
		f |= PTE_NX;
	if (flags & KVMBOX_VMA_SHARED)
		f |= PTE_SHARED;
	return f;
}

static void reprotect_one(uint64_t *pte, uint64_t va, void *ctx)
{
	uint32_t flags = *(uint32_t *)ctx;
	uint64_t pa = *pte & PTE_ADDR;
	if (!(flags & (KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_EXEC)))
		*pte = pa | PTE_HELD | (*pte & (PTE_COW | PTE_SHARED)); /* PROT_NONE: not present, frame kept */
	else if (*pte & PTE_COW)
		*pte = pa | PTE_P | (pte_flags_for(flags) & ~PTE_W) | (*pte & (PTE_A | PTE_D | PTE_COW));
	else
		*pte = pa | PTE_P | pte_flags_for(flags) | (*pte & (PTE_A | PTE_D));
	invlpg(va);
}

int vma_protect(struct mm *mm, uint64_t start, uint64_t end, uint32_t flags)
{
	/* Every page of the range must be mapped (ENOMEM otherwise, as Linux). */
	uint64_t a = start;
	for (struct vma *v = vma_find(mm, start); a < end; v = v->next) {
		if (!v || v->start > a)
			return -ENOMEM;
		a = v->end;
	}
	int r = split_at(mm, start);
	if (!r)
		r = split_at(mm, end);
	if (r)
		return r;
	for (struct vma *v = vma_find(mm, start); v && v->start < end; v = v->next) {
		uint32_t keep = v->flags & ~(KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_EXEC);
		vma_set_flags(v, keep | flags);
		pt_for_each(mm->pml4, v->start, v->end, reprotect_one, &v->flags); /* with KVMBOX_VMA_SHARED */
	}
	return 0;
}

uint64_t vma_pte_flags(uint32_t flags)
{
	return pte_flags_for(flags);
}

/*
 * #PF error code (SDM vol. 3A 4.7): P 1, W/R 2, U/S 4, RSVD 8, I/D 16, and
 * higher bits. fault_deny holds every bit whose presence sends a fault to
 * the slow path: P (copy-on-write, PROT_NONE), RSVD and the rest always, W
 * without write permission, I/D without exec, and U/S (set on every user
 * fault) when the VMA allows nothing, so that one test decides.
 */
void vma_set_flags(struct vma *v, uint32_t flags)
{
	uint32_t deny = ~(2u | 4u | 16u);
	if (!(flags & KVMBOX_VMA_WRITE))
		deny |= 2;
	if (!(flags & KVMBOX_VMA_EXEC))
		deny |= 16;
	if (!(flags & (KVMBOX_VMA_READ | KVMBOX_VMA_WRITE | KVMBOX_VMA_EXEC)))
		deny |= 4;
	v->flags = flags;
	v->fault_deny = deny;
	v->pte_bits = pte_flags_for(flags) | PTE_P;
}
