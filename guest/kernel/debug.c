/*
 * Debug stops (shared/debug.h, "The debug path" in DESIGN.md): at an event
 * the VMM asked for, the current thread hands its frame to the VMM with
 * HC_STOP and runs the VMM's commands (registers, memory, threads,
 * watchpoints) until told to resume. The VMM reads the stopped thread's
 * registers natively through stop.frame_gpa; everything that needs the
 * kernel's knowledge (other threads, copy-on-write, faulting pages in) is a
 * command.
 */
#include "debug.h"
#include "mm.h"
#include "lib.h"
#include "errno.h"
#include "signal.h"
#include "platform.h"
#include "apic.h"
#include "syscall_nr.h"

#define RFLAGS_TF (1ull << 8)
#define TRAP_HWBKPT 4 /* si_code of a hardware breakpoint or watchpoint (Linux asm-generic/siginfo.h) */
/* The rflags bits a debugger may change (Linux's FLAG_MASK, arch/x86/kernel/ptrace.c). */
#define RFLAGS_USER 0x44dd5ull /* CF PF AF ZF SF TF DF OF NT AC */

static struct kvmbox_hc_stop stop_hc[MAX_CPUS];
static uint8_t fx_buf[512] __attribute__((aligned(64)));

static struct thread *thread_by_tid(pid_t tid)
{
	if (!tid)
		return current_thread();
	for (struct thread *t = all_threads; t; t = t->all_next)
		if (t->tid == tid && t->state != T_DEAD)
			return t;
	return NULL;
}

static struct trap_frame *thread_frame(struct thread *t)
{
	return (struct trap_frame *)(t->kstack_top - sizeof(struct trap_frame));
}

/*
 * Process memory as ptrace's PTRACE_PEEK/POKEDATA do it: pages are faulted
 * in (text too, which has no write permission), and a write to a frame
 * another address space shares (copy-on-write after fork) first gives this
 * one a private copy, so a breakpoint never leaks into the other process.
 * Returns the bytes done from the start, or -EFAULT if none.
 */
static long mem_access(struct proc *p, uint64_t addr, uint8_t *buf, size_t len, bool write)
{
	struct mm *mm = p->mm;
	size_t done = 0;
	while (mm && done < len) {
		uint64_t va = addr + done;
		if (va < addr || va >= KVMBOX_USER_MAP_TOP)
			break;
		uint64_t *pte = pte_walk(mm->pml4, va, false);
		if (!pte || !(*pte & PTE_P)) {
			if (handle_user_fault(mm, va, false, false) && handle_user_fault(mm, va, false, true))
				break;
			pte = pte_walk(mm->pml4, va, false);
			if (!pte || !(*pte & PTE_P))
				break;
		}
		size_t off = va & ~PAGE_MASK, chunk = MIN(len - done, PAGE_SIZE - off);
		uint64_t pa = *pte & PTE_ADDR;
		if (write) {
			if (!(*pte & PTE_SHARED) && page_refcount(pa) > 1) {
				uint64_t npa = page_alloc();
				if (!npa)
					break;
				pmem_copy(npa, pa, PAGE_SIZE);
				/* Same bits: a copy-on-write page stays read-only until written (then it is ours alone). */
				*pte = (*pte & ~PTE_ADDR) | npa;
				invlpg(va);
				page_put(pa);
				pa = npa;
			}
			kmem_copy(P2V(pa + off), buf + done, chunk);
		} else {
			kmem_copy(buf + done, P2V(pa + off), chunk);
		}
		done += chunk;
	}
	return done ? (long)done : -EFAULT;
}

static long get_regs(struct kvmbox_hc_stop *hc, struct thread *t)
{
	kmem_copy(&hc->regs, thread_frame(t), sizeof(struct trap_frame));
	hc->regs.fs_base = t->fs_base;
	hc->regs.gs_base = t->gs_base;
	hc->regs.ds = hc->regs.es = hc->regs.fs = hc->regs.gs = 0;
	if (t == current_thread()) {
		/* The kernel never touches the FPU: its registers are the thread's. */
		__asm__ volatile("fxsave64 %0" : "=m"(fx_buf));
		kmem_copy(hc->data, fx_buf, sizeof(fx_buf));
	} else if (t->fpu) {
		kmem_copy(hc->data, t->fpu, 512); /* FXSAVE image = XSAVE's legacy area */
	} else {
		memset(hc->data, 0, 512);
		hc->data[0] = 0x7f, hc->data[1] = 0x03; /* FCW 0x37f, MXCSR 0x1f80: the initial state */
		hc->data[24] = 0x80, hc->data[25] = 0x1f;
	}
	return 512;
}

