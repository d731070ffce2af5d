/* Signals: pending sets, masks, actions, sending, default actions, fatal-signal reports. */
#include "proc.h"
#include "platform.h"
#include "uaccess.h"
#include "syscalls.h"
#include "signal.h"
#include "lib.h"
#include "errno.h"

#define SIGBIT(s) (1ull << ((s) - 1))
#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))
/* Default action "core" (signal(7)); the wait status gets 0x80. */
#define CORE_SET (SIGBIT(SIGQUIT) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | SIGBIT(SIGABRT) | \
		  SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | SIGBIT(SIGSEGV) | SIGBIT(SIGXCPU) | \
		  SIGBIT(SIGXFSZ) | SIGBIT(SIGSYS))
/* Default action "ignore" (and, until job control lands, "stop" and "continue"). */
#define IGNORE_SET (SIGBIT(SIGCHLD) | SIGBIT(SIGURG) | SIGBIT(SIGWINCH) | SIGBIT(SIGCONT) | \
		    SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU))

static bool sig_ignored(struct proc *p, int sig)
{
	uint64_t h = p->sighand->action[sig - 1].handler;
	return sig != SIGKILL && (h == SIG_IGN || (h == SIG_DFL && (IGNORE_SET & SIGBIT(sig))));
}

static uint64_t blocked(struct thread *t)
{
	return t->sigmask & ~UNBLOCKABLE;
}

bool signal_deliverable(struct thread *t)
{
	return ((t->pending | t->proc->pending) & ~blocked(t)) != 0;
}

void update_work(void)
{
	struct percpu *pc = this_cpu();
	if (signal_deliverable(pc->current))
		pc->work |= WORK_SIGNAL;
	else
		pc->work &= ~WORK_SIGNAL;
}

static void set_info(struct ksiginfo *i, int sig, int code, pid_t pid, uint64_t addr, int status)
{
	i->signo = sig;
	i->code = code;
	i->pid = pid;
	i->addr = addr;
	i->status = status;
}

/* Send to one thread (tkill, faults). */
void send_signal_thread(struct thread *t, int sig, int code, pid_t from, uint64_t addr)
{
	struct proc *p = t->proc;
	if (p->zombie || sig_ignored(p, sig))
		return;
	if (!(t->pending & SIGBIT(sig)))
		set_info(&t->siginfo[sig - 1], sig, code, from, addr, 0);
	t->pending |= SIGBIT(sig);
	if (sig == SIGKILL)
		t->proc->exiting = t->proc->exiting; /* delivery ends the process */
	if (t == current_thread())
		update_work();
	else if (t->state == T_SLEEPING && t->interruptible && !(blocked(t) & SIGBIT(sig)))
		wake_thread(t);
}

static void send_signal_proc_info(struct proc *p, int sig, int code, pid_t from, int status)
{
	if (p->zombie || sig_ignored(p, sig))
		return;
	if (!(p->pending & SIGBIT(sig)))
		set_info(&p->siginfo[sig - 1], sig, code, from, 0, status);
	p->pending |= SIGBIT(sig);
	if (sig == SIGKILL) {
		for (struct thread *t = p->threads; t; t = t->proc_next)
			if (t->state == T_SLEEPING)
				wake_thread(t);
	} else {
		/* Wake one thread that can take it. */
		for (struct thread *t = p->threads; t; t = t->proc_next)
			if (!(blocked(t) & SIGBIT(sig))) {
				if (t->state == T_SLEEPING && t->interruptible)
					wake_thread(t);
				break;
			}
	}
	if (current_thread()->proc == p)
		update_work();
}

void send_signal_proc(struct proc *p, int sig)
{
	send_signal_proc_info(p, sig, SI_USER, current_proc()->pid, 0);
}

void send_sigchld(struct proc *parent, struct proc *child)
{
	int st = child->exit_status;
	int code = st & 0x7f ? (st & 0x80 ? 3 : 2) : 1; /* CLD_DUMPED, CLD_KILLED, CLD_EXITED */
	send_signal_proc_info(parent, SIGCHLD, code, child->pid, st & 0x7f ? st & 0x7f : (st >> 8) & 0xff);
}

/*
 * The program dies of sig: the VMM gets a crash record for the first
 * process and for crash-class (core) signals of any process; then the
 * whole process ends with the signal's wait status.
 */
