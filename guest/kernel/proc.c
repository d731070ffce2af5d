/* Processes and threads: creation (fork, vfork, clone), exit, wait, ids, groups and sessions. */
#include "proc.h"
#include "fs.h"
#include "platform.h"
#include "uaccess.h"
#include "syscalls.h"
#include "signal.h"
#include "lib.h"
#include "errno.h"
#include "debug.h"

struct proc *all_procs;
struct thread *all_threads;
static pid_t next_pid = 2;

#define CSIGNAL              0x000000ff
#define CLONE_VM             0x00000100
#define CLONE_FS             0x00000200
#define CLONE_FILES          0x00000400
#define CLONE_SIGHAND        0x00000800
#define CLONE_PIDFD          0x00001000
#define CLONE_VFORK          0x00004000
#define CLONE_PARENT         0x00008000
#define CLONE_THREAD         0x00010000
#define CLONE_SYSVSEM        0x00040000
#define CLONE_SETTLS         0x00080000
#define CLONE_PARENT_SETTID  0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_DETACHED       0x00400000
#define CLONE_CHILD_SETTID   0x01000000
/* Namespaces, cgroups, ptrace: not offered. */
#define CLONE_UNSUPPORTED    0xfe022000u

struct proc *proc_find(pid_t pid)
{
	for (struct proc *p = all_procs; p; p = p->next_all)
		if (p->pid == pid && !p->zombie)
			return p;
	return NULL;
}

static struct proc *proc_find_any(pid_t pid)
{
	for (struct proc *p = all_procs; p; p = p->next_all)
		if (p->pid == pid)
			return p;
	return NULL;
}

static pid_t alloc_pid(void)
{
	for (;;) {
		pid_t pid = next_pid++;
		if (next_pid >= 4194304)
			next_pid = 2;
		bool used = proc_find_any(pid) != NULL;
		for (struct thread *t = all_threads; t && !used; t = t->all_next)
			used = t->tid == pid;
		if (!used)
			return pid;
	}
}

static void link_thread(struct proc *p, struct thread *t)
{
	t->proc = p;
	t->proc_next = p->threads;
	p->threads = t;
	p->nr_threads++;
	t->all_next = all_threads;
	all_threads = t;
}

static void unlink_thread(struct thread *t)
{
	struct proc *p = t->proc;
	for (struct thread **pp = &p->threads; *pp; pp = &(*pp)->proc_next)
		if (*pp == t) {
			*pp = t->proc_next;
			break;
		}
	p->nr_threads--;
	for (struct thread **pp = &all_threads; *pp; pp = &(*pp)->all_next)
		if (*pp == t) {
			*pp = t->all_next;
			break;
		}
}

static void link_proc(struct proc *p, struct proc *parent)
{
	p->parent = parent;
	if (parent) {
		p->sibling = parent->children;
		parent->children = p;
	}
	p->next_all = all_procs;
	all_procs = p;
}

void proc_adopt_init(struct proc *p, struct thread *t)
{
	link_proc(p, NULL);
	link_thread(p, t);
}

/* The thread's first frame, and the switch frame that starts it (switch.S). */
static void setup_kstack(struct thread *t, const struct trap_frame *tf)
{
	struct trap_frame *ntf = (struct trap_frame *)(t->kstack_top - sizeof(*ntf));
	*ntf = *tf;
	uint64_t *sp = (uint64_t *)ntf;
	extern char thread_start[];
	*--sp = (uint64_t)thread_start;
	for (int i = 0; i < 6; i++)
		*--sp = 0; /* rbp, rbx, r12-r15 */
	t->ksp = (uint64_t)sp;
}

static struct thread *thread_alloc(void)
{
	struct thread *t = kmalloc(sizeof(*t));
	if (!t)
		return NULL;
	t->kstack_top = kstack_alloc();
	if (!t->kstack_top) {
		kfree(t);
		return NULL;
	}
	return t;
}

void fpu_save(struct thread *t);

/*
 * clone(2) (x86-64 argument order: flags, stack, parent_tid, child_tid, tls).
 * Full-frame syscall: current_frame() holds every user register.
 */
