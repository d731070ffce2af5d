/* Signals: pending sets, masks, actions, sending, default actions, fatal-signal reports. */
#include "proc.h"
#include "fs.h"
#include "platform.h"
#include "uaccess.h"
#include "syscalls.h"
#include "signal.h"
#include "lib.h"
#include "errno.h"
#include "debug.h"

/* Default action "core" (signal(7)); the wait status gets 0x80. */
#define CORE_SET (SIGBIT(SIGQUIT) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | SIGBIT(SIGABRT) | \
		  SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | SIGBIT(SIGSEGV) | SIGBIT(SIGXCPU) | \
		  SIGBIT(SIGXFSZ) | SIGBIT(SIGSYS))
/* Default action "ignore"; SIGCONT's "continue" happens when it is sent, then it is ignored. */
#define IGNORE_SET (SIGBIT(SIGCHLD) | SIGBIT(SIGURG) | SIGBIT(SIGWINCH) | SIGBIT(SIGCONT))
/* Default action "stop" (signal(7)). */
#define STOP_SET (SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU))
/* Faults: taken before other pending signals (Linux's SYNCHRONOUS_MASK). */
#define SYNCHRONOUS_SET (SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | \
			 SIGBIT(SIGFPE) | SIGBIT(SIGSYS))

/* The action ignores sig (SIGKILL's never does: its action cannot be set). */
static bool handler_ignores(struct proc *p, int sig)
{
	uint64_t h = p->sighand->action[sig - 1].handler;
	return h == SIG_IGN || (h == SIG_DFL && (IGNORE_SET & SIGBIT(sig)));
}

/* A blocked signal is never discarded: its action may change before it is unblocked. */
static bool thread_blocks(struct thread *t, int sig)
{
	return (t->sigmask | t->real_blocked) & SIGBIT(sig);
}

static bool proc_blocks(struct proc *p, int sig)
{
	for (struct thread *t = p->threads; t; t = t->proc_next)
		if (thread_blocks(t, sig))
			return true;
	return false;
}

static uint64_t blocked(struct thread *t)
{
	return t->sigmask & ~UNBLOCKABLE;
}

/* A signal to take, or a group stop to join: either ends an interruptible sleep. */
bool signal_deliverable(struct thread *t)
{
	return ((t->pending | t->proc->pending) & ~blocked(t)) != 0 || t->proc->stop_sig;
}

void update_work(void)
{
	struct percpu *pc = this_cpu();
	if (signal_deliverable(pc->current))
		pc->work |= WORK_SIGNAL;
	else
		pc->work &= ~WORK_SIGNAL;
}

/*
 * Pending signals: one slot per signal number (its siginfo) and a bit in
 * the pending set; a standard signal sent while pending is merged into it,
 * further instances of a real-time signal wait in a FIFO queue (rtq).
 */
struct sigqueue {
	struct sigqueue *next;
	struct ksiginfo info;
};
#define MAX_QUEUED 4096 /* queued real-time instances in the whole VM (Linux: RLIMIT_SIGPENDING) */
static unsigned nr_queued;

static int enqueue(uint64_t *pending, struct ksiginfo *slots, struct sigqueue **q, const struct ksiginfo *info)
{
	int sig = info->signo;
	if (!(*pending & SIGBIT(sig))) {
		slots[sig - 1] = *info;
		*pending |= SIGBIT(sig);
		return 0;
	}
	if (sig < SIGRTMIN)
		return 0;
	struct sigqueue *n = nr_queued < MAX_QUEUED ? kmalloc(sizeof(*n)) : NULL;
	if (!n)
		return -EAGAIN;
	n->info = *info;
	while (*q)
		q = &(*q)->next;
	*q = n;
	nr_queued++;
	return 0;
}

/* The oldest instance of sig; the next one (if queued) moves into the slot. */
static void take(uint64_t *pending, struct ksiginfo *slots, struct sigqueue **q, int sig, struct ksiginfo *info)
{
	*info = slots[sig - 1];
	for (; *q; q = &(*q)->next)
		if ((*q)->info.signo == sig) {
			struct sigqueue *n = *q;
			slots[sig - 1] = n->info;
			*q = n->next;
			kfree(n);
			nr_queued--;
			return;
		}
	*pending &= ~SIGBIT(sig);
}

/* Drop every instance of the signals in set. */
static void discard(uint64_t *pending, struct sigqueue **q, uint64_t set)
{
	*pending &= ~set;
	while (*q) {
		struct sigqueue *n = *q;
		if (set & SIGBIT(n->info.signo)) {
			*q = n->next;
			kfree(n);
			nr_queued--;
		} else {
			q = &n->next;
		}
	}
}

