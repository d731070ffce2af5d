/*
 * Shared helpers for the ipc_* test programs: self-checking PASS/FAIL lines
 * (compared with a native run), exit status 1 if anything failed. stdout is
 * flushed after every line so that fork never duplicates buffered output.
 */
#ifndef IPC_H
#define IPC_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

static int failed;

#define CHECK(cond, ...) do {                                      \
	int ok_ = !!(cond), e_ = errno;                            \
	printf("%s ", ok_ ? "PASS" : "FAIL");                      \
	printf(__VA_ARGS__);                                       \
	if (!ok_)                                                  \
		printf("  [errno %d %s]", e_, strerror(e_));       \
	printf("\n");                                              \
	fflush(stdout);                                            \
	failed |= !ok_;                                            \
} while (0)

/* call must fail with exactly err. */
#define EXPECT_ERR(call, err, what) do {                           \
	errno = 0;                                                 \
	long r_ = (long)(call);                                    \
	CHECK(r_ == -1 && errno == (err), "%s -> %s", what, #err); \
} while (0)

/* Wait for pid: its wait status (or -1). */
static inline int wait_status(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* The child ended with exit(0). */
static inline int child_ok(pid_t pid)
{
	int st = wait_status(pid);
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static inline long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* A deterministic byte stream for checksummed transfers. */
static inline unsigned char stream_byte(unsigned long i)
{
	return (unsigned char)(i * 131 + (i >> 8) * 7 + (i >> 16));
}

static inline int finish(const char *prog)
{
	printf("%s %s\n", failed ? "FAIL" : "PASS", prog);
	return failed;
}
#endif