long sys_clone(uint64_t flags, uint64_t newsp, uint64_t parent_tid, uint64_t child_tid, uint64_t tls)
{
	struct thread *cur = current_thread();
	struct proc *parent = cur->proc;
	if (flags & CLONE_UNSUPPORTED)
		return -EINVAL;
	if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
		return -EINVAL;
	if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
		return -EINVAL;
	if (flags & CLONE_PIDFD)
		return -EINVAL;

	struct thread *t = thread_alloc();
	if (!t)
		return -ENOMEM;
	struct proc *p = parent;
	if (!(flags & CLONE_THREAD)) {
		p = kmalloc(sizeof(*p));
		if (!p)
			goto fail_thread;
		p->pgid = parent->pgid;
		p->sid = parent->sid;
		p->umask = parent->umask;
		p->exe_path = parent->exe_path;
		if (parent->exe_path == parent->exe_buf) {
			strlcpy(p->exe_buf, parent->exe_buf, sizeof(p->exe_buf));
			p->exe_path = p->exe_buf;
		}
		if (flags & CLONE_VM) {
			p->mm = parent->mm;
			p->mm->users++;
		} else {
			p->mm = mm_clone(parent->mm);
			if (!p->mm)
				goto fail_proc;
		}
		if (flags & CLONE_SIGHAND) {
			p->sighand = parent->sighand;
			p->sighand->refs++;
		} else {
			p->sighand = kmalloc(sizeof(*p->sighand));
			if (!p->sighand)
				goto fail_mm;
			*p->sighand = *parent->sighand;
			p->sighand->refs = 1;
		}
		if (fs_fork(p, parent, flags & CLONE_FILES))
			goto fail_sighand;
		p->pid = alloc_pid();
		t->tid = p->pid;
		link_proc(p, (flags & CLONE_PARENT) && parent->parent ? parent->parent : parent);
	} else {
		t->tid = alloc_pid();
	}
	link_thread(p, t);

	struct trap_frame tf = *current_frame();
	tf.rax = 0;
	if (cur->dbg_step)
		tf.rflags &= ~(1ull << 8); /* the debugger steps the parent, not the child (TF) */
	if (newsp)
		tf.rsp = newsp;
	setup_kstack(t, &tf);
	t->fs_base = flags & CLONE_SETTLS ? tls : cur->fs_base;
	t->gs_base = cur->gs_base;
	t->sigmask = cur->sigmask;
	if (!(flags & CLONE_VM) || (flags & CLONE_VFORK)) {
		/* The alternate signal stack is in memory the child has too (Linux's copy_process). */
		t->altstack_sp = cur->altstack_sp;
		t->altstack_size = cur->altstack_size;
		t->altstack_flags = cur->altstack_flags;
	}
	if (flags & CLONE_CHILD_CLEARTID)
		t->clear_child_tid = child_tid;
	fpu_save(t); /* the child starts with the parent's FPU/SSE state */

	pid_t tid = t->tid;
	if (flags & CLONE_PARENT_SETTID)
		copy_to_user(parent_tid, &tid, sizeof(tid));
	if (flags & CLONE_CHILD_SETTID) {
		/* Into the child's address space (the same one with CLONE_VM). */
		struct mm *saved = this_cpu()->mm;
		if (p->mm != saved) {
			this_cpu()->mm = p->mm;
			__asm__ volatile("mov %0, %%cr3" : : "r"(p->mm->pml4) : "memory");
		}
		copy_to_user(child_tid, &tid, sizeof(tid));
		if (p->mm != saved) {
			this_cpu()->mm = saved;
			__asm__ volatile("mov %0, %%cr3" : : "r"(saved->pml4) : "memory");
		}
	}
	sched_enqueue(t);
	if (!(flags & CLONE_THREAD) && unlikely(this_cpu()->shared.stop_events))
		debug_fork(p, flags & CLONE_VFORK);
	if (flags & CLONE_VFORK) {
		/* The parent waits until the child execs or exits (it borrows our memory). */
		p->vfork_done = false;
		while (!p->vfork_done)
			sleep_on(&p->vfork_done, false, 0);
		if (unlikely(this_cpu()->shared.stop_events))
			debug_vfork_done(tid);
	}
	return tid;

fail_sighand:
	if (--p->sighand->refs == 0)
		kfree(p->sighand);
fail_mm:
	mm_put(p->mm);
fail_proc:
	kfree(p);
fail_thread:
	kstack_free(t->kstack_top);
	kfree(t);
	return -ENOMEM;
}

long sys_fork(void)
{
	return sys_clone(SIGCHLD, 0, 0, 0, 0);
}