static long set_regs(struct kvmbox_hc_stop *hc, struct thread *t)
{
	struct trap_frame *tf = thread_frame(t);
	const struct kvmbox_user_regs *r = &hc->regs;
	if (r->rip >= KVMBOX_USER_MAP_TOP || r->fs_base >= KVMBOX_USER_TOP || r->gs_base >= KVMBOX_USER_TOP)
		return -EINVAL;
	uint64_t cs = tf->cs, ss = tf->ss, fl = tf->rflags;
	kmem_copy(tf, r, sizeof(*tf));
	tf->cs = cs, tf->ss = ss;
	tf->rflags = (fl & ~RFLAGS_USER) | (r->rflags & RFLAGS_USER);
	t->fs_base = r->fs_base;
	t->gs_base = r->gs_base;
	if (t == current_thread()) {
		__asm__ volatile("wrmsr" : : "c"(0xc0000100u), "a"((uint32_t)t->fs_base),
				 "d"((uint32_t)(t->fs_base >> 32)));
		/* user GS.base is IA32_KERNEL_GS_BASE while in the kernel (swapgs) */
		__asm__ volatile("wrmsr" : : "c"(0xc0000102u), "a"((uint32_t)t->gs_base),
				 "d"((uint32_t)(t->gs_base >> 32)));
	}
	return 0;
}

static long list_threads(struct kvmbox_hc_stop *hc)
{
	uint32_t *out = (uint32_t *)hc->data;
	long n = 0, max = KVMBOX_STOP_DATA_MAX / 8;
	for (struct thread *t = all_threads; t && n < max; t = t->all_next) {
		if (t->state == T_DEAD || t->proc->zombie || t->proc->exiting)
			continue;
		out[2 * n] = (uint32_t)t->proc->pid;
		out[2 * n + 1] = (uint32_t)t->tid;
		n++;
	}
	return n;
}

void debug_defer_resched(void)
{
	this_cpu()->work &= ~WORK_RESCHED;
	current_thread()->dbg_resched = 1;
}

/* The step is over: the reschedule it held back happens on this return to user mode. */
static void step_done(struct thread *t)
{
	t->dbg_step = 0;
	if (t->dbg_resched) {
		t->dbg_resched = 0;
		this_cpu()->work |= WORK_RESCHED;
	}
}

static void set_step(struct thread *t, bool on)
{
	if (on)
		t->dbg_step = 1;
	else
		step_done(t);
	struct trap_frame *tf = thread_frame(t);
	if (on)
		tf->rflags |= RFLAGS_TF;
	else if (!t->dbg_watch_step)
		tf->rflags &= ~RFLAGS_TF;
}

/*
 * A resume names the only thread that steps (if any): a step another stop cut
 * short is over, as ptrace's is when gdbserver stops all threads. The VMM's
 * `enabled` word follows the same rule, so a stale step never reaches a
 * syscall's fast path.
 */
static void other_steps_end(struct thread *keep)
{
	for (struct thread *o = all_threads; o; o = o->all_next)
		if (o != keep && o->dbg_step && o->state != T_DEAD)
			set_step(o, false);
}

