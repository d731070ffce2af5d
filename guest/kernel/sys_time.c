/* Clocks and sleeping. */
#include "syscalls.h"
#include "proc.h"
#include "uaccess.h"
#include "platform.h"
#include "errno.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define TIMER_ABSTIME 1

struct timespec {
	int64_t sec, nsec;
};

/*
 * CPU-time clocks, Linux's encoding (include/linux/posix-timers.h): a
 * negative clockid holds ~pid << 3, bit 2 for a thread, and in bits 0-1
 * which time: PROF (user + system), VIRT (user) or SCHED (all the time on
 * the CPU; here the same as PROF). pid 0 is the caller. A thread must be
 * in the caller's process; a process is found by its pid (zombies too),
 * and for reading also by any thread id of the caller's own process
 * (Linux's pid_for_clock). Anything else is EINVAL.
 */
#define CPUCLOCK_PROF 0
#define CPUCLOCK_VIRT 1
#define CPUCLOCK_SCHED 2
#define CPUCLOCK_PERTHREAD 4

static __attribute__((noinline)) int cpu_clock_ns(int clk, uint64_t *ns, bool gettime)
{
	int which = clk & 3;
	if (which > CPUCLOCK_SCHED)
		return -EINVAL; /* 3: CLOCKFD, a clock behind a file descriptor (none here) */
	pid_t pid = ~(clk >> 3);
	struct thread *self = current_thread();
	uint64_t total, sys;
	if (clk & CPUCLOCK_PERTHREAD) {
		struct thread *t = pid ? NULL : self;
		for (struct thread *o = all_threads; o && !t; o = o->all_next)
			if (o->tid == pid && o->state != T_DEAD && o->proc == self->proc)
				t = o;
		if (!t)
			return -EINVAL;
		thread_cputime(t, &total, &sys);
	} else {
		struct proc *p = pid ? NULL : self->proc;
		for (struct proc *q = all_procs; q && !p; q = q->next_all)
			if (q->pid == pid)
				p = q;
		if (!p && gettime && pid == self->tid)
			p = self->proc;
		if (!p)
			return -EINVAL;
		proc_cputime(p, &total, &sys);
	}
	*ns = which == CPUCLOCK_VIRT ? total - sys : total;
	return 0;
}

/* The CPU-time clocks, out of the way of the others' path (clock_gettime is hot). */
static __attribute__((noinline)) int own_cpu_clock_ns(int clk, uint64_t *ns)
{
	uint64_t sys;
	if (clk == CLOCK_PROCESS_CPUTIME_ID)
		proc_cputime(current_proc(), ns, &sys);
	else
		thread_cputime(current_thread(), ns, &sys);
	return 0;
}

static int clock_ns(int clk, uint64_t *ns)
{
	if (clk < 0)
		return cpu_clock_ns(clk, ns, true);
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		*ns = clock_realtime_ns();
		return 0;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		*ns = clock_monotonic_ns();
		return 0;
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		return own_cpu_clock_ns(clk, ns);
	default:
		return -EINVAL;
	}
}

long sys_clock_gettime(int clk, uint64_t tp)
{
	uint64_t ns;
	int r = clock_ns(clk, &ns);
	if (r)
		return r;
	struct timespec ts = { (int64_t)(ns / 1000000000ull), (int64_t)(ns % 1000000000ull) };
	return copy_to_user(tp, &ts, sizeof(ts));
}

long sys_clock_getres(int clk, uint64_t tp)
{
	uint64_t ns;
	int r = clk < 0 ? cpu_clock_ns(clk, &ns, false) : clock_ns(clk, &ns);
	if (r)
		return r;
	/* Linux: 1 ns, except the tick-sampled PROF and VIRT clocks, 1/HZ (Debian's HZ is 250). */
	struct timespec ts = { 0, clk < 0 && (clk & 3) != CPUCLOCK_SCHED ? 4000000 : 1 };
	return tp ? copy_to_user(tp, &ts, sizeof(ts)) : 0;
}

long sys_gettimeofday(uint64_t tv, uint64_t tz)
{
	uint64_t ns = clock_realtime_ns();
	int64_t v[2] = { (int64_t)(ns / 1000000000ull), (int64_t)(ns % 1000000000ull / 1000) };
	if (tv && copy_to_user(tv, v, sizeof(v)))
		return -EFAULT;
	if (tz) {
		int32_t z[2] = { 0, 0 };
		if (copy_to_user(tz, z, sizeof(z)))
			return -EFAULT;
	}
	return 0;
}

long sys_time(uint64_t tloc)
{
	int64_t t = (int64_t)(clock_realtime_ns() / 1000000000ull);
	if (tloc && copy_to_user(tloc, &t, 8))
		return -EFAULT;
	return t;
}

static int read_ts(uint64_t uts, uint64_t *ns)
{
	struct timespec ts;
	if (copy_from_user(&ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
		return -EINVAL;
	/* Saturate: 2^62 ns is 146 years. */
	*ns = (uint64_t)ts.sec >= (1ull << 62) / 1000000000ull ? 1ull << 62
							       : (uint64_t)ts.sec * 1000000000ull + (uint64_t)ts.nsec;
	return 0;
}

/*
 * Sleep until a CLOCK_MONOTONIC deadline through the scheduler. A signal
 * that will run a handler or end the process interrupts: the time left
 * goes to *rem (relative sleeps) and the syscall ends in EINTR, or starts
 * again if no handler runs (relative sleeps then start over with the whole
 * duration: there is no restart_syscall block).
 */
static long sleep_until(uint64_t deadline, uint64_t rem, int restart)
{
	int r;
	do
		r = sleep_on(NULL, true, deadline ? deadline : 1);
	while (r == 0);
	if (r == -ETIMEDOUT)
		return 0;
	uint64_t now = clock_monotonic_ns();
	if (now >= deadline)
		return 0;
	if (rem) {
		uint64_t left = deadline - now;
		struct timespec ts = { (int64_t)(left / 1000000000ull), (int64_t)(left % 1000000000ull) };
		if (copy_to_user(rem, &ts, sizeof(ts)))
			return -EFAULT;
	}
	return restart;
}

long sys_nanosleep(uint64_t req, uint64_t rem)
{
	uint64_t ns;
	int r = read_ts(req, &ns);
	if (r)
		return r;
	if (!ns)
		return 0;
	return sleep_until(clock_monotonic_ns() + ns, rem, -ERESTART_RESTARTBLOCK);
}

long sys_clock_nanosleep(int clk, int flags, uint64_t req, uint64_t rem)
{
	uint64_t ns, now;
	if (clk < 0 && (clk & CPUCLOCK_PERTHREAD))
		return -EINVAL; /* no nanosleep on a thread's CPU clock (Linux) */
	switch (clk) {
	case CLOCK_THREAD_CPUTIME_ID:
		return -EINVAL;
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
		return -EOPNOTSUPP; /* no nsleep for these clocks (Linux) */
	}
	int r = clock_ns(clk, &now);
	if (r)
		return r;
	r = read_ts(req, &ns);
	if (r)
		return r;
	uint64_t mono = clock_monotonic_ns();
	if (flags & TIMER_ABSTIME) {
		if (ns <= now)
			return 0;
		/* The same absolute time again on restart: ERESTARTNOHAND, no rem (Linux). */
		return sleep_until(mono + (ns - now), 0, -ERESTARTNOHAND);
	}
	if (!ns)
		return 0;
	return sleep_until(mono + ns, rem, -ERESTART_RESTARTBLOCK);
}
