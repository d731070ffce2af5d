/*
 * eventfd (counter, EFD_SEMAPHORE, EFD_NONBLOCK, blocking across fork,
 * overflow), timerfd (one-shot, periodic with missed expirations,
 * TFD_TIMER_ABSTIME on both clocks, gettime, disarm), signalfd (signals of
 * its mask read as signalfd_siginfo, with kill, sigqueue and a child's
 * SIGCHLD), with their error cases.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include "ipc.h"

static void *volatile bad_ptr = (void *)16;

static void eventfds(void)
{
	int e = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(e >= 0 && fcntl(e, F_GETFD) == FD_CLOEXEC && (fcntl(e, F_GETFL) & O_NONBLOCK), "eventfd(3, NONBLOCK|CLOEXEC)");
	uint64_t v = 0;
	CHECK(read(e, &v, 8) == 8 && v == 3, "read returns the count (3)");
	EXPECT_ERR(read(e, &v, 8), EAGAIN, "then the counter is 0: EAGAIN");
	v = 5;
	CHECK(write(e, &v, 8) == 8, "write 5");
	v = 2;
	CHECK(write(e, &v, 8) == 8, "write 2");
	EXPECT_ERR(read(e, &v, 4), EINVAL, "a read of 4 bytes");
	EXPECT_ERR(write(e, &v, 7), EINVAL, "a write of 7 bytes");
	v = ~0ull;
	EXPECT_ERR(write(e, &v, 8), EINVAL, "writing 2^64-1");
	EXPECT_ERR(read(e, bad_ptr, 8), EFAULT, "a read into a bad buffer");
	/* Linux takes the count before the copy fails: it is gone. */
	EXPECT_ERR(read(e, &v, 8), EAGAIN, "the failed read consumed the counter (as Linux)");
	v = 7;
	write(e, &v, 8);
	CHECK(read(e, &v, 8) == 8 && v == 7, "a count written again reads back");
	v = 0xfffffffffffffffeull;
	CHECK(write(e, &v, 8) == 8, "write up to the maximum");
	v = 1;
	EXPECT_ERR(write(e, &v, 8), EAGAIN, "one more would overflow: EAGAIN");
	struct pollfd pf = { e, POLLIN | POLLOUT, 0 };
	CHECK(poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "full: readable, not writable");
	close(e);

	e = eventfd(2, EFD_SEMAPHORE);
	CHECK(read(e, &v, 8) == 8 && v == 1, "semaphore: read gives 1");
	CHECK(read(e, &v, 8) == 8 && v == 1, "and 1 again");
	/* The clock starts before fork: the child's 40 ms sleep cannot end earlier than that, however the two are scheduled. */
	long long t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(40);
		uint64_t one = 1;
		write(e, &one, 8);
		_exit(0);
	}
	CHECK(read(e, &v, 8) == 8 && v == 1 && now_ms() - t0 >= 39, "a blocking read waits for the child's write");
	child_ok(pid);
	close(e);
	EXPECT_ERR(eventfd(0, 0x100), EINVAL, "eventfd2 with an unknown flag");
}

