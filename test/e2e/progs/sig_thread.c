/*
 * Signals and threads: pthread_kill runs the handler in that thread; a
 * process-directed signal goes to a thread that does not block it; sigwait
 * in one thread takes a signal sent to the process; a timer can target a
 * thread (SIGEV_THREAD_ID) or run a function in a new thread (SIGEV_THREAD);
 * a fatal signal raised in a thread ends the whole process.
 */
#include "sig_check.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static volatile pid_t handler_tid;
static volatile int hits;
static volatile pid_t worker_tid;
static volatile int stop;

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	handler_tid = gettid_();
	hits++;
}

static void *worker(void *arg)
{
	(void)arg;
	worker_tid = gettid_();
	/* This thread takes SIGUSR1/SIGUSR2; main blocks them. */
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	while (!stop)
		pause();
	return NULL;
}

static void *waiter(void *arg)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGHUP);
	int sig = 0;
	sigwait(&s, &sig);
	*(int *)arg = sig;
	return NULL;
}

static volatile int timer_calls;
static void on_timer(union sigval v)
{
	if (v.sival_int == 99)
		__atomic_fetch_add(&timer_calls, 1, __ATOMIC_SEQ_CST);
}

/*
 * A thread that takes 20 SIGEV_THREAD_ID timer signals in sigwaitinfo
 * while main sleeps in pthread_join: every expiry must wake it, whichever
 * thread went to sleep last (a kernel that treats "the thread whose stack
 * the idle loop runs on" as running loses these wakeups forever).
 */
static volatile pid_t sleeper_tid;
static void *timer_sleeper(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 2);
	sleeper_tid = gettid_();
	int got = 0;
	while (got < 20) {
		siginfo_t si;
		if (sigwaitinfo(&s, &si) == SIGRTMIN + 2 && si.si_code == SI_TIMER)
			got++;
	}
	return (void *)(intptr_t)got;
}

static void nap(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };
	nanosleep(&ts, NULL);
}

int main(void)
{
	install(SIGUSR1, handler, 0);
	install(SIGUSR2, handler, 0);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGHUP);
	sigprocmask(SIG_BLOCK, &s, NULL);

	pthread_t w;
	pthread_create(&w, NULL, worker, NULL);
	while (!worker_tid)
		nap(1);

	/* pthread_kill: the handler runs in the worker. */
	pthread_kill(w, SIGUSR1);
	while (hits < 1)
		nap(1);
	printf("pthread_kill: in worker=%d\n", handler_tid == worker_tid);
	CHECK(handler_tid == worker_tid);

	/* kill() to the process: main blocks it, so the worker takes it. */
	kill(getpid(), SIGUSR2);
	while (hits < 2)
		nap(1);
	printf("process-directed: in worker=%d\n", handler_tid == worker_tid);
	CHECK(handler_tid == worker_tid);

	/* A timer aimed at the worker thread. */
	timer_t t;
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_notify_thread_id = worker_tid;
	CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
	struct itimerspec its = { { 0, 0 }, { 0, 10000000 } };
	timer_settime(t, 0, &its, NULL);
	while (hits < 3)
		nap(1);
	printf("SIGEV_THREAD_ID timer: in worker=%d\n", handler_tid == worker_tid);
	timer_delete(t);

	/* sigwait in another thread (all threads block SIGHUP). */
	int got = 0;
	pthread_t wt;
	pthread_create(&wt, NULL, waiter, &got);
	nap(20);
	kill(getpid(), SIGHUP);
	pthread_join(wt, NULL);
	printf("sigwait thread: got=%d\n", got);
	CHECK(got == SIGHUP);

	/* SIGEV_THREAD: the libc runs the function in a thread of its own, each expiry. */
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_notify_function = on_timer;
	ev.sigev_value.sival_int = 99;
	CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
	struct itimerspec per = { { 0, 10000000 }, { 0, 10000000 } };
	timer_settime(t, 0, &per, NULL);
	for (int i = 0; i < 500 && timer_calls < 3; i++)
		nap(2);
	timer_delete(t);
	printf("SIGEV_THREAD: at least 3 calls=%d\n", timer_calls >= 3);
	CHECK(timer_calls >= 3);

	stop = 1;
	pthread_kill(w, SIGUSR1);
	pthread_join(w, NULL);

	/* Every expiry wakes the thread sleeping in sigwaitinfo (a lost wakeup hangs: SIGALRM ends it). */
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN + 2);
	pthread_sigmask(SIG_BLOCK, &rt, NULL);
	pthread_t sl;
	pthread_create(&sl, NULL, timer_sleeper, NULL);
	while (!sleeper_tid)
		nap(1);
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGRTMIN + 2;
	ev.sigev_notify_thread_id = sleeper_tid;
	CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
	struct itimerspec ten = { { 0, 5000000 }, { 0, 5000000 } };
	timer_settime(t, 0, &ten, NULL);
	alarm(60);
	void *taken = NULL;
	pthread_join(sl, &taken);
	alarm(0);
	timer_delete(t);
	printf("SIGEV_THREAD_ID to a thread in sigwaitinfo: %d signals\n", (int)(intptr_t)taken);

	/* A default-fatal signal raised by one thread ends the process. */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		pthread_t k;
		stop = 0;
		pthread_create(&k, NULL, worker, NULL);
		nap(10);
		pthread_kill(k, SIGTERM);
		for (;;)
			pause();
	}
	int st;
	waitpid(c, &st, 0);
	printf("fatal in a thread: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	return sig_finish("sig_thread");
}
