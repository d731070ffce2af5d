/*
 * Syscall fuzzer, run inside the guest: random syscall numbers with hostile
 * arguments (NULL, kernel addresses, unmapped and boundary addresses, huge
 * lengths, random bits), spread over child processes that may kill
 * themselves. The parent (pid 1 in the VM) supervises: each child gets a
 * watchdog and is killed if it blocks. The run passes if the parent
 * finishes, i.e. the guest kernel survived every call.
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
		syscall(nr, hostile_arg(), hostile_arg(), hostile_arg(), hostile_arg(), hostile_arg(),
			hostile_arg());
	}
	_exit(0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 20000;
	long per_child = argc > 2 ? atol(argv[2]) : 200;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x5eed;
	buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 2;
	long children = 0, exited = 0, signaled = 0, killed_by_watchdog = 0;
	for (long done = 0; done < total; done += per_child, children++) {
		pid_t c = fork();
		if (c < 0) {
			printf("fork failed: %s\n", strerror(errno));
			return 1;
		}
		if (c == 0)
			child(per_child, seed + (uint64_t)children * 0x9e3779b97f4a7c15ull);
		int st = 0, waited = 0;
		for (;;) {
			pid_t w = waitpid(c, &st, WNOHANG);
			if (w == c)
				break;
			if (w < 0) {
				printf("waitpid: %s\n", strerror(errno));
				return 1;
			}
			if (++waited > 200) { /* ~2 s: blocked in some call; end it */
				kill(c, SIGKILL);
				waitpid(c, &st, 0);
				killed_by_watchdog++;
				break;
			}
			sleep_ms(10);
		}
		if (WIFSIGNALED(st))
			signaled++;
		else
			exited++;
	}
	printf("fuzz done: %ld calls in %ld children (%ld exited, %ld killed by a signal, %ld by the watchdog)\n",
	       total, children, exited, signaled, killed_by_watchdog);
	return 0;
}