bool signal_pending_from(struct proc *p, struct thread *t, int sig, int code, pid_t id)
{
	uint64_t pending = t ? t->pending : p->pending;
	const struct ksiginfo *slot = t ? &t->siginfo[sig - 1] : &p->siginfo[sig - 1];
	if (!(pending & SIGBIT(sig)))
		return false;
	if (slot->code == code && slot->pid == id)
		return true;
	for (struct sigqueue *n = t ? t->rtq : p->rtq; n; n = n->next)
		if (n->info.signo == sig && n->info.code == code && n->info.pid == id)
			return true;
	return false;
}

void signal_thread_exit(struct thread *t)
{
	discard(&t->pending, &t->rtq, ~0ull);
	if (!t->proc->nr_threads)
		discard(&t->proc->pending, &t->proc->rtq, ~0ull);
}

static void send_signal_proc_info(struct proc *p, int sig, int code, pid_t from, int status);

/* Drop every pending instance of set, process-wide and in each thread. */
static void discard_everywhere(struct proc *p, uint64_t set)
{
	discard(&p->pending, &p->rtq, set);
	for (struct thread *t = p->threads; t; t = t->proc_next)
		discard(&t->pending, &t->rtq, set);
}

/* The parent learns of a stop or continue: SIGCHLD unless SA_NOCLDSTOP, and its wait wakes. */
static void notify_parent_job(struct proc *p, int code, int status)
{
	struct proc *parent = p->parent;
	if (!parent)
		return;
	if (!(parent->sighand->action[SIGCHLD - 1].flags & SA_NOCLDSTOP))
		send_signal_proc_info(parent, SIGCHLD, code, p->pid, status);
	wakeup(parent);
}

/*
 * Job control at sending time (Linux's prepare_signal): a stop signal
 * cancels a pending SIGCONT; SIGCONT cancels pending stop signals and,
 * whatever its disposition or mask, resumes a stopped process.
 */
static void job_control_on_send(struct proc *p, int sig)
{
	if (STOP_SET & SIGBIT(sig)) {
		discard_everywhere(p, SIGBIT(SIGCONT));
	} else if (sig == SIGCONT) {
		discard_everywhere(p, STOP_SET);
		if (p->stop_sig) {
			p->stop_sig = 0;
			p->wait_report = REPORT_CONTINUED;
			wakeup(&p->stop_sig);
			notify_parent_job(p, CLD_CONTINUED, SIGCONT);
		}
	}
}

/*
 * A process group is orphaned when no member has a parent in another group
 * of the same session: nobody is left to continue it, so Linux discards the
 * terminal stop signals (SIGTSTP, SIGTTIN, SIGTTOU) sent to it.
 */
static bool pgrp_orphaned(pid_t pgid, pid_t sid)
{
	for (struct proc *q = all_procs; q; q = q->next_all)
		if (!q->zombie && q->pgid == pgid && q->parent && q->parent->pgid != pgid &&
		    q->parent->sid == sid)
			return false;
	return true;
}

/*
 * Linux's kill_orphaned_pgrp (kernel/exit.c), called as a process exits:
 * for each child (parent = the exiting process, after the child went to
 * its new parent) and for the exiting process itself (parent NULL: its own
 * parent was the group's last link outside). A group that becomes orphaned
 * this way while a member is stopped gets SIGHUP then SIGCONT (POSIX
 * _exit(): nobody is left to continue it). Same rule as pgrp_orphaned,
 * leaving out the exiting process and zombies.
 */
void kill_orphaned_pgrp(struct proc *p, struct proc *parent)
{
	struct proc *ignored = NULL;
	if (!parent) {
		parent = p->parent;
		ignored = p;
	}
	if (!parent || parent->pgid == p->pgid || parent->sid != p->sid)
		return;
	bool stopped = false;
	for (struct proc *q = all_procs; q; q = q->next_all) {
		if (q == ignored || q->zombie || q->pgid != p->pgid)
			continue;
		if (q->parent && q->parent->pgid != p->pgid && q->parent->sid == q->sid)
			return; /* still a parent outside the group, in the session */
		stopped |= q->stop_sig != 0;
	}
	if (!stopped)
		return;
	for (int sig = SIGHUP; sig; sig = sig == SIGHUP ? SIGCONT : 0)
		for (struct proc *q = all_procs; q; q = q->next_all)
			if (!q->zombie && q->pgid == p->pgid && q != ignored)
				send_signal_proc_info(q, sig, SI_KERNEL, 0, 0);
}