static void timerfds(void)
{
	int t = timerfd_create(CLOCK_MONOTONIC, 0);
	CHECK(t >= 0, "timerfd_create(CLOCK_MONOTONIC)");
	struct itimerspec its = { { 0, 0 }, { 0, 30000000 } }, cur;
	long long t0 = now_ms();	/* before arming: the expiry is at least 30 ms after this */
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0, "arm one-shot 30 ms");
	CHECK(timerfd_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
	      cur.it_value.tv_nsec <= 30000000, "gettime: 0 < left <= 30 ms");
	uint64_t n = 0;
	CHECK(read(t, &n, 8) == 8 && n == 1, "read blocks until it expires: 1 expiration");
	CHECK(now_ms() - t0 >= 29, "not before 30 ms");
	CHECK(timerfd_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0,
	      "a fired one-shot timer is disarmed");
	its.it_interval.tv_nsec = 20000000;
	its.it_value.tv_nsec = 20000000;
	/* The count is bounded by the time measured around the arming and the read, so a slow host cannot fail it. */
	long long arm0 = now_ms();
	timerfd_settime(t, 0, &its, NULL);
	long long arm1 = now_ms();
	sleep_ms(110);
	long long rd0 = now_ms();
	int got = read(t, &n, 8) == 8;
	long long rd1 = now_ms();
	long long lo = (rd0 - arm1) / 20 - 1, hi = (rd1 - arm0) / 20 + 1;
	CHECK(got && (long long)n >= lo && (long long)n <= hi && n >= 4,
	      "periodic 20 ms, read after 110 ms: the expirations elapsed (%s)", got && (long long)n >= lo && (long long)n <= hi ? "ok" : "wrong");
	CHECK(read(t, &n, 8) == 8 && n == 1, "the next read waits for the next one");
	struct pollfd pf = { t, POLLIN, 0 };
	t0 = now_ms();
	CHECK(poll(&pf, 1, 2000) == 1 && now_ms() - t0 < 1000, "poll wakes at the next period");
	read(t, &n, 8);
	struct itimerspec off = { { 0, 0 }, { 0, 0 } }, old;
	CHECK(timerfd_settime(t, 0, &off, &old) == 0 && old.it_interval.tv_nsec == 20000000, "disarm; the old value had the interval");
	CHECK(poll(&pf, 1, 60) == 0, "disarmed: no more expirations");
	close(t);

	t = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct itimerspec abs = { { 0, 0 }, { now.tv_sec, now.tv_nsec } };
	abs.it_value.tv_nsec += 500000000; /* far enough that even a loaded host reads before it */
	if (abs.it_value.tv_nsec >= 1000000000) {
		abs.it_value.tv_sec++;
		abs.it_value.tv_nsec -= 1000000000;
	}
	CHECK(timerfd_settime(t, TFD_TIMER_ABSTIME, &abs, NULL) == 0, "CLOCK_REALTIME, absolute, 500 ms ahead");
	EXPECT_ERR(read(t, &n, 8), EAGAIN, "not yet: EAGAIN (non-blocking)");
	pf.fd = t;
	CHECK(poll(&pf, 1, 3000) == 1, "poll sees it expire");
	CHECK(read(t, &n, 8) == 8 && n == 1, "1 expiration");
	abs.it_value.tv_sec = 1;      /* long past */
	abs.it_value.tv_nsec = 0;
	timerfd_settime(t, TFD_TIMER_ABSTIME, &abs, NULL);
	/* Linux expires it from its timer interrupt: "at once" is within a poll, not before the next read. */
	CHECK(poll(&pf, 1, 3000) == 1 && read(t, &n, 8) == 8 && n == 1,
	      "an absolute time in the past expires at once");
	EXPECT_ERR(read(t, &n, 4), EINVAL, "a 4-byte read");
	close(t);

	EXPECT_ERR(timerfd_create(12345, 0), EINVAL, "an unknown clock");
	EXPECT_ERR(timerfd_create(CLOCK_MONOTONIC, 0x40), EINVAL, "an unknown flag");
	t = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec badv = { { 0, 0 }, { 0, 1000000000 } };
	EXPECT_ERR(timerfd_settime(t, 0, &badv, NULL), EINVAL, "tv_nsec = 1e9");
	EXPECT_ERR(timerfd_settime(t, 0x10, &its, NULL), EINVAL, "an unknown settime flag");
	EXPECT_ERR(timerfd_settime(t, 0, bad_ptr, NULL), EFAULT, "a bad new_value");
	EXPECT_ERR(timerfd_gettime(0, &cur), EINVAL, "gettime on a non-timerfd");
	EXPECT_ERR(timerfd_gettime(999, &cur), EBADF, "gettime on a closed fd");
	EXPECT_ERR(write(t, &n, 8), EINVAL, "a timerfd cannot be written");
	close(t);
}

