/*
 * Syscall fuzzer, run inside the guest: random syscall numbers with hostile
 * arguments (NULL, kernel addresses, unmapped and boundary addresses, huge
 * lengths, random bits), spread over child processes that may kill
 * themselves. The parent (pid 1 in the VM) supervises: each child gets a
 * watchdog and is killed if it blocks; children are forked until `total`
 * calls were really made (counted in shared memory). The run passes if the
 * parent finishes, i.e. the guest kernel survived every call.
 *
 * usage: fuzz_syscalls [total-calls [calls-per-child [seed]]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *buf;   /* a valid writable buffer */
/* Calls actually made, over all children (MAP_SHARED: it outlives a child that kills itself). */
static volatile uint64_t *made;

static uint64_t hostile_arg(void)
{
	static const uint64_t specials[] = {
		0, 1, 2, 3, 7, 8, 16, 64, 255, 4095, 4096, 65535, 65536, 0x7fffffff, 0x80000000,
		0xffffffff, (uint64_t)-1, (uint64_t)-2, (uint64_t)-4095, 0x8000000000000000ull,
		0x00007ffffffff000ull, 0x00007fffffffffffull, 0x0000800000000000ull,
		0xffff800000000000ull, 0xffff888000000000ull, 0xffffffff80000000ull,
		0xffffffff80100000ull, 0xffffffffff600000ull, 0x1000, 0x400000, 0xdead0000,
	};
	switch (next() % 6) {
	case 0:
		return specials[next() % (sizeof(specials) / sizeof(specials[0]))];
	case 1:
		return next();
	case 2:
		return (uint64_t)(buf + next() % 8192);        /* valid memory */
	case 3:
		return (uint64_t)(buf + 8192 - next() % 16);   /* straddles the end of the buffer */
	case 4:
		return next() % 1024;                           /* small: fds, flags, counts */
	default:
		return next() & 0xffff;
	}
}

/* Calls that would defeat the supervision rather than test the kernel. */
static int excluded(long nr)
{
	switch (nr) {
	case SYS_fork: case SYS_vfork: case SYS_clone: case SYS_clone3:   /* fork bombs */
	case SYS_execve: case SYS_execveat:                              /* leave the fuzzer */
	case SYS_kill: case SYS_tkill: case SYS_tgkill:                   /* the supervisor */
	case SYS_setsid: case SYS_setpgid:                                /* group kills */
	case SYS_reboot: case SYS_kexec_load: case SYS_kexec_file_load:
		return 1;
	default:
		return 0;
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void child(long calls, uint64_t seed)
{
	rng = seed | 1;
	/* A periodic SIGALRM without SA_RESTART turns calls that would block for good into EINTR. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 50000 }, { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	/* stdin/stdout stay the console: writes of random buffers would flood it. */
	close(0);
	close(1);
	close(2);
	for (long i = 0; i < calls; i++) {
		long nr = (long)(next() % 460);
		if (next() % 16 == 0)
			nr = (long)(next() % 100000);
		if (excluded(nr))
			continue;
		(*made)++;
		syscall(nr, hostile_arg(), hostile_arg(), hostile_arg(), hostile_arg(), hostile_arg(),
			hostile_arg());
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 20000;
	long per_child = argc > 2 ? atol(argv[2]) : 200;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x5eed;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: the watchdog's alarm ends waitpid with EINTR */
	sigaction(SIGALRM, &sa, NULL);
	buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 2;
	made = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (made == MAP_FAILED)
		return 2;
	long children = 0, exited = 0, signaled = 0, killed_by_watchdog = 0;
	/* Until `total` calls were made (children that die early make fewer than per_child). */
	for (; *made < (uint64_t)total && children < total; children++) {
		pid_t c = fork();
		if (c < 0) {
			printf("fork failed: %s\n", strerror(errno));
			return 1;
		}
		if (c == 0)
			child(per_child, seed + (uint64_t)children * 0x9e3779b97f4a7c15ull);
		/* The watchdog: 2 s of SIGALRM (no SA_RESTART) interrupts the wait for a child blocked for good. */
		int st = 0;
		alarm(2);
		pid_t w = waitpid(c, &st, 0);
		alarm(0);
		if (w < 0 && errno == EINTR) {
			kill(c, SIGKILL);
			waitpid(c, &st, 0);
			killed_by_watchdog++;
		} else if (w != c) {
			printf("waitpid: %s\n", strerror(errno));
			return 1;
		}
		if (WIFSIGNALED(st))
			signaled++;
		else
			exited++;
	}
	printf("fuzz done: %llu calls in %ld children (%ld exited, %ld killed by a signal, %ld by the watchdog)\n",
	       (unsigned long long)*made, children, exited, signaled, killed_by_watchdog);
	return 0;
}
