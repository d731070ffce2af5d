/*
 * Timers: alarm's remaining seconds, setitimer/getitimer ITIMER_REAL (one-shot
 * and periodic, SIGALRM's si_code), POSIX timers on CLOCK_MONOTONIC and
 * CLOCK_REALTIME (periodic counts, si_value/si_code, absolute expiry, overruns,
 * SIGEV_NONE, SIGEV_THREAD_ID, the NULL sigevent default), and their errors.
 * Signals are taken with sigwaitinfo, so no count depends on scheduling.
 */
#include "sig_check.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid /* glibc before 2.41 has no name for it */
#endif

static sigset_t blocked;
static volatile int spins;

static void on_tick(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	spins++;
}

static int wait_sig(int sig, siginfo_t *si)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec to = { 5, 0 };
	return sigtimedwait(&s, si, &to);
}

static timer_t make_timer(clockid_t clk, int notify, int sig, int value)
{
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = notify;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = value;
	if (notify == SIGEV_THREAD_ID)
		ev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
	timer_t t;
	CHECK(timer_create(clk, &ev, &t) == 0);
	return t;
}

static void arm(timer_t t, int flags, long value_ns, long interval_ns)
{
	struct itimerspec its = { { interval_ns / 1000000000, interval_ns % 1000000000 },
				  { value_ns / 1000000000, value_ns % 1000000000 } };
	CHECK(timer_settime(t, flags, &its, NULL) == 0);
}