/*
 * The default action "stop": the whole thread group stops (the first
 * thread to take the signal starts the group stop and tells the parent;
 * the others join at their next return to user mode, sleepers are woken to
 * do so) until SIGCONT or SIGKILL.
 */
static void group_stop(struct thread *t, int sig)
{
	struct proc *p = t->proc;
	if (!p->stop_sig) {
		p->stop_sig = sig;
		p->wait_report = REPORT_STOPPED;
		for (struct thread *o = p->threads; o; o = o->proc_next)
			if (o != t && o->state == T_SLEEPING && o->interruptible)
				wake_thread(o);
		notify_parent_job(p, CLD_STOPPED, sig);
	}
}

static void stopped_wait(struct thread *t)
{
	struct proc *p = t->proc;
	while (p->stop_sig && !p->exiting && !((t->pending | p->pending) & SIGBIT(SIGKILL)))
		sleep_on(&p->stop_sig, false, 0);
}

/*
 * Queue a signal. A thread-directed signal wakes its thread if it is not
 * blocked there; a process-directed one wakes one thread that does not
 * block it (all of them for SIGKILL).
 */
int send_signal_info(struct proc *p, struct thread *t, const struct ksiginfo *info)
{
	int sig = info->signo;
	uint64_t bit = SIGBIT(sig);
	if (p->zombie)
		return 0;
	job_control_on_send(p, sig);
	if (t) {
		if (handler_ignores(p, sig) && !thread_blocks(t, sig))
			return 0;
		int r = enqueue(&t->pending, t->siginfo, &t->rtq, info);
		if (r)
			return r;
		/*
		 * A sleeper is woken even when it is "current": the idle loop
		 * (and the interrupt that sends this) runs on the stack of the
		 * thread that went to sleep last, so current_thread() is no
		 * proof that t is running.
		 */
		if (t->state == T_SLEEPING) {
			if (t->interruptible && !(blocked(t) & bit))
				wake_thread(t);
		} else if (t == current_thread()) {
			update_work();
		}
		signalfd_notify(p);
		return 0;
	}
	if (handler_ignores(p, sig) && !proc_blocks(p, sig))
		return 0;
	int r = enqueue(&p->pending, p->siginfo, &p->rtq, info);
	if (r)
		return r;
	if (sig == SIGKILL) {
		/* Every thread, stopped ones too (they sleep uninterruptibly in stopped_wait). */
		for (struct thread *o = p->threads; o; o = o->proc_next)
			if (o->state == T_SLEEPING)
				wake_thread(o);
	} else {
		/* Wake one thread that can take it. */
		for (struct thread *o = p->threads; o; o = o->proc_next)
			if (!(blocked(o) & bit)) {
				if (o->state == T_SLEEPING && o->interruptible)
					wake_thread(o);
				break;
			}
	}
	if (current_thread()->proc == p)
		update_work();
	signalfd_notify(p);
	return 0;
}

static void set_info(struct ksiginfo *i, int sig, int code, pid_t pid, uint64_t addr, int status)
{
	i->signo = sig;
	i->code = code;
	i->pid = pid;
	i->addr = addr;
	i->status = status;
	i->value = 0;
	i->trapno = i->err = 0;
}

/* Send to one thread (tkill, faults). */
void send_signal_thread(struct thread *t, int sig, int code, pid_t from, uint64_t addr)
{
	struct ksiginfo info;
	set_info(&info, sig, code, from, addr, 0);
	send_signal_info(t->proc, t, &info);
}

static void send_signal_proc_info(struct proc *p, int sig, int code, pid_t from, int status)
{
	struct ksiginfo info;
	set_info(&info, sig, code, from, 0, status);
	send_signal_info(p, NULL, &info);
}

void send_signal_proc(struct proc *p, int sig)
{
	send_signal_proc_info(p, sig, SI_USER, current_proc()->pid, 0);
}

