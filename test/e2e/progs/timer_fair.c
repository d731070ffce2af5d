/*
 * Fairness: two CPU-bound processes (fork) each count loop iterations for
 * ~0.5 s of wall time. Both must make progress *while the other runs* (a
 * process that only runs once the other is done has not been scheduled
 * fairly): the child must get work done before the parent's time is up. The
 * counts must be within a generous ratio of each other. Self-checking:
 * PASS/FAIL lines (numbers on stderr), exit 0 only if all passed.
 *
 *   timer_fair [MS]    count for MS milliseconds (default 500)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct result {
	uint64_t count;     /* loop iterations */
	int64_t first;      /* CLOCK_MONOTONIC ns when the first chunk of work was done */
	int64_t end;        /* ... and the last */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct result spin(int64_t ns)
{
	struct result r = { 0, 0, 0 };
	volatile uint64_t n = 0;
	int64_t end = now_ns() + ns, t;
	do {
		/* ~1 ms of user-mode work between clock reads (a syscall each). */
		for (int i = 0; i < 1 << 20; i++)
			n++;
		t = now_ns();
		if (!r.first)
			r.first = t;
	} while (t < end);
	r.count = n;
	r.end = t;
	return r;
}

int main(int argc, char **argv)
{
	int64_t ms = argc > 1 ? atoll(argv[1]) : 500;
	/* The child's result comes back in a file: the simplest IPC the guest kernel has. */
	const char *path = "timer_fair.child";
	unlink(path);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		printf("FAIL fork\n");
		return 1;
	}
	if (pid == 0) {
		struct result c = spin(ms * 1000000);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		_exit(fd >= 0 && write(fd, &c, sizeof(c)) == sizeof(c) && close(fd) == 0 ? 0 : 1);
	}
	struct result p = spin(ms * 1000000), c = { 0, 0, 0 };
	int status;
	int ok = waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	int fd = open(path, O_RDONLY);
	ok &= fd >= 0 && read(fd, &c, sizeof(c)) == sizeof(c);
	if (fd >= 0)
		close(fd);
	unlink(path);
	printf("%s the child reported and exited 0\n", ok ? "PASS" : "FAIL");
	int failed = !ok;
	fprintf(stderr, "parent: %llu iterations, %lld..%lld us; child: %llu iterations, %lld..%lld us\n",
		(unsigned long long)p.count, (long long)(p.first - p.first) / 1000,
		(long long)(p.end - p.first) / 1000, (unsigned long long)c.count,
		(long long)(c.first - p.first) / 1000, (long long)(c.end - p.first) / 1000);
	ok = p.count > 0 && c.count > 0;
	printf("%s both processes counted\n", ok ? "PASS" : "FAIL");
	failed |= !ok;
	/* Not one after the other: the child got work done before the parent's time was up. */
	ok = c.first && c.first < p.end;
	printf("%s the two ran interleaved\n", ok ? "PASS" : "FAIL");
	failed |= !ok;
	ok = p.count <= 4 * c.count && c.count <= 4 * p.count;
	printf("%s the counts are within a factor of 4\n", ok ? "PASS" : "FAIL");
	failed |= !ok;
	if (!failed)
		printf("PASS timer_fair\n");
	return failed;
}
