/* The scheduler: a run queue, time slices, the tickless timer, context switches, sleeping and waking. One CPU for now. */
#include "proc.h"
#include "platform.h"
#include "apic.h"
#include "lib.h"
#include "errno.h"
#include "fpu.h"

/*
 * The kernel runs with interrupts off (SYSCALL's FMASK and interrupt gates
 * clear IF) and enables them only while idle, so kernel code is never
 * preempted: no locks on one CPU. Run queue: FIFO, round robin.
 *
 * Preemption and timeouts come from the local APIC timer in one-shot
 * TSC-deadline mode (apic.c), and it is tickless: the timer is armed only
 * for (a) the earliest deadline anything waits for (sched_next_deadline)
 * and (b) the end of the running thread's time slice while another thread
 * is runnable. A thread running alone, or sleeping alone, takes no timer
 * interrupt until its own deadline. Idle halts (HLT) until an interrupt.
 */
#define SLICE_NS 10000000ull          /* 10 ms: a CPU-bound thread's turn while others wait */

static struct thread *rq_head, *rq_tail;
static uint64_t slice_start;         /* TSC: when the current thread got the CPU, or company */
static uint64_t run_since;           /* TSC: when the current thread got the CPU (CPU-time accounting) */
static uint64_t slice_tsc;           /* SLICE_NS in TSC ticks, computed at the first need */
/* Earliest wake_at among sleepers: exact after sched_timer_tick, never later than the truth. */
static uint64_t sleep_deadline;
static struct sched_stats stats;

static void wake(struct thread *t, int reason);
static struct thread *dead_thread;   /* freed once we are off its stack */

void swtch(uint64_t *save_ksp, uint64_t new_ksp);
void thread_start(void);

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#define MSR_FS_BASE 0xc0000100
#define MSR_KERNEL_GS_BASE 0xc0000102

void sched_init(void)
{
	fpu_setup();
	run_since = rdtsc();
}

/*
 * CPU time: the TSC is read when a thread gets the CPU and when it gives
 * it up (schedule()), and the difference added to its cpu_tsc; the idle
 * halt in between counts for nobody. System time is the part spent in the
 * kernel's slow paths (sys_time_enter/leave: syscall_slow, trap()); the
 * syscall fast path is not timed (it would cost the ~10 instructions of
 * two TSC reads on every syscall), so its kernel time counts as user time.
 */
static inline void account(struct thread *t, uint64_t now)
{
	t->cpu_tsc += now - run_since;
	if (t->sys_since) {
		t->sys_tsc += now - t->sys_since;
		t->sys_since = now;
	}
	run_since = now;
}

void sched_account_current(void)
{
	account(current_thread(), rdtsc());
}

void thread_cputime(struct thread *t, uint64_t *total_ns, uint64_t *sys_ns)
{
	if (t == current_thread() && t->state == T_RUNNING)
		sched_account_current();
	uint64_t sys = MIN(t->sys_tsc, t->cpu_tsc);
	*total_ns = tsc_to_ns(t->cpu_tsc);
	*sys_ns = tsc_to_ns(sys);
}

void proc_cputime(struct proc *p, uint64_t *total_ns, uint64_t *sys_ns)
{
	struct thread *cur = current_thread();
	if (cur->proc == p && cur->state == T_RUNNING)
		sched_account_current();
	uint64_t cpu = p->dead_cpu_tsc, sys = p->dead_sys_tsc;
	for (struct thread *t = p->threads; t; t = t->proc_next) {
		cpu += t->cpu_tsc;
		sys += MIN(t->sys_tsc, t->cpu_tsc);
	}
	*total_ns = tsc_to_ns(cpu);
	*sys_ns = tsc_to_ns(MIN(sys, cpu));
}

static void rq_push(struct thread *t)
{
	t->state = T_RUNNABLE;
	t->rq_next = NULL;
	if (rq_tail)
		rq_tail->rq_next = t;
	else
		rq_head = t;
	rq_tail = t;
}

static inline uint64_t earliest(uint64_t a, uint64_t b)
{
	return !a || (b && b < a) ? b : a;
}

static inline uint64_t slice_ticks(void)
{
	if (unlikely(!slice_tsc))
		slice_tsc = tsc_ticks(SLICE_NS);
	return slice_tsc;
}

