/*
 * Sleeping: nanosleep, usleep, clock_nanosleep (relative and TIMER_ABSTIME)
 * and a FUTEX_WAIT timeout sleep at least as long as asked, and wake within
 * ten times that (no other timing claims: hosts are loaded). Self-checking:
 * PASS/FAIL lines, exit 0 only if all passed.
 *
 *   timer_sleep                 the accuracy checks
 *   timer_sleep nanosleep MS    one nanosleep of MS milliseconds (the tick-count test)
 *   timer_sleep futex MS        one FUTEX_WAIT with an MS-millisecond timeout
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG (linux/futex.h; musl-gcc has no kernel headers) */

static int failed;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
	return ts;
}

static int futex_sleep(int64_t ns)
{
	static int word;
	struct timespec ts = ts_of(ns);
	long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	return r == -1 && errno == ETIMEDOUT ? 0 : -1;
}

static int sleep_by(const char *how, int64_t ns)
{
	struct timespec ts = ts_of(ns);
	if (!strcmp(how, "nanosleep"))
		return nanosleep(&ts, NULL);
	if (!strcmp(how, "usleep"))
		return usleep((useconds_t)(ns / 1000));
	if (!strcmp(how, "clock_nanosleep"))
		return clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	if (!strcmp(how, "clock_nanosleep-abstime")) {
		struct timespec until = ts_of(now_ns() + ns);
		return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
	}
	if (!strcmp(how, "futex"))
		return futex_sleep(ns);
	return -1;
}

/*
 * One sleep: not early, and over within 2 s more (slack for a loaded host:
 * it catches a lost wakeup, it is not a latency target). The measured time
 * goes to stderr (it varies).
 */
static void check_sleep(const char *how, int64_t ms)
{
	int64_t want = ms * 1000000, t0 = now_ns();
	int r = sleep_by(how, want);
	int64_t took = now_ns() - t0;
	fprintf(stderr, "%s %lld ms: %lld us\n", how, (long long)ms, (long long)(took / 1000));
	int ok = r == 0 && took >= want && took < want + 2000000000LL;
	printf("%s %s %lld ms: returned 0, slept at least that and returned\n", ok ? "PASS" : "FAIL",
	       how, (long long)ms);
	failed |= !ok;
}

int main(int argc, char **argv)
{
	if (argc == 3) {
		int64_t ms = atoll(argv[2]);
		int64_t t0 = now_ns();
		if (sleep_by(argv[1], ms * 1000000) != 0) {
			printf("FAIL %s %lld ms: %s\n", argv[1], (long long)ms, strerror(errno));
			return 1;
		}
		int64_t took = now_ns() - t0;
		printf("%s %lld ms: %s\n", argv[1], (long long)ms, took >= ms * 1000000 ? "done" : "EARLY");
		return took >= ms * 1000000 ? 0 : 1;
	}
	static const char *const hows[] = {
		"nanosleep", "usleep", "clock_nanosleep", "clock_nanosleep-abstime", "futex",
	};
	static const int64_t mss[] = { 5, 30, 100 };
	for (size_t h = 0; h < sizeof(hows) / sizeof(hows[0]); h++)
		for (size_t m = 0; m < sizeof(mss) / sizeof(mss[0]); m++)
			check_sleep(hows[h], mss[m]);
	/* A zero sleep returns at once, and a sleep in the past (absolute) too. */
	struct timespec zero = { 0, 0 };
	int ok = nanosleep(&zero, NULL) == 0;
	struct timespec past = ts_of(now_ns() - 1000000);
	ok &= clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL) == 0;
	printf("%s zero and past-deadline sleeps return 0\n", ok ? "PASS" : "FAIL");
	failed |= !ok;
	if (!failed)
		printf("PASS timer_sleep\n");
	return failed;
}
