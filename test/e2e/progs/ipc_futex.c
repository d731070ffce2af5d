/*
 * Futexes, raw and through pthreads: WAIT (EAGAIN, ETIMEDOUT, EFAULT,
 * EINVAL, EINTR), WAKE counts, WAIT_BITSET with absolute timeouts on both
 * clocks, WAKE_BITSET, REQUEUE/CMP_REQUEUE, WAKE_OP, and pthread mutexes, condition variables and joins under contention.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
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

static uint32_t word_a, word_b;
static atomic_int waiting, woke;

struct waiter_arg {
	uint32_t *word;
	int op;
	uint32_t bitset;
};

static void *waiter(void *p)
{
	struct waiter_arg *a = p;
	atomic_fetch_add(&waiting, 1);
	long r = futex(a->word, a->op, 0, NULL, NULL, a->bitset);
	if (r == 0)
		atomic_fetch_add(&woke, 1);
	return NULL;
}

/* Start n waiters and give them time to be asleep in the kernel. */
static void start(pthread_t *t, struct waiter_arg *a, int n)
{
	atomic_store(&waiting, 0);
	atomic_store(&woke, 0);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, waiter, &a[i]);
	while (atomic_load(&waiting) < n)
		sleep_ms(1);
	sleep_ms(50);
}

static void raw(void)
{
	uint32_t w = 1;
	EXPECT_ERR(futex(&w, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0), EAGAIN, "WAIT on a changed value");
	struct timespec rel = { 0, 30000000 };
	long long t0 = now_ms();
	EXPECT_ERR(futex(&w, FUTEX_WAIT_PRIVATE, 1, &rel, NULL, 0), ETIMEDOUT, "WAIT with a 30 ms timeout");
	CHECK(now_ms() - t0 >= 29, "not before 30 ms");
	EXPECT_ERR(futex(bad_ptr, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT, "WAIT on a bad address");
	EXPECT_ERR(futex((char *)&w + 1, FUTEX_WAIT, 1, NULL, NULL, 0), EINVAL, "WAIT on a misaligned address");
	struct timespec badts = { 0, 1000000000 };
	EXPECT_ERR(futex(&w, FUTEX_WAIT, 1, &badts, NULL, 0), EINVAL, "WAIT with tv_nsec = 1e9");
	CHECK(futex(&w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0, "WAKE with no waiters: 0");
	EXPECT_ERR(futex(&w, FUTEX_WAIT_BITSET, 1, NULL, NULL, 0), EINVAL, "WAIT_BITSET with bitset 0");
	EXPECT_ERR(futex(&w, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0), EINVAL, "WAKE_BITSET with bitset 0");
	EXPECT_ERR(futex(&w, 99, 1, NULL, NULL, 0), ENOSYS, "an unknown op");
	EXPECT_ERR(futex(&w, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS, "CLOCK_REALTIME with WAKE");
	struct timespec abs;
	t0 = now_ms(); /* before the time the 30 ms are counted from */
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 30000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	EXPECT_ERR(futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT,
		   "WAIT_BITSET until an absolute CLOCK_MONOTONIC time");
	CHECK(now_ms() - t0 >= 29, "not before 30 ms");
	t0 = now_ms(); /* before the time the 30 ms are counted from */
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_nsec += 30000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	EXPECT_ERR(futex(&w, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY),
		   ETIMEDOUT, "WAIT_BITSET until an absolute CLOCK_REALTIME time");
	CHECK(now_ms() - t0 >= 29, "not before 30 ms");
	abs.tv_sec -= 10;
	EXPECT_ERR(futex(&w, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY),
		   ETIMEDOUT, "an absolute time in the past times out at once");
}

static void wakes(void)
{
	enum { N = 5 };
	pthread_t t[N];
	struct waiter_arg a[N];
	for (int i = 0; i < N; i++)
		a[i] = (struct waiter_arg){ &word_a, FUTEX_WAIT_PRIVATE, 0 };
	word_a = 0;
	start(t, a, N);
	CHECK(futex(&word_a, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0) == 2, "WAKE 2 of 5 waiters: 2");
	CHECK(futex(&word_a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0) == 3, "WAKE all: the other 3");
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	CHECK(atomic_load(&woke) == N, "all 5 returned 0");

	/* Bitsets: waiters with bit 1 or bit 2; wake only bit 2's. */
	for (int i = 0; i < 4; i++)
		a[i] = (struct waiter_arg){ &word_a, FUTEX_WAIT_BITSET_PRIVATE, i % 2 ? 2 : 1 };
	start(t, a, 4);
	CHECK(futex(&word_a, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL, NULL, 2) == 2, "WAKE_BITSET 2: the two bit-2 waiters");
	CHECK(futex(&word_a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0) == 2, "plain WAKE: the two others");
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);

	/* Requeue: 4 waiters on a; wake 1, move the rest to b. */
	for (int i = 0; i < 4; i++)
		a[i] = (struct waiter_arg){ &word_a, FUTEX_WAIT_PRIVATE, 0 };
	start(t, a, 4);
	EXPECT_ERR(futex(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)(long)INT_MAX, &word_b, 7), EAGAIN,
		   "CMP_REQUEUE with a stale value");
	CHECK(futex(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)(long)INT_MAX, &word_b, 0) == 4,
	      "CMP_REQUEUE: 1 woken + 3 moved = 4");
	CHECK(futex(&word_a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0) == 0, "none left on a");
	CHECK(futex(&word_b, FUTEX_REQUEUE_PRIVATE, 1, (void *)1L, &word_a, 0) == 2, "REQUEUE b->a: 1 woken + 1 moved");
	CHECK(futex(&word_b, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0) == 1, "one left on b");
	CHECK(futex(&word_a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0) == 1, "one moved back to a");
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(atomic_load(&woke) == 4, "all 4 woke with 0");

	/* WAKE_OP: b += 1, wake 1 on a, and 1 on b if old b > 0. */
	a[0] = (struct waiter_arg){ &word_a, FUTEX_WAIT_PRIVATE, 0 };
	a[1] = (struct waiter_arg){ &word_b, FUTEX_WAIT_PRIVATE, 0 };
	word_b = 0;
	start(t, a, 2);
	uint32_t op = FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_GT, 0);
	CHECK(futex(&word_a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word_b, op) == 1,
	      "WAKE_OP (old b = 0, not > 0): only a's waiter");
	CHECK(word_b == 1, "and b was incremented");
	word_b = 0;                  /* b's waiter still sleeps: its value must match */
	op = FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0);
	CHECK(futex(&word_a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word_b, op) == 1,
	      "WAKE_OP (old b == 0): b's waiter");
	CHECK(word_b == 5, "b = 5");
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
}

