/*
 * CPU-time clocks and accounting: CLOCK_PROCESS_CPUTIME_ID,
 * CLOCK_THREAD_CPUTIME_ID, the pid/tid clocks of clock_getcpuclockid and
 * pthread_getcpuclockid, times(2), getrusage(RUSAGE_SELF/CHILDREN/THREAD),
 * wait4's rusage, children's times after wait (grandchildren's included),
 * and the errors. Only relations are printed (a sleep costs less CPU time
 * than it lasts, a spin of N ms of CPU time shows up as at least N ms
 * everywhere it should), never a measured time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ll

static int failures;

static void check(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ESRCH: return "ESRCH";
	case EPERM: return "EPERM";
	default: return "other";
	}
}

static void expect(const char *what, int got, int want)
{
	printf("%s: %s\n", what, ename(got));
	if (got != want)
		failures++;
}

static long long ns_of(clockid_t c)
{
	struct timespec ts;
	if (clock_gettime(c, &ts))
		return -1;
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static long long tv_ns(struct timeval tv)
{
	return tv.tv_sec * 1000000000ll + tv.tv_usec * 1000ll;
}

static long long ru_total(const struct rusage *ru)
{
	return tv_ns(ru->ru_utime) + tv_ns(ru->ru_stime);
}

/* Run on the CPU until clock c has advanced by ns: a CPU-time clock that does not advance hangs here. */
static void spin(clockid_t c, long long ns)
{
	long long start = ns_of(c);
	volatile unsigned long x = 0;
	while (ns_of(c) - start < ns)
		for (int i = 0; i < 10000; i++)
			x += i;
}

