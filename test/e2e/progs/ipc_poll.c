/*
 * poll, ppoll, select, pselect: readiness of pipe ends (data, room, EOF,
 * no reader), waiting until a child writes, timeouts (0, > 0, -1), the
 * signal mask of ppoll/pselect, EINTR from a handler, POLLNVAL, and the
 * errors EFAULT, EINVAL, EBADF.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include "ipc.h"

static void *volatile bad_ptr = (void *)16;
static volatile int got_usr1;
static void on_usr1(int sig) { got_usr1++; }

static void readiness(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	struct pollfd fds[3] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 }, { -1, POLLIN, 0 } };
	CHECK(poll(fds, 3, 0) == 1 && fds[0].revents == 0 && fds[1].revents == POLLOUT && fds[2].revents == 0,
	      "empty pipe: write end writable, read end not readable, fd -1 ignored");
	write(p[1], "x", 1);
	CHECK(poll(fds, 2, 0) == 2 && fds[0].revents == POLLIN, "with data: readable");
	fds[0].events = POLLIN | POLLOUT;
	CHECK(poll(fds, 1, 0) == 1 && fds[0].revents == POLLIN, "POLLOUT is never set on a read end");
	fds[0].events = 0;
	CHECK(poll(fds, 1, 0) == 0 && fds[0].revents == 0, "events 0: nothing reported");
	close(p[1]);
	fds[0].events = POLLIN;
	CHECK(poll(fds, 1, 0) == 1 && fds[0].revents == (POLLIN | POLLHUP), "data and no writer: POLLIN|POLLHUP");
	char c;
	read(p[0], &c, 1);
	fds[0].events = 0;
	CHECK(poll(fds, 1, 0) == 1 && fds[0].revents == POLLHUP, "no writer: POLLHUP even if not asked");
	CHECK(pipe(p + 0) == 0, "another pipe");
	close(p[0]);
	fds[1].fd = p[1];
	fds[1].events = POLLOUT;
	CHECK(poll(&fds[1], 1, 0) == 1 && fds[1].revents == (POLLOUT | POLLERR), "no reader: POLLOUT|POLLERR");
	close(p[1]);
	struct pollfd bad = { 1000, POLLIN, 0 };
	CHECK(poll(&bad, 1, 0) == 1 && bad.revents == POLLNVAL, "a closed fd: POLLNVAL");
	struct pollfd out = { 1, POLLOUT, 0 };
	CHECK(poll(&out, 1, 0) == 1 && (out.revents & POLLOUT), "stdout is writable");
}

static void waiting(void)
{
	int p[2];
	pipe(p);
	long long t0 = now_ms();	/* before fork: the child's 50 ms sleep ends no earlier */
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		write(p[1], "y", 1);
		_exit(0);
	}
	struct pollfd fd = { p[0], POLLIN, 0 };
	int r = poll(&fd, 1, 5000);
	long long dt = now_ms() - t0;
	CHECK(r == 1 && fd.revents == POLLIN, "poll waits until the child writes");
	CHECK(dt >= 49 && dt < 4000, "and returns when it does (not at the timeout)");
	CHECK(child_ok(pid), "child done");
	char c;
	read(p[0], &c, 1);

	t0 = now_ms();
	r = poll(&fd, 1, 100);
	dt = now_ms() - t0;
	CHECK(r == 0 && fd.revents == 0, "poll with nothing to report returns 0 after the timeout");
	CHECK(dt >= 95 && dt < 2000, "after about 100 ms");

	CHECK(poll(NULL, 0, 30) == 0, "poll(NULL, 0, 30) sleeps and returns 0");

	/* Two pipes, the second becomes ready. */
	int q[2];
	pipe(q);
	pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		write(q[1], "z", 1);
		_exit(0);
	}
	struct pollfd two[2] = { { p[0], POLLIN, 0 }, { q[0], POLLIN, 0 } };
	CHECK(poll(two, 2, -1) == 1 && two[0].revents == 0 && two[1].revents == POLLIN,
	      "timeout -1: waits until one of two pipes is ready");
	CHECK(child_ok(pid), "child done");

	/* EOF wakes a poller too. */
	pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		_exit(0);
	}
	close(q[1]);
	int w[2];
	pipe(w);
	pid_t pid2 = fork();
	if (pid2 == 0) {
		close(w[0]);
		sleep_ms(30);
		_exit(0);             /* the last writer goes */
	}
	close(w[1]);
	struct pollfd hup = { w[0], POLLIN, 0 };
	CHECK(poll(&hup, 1, 5000) == 1 && (hup.revents & POLLHUP), "the last writer exiting wakes the poller with POLLHUP");
	child_ok(pid);
	child_ok(pid2);
	close(w[0]);
	close(p[0]);
	close(p[1]);
	close(q[0]);
}