static volatile int usr1;
static void on_usr1(int s) { usr1 = 1; }

static void interrupted(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(40);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	uint32_t w = 0;
	struct timespec rel = { 5, 0 };
	errno = 0;
	long r = futex(&w, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
	CHECK(r == -1 && errno == EINTR && usr1, "a handled signal ends WAIT with EINTR");
	child_ok(pid);
	signal(SIGUSR1, SIG_DFL);
}

/* pthreads under contention. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int queue[16], qhead, qlen, produced_done;
static long consumed_sum;

static void *incr(void *p)
{
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		if (i % 1000 == 0)
			sched_yield();       /* hold the lock across a yield: real contention */
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void *producer(void *p)
{
	for (int i = 1; i <= 2000; i++) {
		pthread_mutex_lock(&mu);
		while (qlen == 16)
			pthread_cond_wait(&cv, &mu);
		queue[(qhead + qlen++) % 16] = i;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_lock(&mu);
	produced_done = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *consumer(void *p)
{
	long sum = 0;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (qlen == 0 && !produced_done)
			pthread_cond_wait(&cv, &mu);
		if (qlen == 0) {
			pthread_mutex_unlock(&mu);
			break;
		}
		sum += queue[qhead];
		qhead = (qhead + 1) % 16;
		qlen--;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_lock(&mu);
	consumed_sum += sum;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void pthreads(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, incr, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(counter == 80000, "4 threads x 20000 locked increments = 80000 (%ld)", counter);
	pthread_t p, c[3];
	pthread_create(&p, NULL, producer, NULL);
	for (int i = 0; i < 3; i++)
		pthread_create(&c[i], NULL, consumer, NULL);
	pthread_join(p, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(c[i], NULL);
	CHECK(consumed_sum == 2000L * 2001 / 2, "producer/3 consumers through a 16-slot queue: sum %ld", consumed_sum);
}

int main(void)
{
	raw();
	wakes();
	interrupted();
	pthreads();
	return finish("ipc_futex");
}
