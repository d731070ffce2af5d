/*
 * setrlimit/getrlimit/prlimit64 round trips, times(), getrusage(), membarrier
 * (ENOSYS or a valid answer): self-checking, compared with a native run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <unistd.h>

static int failures;
#define CHECK(c, what) do { if (c) printf("PASS %s\n", what); else { printf("FAIL %s (errno %d)\n", what, errno); failures++; } } while (0)

int main(void)
{
	struct rlimit r, o;
	CHECK(getrlimit(RLIMIT_NOFILE, &o) == 0 && o.rlim_cur > 0, "getrlimit(RLIMIT_NOFILE)");
	r.rlim_cur = 64;
	r.rlim_max = o.rlim_max;
	CHECK(setrlimit(RLIMIT_NOFILE, &r) == 0, "setrlimit(RLIMIT_NOFILE, 64)");
	CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur == 64, "getrlimit reads back 64");
	r.rlim_cur = r.rlim_max + 1;
	errno = 0;
	CHECK(r.rlim_max == RLIM_INFINITY || (setrlimit(RLIMIT_NOFILE, &r) == -1 && errno == EINVAL),
	      "cur above max -> EINVAL");
	errno = 0;
	CHECK(setrlimit(RLIMIT_NOFILE, (void *)1) == -1 && errno == EFAULT, "bad pointer -> EFAULT");
	errno = 0;
	CHECK(getrlimit(1000, &r) == -1 && errno == EINVAL, "unknown resource -> EINVAL");
	struct tms t;
	clock_t c = times(&t);
	CHECK(c != (clock_t)-1 && t.tms_utime >= 0 && t.tms_stime >= 0, "times()");
	struct rusage ru;
	CHECK(getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_utime.tv_sec >= 0, "getrusage(RUSAGE_SELF)");
	CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0, "getrusage(RUSAGE_CHILDREN)");
	errno = 0;
	CHECK(getrusage(5, &ru) == -1 && errno == EINVAL, "getrusage(5) -> EINVAL");
	long m = syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0, 0);
	CHECK(m >= 0 || errno == ENOSYS, "membarrier: a mask or ENOSYS");
	printf("%s misc_limits\n", failures ? "FAIL" : "PASS");
	return failures != 0;
}
