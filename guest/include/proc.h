/* Processes, threads, the per-CPU block and the trap frame. */
#ifndef GUEST_PROC_H
#define GUEST_PROC_H
#include "types.h"
#include "mm.h"
#include <kvmbox.h>

/*
 * The trap frame: exactly the first KVMBOX_TRAP_FRAME_WORDS fields of
 * struct kvmbox_user_regs, built on the kernel stack by the syscall entry
 * and by every exception stub (arch/x86_64/entry.S). For exceptions,
 * orig_rax holds the hardware error code on entry (0 where the vector has
 * none); trap() replaces it with -1 as Linux does.
 */
struct trap_frame {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi;
	uint64_t orig_rax;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == KVMBOX_TRAP_FRAME_WORDS * 8, "trap frame");

#define KSTACK_SIZE (16 * 1024)
#define NR_OPEN 256
#define NSIG 64

struct fdtable;   /* fs.h */
struct sigqueue;  /* kernel/signal.c */
struct inode;     /* fs.h */

struct k_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* What a pending signal carries for its handler's siginfo_t. */
struct ksiginfo {
	int signo, code;
	pid_t pid;
	int status;               /* SIGCHLD: exit code or signal */
	uint64_t addr;            /* faults: si_addr */
	uint64_t value;           /* si_value (SI_QUEUE, SI_TIMER: pid = timer id, status = overrun) */
	uint32_t trapno, err;     /* faults: the vector and error code, for the sigcontext */
};

/* Signal actions, shared by the threads of a process (and by CLONE_SIGHAND). */
struct sighand {
	int refs;
	struct k_sigaction action[NSIG];
};

enum thread_state {
	T_RUNNABLE,   /* on the run queue */
	T_RUNNING,    /* this CPU's current thread */
	T_SLEEPING,   /* on a wait channel (and/or a deadline) */
	T_DEAD,       /* exited; its kernel stack is freed by the next thread to run */
};

/* A process: an address space, files, signal actions, and one or more threads. */
struct proc {
	pid_t pid, pgid, sid;
	struct proc *parent;      /* NULL for the first process */
	struct proc *children;    /* list through sibling */
	struct proc *sibling;
	struct proc *next_all;    /* every process, for lookups by pid */
	struct thread *threads;   /* list through thread.proc_next */
	int nr_threads;
	bool zombie;              /* all threads gone; waiting to be reaped */
	bool exiting;             /* exit_group or a fatal signal is ending the threads */
	int exit_status;          /* wait status (exit code << 8, or signal | 0x80 for core) */
	struct mm *mm;
	struct fdtable *files;
	struct inode *cwd;
	uint32_t umask;
	struct sighand *sighand;
	uint64_t pending;         /* signals sent to the process (any thread may take them) */
	struct ksiginfo siginfo[NSIG];
	struct sigqueue *rtq;     /* further instances of pending real-time signals (signal.c) */
	bool vfork_done;          /* a vfork child released its parent (exec or exit) */
	/* Job control (signal.c): the stop signal while the group is stopped, else 0. */
	int stop_sig;
	int wait_report;          /* enum wait_report: what wait(WUNTRACED/WCONTINUED) reports once */
	/*
	 * CPU time in TSC ticks (sched.c): of the threads that exited, and of
	 * the children reaped by wait (with their own reaped children's), each
	 * the total and the part spent in the kernel's slow paths.
	 */
	uint64_t dead_cpu_tsc, dead_sys_tsc;
	uint64_t child_cpu_tsc, child_sys_tsc;
	/* Absolute guest path of the executable (NUL-terminated, at most KVMBOX_PATH_MAX). */
	const char *exe_path;
	char exe_buf[KVMBOX_PATH_MAX]; /* exe_path after an execve */
};

enum wait_report {
	REPORT_NONE,
	REPORT_STOPPED,           /* WUNTRACED: status (stop_sig << 8) | 0x7f */
	REPORT_CONTINUED,         /* WCONTINUED: status 0xffff */
};

/* The executable's base name, as a crash report names the program. */
const char *proc_comm(const struct proc *p);

