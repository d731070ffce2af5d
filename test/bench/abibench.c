/*
 * abibench WHAT N: one process-ABI micro-benchmark, run the same way natively
 * and in `kvmbox run` (test/bench/abi-bench.sh). Prints "WHAT N ns_per_op"
 * from CLOCK_MONOTONIC around the loop (the set-up is outside it); exits 0
 * only if every operation did what it should.
 *
 *   getppid N    N raw getppid syscalls
 *   clock N      N raw clock_gettime(CLOCK_MONOTONIC) syscalls (a second point for the floor fit)
 *   fault N      first touch of N anonymous pages, one per 16 (isolated faults)
 *   touch N      first touch of N consecutive anonymous pages (ns per page)
 *   fork N       N times fork, the child _exits, the parent waits
 *   vfork N      N times vfork + execve of this program ("abibench true") + wait
 *   pipe N       N 64 KiB writes from a child, read by the parent (ns per 64 KiB)
 *   pingpong N   N one-byte round trips between two processes over two pipes
 *   yield N      two processes sched_yield N times each (ns per switch)
 *   mmapM N      with M mappings already there (one region, every other page
 *                mprotected read-only), N times mmap 4 pages, touch one, munmap
 *                (ns per mmap + touch + munmap)
 *   bigunmap N   N times mmap 2 MiB, touch its first and last page, munmap
 *   true         exit 0 (the execve target)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int wait_ok(pid_t pid)
{
	int st;
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

#define CHUNK 65536
static char buf[CHUNK];

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "true"))
		return 0;
	if (argc != 3) {
		fprintf(stderr, "usage: abibench getppid|clock|fault|touch|fork|vfork|pipe|pingpong|yield N\n");
		return 2;
	}
	const char *what = argv[1];
	long n = strtol(argv[2], NULL, 10), t0, t1;
	int ok = 1;
	if (!strcmp(what, "getppid")) {
		long want = getppid(), bad = 0;
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			bad += syscall(SYS_getppid) != want;
		t1 = now_ns();
		ok = !bad;
	} else if (!strcmp(what, "clock")) {
		struct timespec ts;
		long bad = 0;
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			bad += syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0;
		t1 = now_ns();
		ok = !bad;
	} else if (!strcmp(what, "fault") || !strcmp(what, "touch")) {
		size_t stride = what[0] == 'f' ? 16 * 4096 : 4096;
		volatile char *p = mmap(NULL, (size_t)n * stride, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			p[(size_t)i * stride] = 1;
		t1 = now_ns();
		for (long i = 0; i < n; i++)
			ok &= p[(size_t)i * stride] == 1 && (stride == 4096 || p[(size_t)i * stride + 4096] == 0);
	} else if (!strcmp(what, "fork")) {
		t0 = now_ns();
		for (long i = 0; i < n && ok; i++) {
			pid_t pid = fork();
			if (pid == 0)
				_exit(0);
			ok = pid > 0 && wait_ok(pid);
		}
		t1 = now_ns();
	} else if (!strcmp(what, "vfork")) {
		char *args[] = { argv[0], "true", NULL }, *env[] = { NULL };
		t0 = now_ns();
		for (volatile long i = 0; i < n && ok; i++) {
			pid_t pid = vfork();
			if (pid == 0) {
				execve(argv[0], args, env);
				_exit(127);
			}
			ok = pid > 0 && wait_ok(pid);
		}
		t1 = now_ns();
	} else if (!strcmp(what, "pipe")) {
		int fds[2];
		if (pipe(fds))
			return 1;
		memset(buf, 'x', sizeof(buf));
		t0 = now_ns();
		pid_t pid = fork();
		if (pid == 0) {
			close(fds[0]);
			for (long i = 0; i < n; i++)
				if (write(fds[1], buf, CHUNK) != CHUNK)
					_exit(1);
			_exit(0);
		}
		close(fds[1]);
		static char in[CHUNK];
		long total = 0;
		ssize_t r;
		while ((r = read(fds[0], in, CHUNK)) > 0) {
			ok &= in[0] == 'x' && in[r - 1] == 'x';
			total += r;
		}
		ok &= total == n * CHUNK && wait_ok(pid);
		t1 = now_ns();
	} else if (!strcmp(what, "pingpong") || !strcmp(what, "yield")) {
		int yield = what[0] == 'y';
		int a[2], b[2];
		if (pipe(a) || pipe(b))
			return 1;
		t0 = now_ns();
		pid_t pid = fork();
		char c = 0;
		if (pid == 0) {
			for (long i = 0; i < n; i++) {
				if (yield) {
					sched_yield();
				} else if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1) {
					_exit(1);
				}
			}
			_exit(0);
		}
		for (long i = 0; i < n && ok; i++) {
			if (yield) {
				sched_yield();
			} else {
				c = (char)i;
				ok = write(a[1], &c, 1) == 1 && read(b[0], &c, 1) == 1 && c == (char)i;
			}
		}
		ok &= wait_ok(pid);
		t1 = now_ns();
		if (yield)
			n *= 2;
	} else if (!strcmp(what, "bigunmap")) {
		t0 = now_ns();
		for (long i = 0; i < n && ok; i++) {
			volatile char *p = mmap(NULL, 512 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			ok = p != MAP_FAILED;
			if (ok) {
				p[0] = 1;
				p[511 * 4096] = 1;
				ok = munmap((void *)p, 512 * 4096) == 0;
			}
		}
		t1 = now_ns();
	} else if (!strncmp(what, "mmap", 4) && what[4] >= '0' && what[4] <= '9') {
		long m = strtol(what + 4, NULL, 10);
		char *r = mmap(NULL, (size_t)m * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r == MAP_FAILED)
			return 1;
		for (long i = 0; i < m; i += 2)
			if (mprotect(r + i * 4096, 4096, PROT_READ))
				return 1;
		t0 = now_ns();
		for (long i = 0; i < n && ok; i++) {
			volatile char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			ok = p != MAP_FAILED;
			if (ok) {
				p[0] = 1;
				ok = munmap((void *)p, 4 * 4096) == 0;
			}
		}
		t1 = now_ns();
	} else {
		fprintf(stderr, "abibench: unknown benchmark %s\n", what);
		return 2;
	}
	printf("%s %ld %ld\n", what, n, n ? (t1 - t0) / n : 0);
	return ok ? 0 : 1;
}
