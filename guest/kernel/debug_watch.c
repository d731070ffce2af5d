/*
 * Watchpoints by page protection, for hosts whose debug registers do not
 * fire for ring-3 code (measured on kvm_pvm; debug_step.c probes it).
 * A write watchpoint's page loses its write permission; a read or access
 * watchpoint's page loses its user permission (PTE.U: the page stays
 * present, so the kernel's own accesses for a syscall go through, and any
 * user access faults -- reads, writes, fetches). A user access that faults
 * on such a page gets the permissions back for one instruction, stepped
 * with TF (debug_step.c makes that exactly one), after which they are taken
 * away again and the watchpoints judged: a write watchpoint fired if its
 * bytes changed (gdb reports old and new values), a read or access one if
 * the faulting address (cr2) fell in its range -- for a read watchpoint only
 * if the access was not a write. Anything else on the page runs on. Writes
 * the kernel does for a syscall (read(2) into the range) are not reported.
 */
#include "debug.h"
#include "mm.h"
#include "lib.h"
#include "errno.h"

#define RFLAGS_TF (1ull << 8)
#define PF_WRITE (1u << 1)
#define PF_INSTR (1u << 4)

struct watch {
	struct mm *mm;            /* NULL: free */
	uint64_t addr, len;
	unsigned kind;            /* KVMBOX_BP_WRITE, _READ or _ACCESS */
	uint64_t old;             /* the value before the write being stepped over */
};
static struct watch watches[4];
unsigned debug_nr_watches;

static bool on_page(const struct watch *w, uint64_t page)
{
	return (w->addr & PAGE_MASK) == page || ((w->addr + w->len - 1) & PAGE_MASK) == page;
}

static uint64_t value(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t v = 0;
	for (uint64_t i = 0; i < len; i++) {
		uint64_t *pte = pte_walk(mm->pml4, addr + i, false);
		if (pte && (*pte & PTE_P))
			v |= (uint64_t)*(uint8_t *)P2V((*pte & PTE_ADDR) | ((addr + i) & ~PAGE_MASK)) << (8 * i);
	}
	return v;
}

/* The permission bits mm's watchpoints take away on page (PTE_W, PTE_U or both; 0: not watched). */
static uint64_t taken(struct mm *mm, uint64_t page)
{
	uint64_t bits = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++)
		if (watches[i].mm == mm && on_page(&watches[i], page))
			bits |= watches[i].kind == KVMBOX_BP_WRITE ? PTE_W : PTE_U;
	return bits;
}

/* Take the permissions away on every watched page of mm (after a step, or a copy-on-write broken). */
static void protect(struct mm *mm)
{
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++) {
		struct watch *w = &watches[i];
		if (w->mm != mm)
			continue;
		for (uint64_t va = w->addr & PAGE_MASK; va < w->addr + w->len; va += PAGE_SIZE) {
			uint64_t *pte = pte_walk(mm->pml4, va, false);
			if (pte && (*pte & PTE_P)) {
				*pte &= ~taken(mm, va);
				invlpg(va);
			}
		}
	}
}

/* Give back what no watchpoint of mm takes on va's page any more (U always; W where the page may be written). */
static void unprotect(struct mm *mm, uint64_t va)
{
	uint64_t *pte = pte_walk(mm->pml4, va, false);
	struct vma *v = vma_find(mm, va);
	if (!pte || !(*pte & PTE_P) || !v)
		return;
	uint64_t keep = taken(mm, va & PAGE_MASK);
	uint64_t give = PTE_U;
	if (!(*pte & PTE_COW) && (v->flags & KVMBOX_VMA_WRITE))
		give |= PTE_W;
	*pte |= give & ~keep;
	invlpg(va);
}

int debug_watch_set(struct proc *p, unsigned slot, uint64_t addr, uint64_t len, unsigned kind)
{
	if (kind != KVMBOX_BP_WRITE && kind != KVMBOX_BP_READ && kind != KVMBOX_BP_ACCESS)
		return -EOPNOTSUPP;
	if (slot >= ARRAY_SIZE(watches) || !len || len > 8 || addr + len < addr || addr + len > KVMBOX_USER_MAP_TOP)
		return -EINVAL;
	struct mm *mm = p->mm;
	for (uint64_t va = addr & PAGE_MASK; va < addr + len; va += PAGE_SIZE) {
		struct vma *v = vma_find(mm, va);
		if (!v || (kind == KVMBOX_BP_WRITE && !(v->flags & KVMBOX_VMA_WRITE)))
			return -EFAULT;
		/* Present (and for writes private first: a later copy-on-write would hand out a writable copy);
		   a page another watchpoint protects already is present. */
		uint64_t *pte = pte_walk(mm->pml4, va, false);
		if ((!pte || !(*pte & PTE_P) || (kind == KVMBOX_BP_WRITE && (*pte & PTE_COW))) &&
		    handle_user_fault(mm, va, kind == KVMBOX_BP_WRITE, false))
			return -EFAULT;
		pte = pte_walk(mm->pml4, va, false);
		if (kind == KVMBOX_BP_WRITE && pte && (*pte & PTE_COW))
			cow_fault(mm, va, pte, v);
	}
	struct watch *w = &watches[slot];
	if (w->mm && debug_watch_clear(p, slot)) {
		w->mm = NULL;
		debug_nr_watches--;
	}
	debug_nr_watches++;
	*w = (struct watch){ .mm = mm, .addr = addr, .len = len, .kind = kind };
	protect(mm);
	return 0;
}