struct thread {
	/* Signals raised for this thread (bit sig-1), acted on before it returns to user mode. */
	uint64_t pending;
	struct ksiginfo siginfo[NSIG];
	struct sigqueue *rtq;     /* further instances of pending real-time signals (signal.c) */
	/* Kernel stack: [kstack_top - KSTACK_SIZE, kstack_top); the trap frame sits at its top. */
	uint64_t kstack_top;
	struct proc *proc;
	pid_t tid;
	int state;                /* enum thread_state */
	uint64_t ksp;             /* saved kernel rsp while switched out (switch.S) */
	struct thread *rq_next;   /* run queue */
	struct thread *proc_next; /* the process's threads */
	struct thread *all_next;  /* every thread, for wakeups */
	const void *wchan;        /* what it sleeps on (NULL: only the deadline) */
	bool interruptible;       /* a signal ends the sleep */
	uint64_t wake_at;         /* CLOCK_MONOTONIC ns deadline of the sleep, 0 for none */
	uint64_t fs_base, gs_base;
	/*
	 * CPU time in TSC ticks (sched.c): on the CPU, all told, up to its last
	 * switch-out (or sched_account_current), and of that in the kernel's
	 * slow paths (syscall_slow, trap): system time. sys_since: the TSC at
	 * which the current slow-path stint started, 0 outside one.
	 */
	uint64_t cpu_tsc, sys_tsc, sys_since;
	uint64_t clear_child_tid;
	uint64_t sigmask;
	uint64_t saved_sigmask;   /* rt_sigsuspend/ppoll: restored after the handler runs */
	bool restore_sigmask;
	uint64_t robust_list, robust_list_len;
	uint64_t altstack_sp, altstack_size;
	int altstack_flags;
	uint64_t real_blocked;    /* rt_sigtimedwait: the mask while waiting (its signals are never ignored) */
	void *fpu;                /* XSAVE area (64-byte aligned), NULL until first switched out */
	void *fpu_mem;            /* its allocation */
	/* Debugger state (kernel/debug*.c). */
	uint8_t dbg_step;         /* the debugger asked for one instruction */
	uint8_t dbg_watch_step;   /* stepping over an access to a watched page */
	uint8_t dbg_resched;      /* a reschedule waits for the end of the step */
	int dbg_pass_sig;         /* a signal the debugger saw already: deliver it without a stop */
	uint32_t dbg_syscall;     /* the syscall at the last entry with a debugger attached */
	uint8_t dbg_watch_write;  /* that access was a write */
	uint64_t dbg_watch_addr;  /* the address it faulted on (~0: an instruction fetch) */
};

/* The 64-bit TSS (SDM vol. 3A 8.7); packed: rsp0 sits at offset 4. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS");

/*
 * Per-CPU block at GS.base while in the kernel (SWAPGS on every entry from
 * user mode; SDM vol. 2B SWAPGS). Entry code addresses fields by the fixed
 * PERCPU_* offsets below (checked in arch/x86_64/percpu.c). The vCPU's
 * shared page with the VMM is the second page of the block, so the syscall
 * entry tests its `enabled` word with one gs-relative compare.
 */
struct percpu {
	uint64_t self;           /* 0: this block's own address */
	uint64_t kstack_top;     /* 8: the current thread's kernel stack top (syscall entry) */
	uint64_t user_rsp;       /* 16: scratch: user rsp at syscall entry */
	struct thread *current;  /* 24 */
	uint32_t cpu;            /* 32 */
	uint32_t work;           /* 36: nonzero: take the slow path back to user mode */
	struct mm *mm;           /* 40: the current thread's address space */
	uint64_t reserved;       /* 48 */
	struct tss tss;          /* 56: rsp0 at 60 */
	uint8_t pad0[8];
	uint64_t gdt[KVMBOX_GDT_ENTRIES]; /* 168 */
	uint8_t pad1[4096 - 224];
	struct kvmbox_shared_page shared __attribute__((aligned(4096))); /* 4096 */
	uint8_t shared_pad[4096 - sizeof(struct kvmbox_shared_page)];
	uint8_t ist1_stack[4096] __attribute__((aligned(16)));
	uint8_t boot_stack[KSTACK_SIZE] __attribute__((aligned(16)));
} __attribute__((aligned(4096)));
#define PERCPU_KSTACK_TOP 8
#define PERCPU_USER_RSP 16
#define PERCPU_CURRENT 24
#define PERCPU_WORK 36
#define PERCPU_MM 40
#define PERCPU_TSS_RSP0 60
#define PERCPU_SHARED_ENABLED (4096 + 8)
#define MAX_CPUS 2

