/*
 * Blocking syscalls interrupted by a signal (an interval timer's SIGALRM):
 * wait4 and futex fail with EINTR, or start again under SA_RESTART;
 * nanosleep/clock_nanosleep fail with EINTR either way and report the time
 * left; pause returns after the handler; an ignored or blocked signal
 * interrupts nothing.
 */
#include "sig_check.h"
#ifndef FUTEX_WAIT_PRIVATE
#define FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG: musl-gcc has no linux/futex.h */
#endif
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile int hits;
static volatile uint32_t word;
static volatile int set_word;
static int pipe_w = -1;

static void on_alarm(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	hits++;
	if (set_word)
		word = 1;
	if (pipe_w >= 0)
		write(pipe_w, "x", 1); /* the restarted read finds data */
}

static void alarm_in_ms(int ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

static pid_t sleeper(int ms, int status)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		_exit(status);
	}
	return c;
}

int main(void)
{
	int st;
	install(SIGALRM, on_alarm, 0);

	/* wait4: EINTR without SA_RESTART... */
	pid_t c = sleeper(800, 7);
	alarm_in_ms(100);
	long r = wait4(c, &st, 0, NULL);
	printf("wait4: %s hits=%d\n", res(r), hits);
	CHECK(r == -1 && errno == EINTR && hits == 1);
	/* ...and restarted with it: the child is reaped. */
	install(SIGALRM, on_alarm, SA_RESTART);
	alarm_in_ms(100);
	r = wait4(c, &st, 0, NULL);
	printf("wait4 SA_RESTART: reaped=%d status=%d hits=%d\n", r == c, WIFEXITED(st) ? WEXITSTATUS(st) : -1, hits);
	CHECK(r == c && hits == 2);

	/* waitid the same way. */
	install(SIGALRM, on_alarm, 0);
	c = sleeper(500, 9);
	alarm_in_ms(100);
	siginfo_t si;
	r = waitid(P_PID, c, &si, WEXITED);
	printf("waitid: %s\n", res(r));
	CHECK(r == -1 && errno == EINTR);
	install(SIGALRM, on_alarm, SA_RESTART);
	alarm_in_ms(100);
	r = waitid(P_PID, c, &si, WEXITED);
	printf("waitid SA_RESTART: %s status=%d\n", res(r), si.si_status);

	/* nanosleep: EINTR even under SA_RESTART, with the time left. */
	struct timespec req = { 2, 0 }, rem = { 0, 0 };
	alarm_in_ms(100);
	r = nanosleep(&req, &rem);
	printf("nanosleep: %s rem_ok=%d\n", res(r), rem.tv_sec == 1 || (rem.tv_sec == 0 && rem.tv_nsec > 500000000));
	CHECK(r == -1 && errno == EINTR && rem.tv_sec <= 1);
	alarm_in_ms(100);
	int e = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
	printf("clock_nanosleep: %s rem_ok=%d\n", e == EINTR ? "EINTR" : "other", rem.tv_sec <= 1);
	struct timespec abs;
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_sec += 2;
	rem.tv_sec = 99;
	alarm_in_ms(100);
	e = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, &rem);
	printf("clock_nanosleep abstime: %s rem_untouched=%d\n", e == EINTR ? "EINTR" : "other", rem.tv_sec == 99);

	/* pause: returns -1 EINTR once a handler ran. */
	int before = hits;
	alarm_in_ms(50);
	r = pause();
	printf("pause: %s handled=%d\n", res(r), hits == before + 1);

	/* futex wait: EINTR without SA_RESTART; restarted with it (and then the word changed: EAGAIN). */
	install(SIGALRM, on_alarm, 0);
	word = 0;
	alarm_in_ms(100);
	r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	printf("futex: %s\n", res(r));
	install(SIGALRM, on_alarm, SA_RESTART);
	set_word = 1;
	alarm_in_ms(100);
	r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	printf("futex SA_RESTART: %s\n", res(r));
	set_word = 0;
	word = 0;
	struct timespec to = { 2, 0 };
	alarm_in_ms(100);
	r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &to, NULL, 0);
	printf("futex timed SA_RESTART: %s\n", res(r));

	/* A read from an empty pipe: EINTR without SA_RESTART; restarted with it. */
	int fds[2];
	CHECK(pipe(fds) == 0);
	char ch;
	install(SIGALRM, on_alarm, 0);
	alarm_in_ms(100);
	r = read(fds[0], &ch, 1);
	printf("pipe read: %s\n", res(r));
	install(SIGALRM, on_alarm, SA_RESTART);
	pipe_w = fds[1];
	alarm_in_ms(100);
	r = read(fds[0], &ch, 1);
	printf("pipe read SA_RESTART: %s byte=%c\n", res(r), r == 1 ? ch : '-');
	pipe_w = -1;
	close(fds[0]);
	close(fds[1]);

	/* An ignored signal does not interrupt a sleep; nor does a blocked one (it waits). */
	signal(SIGALRM, SIG_IGN);
	alarm_in_ms(50);
	struct timespec short_sleep = { 0, 200000000 };
	r = nanosleep(&short_sleep, NULL);
	printf("ignored: nanosleep %s\n", res(r));
	install(SIGALRM, on_alarm, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	before = hits;
	alarm_in_ms(50);
	r = nanosleep(&short_sleep, NULL);
	printf("blocked: nanosleep %s handled_meanwhile=%d\n", res(r), hits != before);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	printf("unblocked: handled=%d\n", hits == before + 1);
	return sig_finish("sig_restart");
}