/* Sleep for ns of wall time (through any EINTR). */
static void nap(long long ns)
{
	struct timespec ts = { ns / 1000000000ll, ns % 1000000000ll };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static sem_t spun, go_on;
static long long thread_spun;

static void *spinner(void *arg)
{
	(void)arg;
	spin(CLOCK_THREAD_CPUTIME_ID, 100 * MS);
	thread_spun = ns_of(CLOCK_THREAD_CPUTIME_ID);
	sem_post(&spun);
	sem_wait(&go_on);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct timespec res;
	clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res);
	printf("process clock resolution: %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
	clock_getres(CLOCK_THREAD_CPUTIME_ID, &res);
	printf("thread clock resolution: %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);

	/* Children first, so nothing else is in the children's times yet. */
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	check("children's time 0 before any child", ru_total(&ru) == 0);
	pid_t c = fork();
	if (c == 0) {
		spin(CLOCK_PROCESS_CPUTIME_ID, 100 * MS);
		_exit(0);
	}
	siginfo_t si;
	waitid(P_PID, c, &si, WEXITED | WNOWAIT); /* exited, not yet reaped */
	getrusage(RUSAGE_CHILDREN, &ru);
	check("an exited child not yet waited for is not in the children's time", ru_total(&ru) == 0);
	struct rusage cru;
	int st;
	wait4(c, &st, 0, &cru);
	check("wait4's rusage holds the child's 100 ms", ru_total(&cru) + 2000 >= 100 * MS);
	getrusage(RUSAGE_CHILDREN, &ru);
	check("after wait the children's time holds them", ru_total(&ru) + 2000 >= 100 * MS);
	long long children_before = ru_total(&ru);
	struct tms tm;
	times(&tm);
	check("times: children's ticks >= 8", tm.tms_cutime + tm.tms_cstime >= 8);

	/* A child that only waits for its own spinning child: the grandchild's time comes up with it. */
	c = fork();
	if (c == 0) {
		pid_t g = fork();
		if (g == 0) {
			spin(CLOCK_PROCESS_CPUTIME_ID, 50 * MS);
			_exit(0);
		}
		waitpid(g, NULL, 0);
		_exit(0);
	}
	wait4(c, &st, 0, &cru);
	check("wait4's rusage includes the grandchild's 50 ms", ru_total(&cru) + 2000 >= 50 * MS);
	getrusage(RUSAGE_CHILDREN, &ru);
	check("children's time includes the grandchild's", ru_total(&ru) - children_before + 4000 >= 50 * MS);

	/* A sleeping child uses less CPU time than it sleeps. */
	c = fork();
	if (c == 0) {
		nap(200 * MS);
		_exit(0);
	}
	wait4(c, &st, 0, &cru);
	check("a child sleeping 200 ms used less than 200 ms", ru_total(&cru) < 200 * MS);

	/* Sleeping: the process and thread clocks stand (almost) still. */
	long long p0 = ns_of(CLOCK_PROCESS_CPUTIME_ID), t0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
	nap(200 * MS);
	long long p1 = ns_of(CLOCK_PROCESS_CPUTIME_ID), t1 = ns_of(CLOCK_THREAD_CPUTIME_ID);
	check("sleep 200 ms: process CPU time grew by less", p1 - p0 < 200 * MS && p1 >= p0);
	check("sleep 200 ms: thread CPU time grew by less", t1 - t0 < 200 * MS && t1 >= t0);

	/* Spinning: every view of our time shows it. */
	spin(CLOCK_PROCESS_CPUTIME_ID, 100 * MS);
	long long p2 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	getrusage(RUSAGE_SELF, &ru);
	check("spin 100 ms: getrusage(RUSAGE_SELF) has it", ru_total(&ru) + 2000 >= p2 && p2 - p1 >= 100 * MS);
	check("spin: some of it is user time", tv_ns(ru.ru_utime) > 0);
	getrusage(RUSAGE_THREAD, &ru);
	check("spin: getrusage(RUSAGE_THREAD) has it", ru_total(&ru) + 2000 >= 100 * MS);
	times(&tm);
	check("times: our ticks >= 8", tm.tms_utime + tm.tms_stime >= 8);
	clockid_t pc;
	int e = clock_getcpuclockid(getpid(), &pc);
	check("clock_getcpuclockid(getpid()) reads our time", !e && ns_of(pc) >= p2);

	/* Threads: each has its own clock; the process clock has them all. */
	sem_init(&spun, 0, 0);
	sem_init(&go_on, 0, 0);
	pthread_t th;
	long long m0 = ns_of(CLOCK_THREAD_CPUTIME_ID), pp0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	pthread_create(&th, NULL, spinner, NULL);
	while (sem_wait(&spun))
		;
	long long m1 = ns_of(CLOCK_THREAD_CPUTIME_ID), pp1 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	clockid_t tc;
	e = pthread_getcpuclockid(th, &tc);
	long long other = e ? -1 : ns_of(tc);
	check("pthread_getcpuclockid: the spinner's clock has its 100 ms", other >= thread_spun && thread_spun >= 100 * MS);
	check("the waiting main thread's clock grew by less", m1 - m0 < 100 * MS);
	check("the process clock has the spinner's time", pp1 - pp0 >= 100 * MS);
	sem_post(&go_on);
	pthread_join(th, NULL);
	getrusage(RUSAGE_SELF, &ru);
	check("getrusage(RUSAGE_SELF) keeps an exited thread's time", ru_total(&ru) + 2000 >= p2 + 100 * MS);

	/* Another process's clock: a stopped child that spun 50 ms. */
	c = fork();
	if (c == 0) {
		spin(CLOCK_PROCESS_CPUTIME_ID, 50 * MS);
		raise(SIGSTOP);
		_exit(0);
	}
	waitpid(c, &st, WUNTRACED);
	e = clock_getcpuclockid(c, &pc);
	check("clock_getcpuclockid(child) reads its 50 ms", !e && ns_of(pc) >= 50 * MS);
	kill(c, SIGCONT);
	waitpid(c, &st, 0);

	/* Errors. */
	/* glibc says ESRCH, musl 1.2.3 passes the kernel's EINVAL on (the raw call is checked below). */
	check("clock_getcpuclockid(no such pid) fails", clock_getcpuclockid(0x3ffffff0, &pc) != 0);
	errno = 0;
	syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, (void *)8);
	expect("clock_gettime(CLOCK_PROCESS_CPUTIME_ID, bad pointer)", errno, EFAULT);
	errno = 0;
	syscall(SYS_clock_gettime, (clockid_t)((~0x3ffffff0u << 3) | 6), &res); /* a thread of nobody */
	expect("clock_gettime(a thread clock of no thread)", errno, EINVAL);
	errno = 0;
	syscall(SYS_clock_gettime, (clockid_t)((~999u << 3) | 3), &res); /* CLOCKFD of a closed fd */
	expect("clock_gettime(a clock fd that is not open)", errno, EINVAL);
	errno = 0;
	syscall(SYS_clock_getres, (clockid_t)((~0x3ffffff0u << 3) | 2), &res);
	expect("clock_getres(the clock of no process)", errno, EINVAL);
	errno = 0;
	syscall(SYS_clock_gettime, (clockid_t)((~(unsigned)getpid() << 3) | 2), &res);
	expect("clock_gettime(our pid's clock)", errno, 0);
	errno = 0;
	syscall(SYS_clock_gettime, (clockid_t)((~(unsigned)syscall(SYS_gettid) << 3) | 6), &res);
	expect("clock_gettime(our tid's thread clock)", errno, 0);
	struct timespec d = { 0, 1000 };
	expect("clock_nanosleep(CLOCK_THREAD_CPUTIME_ID)", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &d, NULL), EINVAL);
	errno = 0;
	getrusage(5, &ru);
	expect("getrusage(5)", errno, EINVAL);
	errno = 0;
	syscall(SYS_getrusage, RUSAGE_SELF, (void *)8);
	expect("getrusage(RUSAGE_SELF, bad pointer)", errno, EFAULT);
	errno = 0;
	syscall(SYS_times, (void *)8);
	expect("times(bad pointer)", errno, EFAULT);

	printf("%s: %d failures\n", failures ? "FAIL cputime" : "PASS cputime", failures);
	return failures != 0;
}
