/* Physical pages, page tables, address spaces, VMAs. */
#ifndef GUEST_MM_H
#define GUEST_MM_H
#include "types.h"
#include <kvmbox.h>

#define P2V(pa) ((void *)((uint64_t)(pa) + KVMBOX_DIRECT_MAP_BASE))
#define V2P(va) ((uint64_t)(va) >= KVMBOX_KERNEL_BASE ? (uint64_t)(va) - KVMBOX_KERNEL_BASE \
                                                      : (uint64_t)(va) - KVMBOX_DIRECT_MAP_BASE)

/* x86-64 page-table entry bits (SDM vol. 3A 4.5). */
#define PTE_P    (1ull << 0)
#define PTE_W    (1ull << 1)
#define PTE_U    (1ull << 2)
#define PTE_A    (1ull << 5)
#define PTE_D    (1ull << 6)
#define PTE_PS   (1ull << 7)
#define PTE_G    (1ull << 8)
#define PTE_COW  (1ull << 9)   /* software bit: copy on write */
#define PTE_HELD (1ull << 10)  /* software bit: frame kept while PROT_NONE (not present) */
#define PTE_SHARED (1ull << 11) /* software bit: MAP_SHARED frame, not copied on write */
#define PTE_HAS_FRAME(e) ((e) & (PTE_P | PTE_HELD))
#define PTE_NX   (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

/* Physical page allocator. Pages come back zeroed from page_alloc_zeroed. */
uint64_t page_alloc(void);          /* 0 when out of memory; contents undefined */
uint64_t page_alloc_zeroed(void);   /* 0 when out of memory */
uint64_t page_alloc_fresh(void);   /* a never-used (zero) frame, or 0 when none are left */
/* n physically consecutive never-used frames (each used once): the first, or 0. */
uint64_t page_alloc_fresh_contig(unsigned n);
/* Map never-used frames into pte[0..] while absent, at most max: how many (0: none left). */
unsigned map_fresh_run(uint64_t *pte, unsigned max, uint64_t bits);
uint64_t page_alloc_table(void);    /* for page tables: zeroed by the guest itself (palloc.c) */
void page_get(uint64_t pa);         /* one more user of the frame */
void page_put(uint64_t pa);         /* one less; freed at zero */
uint32_t page_refcount(uint64_t pa);
uint64_t pages_free(void);
void palloc_init(void);
/* The free frames for a native allocator (HC_EXEC), and what it left of them. */
struct kvmbox_frame_pool;
void palloc_export(struct kvmbox_frame_pool *fp);
void palloc_import(const struct kvmbox_frame_pool *fp);

/* A mapping in a user address space. */
struct vma {
	uint64_t start, end;     /* [start, end), page aligned */
	uint32_t flags;          /* KVMBOX_VMA_* (shared/boot.h) */
	uint32_t pgoff;          /* KVMBOX_VMA_IMAGE: the file page at start */
	uint64_t pte_bits;       /* P|U|W|NX for a page of this VMA: vma_pte_flags(flags) | PTE_P */
	struct vma *next;        /* sorted by start */
	uint32_t fault_deny;     /* #PF error-code bits the fast path leaves to the slow one (vma_set_flags) */
	int32_t height;          /* AVL: of the subtree rooted here (a leaf is 1) */
	struct vma *prev;        /* the list backwards */
	struct vma *left, *right, *parent; /* the AVL tree over the same VMAs, keyed by start (vma.c) */
	uint64_t gap;            /* the free gap between prev and this one (vma.c: own_gap) */
	uint64_t max_gap;        /* the largest gap of this subtree (vma_find_free) */
	struct vma *copy;        /* during fork's copy: this VMA's copy in the child (vma_clone) */
};

struct mm {
	uint64_t pml4;           /* physical */
	struct vma *vmas;        /* the VMAs in address order (next/prev) ... */
	struct vma *vma_root;    /* ... and as a balanced tree (vma.c): lookups are O(log n) */
	uint64_t brk_start, brk; /* heap: [brk_start, brk) */
	uint64_t mmap_base;      /* next top-down mmap search start */
	uint64_t stack_top;
	struct vma *vma_cache;   /* the last VMA vma_find returned; reset when the list changes */
	uint64_t fault_next;     /* the page after the last fast-path fault's pages (fault-around) */
	int users;
};

