/*
 * Helpers for the signal test programs (sig_*.c): each prints what it
 * observed (only values that are the same on every run and kernel) and one
 * FAIL line per broken expectation; the runner compares stdout and the exit
 * status with a native run of the same binary.
 */
#ifndef SIG_CHECK_H
#define SIG_CHECK_H
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int sig_failures;

#define CHECK(cond) check_((cond), #cond, __LINE__)
static void check_(int ok, const char *what, int line)
{
	if (!ok) {
		printf("FAIL line %d: %s\n", line, what);
		fflush(stdout);
		sig_failures++;
	}
}

/* A syscall's result and errno in one word for printing: "0", "-1 EINTR"... */
static __attribute__((unused)) const char *res(long r)
{
	static char buf[64];
	if (r != -1)
		snprintf(buf, sizeof(buf), "%ld", r);
	else
		snprintf(buf, sizeof(buf), "-1 %s", errno == EINTR ? "EINTR" : errno == EINVAL ? "EINVAL" :
			 errno == EFAULT ? "EFAULT" : errno == EAGAIN ? "EAGAIN" : errno == EPERM ? "EPERM" :
			 errno == ENOMEM ? "ENOMEM" : errno == ESRCH ? "ESRCH" : errno == ECHILD ? "ECHILD" :
			 "other");
	return buf;
}

static __attribute__((unused)) void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = flags | SA_SIGINFO;
	if (sigaction(sig, &sa, NULL))
		check_(0, "sigaction", __LINE__);
}

static __attribute__((unused)) long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int sig_finish(const char *name)
{
	if (sig_failures) {
		printf("%d checks failed\n", sig_failures);
		return 1;
	}
	printf("PASS %s\n", name);
	return 0;
}
#endif
