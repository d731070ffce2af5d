/*
 * Clocks: CLOCK_REALTIME within a few seconds of the host time passed as
 * argv[1] (seconds since the epoch), gettimeofday/time agreeing with it,
 * CLOCK_MONOTONIC never going backwards, nanosleep sleeping about as long
 * as asked. Self-checking: PASS/FAIL lines, exit 0 only if all passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", what);
	failed |= !ok;
}

static long long ns(const struct timespec *t) { return t->tv_sec * 1000000000ll + t->tv_nsec; }

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: clock HOST_EPOCH_SECONDS\n");
		return 2;
	}
	long long host = atoll(argv[1]);
	struct timespec rt, m0, m1, m2;
	check(clock_gettime(CLOCK_REALTIME, &rt) == 0, "clock_gettime(CLOCK_REALTIME)");
	long long d = rt.tv_sec - host;
	check(d >= -5 && d <= 5, "CLOCK_REALTIME within 5 s of the host's time");
	if (d < -5 || d > 5)
		fprintf(stderr, "realtime %lld, host %lld\n", (long long)rt.tv_sec, host);
	check(rt.tv_nsec >= 0 && rt.tv_nsec < 1000000000, "tv_nsec in [0, 1e9)");

	struct timeval tv;
	check(gettimeofday(&tv, NULL) == 0 && tv.tv_sec - rt.tv_sec >= 0 && tv.tv_sec - rt.tv_sec <= 2,
	      "gettimeofday agrees with CLOCK_REALTIME");
	time_t t = time(NULL);
	check(t - rt.tv_sec >= 0 && t - rt.tv_sec <= 2, "time() agrees with CLOCK_REALTIME");

	check(clock_gettime(CLOCK_MONOTONIC, &m0) == 0, "clock_gettime(CLOCK_MONOTONIC)");
	int backwards = 0;
	struct timespec prev = m0, cur;
	for (int i = 0; i < 2000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &cur);
		if (ns(&cur) < ns(&prev))
			backwards++;
		prev = cur;
	}
	check(!backwards, "CLOCK_MONOTONIC never goes backwards (2000 reads)");

	struct timespec req = { 0, 20 * 1000 * 1000 };
	clock_gettime(CLOCK_MONOTONIC, &m1);
	check(nanosleep(&req, NULL) == 0, "nanosleep 20 ms");
	clock_gettime(CLOCK_MONOTONIC, &m2);
	long long slept = ns(&m2) - ns(&m1);
	check(slept >= 20 * 1000 * 1000, "nanosleep slept at least 20 ms");
	check(slept < 2000ll * 1000 * 1000, "nanosleep slept less than 2 s");
	if (slept < 20 * 1000 * 1000 || slept >= 2000ll * 1000 * 1000)
		fprintf(stderr, "slept %lld ns\n", slept);

	struct timespec res;
	check(clock_getres(CLOCK_MONOTONIC, &res) == 0 && ns(&res) > 0 && ns(&res) <= 1000000,
	      "clock_getres(CLOCK_MONOTONIC) in (0, 1 ms]");
	printf("%s clock\n", failed ? "FAIL" : "PASS");
	return failed;
}
