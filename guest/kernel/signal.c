/* Signals: pending sets, masks, actions, default actions, and fatal-signal reports. */
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
/* Default action "ignore" (and, until job control lands, "stop"). */
#define IGNORE_SET (SIGBIT(SIGCHLD) | SIGBIT(SIGURG) | SIGBIT(SIGWINCH) | SIGBIT(SIGCONT) | \
		    SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU))

noreturn void proc_exit(int wait_status)
{
	/* One process for now: its end is the VM's end. Status as the shell reports it. */
	int sig = wait_status & 0x7f;
	platform_exit(sig ? 128 + sig : (wait_status >> 8) & 0xff);
}

noreturn void force_fatal_signal(struct trap_frame *tf, int signo, int si_code, uint64_t addr,
				 uint64_t vector, uint64_t error_code)
{
	static struct kvmbox_hc_crash hc;
	struct thread *t = current_thread();
	struct proc *p = t->proc;
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
	proc_exit(signo | (CORE_SET & SIGBIT(signo) ? 0x80 : 0));
}

static void update_work(struct thread *t)
{
	if (t->pending & ~(t->sigmask & ~UNBLOCKABLE))
		this_cpu()->work |= WORK_FATAL_SIGNAL;
	else
		this_cpu()->work &= ~WORK_FATAL_SIGNAL;
}

void signal_self(int signo)
{
	struct thread *t = current_thread();
	t->pending |= SIGBIT(signo);
	update_work(t);
}

/* On the way back to user mode (entry.S), with the complete frame. */
void exit_to_user_work(struct trap_frame *tf)
{
	struct thread *t = current_thread();
	uint64_t deliverable = t->pending & ~(t->sigmask & ~UNBLOCKABLE);
	while (deliverable) {
		int sig = __builtin_ctzll(deliverable) + 1; /* lowest number first */
		t->pending &= ~SIGBIT(sig);
		deliverable &= ~SIGBIT(sig);
		uint64_t h = t->proc->sigactions[sig - 1].handler;
		if (sig == SIGKILL || h == SIG_DFL) {
			if (IGNORE_SET & SIGBIT(sig))
				continue;
			force_fatal_signal(tf, sig, SI_TKILL, 0, ~0ull, 0);
		}
		/* SIG_IGN, or a handler: running handlers arrives with signal frames. */
	}
	update_work(t);
}

long sys_kill(pid_t pid, int sig)
{
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	struct proc *p = current_proc();
	if (pid != p->pid && pid != 0 && pid != -1 && pid != -p->pgid)
		return -ESRCH;
	if (sig)
		signal_self(sig);
	return 0;
}

long sys_tgkill(pid_t tgid, pid_t tid, int sig)
{
	if (tgid <= 0 || tid <= 0)
		return -EINVAL;
	if (tgid != current_proc()->pid)
		return -ESRCH;
	return sys_tkill(tid, sig);
}

long sys_tkill(pid_t tid, int sig)
{
	if (sig < 0 || sig > NSIG || tid <= 0)
		return -EINVAL;
	if (tid != current_thread()->tid)
		return -ESRCH;
	if (sig)
		signal_self(sig);
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
	struct k_sigaction *ka = &current_proc()->sigactions[sig - 1];
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
		update_work(t);
	}
	return 0;
}