noreturn void force_fatal_signal(struct trap_frame *tf, int signo, int si_code, uint64_t addr,
				 uint64_t vector, uint64_t error_code)
{
	static struct kvmbox_hc_crash hc;
	struct thread *t = current_thread();
	struct proc *p = t->proc;
	bool core = CORE_SET & SIGBIT(signo);
	if (core || !p->parent) {
		hc.pid = (uint32_t)p->pid;
		hc.tid = (uint32_t)t->tid;
		hc.signo = signo;
		hc.si_code = si_code;
		hc.fault_addr = addr;
		hc.vector = vector;
		hc.error_code = error_code;
		hc.cr3 = p->mm->pml4;
		strlcpy(hc.comm, proc_comm(p), sizeof(hc.comm));
		/* The trap frame is the first KVMBOX_TRAP_FRAME_WORDS fields of the user regs. */
		kmem_copy(&hc.regs, tf, sizeof(*tf));
		hc.regs.fs_base = t->fs_base;
		hc.regs.gs_base = t->gs_base;
		hc.regs.ds = hc.regs.es = hc.regs.fs = hc.regs.gs = 0;
		hypercall(KVMBOX_HC_CRASH, &hc);
	}
	proc_exit(signo | (core ? 0x80 : 0));
}

/*
 * A fault in user mode (trap.c). A handler that is installed and not
 * blocked runs; otherwise the signal kills, as Linux's force_sig_fault
 * (a blocked or ignored synchronous signal cannot be held back).
 */
noreturn void force_fatal_signal(struct trap_frame *tf, int signo, int si_code, uint64_t addr,
				 uint64_t vector, uint64_t error_code);

bool signal_fault(struct trap_frame *tf, int sig, int code, uint64_t addr, uint64_t vector,
		  uint64_t err)
{
	struct thread *t = current_thread();
	struct k_sigaction *ka = &t->proc->sighand->action[sig - 1];
	if (ka->handler > SIG_IGN && !(blocked(t) & SIGBIT(sig))) {
		set_info(&t->siginfo[sig - 1], sig, code, 0, addr, 0);
		t->pending |= SIGBIT(sig);
		update_work();
		return true;
	}
	force_fatal_signal(tf, sig, code, addr, vector, err);
}

/* Take the lowest-numbered deliverable signal, thread-directed ones first. */
static int dequeue_signal(struct thread *t, struct ksiginfo *info)
{
	uint64_t b = blocked(t);
	uint64_t tp = t->pending & ~b, pp = t->proc->pending & ~b;
	if (!tp && !pp)
		return 0;
	int ts = tp ? __builtin_ctzll(tp) + 1 : 65, ps = pp ? __builtin_ctzll(pp) + 1 : 65;
	if (ts <= ps) {
		t->pending &= ~SIGBIT(ts);
		*info = t->siginfo[ts - 1];
		return ts;
	}
	t->proc->pending &= ~SIGBIT(ps);
	*info = t->proc->siginfo[ps - 1];
	return ps;
}

/* On the way back to user mode (entry.S), with the complete frame. */
void exit_to_user_work(struct trap_frame *tf)
{
	struct percpu *pc = this_cpu();
	if (pc->work & WORK_RESCHED)
		schedule();
	struct thread *t = current_thread();
	struct proc *p = t->proc;
	if (p->exiting)
		thread_exit(p->exit_status);
	struct ksiginfo info;
	int sig;
	while ((sig = dequeue_signal(t, &info))) {
		struct k_sigaction *ka = &p->sighand->action[sig - 1];
		if (sig == SIGKILL || ka->handler == SIG_DFL) {
			if (sig != SIGKILL && (IGNORE_SET & SIGBIT(sig)))
				continue;
			force_fatal_signal(tf, sig, info.code, info.addr, ~0ull, 0);
		}
		if (ka->handler == SIG_IGN)
			continue;
		if (signal_setup_frame(tf, sig, ka, &info) == 0)
			break; /* one handler frame per return; the rest on the next one */
		/* The frame could not be written (bad stack): SIGSEGV, as Linux's force_sigsegv. */
		force_fatal_signal(tf, SIGSEGV, SI_KERNEL, 0, ~0ull, 0);
	}
	update_work();
}