void send_sigchld(struct proc *parent, struct proc *child)
{
	int st = child->exit_status;
	int code = st & 0x7f ? (st & 0x80 ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
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
bool signal_fault(struct trap_frame *tf, int sig, int code, uint64_t addr, uint64_t vector,
		  uint64_t err)
{
	struct thread *t = current_thread();
	struct k_sigaction *ka = &t->proc->sighand->action[sig - 1];
	if (ka->handler > SIG_IGN && !(blocked(t) & SIGBIT(sig))) {
		struct ksiginfo *i = &t->siginfo[sig - 1];
		set_info(i, sig, code, 0, addr, 0);
		i->trapno = vector < 256 ? (uint32_t)vector : 0;
		i->err = (uint32_t)err;
		t->pending |= SIGBIT(sig);
		update_work();
		return true;
	}
	if (unlikely(this_cpu()->shared.stop_events) && !(sig = debug_signal(tf, sig, code, addr)))
		return true; /* the debugger discarded it: the instruction runs again */
	force_fatal_signal(tf, sig, code, addr, vector, err);
}

/*
 * Take a pending signal of `allowed`: the thread's own before the
 * process's, faults first, then the lowest number (Linux's dequeue_signal).
 */
static int dequeue_signal(struct thread *t, uint64_t allowed, struct ksiginfo *info)
{
	uint64_t *pending = &t->pending;
	struct ksiginfo *slots = t->siginfo;
	struct sigqueue **q = &t->rtq;
	uint64_t set = *pending & allowed;
	if (!set) {
		pending = &t->proc->pending;
		slots = t->proc->siginfo;
		q = &t->proc->rtq;
		set = *pending & allowed;
		if (!set)
			return 0;
	}
	if (set & SYNCHRONOUS_SET)
		set &= SYNCHRONOUS_SET;
	int sig = __builtin_ctzll(set) + 1;
	take(pending, slots, q, sig, info);
	if (info->code == SI_TIMER)
		itimer_dequeued(t->proc, info);
	return sig;
}

/* signalfd: take a pending signal of mask for t; 0 if none. */
int signal_dequeue(struct thread *t, uint64_t mask, struct ksiginfo *info)
{
	int sig = dequeue_signal(t, mask & ~UNBLOCKABLE, info);
	if (sig)
		update_work();
	return sig;
}

/*
 * A syscall interrupted by a signal returned -ERESTART*: make it -EINTR,
 * or rewind to the SYSCALL instruction (2 bytes, 0f 05) with the number
 * back in rax, so that it runs again (Linux's handle_signal and the
 * no-handler case of arch_do_signal_or_restart).
 */
static void syscall_restart(struct trap_frame *tf, bool handler, uint64_t sa_flags)
{
	if ((int64_t)tf->orig_rax < 0)
		return; /* not in a syscall (a fault, an interrupt, after rt_sigreturn) */
	switch ((int64_t)tf->rax) {
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		if (handler) {
			tf->rax = (uint64_t)-EINTR;
			return;
		}
		break;
	case -ERESTARTSYS:
		if (handler && !(sa_flags & SA_RESTART)) {
			tf->rax = (uint64_t)-EINTR;
			return;
		}
		break;
	case -ERESTARTNOINTR:
		break;
	default:
		return;
	}
	tf->rax = tf->orig_rax;
	tf->rip -= 2;
	tf->rcx = tf->rip; /* SYSCALL clobbers rcx anyway: keep the SYSRET return possible */
}

/* On the way back to user mode (entry.S), with the complete frame. */
void exit_to_user_work(struct trap_frame *tf)
{
	struct percpu *pc = this_cpu();
	if (pc->work & WORK_RESCHED) {
		/* A debugger's single step runs this thread alone (gdb steps over its breakpoints so). */
		if (unlikely(pc->current->dbg_step))
			debug_defer_resched();
		else
			schedule();
	}
	pc->work &= ~WORK_RESTART;
	struct thread *t = current_thread();
	struct proc *p = t->proc;
	if (p->exiting)
		thread_exit(p->exit_status);
	if (p->stop_sig)
		stopped_wait(t); /* another thread started a group stop */
	struct ksiginfo info;
	int sig;
	while ((sig = dequeue_signal(t, ~blocked(t), &info))) {
		if (unlikely(this_cpu()->shared.stop_events) && sig != SIGKILL) {
			/* Reported to the debugger, which may discard it or deliver another (ptrace's signal-delivery-stop). */
			int s = debug_signal(tf, sig, info.code, info.addr);
			if (!s)
				continue;
			if (s != sig)
				info = (struct ksiginfo){ .signo = s, .code = SI_USER };
			sig = s;
		}
		struct k_sigaction *ka = &p->sighand->action[sig - 1];
		if (sig == SIGKILL || ka->handler == SIG_DFL) {
			if (sig != SIGKILL && (IGNORE_SET & SIGBIT(sig)))
				continue;
			if (STOP_SET & SIGBIT(sig)) {
				if (sig == SIGSTOP || !pgrp_orphaned(p->pgid, p->sid))
					group_stop(t, sig);
				stopped_wait(t);
				if (p->exiting)
					thread_exit(p->exit_status);
				continue;
			}
			force_fatal_signal(tf, sig, info.code, info.addr, ~0ull, 0);
		}
		if (ka->handler == SIG_IGN)
			continue;
		syscall_restart(tf, true, ka->flags);
		if (signal_setup_frame(tf, sig, ka, &info) == 0) {
			/* One handler frame per pass; entry.S comes back for more (nested, as Linux). */
			update_work();
			return;
		}
		/*
		 * The frame could not be written (bad stack, no SA_RESTORER):
		 * SIGSEGV, as Linux's force_sigsegv: fatal if it was SIGSEGV's
		 * own frame, else its handler may run (on an alternate stack).
		 */
		if (sig == SIGSEGV)
			force_fatal_signal(tf, SIGSEGV, SI_KERNEL, 0, ~0ull, 0);
		signal_fault(tf, SIGSEGV, SI_KERNEL, 0, ~0ull, 0);
	}
	/* No handler ran: an interrupted syscall starts again, sigsuspend's mask goes back. */
	syscall_restart(tf, false, 0);
	if (t->restore_sigmask) {
		t->restore_sigmask = false;
		t->sigmask = t->saved_sigmask;
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

/* The sa_flags Linux knows (UAPI_SA_FLAGS); others read back cleared, so programs can probe (SA_UNSUPPORTED). */
#define KNOWN_SA_FLAGS (SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | \
			SA_RESETHAND | SA_RESTORER | 0x00000800 /* SA_EXPOSE_TAGBITS */)

long sys_rt_sigaction(int sig, uint64_t act, uint64_t oact, size_t sigsetsize)
{
	if (sigsetsize != 8)
		return -EINVAL;
	struct ksigaction n;
	if (act && copy_from_user(&n, act, sizeof(n)))
		return -EFAULT;
	if (sig < 1 || sig > NSIG || (act && (sig == SIGKILL || sig == SIGSTOP)))
		return -EINVAL;
	struct proc *p = current_proc();
	struct k_sigaction *ka = &p->sighand->action[sig - 1];
	struct ksigaction o = { ka->handler, ka->flags, ka->restorer, ka->mask };
	if (act) {
		ka->handler = n.handler;
		ka->flags = n.flags & KNOWN_SA_FLAGS;
		ka->restorer = n.restorer;
		ka->mask = n.mask & ~UNBLOCKABLE;
		/* Setting SIG_IGN (or a default of ignore) discards what is pending (POSIX). */
		if (handler_ignores(p, sig)) {
			discard(&p->pending, &p->rtq, SIGBIT(sig));
			for (struct thread *t = p->threads; t; t = t->proc_next)
				discard(&t->pending, &t->rtq, SIGBIT(sig));
		}
	}
	/* Linux writes the old action after setting the new one: a bad oact is EFAULT with act in force. */
	if (oact && copy_to_user(oact, &o, sizeof(o)))
		return -EFAULT;
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
	if (sigsetsize > 8)
		return -EINVAL; /* Linux copies out sigsetsize bytes: a shorter set is fine */
	struct thread *t = current_thread();
	uint64_t pend = (t->pending | t->proc->pending) & t->sigmask;
	return copy_to_user(set, &pend, sigsetsize);
}

/* rt_sigsuspend(2): wait for a handler to run with this mask; the old mask comes back after it. */
long sys_rt_sigsuspend(uint64_t umask, size_t sigsetsize)
{
	if (sigsetsize != 8)
		return -EINVAL;
	uint64_t m;
	if (copy_from_user(&m, umask, 8))
		return -EFAULT;
	struct thread *t = current_thread();
	t->saved_sigmask = t->sigmask;
	t->restore_sigmask = true;
	t->sigmask = m & ~UNBLOCKABLE;
	while (sleep_on(NULL, true, 0) != -EINTR)
		;
	return -ERESTARTNOHAND;
}

long sys_pause(void)
{
	while (sleep_on(NULL, true, 0) != -EINTR)
		;
	return -ERESTARTNOHAND;
}

/* A timespec to ns (EINVAL if malformed), saturating far in the future. */
static int timeout_ns(uint64_t uts, uint64_t *ns)
{
	int64_t ts[2];
	if (copy_from_user(ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
		return -EINVAL;
	*ns = (uint64_t)ts[0] >= (1ull << 62) / 1000000000ull ? 1ull << 62
							       : (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
	return 0;
}

/*
 * rt_sigtimedwait(2): take a pending signal of `set` (normally blocked)
 * without running its handler; sleep for one until the timeout (NULL: no
 * limit). While asleep the set is unblocked so that a sender wakes us;
 * real_blocked keeps them from being discarded as ignored meanwhile.
 */
long sys_rt_sigtimedwait(uint64_t uset, uint64_t uinfo, uint64_t uts, size_t sigsetsize)
{
	if (sigsetsize != 8)
		return -EINVAL;
	uint64_t set, ns = 0;
	if (copy_from_user(&set, uset, 8))
		return -EFAULT;
	if (uts) {
		int r = timeout_ns(uts, &ns);
		if (r)
			return r;
	}
	set &= ~UNBLOCKABLE;
	struct thread *t = current_thread();
	struct ksiginfo info;
	int sig = dequeue_signal(t, set, &info);
	int r = -EAGAIN;
	if (!sig && (!uts || ns)) {
		uint64_t deadline = uts ? clock_monotonic_ns() + ns : 0;
		t->real_blocked = t->sigmask;
		t->sigmask &= ~set;
		do
			r = sleep_on(NULL, true, deadline);
		while (r == 0);
		t->sigmask = t->real_blocked;
		t->real_blocked = 0;
		sig = dequeue_signal(t, set, &info);
		update_work();
		/*
		 * Linux kills at once for a signal whose default action is fatal
		 * when it is not blocked (only unblocked for this wait): the wait
		 * never sees it.
		 */
		if (sig && !(t->sigmask & SIGBIT(sig)) && t->proc->sighand->action[sig - 1].handler == SIG_DFL &&
		    !(IGNORE_SET & SIGBIT(sig)))
			force_fatal_signal(current_frame(), sig, info.code, info.addr, ~0ull, 0);
	}
	if (!sig)
		return r == -EINTR ? -EINTR : -EAGAIN;
	if (uinfo && siginfo_to_user(uinfo, &info))
		return -EFAULT;
	return sig;
}

/* The first 32 bytes of a user siginfo_t: what a queued signal carries. */
struct siginfo_head {
	int32_t signo, errno_, code, pad;
	int32_t pid;
	uint32_t uid;
	uint64_t value;
};

static int queueinfo_from_user(uint64_t uinfo, int sig, pid_t target, struct ksiginfo *ki)
{
	struct siginfo_head h;
	if (copy_from_user(&h, uinfo, sizeof(h)))
		return -EFAULT;
	/* Nobody may pose as the kernel or as kill()/tgkill() to another process. */
	if ((h.code >= 0 || h.code == SI_TKILL) && target != current_proc()->pid)
		return -EPERM;
	set_info(ki, sig, h.code, h.pid, 0, 0);
	ki->value = h.value;
	return 0;
}

long sys_rt_sigqueueinfo(pid_t pid, int sig, uint64_t uinfo)
{
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	struct ksiginfo ki;
	int r = queueinfo_from_user(uinfo, sig, pid, &ki);
	if (r)
		return r;
	struct proc *p = pid > 0 ? proc_find(pid) : NULL;
	if (!p || p->zombie)
		return -ESRCH;
	return sig ? send_signal_info(p, NULL, &ki) : 0;
}

long sys_rt_tgsigqueueinfo(pid_t tgid, pid_t tid, int sig, uint64_t uinfo)
{
	if (tgid <= 0 || tid <= 0 || sig < 0 || sig > NSIG)
		return -EINVAL;
	struct ksiginfo ki;
	int r = queueinfo_from_user(uinfo, sig, tgid, &ki);
	if (r)
		return r;
	struct thread *t = thread_find(tid);
	if (!t || t->proc->pid != tgid)
		return -ESRCH;
	return sig ? send_signal_info(t->proc, t, &ki) : 0;
}

/* execve: caught signals go back to SIG_DFL (ignored ones stay ignored), no altstack, no POSIX timers. */
void signal_exec(struct proc *p)
{
	for (int i = 0; i < NSIG; i++) {
		struct k_sigaction *ka = &p->sighand->action[i];
		if (ka->handler != SIG_IGN)
			ka->handler = SIG_DFL;
		ka->flags = ka->restorer = ka->mask = 0;
	}
	struct thread *t = current_thread();
	t->altstack_sp = t->altstack_size = 0;
	t->altstack_flags = 0;
	itimer_exec(p);
}