/* percpu.work bits: recomputed for the thread being resumed at every switch. */
#define WORK_SIGNAL (1u << 0)   /* a deliverable signal is pending */
#define WORK_RESCHED (1u << 1)  /* another thread should run before returning to user mode */
#define WORK_RESTART (1u << 2)  /* a sleep was interrupted: the syscall may return -ERESTART* */

extern struct percpu percpu_blocks[MAX_CPUS];
void percpu_init(unsigned cpu);

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}
/* One gs-relative load instead of two (this_cpu, then ->current): every syscall asks. */
static inline struct thread *current_thread(void)
{
	struct thread *t;
	__asm__ volatile("mov %%gs:%c1, %0" : "=r"(t) : "i"(PERCPU_CURRENT));
	return t;
}
static inline struct proc *current_proc(void) { return current_thread()->proc; }
static inline struct mm *this_cpu_mm(void)
{
	struct mm *mm;
	__asm__ volatile("mov %%gs:%c1, %0" : "=r"(mm) : "i"(PERCPU_MM));
	return mm;
}

/* ---- processes (kernel/proc.c) ---- */
extern struct proc *all_procs;
extern struct thread *all_threads;
struct proc *proc_find(pid_t pid);
/* End the current thread's whole process with this wait status (exit_group, fatal signal). */
noreturn void proc_exit(int wait_status);
/* End only the current thread (exit); the process ends with its last thread. */
noreturn void thread_exit(int wait_status);

/* ---- scheduling (kernel/sched.c); interrupts are off in the kernel ---- */
void sched_init(void);
void sched_enqueue(struct thread *t);     /* make runnable */
void schedule(void);
void sched_yield_cpu(void);  /* sched_yield: to the back of the run queue if anyone else is runnable */                      /* run something else; returns when current runs again */
/*
 * Sleep on wchan until wakeup(wchan), the deadline (CLOCK_MONOTONIC ns, 0 =
 * none) or, when interruptible, a deliverable signal. Returns 0 when woken,
 * -ETIMEDOUT at the deadline, -EINTR for a signal. The caller re-checks its
 * condition in a loop.
 */
int sleep_on(const void *wchan, bool interruptible, uint64_t deadline_ns);
void wakeup(const void *wchan);
void wake_thread(struct thread *t);       /* end its sleep whatever the channel */
/* Wake sleepers whose deadline passed (the timer interrupt does this; also a polling idle). */
void sched_timer_tick(void);
/*
 * The earliest CLOCK_MONOTONIC deadline (ns) anything waits for, 0 for none:
 * sleep_on deadlines, and every other source of timed wakeups (interval
 * timers, timerfds, ...), which must be folded in there and expire their
 * timers in sched_timer_tick's scan (kernel/sched.c). The tickless timer is
 * armed for it.
 */
uint64_t sched_next_deadline(void);
/* A deadline source armed or moved a timer earlier: re-arm the timer before returning to user mode. */
void sched_timer_update(void);
/* The local APIC timer interrupt (trap.c), from user mode or from the idle halt. */
void sched_timer_interrupt(bool from_user);
/* Counters, reported at exit with --verbose (HC_NOTICE KVMBOX_NOTICE_STATS). */
struct sched_stats {
	uint64_t timer_interrupts;
	uint64_t context_switches;
	uint64_t preemptions;     /* WORK_RESCHED set by the timer: slice over, or a sleeper woke */
	uint64_t idle_halts;
};
const struct sched_stats *sched_get_stats(void);
/* Bring the running thread's cpu_tsc/sys_tsc up to now. */
void sched_account_current(void);
/* CPU time in ns of a thread or a whole process (live and exited threads): total and system. */
void thread_cputime(struct thread *t, uint64_t *total_ns, uint64_t *sys_ns);
void proc_cputime(struct proc *p, uint64_t *total_ns, uint64_t *sys_ns);
/* struct rusage (getrusage, wait4, waitid) as the kernel writes it. */
struct rusage {
	int64_t utime[2], stime[2]; /* struct timeval */
	int64_t maxrss, ixrss, idrss, isrss, minflt, majflt, nswap, inblock, oublock;
	int64_t msgsnd, msgrcv, nsignals, nvcsw, nivcsw;
};
static inline void rusage_set_times(struct rusage *ru, uint64_t total_ns, uint64_t sys_ns)
{
	uint64_t user_ns = total_ns - sys_ns;
	ru->utime[0] = (int64_t)(user_ns / 1000000000ull);
	ru->utime[1] = (int64_t)(user_ns % 1000000000ull / 1000);
	ru->stime[0] = (int64_t)(sys_ns / 1000000000ull);
	ru->stime[1] = (int64_t)(sys_ns % 1000000000ull / 1000);
}
/* The kernel's slow paths count as system time (syscall.c, trap.c). */
static inline void sys_time_enter(struct thread *t)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t->sys_since = ((uint64_t)hi << 32) | lo;
}
static inline void sys_time_leave(struct thread *t)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t->sys_tsc += (((uint64_t)hi << 32) | lo) - t->sys_since;
	t->sys_since = 0;
}
/* Recompute percpu.work for the current thread (after a signal or mask change). */
void update_work(void);
bool signal_deliverable(struct thread *t); /* a signal would interrupt its sleep */