/* Page tables. */
uint64_t *pte_walk(uint64_t pml4, uint64_t va, bool create); /* leaf PTE or NULL */
int map_page(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags); /* 0 or -ENOMEM */
void invlpg(uint64_t va);
typedef void (*pte_fn)(uint64_t *pte, uint64_t va, void *ctx);
void pt_for_each(uint64_t pml4, uint64_t start, uint64_t end, pte_fn fn, void *ctx);

/* VMAs. */
struct vma *vma_find(struct mm *mm, uint64_t addr);  /* the VMA containing addr, or NULL */
int vma_insert(struct mm *mm, uint64_t start, uint64_t end, uint32_t flags); /* 0 or -errno */
/* The first VMA that ends above addr (NULL: none): where a walk over [addr, ...) starts. */
struct vma *vma_first_after(struct mm *mm, uint64_t addr);
bool vma_range_free(struct mm *mm, uint64_t start, uint64_t end); /* no VMA meets [start, end) */
/* Index the list mm->vmas (sorted, disjoint, next links set) as a whole: prev links and the tree. */
void vma_index(struct mm *mm);
/* fork: child's VMAs as copies of parent's, list and tree alike (0 or -ENOMEM, child's list then partial). */
int vma_clone(struct mm *child, struct mm *parent);
/* The first process's VMAs, already sorted and disjoint (the VMM checked them). */
int vma_adopt_boot(struct mm *mm, const struct kvmbox_boot_vma *bv, uint32_t n);
int vma_remove(struct mm *mm, uint64_t start, uint64_t end); /* unmaps and frees pages */
void unmap_pages(struct mm *mm, uint64_t start, uint64_t end); /* frees the frames, keeps the VMAs */
uint64_t vma_find_free(struct mm *mm, uint64_t len); /* top-down search below mmap_base; 0 if none */
/* Move the page-table entries of [from, from + len) to [to, to + len) (mremap): 0 or -ENOMEM (nothing moved). */
int vma_move_pages(struct mm *mm, uint64_t from, uint64_t len, uint64_t to);
int vma_protect(struct mm *mm, uint64_t start, uint64_t end, uint32_t flags);
/* Leaf PTE permission bits (U, W, NX) for VMA flags. */
uint64_t vma_pte_flags(uint32_t flags);
/* Set v's flags and what derives from them (pte_bits, fault_deny). */
void vma_set_flags(struct vma *v, uint32_t flags);

/*
 * Resolve a user fault or a kernel access to user memory at va: demand-zero
 * pages, stack growth. Returns 0 when the page is now mapped with the
 * requested access, -EFAULT (no VMA: SEGV_MAPERR) or -EACCES (VMA forbids:
 * SEGV_ACCERR).
 */
int handle_user_fault(struct mm *mm, uint64_t va, bool write, bool exec);
int user_page_fault(uint64_t addr, uint64_t err); /* the #PF fast path (entry.S): 0 when mapped */

/* Address spaces (mm/mm.c). */
struct mm *mm_create(void);              /* empty user half, kernel half shared */
struct mm *mm_clone(struct mm *parent);  /* fork: copy-on-write */
void mm_put(struct mm *mm);              /* one user less; freed at zero */
/* Free the user half (frames, page tables) and the VMAs, keep mm (execve reuses it); pml4 not loaded. */
void mm_teardown(struct mm *mm);
/* Every frame and page table of pml4's user half, one use less (kernel/exec.c: the walk is native). */
void mm_free_user_half(uint64_t pml4);
int cow_fault(struct mm *mm, uint64_t va, uint64_t *pte, struct vma *v);
void vma_free(struct vma *v);

/* Kernel stacks: KSTACK_SIZE, contiguous; returns the top (kernel virtual) or 0. */
uint64_t kstack_alloc(void);
void kstack_free(uint64_t top);

/* Small kernel object allocator (power-of-two size classes up to 2 KiB; page for larger). */
void *kmalloc(size_t size);    /* zeroed; NULL on failure */
void kfree(void *p);
#endif