long sys_kill(pid_t pid, int sig)
{
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	struct proc *self = current_proc();
	if (pid > 0) {
		struct proc *p = proc_find(pid);
		if (!p)
			return -ESRCH;
		if (sig)
			send_signal_proc(p, sig);
		return 0;
	}
	/* A process group (0: ours), or every process but the first (-1). */
	pid_t pgid = pid == 0 ? self->pgid : -pid;
	int found = 0;
	for (struct proc *p = all_procs; p; p = p->next_all) {
		if (p->zombie)
			continue;
		if (pid == -1 ? (p->parent == NULL || p == self) : p->pgid != pgid)
			continue;
		found++;
		if (sig)
			send_signal_proc(p, sig);
	}
	return found ? 0 : -ESRCH;
}

static struct thread *thread_find(pid_t tid)
{
	for (struct thread *t = all_threads; t; t = t->all_next)
		if (t->tid == tid && t->state != T_DEAD)
			return t;
	return NULL;
}

long sys_tgkill(pid_t tgid, pid_t tid, int sig)
{
	if (tgid <= 0 || tid <= 0 || sig < 0 || sig > NSIG)
		return -EINVAL;
	struct thread *t = thread_find(tid);
	if (!t || t->proc->pid != tgid)
		return -ESRCH;
	if (sig)
		send_signal_thread(t, sig, SI_TKILL, current_proc()->pid, 0);
	return 0;
}

long sys_tkill(pid_t tid, int sig)
{
	if (sig < 0 || sig > NSIG || tid <= 0)
		return -EINVAL;
	struct thread *t = thread_find(tid);
	if (!t)
		return -ESRCH;
	if (sig)
		send_signal_thread(t, sig, SI_TKILL, current_proc()->pid, 0);
	return 0;
}

/* struct sigaction as the kernel ABI has it (arch/x86/include/uapi/asm/signal.h). */
struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

long sys_rt_sigaction(int sig, uint64_t act, uint64_t oact, size_t sigsetsize)
{
	if (sigsetsize != 8)
		return -EINVAL;
	if (sig < 1 || sig > NSIG)
		return -EINVAL;
	struct proc *p = current_proc();
	struct k_sigaction *ka = &p->sighand->action[sig - 1];
	struct ksigaction n;
	if (act) {
		if (sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		if (copy_from_user(&n, act, sizeof(n)))
			return -EFAULT;
	}
	if (oact) {
		struct ksigaction o = { ka->handler, ka->flags, ka->restorer, ka->mask };
		if (copy_to_user(oact, &o, sizeof(o)))
			return -EFAULT;
	}
	if (act) {
		ka->handler = n.handler;
		ka->flags = n.flags;
		ka->restorer = n.restorer;
		ka->mask = n.mask & ~UNBLOCKABLE;
		/* Setting SIG_IGN (or a default of ignore) discards what is pending (POSIX). */
		if (sig_ignored(p, sig)) {
			p->pending &= ~SIGBIT(sig);
			for (struct thread *t = p->threads; t; t = t->proc_next)
				t->pending &= ~SIGBIT(sig);
		}
	}
	return 0;
}

#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2

long sys_rt_sigprocmask(int how, uint64_t set, uint64_t oset, size_t sigsetsize)
{
	if (sigsetsize != 8)
		return -EINVAL;
	struct thread *t = current_thread();
	uint64_t n = 0;
	if (set) {
		if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
			return -EINVAL;
		if (copy_from_user(&n, set, 8))
			return -EFAULT;
	}
	if (oset && copy_to_user(oset, &t->sigmask, 8))
		return -EFAULT;
	if (set) {
		if (how == SIG_BLOCK)
			t->sigmask |= n;
		else if (how == SIG_UNBLOCK)
			t->sigmask &= ~n;
		else
			t->sigmask = n;
		t->sigmask &= ~UNBLOCKABLE;
		update_work();
	}
	return 0;
}

long sys_rt_sigpending(uint64_t set, size_t sigsetsize)
{
	if (sigsetsize != 8)
		return -EINVAL;
	struct thread *t = current_thread();
	uint64_t pend = (t->pending | t->proc->pending) & t->sigmask;
	return copy_to_user(set, &pend, 8);
}