void sched_enqueue(struct thread *t)
{
	bool alone = !rq_head;
	rq_push(t);
	/*
	 * The running thread had the CPU to itself and so no slice timer
	 * (tickless): its slice starts now, and must end in time. (In idle or
	 * inside schedule() the current thread is not T_RUNNING: schedule()
	 * programs the timer itself.)
	 */
	struct thread *cur = current_thread();
	if (alone && t != cur && cur->state == T_RUNNING && apic_present()) {
		slice_start = rdtsc();
		apic_timer_arm(earliest(apic_timer_deadline(), slice_start + slice_ticks()));
	}
}

static struct thread *dequeue(void)
{
	struct thread *t = rq_head;
	if (t) {
		rq_head = t->rq_next;
		if (!rq_head)
			rq_tail = NULL;
	}
	return t;
}

/* The FPU/SSE/AVX state lives in the registers while a thread runs; saved at switch-out (fpu.c). */
static void *fpu_area(struct thread *t)
{
	if (!t->fpu) {
		uint8_t *p = kmalloc(fpu_area_size() + 64);
		if (!p)
			panic("no memory for an FPU save area");
		t->fpu = (void *)ALIGN_UP((uint64_t)p, 64);
		t->fpu_mem = p;
	}
	return t->fpu;
}

void fpu_save(struct thread *t)
{
	fpu_switch(fpu_area(t), NULL);
}

/*
 * Switch this CPU to `next`: its address space, its kernel stack for the
 * next entry from user mode (per-CPU syscall stack and TSS.RSP0), its TLS
 * bases, its FPU state, its pending work; then the stacks.
 */
static void switch_to(struct thread *prev, struct thread *next)
{
	struct percpu *pc = this_cpu();
	/* Both halves at once: one exit where the VMM does it. */
	fpu_switch(prev->state != T_DEAD ? fpu_area(prev) : NULL, next->fpu);
	pc->current = next;
	struct mm *mm = next->proc->mm;
	if (mm != pc->mm) {
		pc->mm = mm;
		__asm__ volatile("mov %0, %%cr3" : : "r"(mm->pml4) : "memory");
	}
	pc->kstack_top = next->kstack_top;
	pc->tss.rsp[0] = next->kstack_top;
	if (prev->fs_base != next->fs_base)
		wrmsr(MSR_FS_BASE, next->fs_base);
	if (prev->gs_base != next->gs_base)
		wrmsr(MSR_KERNEL_GS_BASE, next->gs_base);
	update_work();
	swtch(&prev->ksp, next->ksp);
}

void kstack_free(uint64_t top);

/* Runs in the thread just switched to: release what the previous one left behind. */
void sched_finish_switch(void)
{
	struct thread *d = dead_thread;
	if (d && d != current_thread()) {
		dead_thread = NULL;
		kstack_free(d->kstack_top);
		kfree(d->fpu_mem);
		d->fpu = d->fpu_mem = NULL;
		/* The first thread is static (main.c; its stack may be reused, it is KSTACK_SIZE too). */
		if ((uint64_t)d < KVMBOX_KERNEL_BASE)
			kfree(d);
	}
}

uint64_t sched_next_deadline(void)
{
	/*
	 * Every source of timed wakeups folds its earliest CLOCK_MONOTONIC
	 * deadline in here, and expires its timers in sched_timer_tick(); a
	 * source that arms or moves a timer earlier calls sched_timer_update().
	 * For example: d = earliest(d, itimer_next_deadline());
	 *              d = earliest(d, timerfd_next_deadline());
	 */
	uint64_t d = sleep_deadline;
	d = earliest(d, itimer_next_deadline());
	return d;
}

/*
 * Arm the timer for what the CPU waits for now: the next deadline, and the
 * end of the current slice if another thread is runnable. Nothing to wait
 * for disarms it (no tick).
 */
static void timer_program(void)
{
	uint64_t ns = sched_next_deadline();
	uint64_t d = ns ? tsc_at(ns) : 0;
	if (rq_head)
		d = earliest(d, slice_start + slice_ticks());
	apic_timer_arm(d);
}

void sched_timer_update(void)
{
	if (apic_present())
		timer_program();
}