int debug_stop(struct trap_frame *tf, unsigned event, int signo, int code, uint64_t addr, uint64_t aux)
{
	struct percpu *pc = this_cpu();
	struct thread *t = pc->current;
	struct proc *p = t->proc;
	struct kvmbox_hc_stop *hc = &stop_hc[pc->cpu];
	struct kvmbox_stop_record *s = &hc->stop;
	s->event = event;
	s->cpu = pc->cpu;
	s->pid = (uint32_t)p->pid;
	s->tid = (uint32_t)t->tid;
	s->signo = signo;
	s->si_code = code;
	s->fault_addr = addr;
	s->aux = aux;
	s->cr3 = p->mm->pml4;
	s->frame_gpa = V2P(tf);
	s->fs_base = t->fs_base;
	s->gs_base = t->gs_base;
	s->flags = debug_probe_flags();
	hc->result = 0;
	for (;;) {
		hypercall(KVMBOX_HC_STOP, hc);
		if (hc->ret < 0)
			return signo == SIGTRAP ? 0 : signo;
		struct thread *ct = NULL;
		struct proc *cp = NULL;
		uint32_t op = hc->cmd.op;
		if (op == KVMBOX_CMD_STEP || op == KVMBOX_CMD_GET_REGS || op == KVMBOX_CMD_SET_REGS) {
			if (!(ct = thread_by_tid((pid_t)hc->cmd.tid))) {
				hc->result = -ESRCH;
				continue;
			}
		} else if (op == KVMBOX_CMD_READ_MEM || op == KVMBOX_CMD_WRITE_MEM || op == KVMBOX_CMD_SET_BP ||
			   op == KVMBOX_CMD_CLEAR_BP || op == KVMBOX_CMD_KILL) {
			cp = hc->cmd.pid ? proc_find((pid_t)hc->cmd.pid) : p;
			if (!cp || cp->zombie) {
				hc->result = -ESRCH;
				continue;
			}
		}
		long len = hc->cmd.len > KVMBOX_STOP_DATA_MAX ? KVMBOX_STOP_DATA_MAX : hc->cmd.len;
		switch (op) {
		case KVMBOX_CMD_RESUME:
			set_step(t, false);
			other_steps_end(t);
			return (int)hc->cmd.arg0;
		case KVMBOX_CMD_STEP:
			set_step(ct, true);
			if (ct != t)
				set_step(t, false);
			other_steps_end(ct);
			return (int)hc->cmd.arg0;
		case KVMBOX_CMD_DETACH:
			for (struct thread *o = all_threads; o; o = o->all_next)
				if (o->state != T_DEAD)
					set_step(o, false);
			for (unsigned i = 0; i < 4; i++)
				debug_watch_clear(p, i);
			return 0;
		case KVMBOX_CMD_KILL:
			if (cp == p)
				proc_exit(SIGKILL);
			send_signal_proc(cp, SIGKILL);
			hc->result = 0;
			break;
		case KVMBOX_CMD_GET_REGS:
			hc->result = get_regs(hc, ct);
			break;
		case KVMBOX_CMD_SET_REGS:
			hc->result = set_regs(hc, ct);
			break;
		case KVMBOX_CMD_READ_MEM:
			hc->result = mem_access(cp, hc->cmd.addr, hc->data, (size_t)len, false);
			break;
		case KVMBOX_CMD_WRITE_MEM:
			hc->result = mem_access(cp, hc->cmd.addr, hc->data, (size_t)len, true);
			break;
		case KVMBOX_CMD_LIST_THREADS:
			hc->result = list_threads(hc);
			break;
		case KVMBOX_CMD_SET_BP:
			hc->result = hc->cmd.arg1 == KVMBOX_BP_EXEC ? -EOPNOTSUPP :
				debug_watch_set(cp, (unsigned)hc->cmd.arg0, hc->cmd.addr, hc->cmd.len,
						(unsigned)hc->cmd.arg1);
			break;
		case KVMBOX_CMD_CLEAR_BP:
			hc->result = debug_watch_clear(cp, (unsigned)hc->cmd.arg0);
			break;
		case KVMBOX_CMD_FILE:
			hc->result = debug_file(hc, p);
			break;
		default:
			hc->result = -ENOSYS;
			break;
		}
	}
}

/* The debugger resumed with a signal: deliver it once, without reporting it again. */
static void deliver(int sig, int code, uint64_t addr)
{
	if (sig <= 0 || sig > NSIG)
		return;
	struct thread *t = current_thread();
	t->dbg_pass_sig = sig;
	send_signal_thread(t, sig, code, 0, addr);
	update_work();
}

void debug_start_stop(struct trap_frame *tf)
{
	if (debug_wants(KVMBOX_EV_START))
		deliver(debug_stop(tf, KVMBOX_EV_START, SIGTRAP, SI_KERNEL, 0, 0), SI_USER, 0);
}

void debug_start(struct trap_frame *tf)
{
	/* gdb's interrupt arrives as an MSI: accepted only by a software-enabled APIC (SDM vol. 3A 11.4.7.2). */
	if (boot_flags & KVMBOX_BOOT_LAPIC)
		apic_enable_once();
	/* The probes run the process's first return to user mode; their end reports START. */
	if (!debug_step_setup(tf))
		debug_start_stop(tf);
}

bool debug_trap(struct trap_frame *tf, unsigned vector)
{
	if (debug_probe_trap(tf, vector))
		return true;
	struct thread *t = current_thread();
	if (vector == 1) {
		/* Trap-class #DB: rip is after the instruction (SDM vol. 3A 18.3.1.4). */
		if (debug_in_trampoline(tf->rip))
			return true; /* the host trapped the trampoline's jump itself: the step goes on */
		int slot = -1;
		uint64_t waddr = 0;
		bool watched = t->dbg_watch_step && debug_watch_step_done(tf, &slot, &waddr);
		if (!t->dbg_step && slot < 0) {
			if (watched)
				return true; /* a write next to a watched range, no stop */
			return false;
		}
		step_done(t);
		tf->rflags &= ~RFLAGS_TF;
		int sig;
		if (slot >= 0)
			sig = debug_stop(tf, KVMBOX_EV_WATCHPOINT, SIGTRAP, TRAP_HWBKPT, waddr, (uint64_t)slot);
		else
			sig = debug_stop(tf, KVMBOX_EV_SINGLESTEP, SIGTRAP, TRAP_TRACE, tf->rip, 0);
		deliver(sig, sig == SIGTRAP ? TRAP_TRACE : SI_USER, 0);
		return true;
	}
	if (vector == 3 && debug_wants(KVMBOX_EV_BREAKPOINT)) {
		/* Linux reports int3 as SIGTRAP/SI_KERNEL; the VMM knows which are gdb's. */
		int sig = debug_stop(tf, KVMBOX_EV_BREAKPOINT, SIGTRAP, SI_KERNEL, 0, 0);
		deliver(sig, sig == SIGTRAP ? SI_KERNEL : SI_USER, 0);
		return true;
	}
	return false;
}