int main(void)
{
	siginfo_t si;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGALRM);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGUSR2);
	sigaddset(&blocked, 40);
	sigprocmask(SIG_BLOCK, &blocked, NULL);

	/* alarm: the seconds left of the previous one (rounded). */
	printf("alarm(5)=%u ", alarm(5));
	printf("alarm(3)=%u ", alarm(3));
	printf("alarm(0)=%u\n", alarm(0));

	/* setitimer: one-shot; SIGALRM comes from the kernel (SI_KERNEL). */
	struct itimerval it = { { 0, 0 }, { 0, 30000 } }, old, cur;
	long long t0 = now_ms();
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	int r = wait_sig(SIGALRM, &si);
	printf("one-shot: sig=%d code=%d waited_enough=%d\n", r, si.si_code, now_ms() - t0 >= 29);
	CHECK(getitimer(ITIMER_REAL, &cur) == 0);
	printf("after one-shot: %ld.%06ld %ld.%06ld\n", (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec,
	       (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec);

	/* Periodic: five expiries, then disarmed; getitimer in between. */
	it.it_interval.tv_usec = 20000;
	it.it_value.tv_usec = 20000;
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	CHECK(getitimer(ITIMER_REAL, &cur) == 0);
	printf("periodic armed: interval=%ld value_ok=%d\n", (long)cur.it_interval.tv_usec,
	       cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 20000);
	int n = 0;
	for (int i = 0; i < 5; i++)
		n += wait_sig(SIGALRM, &si) == SIGALRM;
	memset(&it, 0, sizeof(it));
	CHECK(setitimer(ITIMER_REAL, &it, &old) == 0);
	printf("periodic: %d expiries, old interval=%ld\n", n, (long)old.it_interval.tv_usec);
	CHECK(getitimer(ITIMER_REAL, &cur) == 0);
	printf("disarmed: %ld %ld\n", (long)cur.it_value.tv_usec, (long)cur.it_interval.tv_usec);
	sigset_t pend;
	sigpending(&pend);
	if (sigismember(&pend, SIGALRM))
		wait_sig(SIGALRM, &si); /* one may have fired before the disarm */

	/* setitimer errors; ITIMER_VIRTUAL can be read and disarmed. */
	it.it_value.tv_usec = 1000000;
	printf("usec 1000000: %s\n", res(setitimer(ITIMER_REAL, &it, NULL)));
	it.it_value.tv_usec = -1;
	printf("usec -1: %s\n", res(setitimer(ITIMER_REAL, &it, NULL)));
	memset(&it, 0, sizeof(it));
	printf("which 5: %s\n", res(syscall(SYS_setitimer, 5, &it, NULL)));
	printf("getitimer which 5: %s\n", res(syscall(SYS_getitimer, 5, &cur)));
	printf("getitimer bad: %s\n", res(syscall(SYS_getitimer, ITIMER_REAL, 8)));
	printf("setitimer bad: %s\n", res(syscall(SYS_setitimer, ITIMER_REAL, 8, NULL)));
	printf("virtual disarm: %s\n", res(setitimer(ITIMER_VIRTUAL, &it, &old)));
	CHECK(getitimer(ITIMER_VIRTUAL, &cur) == 0);
	printf("virtual: %ld\n", (long)cur.it_value.tv_usec);

	/* POSIX timer, CLOCK_MONOTONIC, periodic: SI_TIMER with the sigevent's value. */
	timer_t t = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, 40, 42);
	arm(t, 0, 10000000, 10000000);
	struct itimerspec its;
	CHECK(timer_gettime(t, &its) == 0);
	printf("armed: interval=%ld value_ok=%d\n", its.it_interval.tv_nsec,
	       its.it_value.tv_sec == 0 && its.it_value.tv_nsec > 0 && its.it_value.tv_nsec <= 10000000);
	n = 0;
	int codes_ok = 1;
	for (int i = 0; i < 5; i++) {
		n += wait_sig(40, &si) == 40;
		codes_ok &= si.si_code == SI_TIMER && si.si_value.sival_int == 42 && si.si_overrun >= 0;
	}
	printf("timer periodic: %d expiries codes_ok=%d\n", n, codes_ok);

	/* Overruns: expiries while the signal is pending are counted, not queued. */
	arm(t, 0, 5000000, 5000000);
	struct timespec nap = { 0, 100000000 };
	nanosleep(&nap, NULL);
	r = wait_sig(40, &si);
	int ov = timer_getoverrun(t);
	printf("overrun: sig=%d overrun_ok=%d getoverrun_same=%d\n", r, si.si_overrun >= 5, ov == si.si_overrun);
	arm(t, 0, 0, 0); /* disarm */
	CHECK(timer_gettime(t, &its) == 0);
	printf("disarmed: %ld %ld\n", its.it_value.tv_nsec, its.it_interval.tv_nsec);
	sigpending(&pend);
	if (sigismember(&pend, 40))
		wait_sig(40, &si);
	CHECK(timer_delete(t) == 0);
	printf("deleted: gettime %s, delete %s, getoverrun %s\n", res(timer_gettime(t, &its)), res(timer_delete(t)),
	       res(timer_getoverrun(t)));

	/* CLOCK_REALTIME, absolute: fires at that time; one in the past fires at once. */
	t = make_timer(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR1, 7);
	struct timespec now;
	t0 = now_ms(); /* before the 100 ms are counted from: the expiry is at least 100 ms after it */
	clock_gettime(CLOCK_REALTIME, &now);
	long long when = (long long)now.tv_sec * 1000000000LL + now.tv_nsec + 100000000;
	struct itimerspec abs = { { 0, 0 }, { when / 1000000000, when % 1000000000 } };
	CHECK(timer_settime(t, TIMER_ABSTIME, &abs, NULL) == 0);
	r = wait_sig(SIGUSR1, &si);
	printf("absolute: sig=%d value=%d waited_enough=%d\n", r, si.si_value.sival_int, now_ms() - t0 >= 99);
	abs.it_value.tv_sec -= 10;
	CHECK(timer_settime(t, TIMER_ABSTIME, &abs, NULL) == 0);
	r = wait_sig(SIGUSR1, &si);
	printf("absolute in the past: sig=%d\n", r);
	timer_delete(t);

	/* SIGEV_NONE: no signal, but the time left runs down. */
	t = make_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
	arm(t, 0, 1000000000, 0);
	struct itimerspec a, b;
	timer_gettime(t, &a);
	nanosleep(&nap, NULL);
	timer_gettime(t, &b);
	printf("SIGEV_NONE: running_down=%d\n", a.it_value.tv_sec == 0 && b.it_value.tv_nsec < a.it_value.tv_nsec &&
						     a.it_value.tv_nsec <= 1000000000);
	timer_delete(t);

	/* SIGEV_THREAD_ID: to this thread. */
	t = make_timer(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGUSR2, 9);
	arm(t, 0, 1000000, 0);
	r = wait_sig(SIGUSR2, &si);
	printf("thread id: sig=%d code=%d value=%d\n", r, si.si_code, si.si_value.sival_int);
	timer_delete(t);

	/* NULL sigevent: SIGALRM, and si_value is the timer id. */
	int kid = -1;
	CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &kid) == 0);
	struct itimerspec ten = { { 0, 0 }, { 0, 10000000 } };
	CHECK(syscall(SYS_timer_settime, kid, 0, &ten, NULL) == 0);
	r = wait_sig(SIGALRM, &si);
	printf("default sigevent: sig=%d value_is_id=%d\n", r, si.si_value.sival_int == kid);
	syscall(SYS_timer_delete, kid);

	/* Errors. */
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	printf("bad clock: %s\n", res(syscall(SYS_timer_create, 123, &ev, &kid)));
	ev.sigev_signo = 0;
	printf("signo 0: %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &kid)));
	ev.sigev_signo = 65;
	printf("signo 65: %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &kid)));
	ev.sigev_signo = SIGUSR1;
	ev.sigev_notify = 99;
	printf("notify 99: %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &kid)));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_notify_thread_id = 99999;
	printf("bad thread id: %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &kid)));
	printf("bad sigevent: %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, 8, &kid)));
	ev.sigev_notify = SIGEV_SIGNAL;
	printf("bad id pointer: %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, 8)));
	CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &kid) == 0);
	struct itimerspec badts = { { 0, 0 }, { 0, 1000000000 } };
	printf("settime bad nsec: %s\n", res(syscall(SYS_timer_settime, kid, 0, &badts, NULL)));
	printf("settime bad pointer: %s\n", res(syscall(SYS_timer_settime, kid, 0, 8, NULL)));
	printf("settime bad id: %s\n", res(syscall(SYS_timer_settime, kid + 100, 0, &ten, NULL)));
	printf("gettime bad pointer: %s\n", res(syscall(SYS_timer_gettime, kid, 8)));
	printf("delete bad id: %s\n", res(syscall(SYS_timer_delete, kid + 100)));
	syscall(SYS_timer_delete, kid);

	/* Timers interrupt a program that never enters the kernel: handlers run in a busy loop. */
	install(SIGALRM, on_tick, 0);
	install(40, on_tick, 0);
	sigprocmask(SIG_UNBLOCK, &blocked, NULL);
	struct itimerval per = { { 0, 10000 }, { 0, 10000 } };
	setitimer(ITIMER_REAL, &per, NULL);
	while (spins < 5)
		;
	memset(&per, 0, sizeof(per));
	setitimer(ITIMER_REAL, &per, NULL);
	printf("busy loop, setitimer: %d handlers\n", spins >= 5);
	spins = 0;
	t = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, 40, 0);
	arm(t, 0, 10000000, 10000000);
	while (spins < 5)
		;
	timer_delete(t);
	printf("busy loop, timer_create: %d handlers\n", spins >= 5);
	spins = 0;
	alarm(1);
	while (!spins)
		;
	printf("busy loop, alarm: %d\n", spins);
	return sig_finish("sig_timer");
}