static void errors(void)
{
	struct pollfd fd = { 0, POLLIN, 0 };
	EXPECT_ERR(poll(bad_ptr, 1, 0), EFAULT, "poll with a bad array");
	volatile nfds_t huge = 1u << 20;
	EXPECT_ERR(poll(&fd, huge, 0), EINVAL, "poll with nfds past RLIMIT_NOFILE");
	struct timespec ts = { 0, 2000000000L };
	EXPECT_ERR(ppoll(&fd, 1, &ts, NULL), EINVAL, "ppoll with tv_nsec >= 1e9");
	EXPECT_ERR(syscall(SYS_ppoll, &fd, 1, NULL, bad_ptr, 8), EFAULT, "ppoll with a bad sigmask");
	sigset_t m;
	sigemptyset(&m);
	EXPECT_ERR(syscall(SYS_ppoll, &fd, 1, NULL, &m, 4), EINVAL, "ppoll with sigsetsize 4");
	fd_set r;
	FD_ZERO(&r);
	FD_SET(100, &r);
	/* Linux checks only fds below its fd-table size (64 for a fresh process): grow it first. */
	dup2(1, 100);
	close(100);
	struct timeval tv = { 0, 0 };
	EXPECT_ERR(select(101, &r, NULL, NULL, &tv), EBADF, "select on a closed fd");
	EXPECT_ERR(select(-1, NULL, NULL, NULL, &tv), EINVAL, "select with nfds < 0");
	tv.tv_sec = -1;
	EXPECT_ERR(select(0, NULL, NULL, NULL, &tv), EINVAL, "select with tv_sec < 0");
	tv.tv_sec = 0;
	tv.tv_usec = 1000010;
	long long t0 = now_ms();
	CHECK(select(0, NULL, NULL, NULL, &tv) == 0 && now_ms() - t0 >= 990, "select carries tv_usec >= 1e6 into seconds");
	EXPECT_ERR(select(1, bad_ptr, NULL, NULL, NULL), EFAULT, "select with a bad fd_set");
}

static void selects(void)
{
	int p[2];
	pipe(p);
	fd_set r, w, e;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&e);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	FD_SET(p[0], &e);
	struct timeval tv = { 0, 0 };
	int n = select(p[1] + 1, &r, &w, &e, &tv);
	CHECK(n == 1 && !FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w) && !FD_ISSET(p[0], &e),
	      "select: write end ready, read end not");
	write(p[1], "a", 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	n = select(p[1] + 1, &r, &w, NULL, NULL);
	CHECK(n == 2 && FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w), "select: both ready counts 2");
	char c;
	read(p[0], &c, 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_sec = 0;
	tv.tv_usec = 80000;
	long long t0 = now_ms();
	n = select(p[0] + 1, &r, NULL, NULL, &tv);
	long long dt = now_ms() - t0;
	CHECK(n == 0 && !FD_ISSET(p[0], &r) && dt >= 75, "select times out after 80 ms with an empty set");
	/* glibc passes our timeval (updated to what is left: 0), musl a copy. */
	printf("info: timeval after the timeout: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		write(p[1], "b", 1);
		_exit(0);
	}
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timespec ts = { 5, 0 };
	n = pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL);
	CHECK(n == 1 && FD_ISSET(p[0], &r), "pselect waits for the child's write");
	child_ok(pid);
	tv.tv_sec = 0;
	tv.tv_usec = 20000;
	t0 = now_ms();
	CHECK(select(0, NULL, NULL, NULL, &tv) == 0 && now_ms() - t0 >= 18, "select(0, ...) as a 20 ms sleep");
	close(p[0]);
	close(p[1]);
}

static void signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	int p[2];
	pipe(p);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	struct pollfd fd = { p[0], POLLIN, 0 };
	got_usr1 = 0;
	errno = 0;
	int r = poll(&fd, 1, 5000);
	CHECK(r == -1 && errno == EINTR && got_usr1 == 1, "a handled signal ends poll with EINTR");
	child_ok(pid);

	/* ppoll with SIGUSR1 blocked outside and unblocked for the wait. */
	sigset_t block, empty, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	got_usr1 = 0;
	struct timespec ts = { 5, 0 };
	r = ppoll(&fd, 1, &ts, &empty);
	CHECK(r == -1 && errno == EINTR && got_usr1 == 1, "ppoll's mask lets the blocked signal in: EINTR, handler ran");
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	CHECK(sigismember(&now, SIGUSR1), "and the old mask (SIGUSR1 blocked) is back");
	child_ok(pid);

	/* The reverse: the wait's mask blocks it; it stays pending. */
	kill(parent, SIGUSR1);
	got_usr1 = 0;
	ts.tv_sec = 0;
	ts.tv_nsec = 30000000;
	r = ppoll(&fd, 1, &ts, &block);
	CHECK(r == 0 && got_usr1 == 0, "a signal blocked by ppoll's mask does not interrupt it");
	sigset_t pend;
	sigpending(&pend);
	CHECK(sigismember(&pend, SIGUSR1), "it stays pending");
	sigprocmask(SIG_SETMASK, &old, NULL);
	CHECK(got_usr1 == 1, "and runs once unblocked");

	pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	got_usr1 = 0;
	r = select(p[0] + 1, &rs, NULL, NULL, NULL);
	CHECK(r == -1 && errno == EINTR && got_usr1 == 1, "select: EINTR from a handler");
	child_ok(pid);
	signal(SIGUSR1, SIG_DFL);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	readiness();
	waiting();
	errors();
	selects();
	signals();
	return finish("ipc_poll");
}
