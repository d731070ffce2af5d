/* kmain: adopt the first process the VMM built and enter it. */
#include "proc.h"
#include "mm.h"
#include "fs.h"
#include "platform.h"
#include "lib.h"
#include "debug.h"

static struct proc init_proc;
static struct thread init_thread;
static struct mm init_mm;
static struct sighand init_sighand = { .refs = 1 };
static uint8_t init_kstack[KSTACK_SIZE] __attribute__((aligned(16)));

/*
 * The boot path is counted in CPL0 instructions (the VMM's --count-cpl0):
 * on emulated-CPL0 hosts each costs ~0.5 us. The VMM already loaded the
 * image, built the page tables and the stack, filled the IDT and TSS; all
 * that is left is to take ownership of them.
 */
noreturn void kmain(uint64_t fdt_pa, uint64_t boot_info_pa)
{
	percpu_init(0);
	struct percpu *pc = &percpu_blocks[0];
	boot_info = P2V(boot_info_pa);
	if (boot_info->magic != KVMBOX_BOOT_INFO_MAGIC || boot_info->abi_version != KVMBOX_ABI_VERSION)
		panic("bad boot info (magic %x, ABI %u)", boot_info->magic, boot_info->abi_version);
	boot_flags = boot_info->flags;
	(void)fdt_pa; /* read lazily (fdt_prop) by what needs it */

	/* Register this vCPU's shared page (debug/trace flags, trace ring). */
	static struct kvmbox_hc_shared_page shp;
	pc->shared.magic = KVMBOX_SHARED_MAGIC;
	shp.cpu = 0;
	shp.gpa = V2P(&pc->shared);
	hypercall(KVMBOX_HC_SHARED_PAGE, &shp);

	palloc_init();
	if (unlikely(boot_flags & KVMBOX_BOOT_TEST_FAULT))
		*(volatile uint64_t *)0xdead000 = 0; /* the test suite's kernel fault: must panic (125) */

	const struct kvmbox_boot_process *bp = &boot_info->init;
	struct mm *mm = &init_mm;
	mm->pml4 = bp->pml4;
	mm->brk_start = mm->brk = bp->brk_start;
	mm->stack_top = KVMBOX_STACK_TOP;
	mm->mmap_base = KVMBOX_STACK_TOP - KVMBOX_STACK_MAX - (1ull << 30);
	mm->users = 1;
	if (vma_adopt_boot(mm, bp->vmas, bp->nr_vmas))
		panic("bad boot VMAs");

	struct proc *p = &init_proc;
	p->pid = p->pgid = p->sid = 1;
	p->mm = mm;
	p->umask = 022;
	p->exe_path = bp->exe_path; /* boot_info stays mapped for good */
	p->sighand = &init_sighand;

	struct thread *t = &init_thread;
	t->proc = p;
	t->tid = 1;
	t->kstack_top = (uint64_t)&init_kstack[KSTACK_SIZE];
	t->state = T_RUNNING;
	proc_adopt_init(p, t);
	pc->current = t;
	pc->mm = mm;
	pc->kstack_top = t->kstack_top;

	sched_init();
	if (fs_init_process(p, bp->cwd))
		panic("cannot set up the first process's files");

	/* The frame the first return to user mode restores (SysV ABI 3.4.1 entry
	 * state); the stack is in .bss, so every other register starts zero. */
	struct trap_frame *tf = (struct trap_frame *)(t->kstack_top - sizeof(*tf));
	tf->rip = tf->rcx = bp->entry;
	tf->rsp = bp->stack_pointer;
	tf->rflags = tf->r11 = 0x202;
	tf->cs = KVMBOX_SEL_UCODE;
	tf->ss = KVMBOX_SEL_UDATA;
	tf->orig_rax = ~0ull;
	if (debug_wants(KVMBOX_EV_START))
		debug_start(tf); /* --gdb: wait at the first instruction */
	return_to_user(tf);
}

const char *proc_comm(const struct proc *p)
{
	const char *base = p->exe_path;
	for (const char *c = p->exe_path; *c; c++)
		if (*c == '/')
			base = c + 1;
	return base;
}