/* Wake the sleepers whose deadline passed (now: CLOCK_MONOTONIC ns); recompute sleep_deadline. */
static bool expire_sleepers(uint64_t now)
{
	bool woke = false;
	uint64_t next = 0;
	for (struct thread *t = all_threads; t; t = t->all_next) {
		if (t->state != T_SLEEPING || !t->wake_at)
			continue;
		if (now >= t->wake_at) {
			wake(t, -ETIMEDOUT);
			woke = true;
		} else {
			next = earliest(next, t->wake_at);
		}
	}
	sleep_deadline = next;
	/* Other deadline sources expire their timers here. */
	woke |= itimer_tick(now);
	return woke;
}

void sched_timer_tick(void)
{
	if (sched_next_deadline())
		expire_sleepers(clock_monotonic_ns());
}

/*
 * The timer interrupt, from user mode or from idle_halt(). From user mode,
 * the running thread gives way (WORK_RESCHED, acted on by the return to
 * user mode) when a sleeper just woke (it runs promptly: a CPU-bound thread
 * cannot delay a sleeper's wakeup by a whole slice) or when its slice is
 * used up and someone waits; schedule() then re-arms the timer.
 */
void sched_timer_interrupt(bool from_user)
{
	uint64_t now = rdtsc();
	stats.timer_interrupts++;
	apic_timer_ack(now);
	bool woke = sched_next_deadline() && expire_sleepers(clock_monotonic_ns());
	if (!from_user)
		return; /* idle: schedule()'s loop runs what woke, or arms and halts again */
	if (rq_head && (woke || now - slice_start >= slice_ticks())) {
		this_cpu()->work |= WORK_RESCHED;
		stats.preemptions++;
		return;
	}
	timer_program();
}

const struct sched_stats *sched_get_stats(void)
{
	return &stats;
}

/*
 * Nothing to run: arm the timer for the next deadline and halt until an
 * interrupt (the timer's, or a device's) wakes someone; never spin. Without
 * a local APIC (KVMBOX_IRQCHIP=0) nothing interrupts: poll the clock while
 * a sleeper has a deadline, else halt (which ends the VM in the VMM).
 */
static void idle(void)
{
	if (likely(apic_present())) {
		timer_program();
		stats.idle_halts++;
		idle_halt();
		return;
	}
	sched_timer_tick();
	if (rq_head)
		return;
	if (sched_next_deadline()) {
		__asm__ volatile("pause");
		return;
	}
	stats.idle_halts++;
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}

void schedule(void)
{
	struct thread *prev = current_thread();
	account(prev, rdtsc());
	if (prev->state == T_RUNNING)
		rq_push(prev);
	struct thread *next;
	while (!(next = dequeue()))
		idle();
	next->state = T_RUNNING;
	if (prev->state == T_DEAD)
		dead_thread = prev;
	uint64_t now = rdtsc();
	run_since = now;
	if (next->sys_since)
		next->sys_since = now; /* its system time goes on from here */
	if (likely(apic_present())) {
		slice_start = now;
		timer_program();
	}
	if (next != prev) {
		stats.context_switches++;
		switch_to(prev, next);
	}
	sched_finish_switch();
	this_cpu()->work &= ~WORK_RESCHED;
}

/* Linux's sched_yield: the caller goes behind every runnable thread (here: the run queue's tail). */
void sched_yield_cpu(void)
{
	if (rq_head)
		schedule();
}

static void wake(struct thread *t, int reason)
{
	t->wchan = NULL;
	t->wake_at = (uint64_t)(int64_t)reason; /* read back by sleep_on */
	sched_enqueue(t);
}

int sleep_on(const void *wchan, bool interruptible, uint64_t deadline_ns)
{
	struct thread *t = current_thread();
	if (interruptible && signal_deliverable(t)) {
		this_cpu()->work |= WORK_RESTART; /* the syscall's -ERESTART* needs the slow return */
		return -EINTR;
	}
	t->wchan = wchan;
	t->interruptible = interruptible;
	t->wake_at = deadline_ns;
	sleep_deadline = earliest(sleep_deadline, deadline_ns);
	t->state = T_SLEEPING;
	schedule();
	int reason = (int)(int64_t)t->wake_at;
	t->wake_at = 0;
	if (reason == -EINTR)
		this_cpu()->work |= WORK_RESTART;
	return reason;
}

void wakeup(const void *wchan)
{
	for (struct thread *t = all_threads; t; t = t->all_next)
		if (t->state == T_SLEEPING && t->wchan == wchan && wchan)
			wake(t, 0);
}

void wake_thread(struct thread *t)
{
	if (t->state == T_SLEEPING)
		wake(t, t->interruptible ? -EINTR : 0);
}

