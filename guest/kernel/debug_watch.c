/*
 * Write watchpoints by page protection, for hosts whose debug registers do
 * not fire for ring-3 code (measured on kvm_pvm; debug_step.c probes it).
 * The watched range's page loses its write permission; a user write to it
 * faults, the kernel gives the permission back and steps over the one
 * writing instruction with TF (debug_step.c makes that exactly one), then
 * takes the permission away again and compares the watched bytes: changed
 * is a watchpoint hit (gdb reports old and new values), unchanged or
 * another address on the page runs on. Writes the kernel does for a
 * syscall (read(2) into the range) go through and are not reported.
 */
#include "debug.h"
#include "mm.h"
#include "lib.h"
#include "errno.h"

#define RFLAGS_TF (1ull << 8)

struct watch {
	struct mm *mm;            /* NULL: free */
	uint64_t addr, len;
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

/* Take write permission away from every watched page of mm (after a copy-on-write is broken). */
static void protect(struct mm *mm)
{
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++) {
		struct watch *w = &watches[i];
		if (w->mm != mm)
			continue;
		for (uint64_t va = w->addr & PAGE_MASK; va < w->addr + w->len; va += PAGE_SIZE) {
			uint64_t *pte = pte_walk(mm->pml4, va, false);
			if (pte && (*pte & PTE_P)) {
				*pte &= ~PTE_W;
				invlpg(va);
			}
		}
	}
}

int debug_watch_set(struct proc *p, unsigned slot, uint64_t addr, uint64_t len, unsigned kind)
{
	if (kind != KVMBOX_BP_WRITE)
		return -EOPNOTSUPP; /* reads cannot be caught by write protection */
	if (slot >= ARRAY_SIZE(watches) || !len || len > 8 || addr + len < addr || addr + len > KVMBOX_USER_MAP_TOP)
		return -EINVAL;
	struct mm *mm = p->mm;
	for (uint64_t va = addr & PAGE_MASK; va < addr + len; va += PAGE_SIZE) {
		struct vma *v = vma_find(mm, va);
		if (!v || !(v->flags & KVMBOX_VMA_WRITE))
			return -EFAULT;
		/* Present and private first: a later copy-on-write would hand out a writable copy. */
		if (handle_user_fault(mm, va, true, false))
			return -EFAULT;
		uint64_t *pte = pte_walk(mm->pml4, va, false);
		if (pte && (*pte & PTE_COW))
			cow_fault(mm, va, pte, v);
	}
	if (!watches[slot].mm)
		debug_nr_watches++;
	watches[slot] = (struct watch){ .mm = mm, .addr = addr, .len = len };
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
	/* Give write permission back where no other watchpoint needs it. */
	for (uint64_t va = a & PAGE_MASK; va < a + l; va += PAGE_SIZE) {
		bool other = false;
		for (unsigned i = 0; i < ARRAY_SIZE(watches); i++)
			other |= watches[i].mm == mm && on_page(&watches[i], va);
		uint64_t *pte = pte_walk(mm->pml4, va, false);
		struct vma *v = vma_find(mm, va);
		if (!other && pte && (*pte & PTE_P) && !(*pte & PTE_COW) && v && (v->flags & KVMBOX_VMA_WRITE)) {
			*pte |= PTE_W;
			invlpg(va);
		}
	}
	return 0;
}

static bool watched_page(struct mm *mm, uint64_t page)
{
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++)
		if (watches[i].mm == mm && on_page(&watches[i], page))
			return true;
	return false;
}

bool debug_watch_fault(struct trap_frame *tf, uint64_t addr)
{
	struct thread *t = current_thread();
	struct mm *mm = t->proc->mm;
	uint64_t page = addr & PAGE_MASK;
	if (!watched_page(mm, page))
		return false;
	struct vma *v = vma_find(mm, addr);
	uint64_t *pte = pte_walk(mm->pml4, addr, false);
	if (!v || !(v->flags & KVMBOX_VMA_WRITE) || !pte || !(*pte & PTE_P))
		return false; /* a real fault: the signal path */
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++)
		if (watches[i].mm == mm)
			watches[i].old = value(mm, watches[i].addr, watches[i].len);
	if (*pte & PTE_COW)
		cow_fault(mm, addr, pte, v);
	*pte |= PTE_W;
	invlpg(addr);
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
	for (unsigned i = 0; i < ARRAY_SIZE(watches); i++) {
		struct watch *w = &watches[i];
		if (w->mm == mm && value(mm, w->addr, w->len) != w->old) {
			*slot = (int)i;
			*addr = w->addr;
			return true;
		}
	}
	return true;
}

bool debug_watch_kernel_write(struct mm *mm, uint64_t va, const uint64_t *pte)
{
	if ((*pte & PTE_COW) || !watched_page(mm, va & PAGE_MASK))
		return false;
	struct vma *v = vma_find(mm, va);
	return v && (v->flags & KVMBOX_VMA_WRITE);
}