/* ---- signals (kernel/signal.c, kernel/signal_frame.c) ---- */
void send_signal_thread(struct thread *t, int sig, int code, pid_t from, uint64_t addr);
void send_signal_proc(struct proc *p, int sig);
void send_sigchld(struct proc *parent, struct proc *child);
/*
 * Process exit (Linux's kill_orphaned_pgrp): p's group, orphaned by the exit
 * of parent (p's old parent) or, with parent NULL, of p itself, gets SIGHUP
 * and SIGCONT if a member is stopped.
 */
void kill_orphaned_pgrp(struct proc *p, struct proc *parent);
/*
 * Send with a complete siginfo: to thread t if given, else to process p
 * (timers, sigqueue). 0, or -EAGAIN if a real-time signal could not be
 * queued (the VM-wide limit of queued instances).
 */
int send_signal_info(struct proc *p, struct thread *t, const struct ksiginfo *info);
/* A signal from this source (code and si_pid: a timer's SI_TIMER and id) is pending: t's, or p's if t is NULL. */
bool signal_pending_from(struct proc *p, struct thread *t, int sig, int code, pid_t id);
/* thread_exit: drop the thread's queued signals (and the process's with its last thread). */
void signal_thread_exit(struct thread *t);
/* A user-mode fault: queue it for a handler (true), or die of it (does not return). */
bool signal_fault(struct trap_frame *tf, int sig, int code, uint64_t addr, uint64_t vector, uint64_t err);
/* Push a handler frame onto the user stack and point the frame at the handler: 0 or -EFAULT. */
int signal_setup_frame(struct trap_frame *tf, int sig, struct k_sigaction *ka, const struct ksiginfo *info);
/* The 128-byte siginfo_t for info, to user memory: 0 or -EFAULT. */
int siginfo_to_user(uint64_t uinfo, const struct ksiginfo *info);
/* fork/exec hooks. */
void proc_adopt_init(struct proc *p, struct thread *t);
void proc_exec_done(struct proc *p);
/* execve: handlers back to SIG_DFL (ignored stay ignored), no altstack, no POSIX timers. */
void signal_exec(struct proc *p);
/* The thread's live FPU state to its save area (kernel/sched.c). */
void fpu_save(struct thread *t);

/* ---- timers (kernel/itimer.c): ITIMER_REAL/alarm and POSIX timers ---- */
/*
 * The nearest CLOCK_MONOTONIC ns deadline of an armed timer that sends a
 * signal, 0 for none. It can move earlier in any syscall that arms a timer;
 * the idle loop and the timer interrupt must not sleep past it.
 */
uint64_t itimer_next_deadline(void);
/* Fire the timers whose deadline passed (sched.c's deadline scan); true if any fired. */
bool itimer_tick(uint64_t now);
/* A SI_TIMER signal was taken: fill its si_overrun and reset the count. */
void itimer_dequeued(struct proc *p, struct ksiginfo *info);
/* Process exit: every timer; exec: the POSIX timers (ITIMER_REAL survives exec). */
void itimer_proc_exit(struct proc *p);
void itimer_exec(struct proc *p);

/* Futexes (kernel/futex.c). */
int futex_wake_addr(uint64_t uaddr, int n);

/* Fatal signal from a trap or a syscall: report (HC_CRASH) and end the process. */
noreturn void force_fatal_signal(struct trap_frame *tf, int signo, int si_code, uint64_t addr,
				 uint64_t vector, uint64_t error_code);
/* The current thread's frame (at the top of its kernel stack). */
struct trap_frame *current_frame(void);
/* Return to user mode with this frame (never returns). */
noreturn void return_to_user(struct trap_frame *tf);
#endif
