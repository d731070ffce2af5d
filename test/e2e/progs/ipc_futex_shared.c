/*
 * A shared (non-private) futex in MAP_SHARED memory across fork: keyed by
 * the page, so the parent's WAKE reaches the child's WAIT. Exits 77 (the
 * case SKIPs) if MAP_SHARED anonymous memory is not shared across fork.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "ipc.h"

/* linux/futex.h (not on musl-gcc's include path). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_REQUEUE_PRIVATE (FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_BITSET_PRIVATE (FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP(op, oparg, cmp, cmparg) \
	((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

static void *volatile bad_ptr = (void *)16;

static long futex(void *uaddr, int op, uint32_t val, const void *timeout, void *uaddr2, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

static int shared_memory_works(void)
{
	volatile uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid = fork();
	if (pid == 0) {
		*w = 42;
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	int ok = *w == 42;
	munmap((void *)w, 4096);
	return ok;
}

static void shared_across_fork(void)
{
	uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*w = 0;
	pid_t pid = fork();
	if (pid == 0) {
		long r = futex(w, FUTEX_WAIT, 0, NULL, NULL, 0);
		_exit(r == 0 && *w == 1 ? 0 : 1);
	}
	sleep_ms(50);
	*w = 1;
	long n = futex(w, FUTEX_WAKE, 1, NULL, NULL, 0);
	CHECK(n == 1, "a shared futex in MAP_SHARED memory wakes the child");
	CHECK(child_ok(pid), "the child saw the new value");
	munmap(w, 4096);
}

int main(void)
{
	if (!shared_memory_works()) {
		printf("SKIP MAP_SHARED anonymous memory is not shared across fork\n");
		return 77;
	}
	shared_across_fork();
	return finish("ipc_futex_shared");
}