long sys_vfork(void)
{
	return sys_clone(CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
}

/* clone3: both libcs fall back to clone on ENOSYS. */
long sys_clone3(uint64_t args, size_t size)
{
	return -ENOSYS;
}

static void release_vfork_parent(struct proc *p)
{
	if (!p->vfork_done) {
		p->vfork_done = true;
		wakeup(&p->vfork_done);
	}
}

void proc_exec_done(struct proc *p)
{
	signal_exec(p);
	release_vfork_parent(p);
}

/* The last thread left: the process becomes a zombie for its parent to reap. */
static void proc_become_zombie(struct proc *p)
{
	if (debug_wants(KVMBOX_EV_EXIT)) /* the debugger reports it (W or X), for the first one before the VM ends */
		debug_stop(current_frame(), KVMBOX_EV_EXIT, 0, 0, 0, (uint64_t)p->exit_status);
	if (!p->parent) {
		/* The first process is the VM: its end is the VM's end, as the shell reports it. */
		int sig = p->exit_status & 0x7f;
		platform_exit(sig ? 128 + sig : (p->exit_status >> 8) & 0xff);
	}
	fs_exit(p);
	itimer_proc_exit(p);
	struct mm *mm = p->mm;
	p->mm = NULL;
	if (this_cpu()->mm == mm) {
		this_cpu()->mm = NULL;
		__asm__ volatile("mov %0, %%cr3" : : "r"(boot_info->kernel_pml4) : "memory");
	}
	mm_put(mm);
	if (--p->sighand->refs == 0)
		kfree(p->sighand);
	p->sighand = NULL;
	release_vfork_parent(p);

	/* Orphans go to the first process. */
	struct proc *init = all_procs;
	while (init && init->parent)
		init = init->next_all;
	while (p->children) {
		struct proc *c = p->children;
		p->children = c->sibling;
		c->parent = init;
		c->sibling = init->children;
		init->children = c;
		if (c->zombie)
			wakeup(init);
		kill_orphaned_pgrp(c, p);
	}
	kill_orphaned_pgrp(p, NULL);
	p->zombie = true;
	struct proc *parent = p->parent;
	/* SIGCHLD ignored (or SA_NOCLDWAIT): nobody will wait; reap now (POSIX 2.4.3). */
	struct k_sigaction *ka = &parent->sighand->action[SIGCHLD - 1];
	if (ka->handler == SIG_IGN || (ka->flags & 0x00000002 /* SA_NOCLDWAIT */)) {
		for (struct proc **pp = &parent->children; *pp; pp = &(*pp)->sibling)
			if (*pp == p) {
				*pp = p->sibling;
				break;
			}
		for (struct proc **pp = &all_procs; *pp; pp = &(*pp)->next_all)
			if (*pp == p) {
				*pp = p->next_all;
				break;
			}
		kfree(p);
		wakeup(parent);
		return;
	}
	send_sigchld(parent, p);
	wakeup(parent);
}

noreturn void thread_exit(int wait_status)
{
	struct thread *t = current_thread();
	struct proc *p = t->proc;
	if (t->clear_child_tid) {
		/* CLONE_CHILD_CLEARTID: pthread_join waits on this futex (set_tid_address(2)). */
		uint32_t zero = 0;
		if (!copy_to_user(t->clear_child_tid, &zero, sizeof(zero)))
			futex_wake_addr(t->clear_child_tid, 1);
	}
	if (!p->exiting)
		p->exit_status = wait_status;
	/* Its CPU time stays with the process (what schedule() adds from here on is lost: a few instructions). */
	sched_account_current();
	p->dead_cpu_tsc += t->cpu_tsc;
	p->dead_sys_tsc += MIN(t->sys_tsc, t->cpu_tsc);
	unlink_thread(t);
	signal_thread_exit(t);
	if (p->nr_threads == 0)
		proc_become_zombie(p);
	t->state = T_DEAD;
	schedule();
	panic("a dead thread was scheduled");
}

noreturn void proc_exit(int wait_status)
{
	struct thread *t = current_thread();
	struct proc *p = t->proc;
	if (!p->exiting) {
		p->exiting = true;
		p->exit_status = wait_status;
		/* The other threads die at their next return to user mode (or now, if asleep). */
		for (struct thread *o = p->threads; o; o = o->proc_next)
			if (o != t) {
				o->pending |= 1ull << (SIGKILL - 1);
				wake_thread(o);
			}
	}
	thread_exit(wait_status);
}

long sys_exit(int status)
{
	thread_exit((status & 0xff) << 8);
}

long sys_exit_group(int status)
{
	proc_exit((status & 0xff) << 8);
}

long sys_getpid(void)
{
	return current_proc()->pid;
}

long sys_gettid(void)
{
	return current_thread()->tid;
}

long sys_getppid(void)
{
	struct proc *parent = current_proc()->parent;
	return parent ? parent->pid : 0;
}

/* ---- wait ---- */

#define WNOHANG    0x00000001
#define WUNTRACED  0x00000002
#define WEXITED    0x00000004
#define WCONTINUED 0x00000008
#define WNOWAIT    0x01000000
#define __WNOTHREAD 0x20000000
#define __WALL     0x40000000
#define __WCLONE   0x80000000

static bool child_matches(struct proc *c, int idtype, pid_t id, struct proc *self)
{
	switch (idtype) {
	case 0: /* P_ALL */
		return true;
	case 1: /* P_PID */
		return c->pid == id;
	case 2: /* P_PGID */
		return c->pgid == (id ? id : self->pgid);
	default:
		return false;
	}
}

static void reap(struct proc *self, struct proc *c)
{
	/* Its times and its own children's go to the children's times (Linux's wait_task_zombie). */
	self->child_cpu_tsc += c->dead_cpu_tsc + c->child_cpu_tsc;
	self->child_sys_tsc += c->dead_sys_tsc + c->child_sys_tsc;
	for (struct proc **pp = &self->children; *pp; pp = &(*pp)->sibling)
		if (*pp == c) {
			*pp = c->sibling;
			break;
		}
	for (struct proc **pp = &all_procs; *pp; pp = &(*pp)->next_all)
		if (*pp == c) {
			*pp = c->next_all;
			break;
		}
	kfree(c);
}

/* What wait found: a child and what to report about it. */
struct wait_found {
	struct proc *child;       /* NULL: WNOHANG and nothing to report yet */
	int status;               /* wait4's status word */
	int code, si_status;      /* waitid's si_code and si_status */
	bool exited;              /* a zombie: reaped unless WNOWAIT */
};

/*
 * A child with something to report for options (wait(2)): an exit
 * (WEXITED), a stop not yet reported (WUNTRACED) or a continue
 * (WCONTINUED); stop and continue reports are consumed unless WNOWAIT.
 */
static bool child_report(struct proc *c, int options, struct wait_found *w)
{
	if (c->zombie) {
		if (!(options & WEXITED))
			return false;
		int st = c->exit_status;
		w->exited = true;
		w->status = st;
		if (st & 0x7f) {
			w->code = st & 0x80 ? CLD_DUMPED : CLD_KILLED;
			w->si_status = st & 0x7f;
		} else {
			w->code = CLD_EXITED;
			w->si_status = (st >> 8) & 0xff;
		}
	} else if ((options & WUNTRACED) && c->wait_report == REPORT_STOPPED && c->stop_sig) {
		w->exited = false;
		w->status = (c->stop_sig << 8) | 0x7f;
		w->code = CLD_STOPPED;
		w->si_status = c->stop_sig;
	} else if ((options & WCONTINUED) && c->wait_report == REPORT_CONTINUED) {
		w->exited = false;
		w->status = 0xffff;
		w->code = CLD_CONTINUED;
		w->si_status = SIGCONT;
	} else {
		return false;
	}
	if (!w->exited && !(options & WNOWAIT))
		c->wait_report = REPORT_NONE;
	w->child = c;
	return true;
}

/* Wait for a child to report; 0 with w->child = NULL under WNOHANG, -ECHILD if no child matches at all. */
static long do_wait(int idtype, pid_t id, int options, struct wait_found *w)
{
	struct proc *self = current_proc();
	for (;;) {
		bool any = false;
		for (struct proc *c = self->children; c; c = c->sibling) {
			if (!child_matches(c, idtype, id, self))
				continue;
			if (c->zombie && !(options & WEXITED))
				continue; /* not a candidate at all: ECHILD if it is the only one (Linux) */
			any = true;
			if (child_report(c, options, w))
				return c->pid;
		}
		if (!any)
			return -ECHILD;
		if (options & WNOHANG) {
			w->child = NULL;
			return 0;
		}
		int r = sleep_on(self, true, 0);
		if (r == -EINTR)
			return -ERESTARTSYS; /* EINTR, or restarted under SA_RESTART (signal.c) */
	}
}

/* The reported child's rusage for wait4/waitid: its own times and its reaped children's (Linux: RUSAGE_BOTH). */
static void child_rusage(struct proc *c, struct rusage *ru)
{
	kmem_zero(ru, sizeof(*ru));
	if (!c)
		return;
	uint64_t cpu, sys;
	proc_cputime(c, &cpu, &sys); /* a zombie: its exited threads' */
	rusage_set_times(ru, cpu + tsc_to_ns(c->child_cpu_tsc), sys + tsc_to_ns(c->child_sys_tsc));
}

long sys_wait4(pid_t pid, uint64_t wstatus, int options, uint64_t rusage)
{
	if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE))
		return -EINVAL;
	int idtype = pid > 0 ? 1 : pid == -1 ? 0 : 2;
	pid_t id = pid > 0 ? pid : pid == 0 ? 0 : -pid;
	if (pid == INT32_MIN)
		return -ESRCH;
	struct wait_found w = { 0 };
	long r = do_wait(idtype, id, options | WEXITED, &w);
	if (r <= 0)
		return r;
	int status = w.status;
	if (wstatus && copy_to_user(wstatus, &status, sizeof(status)))
		return -EFAULT;
	if (rusage) {
		struct rusage ru;
		child_rusage(w.child, &ru);
		if (copy_to_user(rusage, &ru, sizeof(ru)))
			return -EFAULT;
	}
	if (w.exited)
		reap(current_proc(), w.child);
	return r;
}

