/*
 * epoll: level-triggered, edge-triggered and one-shot items on pipes and
 * eventfds, waiting for a child, timeouts, epoll_ctl's error rules (EEXIST,
 * ENOENT, EINVAL, EBADF, EPERM, ELOOP, EFAULT), nested epoll sets, an item
 * dropped when its file is closed, epoll_pwait's mask and EINTR.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include "ipc.h"

static void *volatile bad_ptr = (void *)16;
static volatile int got_usr1;
static void on_usr1(int sig) { got_usr1++; }

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void modes(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC, "epoll_create1(EPOLL_CLOEXEC)");
	int lt[2], et[2], os[2];
	pipe(lt);
	pipe(et);
	pipe(os);
	CHECK(add(ep, lt[0], EPOLLIN, 1) == 0, "add a level-triggered read end");
	CHECK(add(ep, et[0], EPOLLIN | EPOLLET, 2) == 0, "add an edge-triggered read end");
	CHECK(add(ep, os[0], EPOLLIN | EPOLLONESHOT, 3) == 0, "add a one-shot read end");
	struct epoll_event evs[8];
	CHECK(epoll_wait(ep, evs, 8, 0) == 0, "nothing ready yet");
	write(lt[1], "a", 1);
	write(et[1], "b", 1);
	write(os[1], "c", 1);
	int n = epoll_wait(ep, evs, 8, 0);
	uint64_t seen = 0;
	for (int i = 0; i < n; i++) {
		seen |= 1u << evs[i].data.u64;
		CHECK(evs[i].events == EPOLLIN, "event %d is EPOLLIN", (int)evs[i].data.u64);
	}
	CHECK(n == 3 && seen == 0xe, "all three reported once");
	n = epoll_wait(ep, evs, 8, 0);
	CHECK(n == 1 && evs[0].data.u64 == 1, "again: only the level-triggered one (data still there)");
	write(et[1], "b", 1);
	n = epoll_wait(ep, evs, 8, 0);
	seen = 0;
	for (int i = 0; i < n; i++)
		seen |= 1u << evs[i].data.u64;
	CHECK(n == 2 && seen == 0x6, "a new write re-arms the edge-triggered one");
	write(os[1], "c", 1);
	n = epoll_wait(ep, evs, 8, 0);
	CHECK(n == 1 && evs[0].data.u64 == 1, "the one-shot item stays disabled after firing");
	struct epoll_event mod = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 33 };
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, os[0], &mod) == 0, "EPOLL_CTL_MOD re-arms it");
	n = epoll_wait(ep, evs, 8, 0);
	seen = 0;
	for (int i = 0; i < n; i++)
		seen |= evs[i].data.u64 == 33 ? 8 : 1u << evs[i].data.u64;
	CHECK(n == 2 && seen == 0xa, "and it fires with its new data");
	/* maxevents 1: one at a time, in turn. */
	char buf[8];
	read(lt[0], buf, 8);
	read(et[0], buf, 8);
	read(os[0], buf, 8);
	CHECK(epoll_wait(ep, evs, 8, 0) == 0, "drained: nothing ready");
	write(lt[1], "d", 1);
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, lt[0], NULL) == 0, "EPOLL_CTL_DEL");
	CHECK(epoll_wait(ep, evs, 8, 0) == 0, "a deleted item is not reported");
	CHECK(add(ep, lt[0], EPOLLOUT, 4) == 0, "re-add the read end asking for EPOLLOUT only");
	CHECK(epoll_wait(ep, evs, 8, 0) == 0, "a read end is never writable");
	close(lt[1]);
	n = epoll_wait(ep, evs, 8, 0);
	CHECK(n == 1 && evs[0].events == EPOLLHUP, "the writer gone: EPOLLHUP without asking");
	close(ep);
	close(lt[0]);
	close(et[0]);
	close(et[1]);
	close(os[0]);
	close(os[1]);
}