int debug_signal(struct trap_frame *tf, int sig, int code, uint64_t addr)
{
	struct thread *t = current_thread();
	if (t->dbg_pass_sig == sig) {
		t->dbg_pass_sig = 0;
		return sig;
	}
	if (!debug_wants(KVMBOX_EV_SIGNAL))
		return sig;
	return debug_stop(tf, KVMBOX_EV_SIGNAL, sig, code, addr, 0);
}

static bool filtered(uint64_t nr)
{
	volatile uint64_t *f = this_cpu()->shared.syscall_filter;
	return nr < KVMBOX_MAX_SYSCALLS && (f[nr / 64] & (1ull << (nr % 64)));
}

static void syscall_stop(struct trap_frame *tf, unsigned ev, uint64_t nr)
{
	struct kvmbox_stop_record *s = &stop_hc[this_cpu()->cpu].stop;
	s->syscall_nr = nr;
	s->args[0] = tf->rdi, s->args[1] = tf->rsi, s->args[2] = tf->rdx;
	s->args[3] = tf->r10, s->args[4] = tf->r8, s->args[5] = tf->r9;
	s->retval = (int64_t)tf->rax;
	deliver(debug_stop(tf, ev, SIGTRAP, SI_KERNEL, 0, nr), SI_USER, 0);
}

void debug_syscall_entry(struct trap_frame *tf)
{
	if (debug_wants(KVMBOX_EV_SYSCALL_ENTRY) && filtered(tf->orig_rax))
		syscall_stop(tf, KVMBOX_EV_SYSCALL_ENTRY, tf->orig_rax);
	/* For the exit: the number that runs (the debugger may have changed it); execve's new frame has orig_rax -1. */
	current_thread()->dbg_syscall = (uint32_t)tf->orig_rax;
}

void debug_syscall_exit(struct trap_frame *tf)
{
	struct thread *t = current_thread();
	/* A successful execve returns 0 into the new program: ptrace's exec stop, before syscall exit. */
	if ((t->dbg_syscall == SYS_execve || t->dbg_syscall == SYS_execveat) && tf->rax == 0) {
		if (debug_nr_watches)
			debug_watch_forget(t->proc->mm);
		if (debug_wants(KVMBOX_EV_EXEC))
			deliver(debug_stop(tf, KVMBOX_EV_EXEC, SIGTRAP, SI_USER, 0, 0), SI_USER, 0);
	}
	if (debug_wants(KVMBOX_EV_SYSCALL_EXIT) && filtered(t->dbg_syscall))
		syscall_stop(tf, KVMBOX_EV_SYSCALL_EXIT, t->dbg_syscall);
	/*
	 * A step over `syscall` ends here, as Linux reports it (TIF_SINGLESTEP
	 * at syscall exit): returning with TF would run one more instruction.
	 */
	if (t->dbg_step) {
		step_done(t);
		tf->rflags &= ~RFLAGS_TF;
		int sig = debug_stop(tf, KVMBOX_EV_SINGLESTEP, SIGTRAP, TRAP_TRACE, tf->rip, 0);
		deliver(sig, SI_USER, 0);
	}
}

void debug_interrupt(void)
{
	/* The process gdb debugs (the VMM names it: after a fork gdb may follow the child). */
	uint32_t pid = this_cpu()->shared.interrupt_pid;
	struct proc *p = proc_find(pid ? (pid_t)pid : 1);
	if (this_cpu()->shared.stop_events && p && !p->zombie && !p->exiting) {
		send_signal_proc(p, SIGINT);
		update_work();
	}
}

void debug_fork(struct proc *child, bool vfork)
{
	unsigned ev = vfork ? KVMBOX_EV_VFORK : KVMBOX_EV_FORK;
	if (!vfork && debug_nr_watches)
		debug_watch_fork(current_proc()->mm, child->mm);
	if (debug_wants(ev))
		debug_stop(current_frame(), ev, SIGTRAP, SI_KERNEL, 0, (uint64_t)child->pid);
}

void debug_vfork_done(pid_t child)
{
	if (debug_wants(KVMBOX_EV_VFORK_DONE))
		debug_stop(current_frame(), KVMBOX_EV_VFORK_DONE, SIGTRAP, SI_KERNEL, 0, (uint64_t)child);
}