/* siginfo_t for SIGCHLD (the kernel's 128-byte layout, _sigchld member). */
struct siginfo_chld {
	int32_t si_signo, si_errno, si_code, pad;
	int32_t si_pid;
	uint32_t si_uid;
	int32_t si_status;
	int32_t pad2;
	int64_t si_utime, si_stime;
	uint8_t rest[128 - 48];
};
_Static_assert(sizeof(struct siginfo_chld) == 128, "siginfo");

long sys_waitid(int idtype, pid_t id, uint64_t infop, int options, uint64_t rusage)
{
	if (options & ~(WNOHANG | WEXITED | WUNTRACED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE))
		return -EINVAL;
	if (!(options & (WEXITED | WUNTRACED | WCONTINUED)))
		return -EINVAL;
	if (idtype < 0 || idtype > 2 || (idtype == 1 && id <= 0) || (idtype == 2 && id < 0))
		return -EINVAL;
	struct wait_found w = { 0 };
	long r = do_wait(idtype, id, options, &w);
	if (r < 0)
		return r;
	struct siginfo_chld si = { 0 };
	if (w.child) {
		si.si_signo = SIGCHLD;
		si.si_pid = w.child->pid;
		si.si_code = w.code;
		si.si_status = w.si_status;
	}
	if (infop && copy_to_user(infop, &si, sizeof(si)))
		return -EFAULT;
	if (rusage) {
		struct rusage ru;
		child_rusage(w.child, &ru);
		if (copy_to_user(rusage, &ru, sizeof(ru)))
			return -EFAULT;
	}
	if (w.child && w.exited && !(options & WNOWAIT))
		reap(current_proc(), w.child);
	return 0;
}