static void errors(void)
{
	int ep = epoll_create(1);
	CHECK(ep >= 0, "epoll_create(1)");
	EXPECT_ERR(syscall(SYS_epoll_create, 0), EINVAL, "epoll_create(0)");
	EXPECT_ERR(epoll_create1(1), EINVAL, "epoll_create1 with an unknown flag");
	int p[2];
	pipe(p);
	struct epoll_event ev = { .events = EPOLLIN };
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "add");
	EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST, "add twice");
	EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT, "modify what is not there");
	EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &ev), ENOENT, "delete what is not there");
	EXPECT_ERR(epoll_ctl(ep, 99, p[0], &ev), EINVAL, "an unknown op");
	EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL, "an epoll set into itself");
	EXPECT_ERR(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev), EINVAL, "epfd is not an epoll set");
	EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF, "a closed fd");
	EXPECT_ERR(epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev), EBADF, "a closed epfd");
	EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], bad_ptr), EFAULT, "a bad event pointer");
	int f = open("epoll-regular-file", O_CREAT | O_RDWR | O_TRUNC, 0600);
	EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM, "a regular file cannot be watched");
	close(f);
	unlink("epoll-regular-file");
	struct epoll_event evs[2];
	EXPECT_ERR(epoll_wait(ep, evs, 0, 0), EINVAL, "maxevents 0");
	EXPECT_ERR(epoll_wait(p[0], evs, 2, 0), EINVAL, "epoll_wait on a pipe");
	EXPECT_ERR(epoll_wait(999, evs, 2, 0), EBADF, "epoll_wait on a closed fd");
	write(p[1], "x", 1);
	EXPECT_ERR(epoll_wait(ep, bad_ptr, 2, 0), EFAULT, "a ready event and a bad buffer");
	/* Loops. */
	int a = epoll_create1(0), b = epoll_create1(0);
	CHECK(epoll_ctl(a, EPOLL_CTL_ADD, b, &ev) == 0, "epoll set b inside a");
	EXPECT_ERR(epoll_ctl(b, EPOLL_CTL_ADD, a, &ev), ELOOP, "a inside b would be a loop");
	int n = epoll_wait(a, evs, 2, 0);
	CHECK(n == 0, "an empty inner set is not readable");
	CHECK(epoll_ctl(b, EPOLL_CTL_ADD, p[0], &ev) == 0, "the pipe into b");
	n = epoll_wait(a, evs, 2, 0);
	CHECK(n == 1 && evs[0].events == EPOLLIN, "a sees b readable (nested)");
	struct pollfd pf = { b, POLLIN, 0 };
	CHECK(poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "poll sees an epoll set with a ready item as readable");
	close(a);
	close(b);
	close(ep);
	close(p[0]);
	close(p[1]);
}

static void waits(void)
{
	int ep = epoll_create1(0);
	int efd = eventfd(0, EFD_NONBLOCK);
	add(ep, efd, EPOLLIN, 7);
	long long t0 = now_ms();	/* before fork: the child's 40 ms sleep ends no earlier */
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(40);
		uint64_t one = 1;
		write(efd, &one, 8);
		_exit(0);
	}
	struct epoll_event ev;
	int n = epoll_wait(ep, &ev, 1, 5000);
	CHECK(n == 1 && ev.data.u64 == 7 && now_ms() - t0 >= 39, "epoll_wait sleeps until the child writes the eventfd");
	child_ok(pid);
	uint64_t v;
	read(efd, &v, 8);
	t0 = now_ms();
	n = epoll_wait(ep, &ev, 1, 60);
	CHECK(n == 0 && now_ms() - t0 >= 55, "epoll_wait times out (60 ms)");

	/* A timerfd in the set wakes the wait by itself. */
	int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = { { 0, 0 }, { 0, 50000000 } };
	t0 = now_ms();
	timerfd_settime(tfd, 0, &its, NULL);
	add(ep, tfd, EPOLLIN, 9);
	n = epoll_wait(ep, &ev, 1, -1);
	long long dt = now_ms() - t0;
	CHECK(n == 1 && ev.data.u64 == 9 && dt >= 49 && dt < 3000, "a timerfd expiring ends an endless epoll_wait");
	/* Closing the fd removes the item. */
	close(tfd);
	CHECK(epoll_wait(ep, &ev, 1, 0) == 0, "closing the timerfd dropped its item");

	/* EINTR, and epoll_pwait's mask. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t block, empty, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid_t parent = getpid();
	pid = fork();
	if (pid == 0) {
		sleep_ms(40);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	got_usr1 = 0;
	n = epoll_pwait(ep, &ev, 1, 5000, &empty);
	CHECK(n == -1 && errno == EINTR && got_usr1 == 1, "epoll_pwait: the signal its mask lets in gives EINTR");
	child_ok(pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	pid = fork();
	if (pid == 0) {
		sleep_ms(40);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	got_usr1 = 0;
	n = epoll_wait(ep, &ev, 1, 5000);
	CHECK(n == -1 && errno == EINTR && got_usr1 == 1, "epoll_wait: EINTR from a handler (never restarted)");
	child_ok(pid);
	signal(SIGUSR1, SIG_DFL);
	close(efd);
	close(ep);
}

/* A child's many writes through an edge-triggered pipe: read until EAGAIN each time. */
static void et_stream(void)
{
	int p[2];
	pipe2(p, O_NONBLOCK);
	int ep = epoll_create1(0);
	add(ep, p[0], EPOLLIN | EPOLLET, 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fl = fcntl(p[1], F_GETFL);
		fcntl(p[1], F_SETFL, fl & ~O_NONBLOCK);
		static char blk[3000];
		for (int i = 0; i < 100; i++) {
			memset(blk, 'a' + i % 26, sizeof(blk));
			write(p[1], blk, sizeof(blk));
		}
		_exit(0);
	}
	close(p[1]);
	long total = 0;
	int hup = 0;
	while (!hup) {
		struct epoll_event ev;
		if (epoll_wait(ep, &ev, 1, 5000) != 1)
			break;
		hup = ev.events & EPOLLHUP;
		char buf[5000];
		ssize_t r;
		while ((r = read(p[0], buf, sizeof(buf))) > 0)
			total += r;
		if (r == 0)
			hup = 1;
	}
	CHECK(total == 300000, "edge-triggered loop read all 300000 bytes (%ld)", total);
	child_ok(pid);
	close(p[0]);
	close(ep);
}

int main(void)
{
	modes();
	errors();
	waits();
	et_stream();
	return finish("ipc_epoll");
}