int debug_watch_clear(struct proc *p, unsigned slot)
{
	if (slot >= ARRAY_SIZE(watches))
		return -EINVAL;
	struct watch *w = &watches[slot];
	if (!w->mm || w->mm != p->mm)
		return -ENOENT;
	struct mm *mm = w->mm;
	uint64_t a = w->addr, l = w->len;
	w->mm = NULL;
	debug_nr_watches--;
	for (uint64_t va = a & PAGE_MASK; va < a + l; va += PAGE_SIZE)
		unprotect(mm, va);
	return 0;
}

void debug_watch_forget(struct mm *execed)
{
	/* After an exec the old address space is gone (its struct mm may hold the new one): its watchpoints with it. */
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++)
		if (watches[i].mm) {
			bool live = false;
			for (struct proc *q = all_procs; q; q = q->next_all)
				live |= q->mm == watches[i].mm;
			if (!live || watches[i].mm == execed) {
				watches[i].mm = NULL;
				debug_nr_watches--;
			}
		}
}

void debug_watch_fork(struct mm *parent, struct mm *child)
{
	/* The child's copies of the parent's watched pages: its own permissions back. */
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++)
		if (watches[i].mm == parent)
			for (uint64_t va = watches[i].addr & PAGE_MASK; va < watches[i].addr + watches[i].len;
			     va += PAGE_SIZE)
				unprotect(child, va);
}

bool debug_watch_fault(struct trap_frame *tf, uint64_t addr, uint64_t err)
{
	struct thread *t = current_thread();
	struct mm *mm = t->proc->mm;
	uint64_t page = addr & PAGE_MASK;
	struct vma *v = vma_find(mm, addr);
	uint64_t *pte = pte_walk(mm->pml4, addr, false);
	if (!v || !pte || !(*pte & PTE_P))
		return false; /* a real fault: the signal path */
	if (!taken(mm, page)) {
		if (*pte & PTE_U)
			return false;
		unprotect(mm, addr); /* left from a watchpoint since removed: run on */
		return true;
	}
	if ((err & PF_WRITE) && !(v->flags & KVMBOX_VMA_WRITE))
		return false; /* a real fault: the signal path */
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++)
		if (watches[i].mm == mm)
			watches[i].old = value(mm, watches[i].addr, watches[i].len);
	if ((err & PF_WRITE) && (*pte & PTE_COW))
		cow_fault(mm, addr, pte, v);
	*pte |= PTE_U;
	if (!(*pte & PTE_COW) && (v->flags & KVMBOX_VMA_WRITE))
		*pte |= PTE_W;
	invlpg(addr);
	/* The faulting access; instruction fetches from a watched page are nobody's data access. */
	t->dbg_watch_addr = err & PF_INSTR ? ~0ull : addr;
	t->dbg_watch_write = !!(err & PF_WRITE);
	t->dbg_watch_step = 1;
	tf->rflags |= RFLAGS_TF;
	return true;
}

bool debug_watch_step_done(struct trap_frame *tf, int *slot, uint64_t *addr)
{
	struct thread *t = current_thread();
	struct mm *mm = t->proc->mm;
	t->dbg_watch_step = 0;
	if (!t->dbg_step)
		tf->rflags &= ~RFLAGS_TF;
	protect(mm);
	/* A changed value first (a write watchpoint), then an access in a read/access watchpoint's range. */
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++) {
		struct watch *w = &watches[i];
		if (w->mm == mm && w->kind == KVMBOX_BP_WRITE && value(mm, w->addr, w->len) != w->old) {
			*slot = (int)i;
			*addr = w->addr;
			return true;
		}
	}
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++) {
		struct watch *w = &watches[i];
		if (w->mm == mm && w->kind != KVMBOX_BP_WRITE && t->dbg_watch_addr - w->addr < w->len &&
		    (w->kind == KVMBOX_BP_ACCESS || !t->dbg_watch_write)) {
			*slot = (int)i;
			*addr = w->addr;
			return true;
		}
	}
	return true;
}

bool debug_watch_kernel_access(struct mm *mm, uint64_t va, const uint64_t *pte, bool write)
{
	if (!taken(mm, va & PAGE_MASK) || (write && (*pte & PTE_COW)))
		return false;
	struct vma *v = vma_find(mm, va);
	return v && (!write || (v->flags & KVMBOX_VMA_WRITE));
}