/* ---- process groups and sessions ---- */

long sys_setpgid(pid_t pid, pid_t pgid)
{
	struct proc *self = current_proc();
	struct proc *p = pid ? proc_find(pid) : self;
	if (pgid < 0)
		return -EINVAL;
	if (!p || (p != self && p->parent != self))
		return -ESRCH;
	if (p->sid != self->sid)
		return -EPERM;
	if (p->pid == p->sid)
		return -EPERM; /* a session leader */
	if (!pgid)
		pgid = p->pid;
	if (pgid != p->pid) {
		bool exists = false;
		for (struct proc *q = all_procs; q; q = q->next_all)
			if (!q->zombie && q->pgid == pgid && q->sid == self->sid)
				exists = true;
		if (!exists)
			return -EPERM;
	}
	p->pgid = pgid;
	return 0;
}

long sys_getpgid(pid_t pid)
{
	struct proc *p = pid ? proc_find(pid) : current_proc();
	return p ? p->pgid : -ESRCH;
}

long sys_getpgrp(void)
{
	return current_proc()->pgid;
}

long sys_setsid(void)
{
	struct proc *self = current_proc();
	for (struct proc *q = all_procs; q; q = q->next_all)
		if (q->pgid == self->pid)
			return -EPERM; /* already a group leader */
	self->sid = self->pgid = self->pid;
	return self->sid;
}

long sys_getsid(pid_t pid)
{
	struct proc *p = pid ? proc_find(pid) : current_proc();
	return p ? p->sid : -ESRCH;
}