static void signalfds(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int s = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	CHECK(s >= 0, "signalfd(-1, {USR1,USR2,CHLD}, NONBLOCK|CLOEXEC)");
	struct signalfd_siginfo si[4];
	EXPECT_ERR(read(s, si, sizeof(si)), EAGAIN, "nothing pending: EAGAIN");
	EXPECT_ERR(read(s, si, 100), EINVAL, "a buffer smaller than one record");
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGUSR1);
	struct pollfd pf = { s, POLLIN, 0 };
	CHECK(poll(&pf, 1, 0) == 1, "pending: readable");
	ssize_t r = read(s, si, sizeof(si));
	CHECK(r == 2 * (ssize_t)sizeof(si[0]), "both signals in one read");
	CHECK(si[0].ssi_signo == SIGUSR1 && si[1].ssi_signo == SIGUSR2, "lowest number first");
	CHECK(si[0].ssi_code == SI_USER && si[0].ssi_pid == (uint32_t)getpid(), "ssi_code SI_USER, ssi_pid ours");
	sigset_t pend;
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2), "read took them off the pending set");
	union sigval sv = { .sival_int = 4242 };
	sigqueue(getpid(), SIGUSR1, sv);
	CHECK(read(s, si, sizeof(si)) == sizeof(si[0]) && si[0].ssi_code == SI_QUEUE && si[0].ssi_int == 4242,
	      "sigqueue's value arrives in ssi_int");
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	pf.revents = 0;
	CHECK(poll(&pf, 1, 5000) == 1, "poll waits for the child's SIGCHLD");
	CHECK(read(s, si, sizeof(si)) == sizeof(si[0]) && si[0].ssi_signo == SIGCHLD && si[0].ssi_pid == (uint32_t)pid &&
	      si[0].ssi_code == CLD_EXITED && si[0].ssi_status == 7, "SIGCHLD: pid, CLD_EXITED, status 7");
	waitpid(pid, NULL, 0);

	/* A blocking read, woken by a child's kill. */
	int b = signalfd(-1, &mask, 0);
	pid_t parent = getpid();
	pid = fork();
	if (pid == 0) {
		sleep_ms(40);
		kill(parent, SIGUSR2);
		_exit(0);
	}
	CHECK(read(b, si, sizeof(si[0])) == sizeof(si[0]) && si[0].ssi_signo == SIGUSR2, "a blocking read waits for the signal");
	waitpid(pid, NULL, 0);
	read(s, si, sizeof(si));     /* the SIGCHLD */
	/* Changing the mask of an existing signalfd. */
	sigset_t only2;
	sigemptyset(&only2);
	sigaddset(&only2, SIGUSR2);
	CHECK(signalfd(s, &only2, 0) == s, "signalfd(fd, new mask) returns fd");
	kill(getpid(), SIGUSR1);
	EXPECT_ERR(read(s, si, sizeof(si)), EAGAIN, "SIGUSR1 is no longer in its mask");
	sigpending(&pend);
	CHECK(sigismember(&pend, SIGUSR1), "and stays pending");
	EXPECT_ERR(signalfd(0, &mask, 0), EINVAL, "signalfd(fd of the console)");
	EXPECT_ERR(signalfd(999, &mask, 0), EBADF, "signalfd(closed fd)");
	EXPECT_ERR(signalfd(-1, &mask, 0x4), EINVAL, "an unknown flag");
	EXPECT_ERR(signalfd(-1, bad_ptr, 0), EFAULT, "a bad mask pointer");
	signal(SIGUSR1, SIG_IGN);        /* drop the pending one */
	close(s);
	close(b);
}

int main(void)
{
	eventfds();
	timerfds();
	signalfds();
	return finish("ipc_fdtypes");
}
