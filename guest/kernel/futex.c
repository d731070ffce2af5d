/* Futexes (futex(2)): sleep on a user word until woken. */
#include "proc.h"
#include "uaccess.h"
#include "syscalls.h"
#include "platform.h"
#include "lib.h"
#include "errno.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

/*
 * A waiter sleeps on a key made of its address space and the user address
 * (private futexes; shared ones across fork arrive with the full futex).
 */
struct futex_waiter {
	struct mm *mm;
	uint64_t uaddr;
	struct futex_waiter *next;
	bool woken;
};
static struct futex_waiter *waiters;

int futex_wake_addr(uint64_t uaddr, int n)
{
	struct mm *mm = current_proc()->mm;
	int woken = 0;
	for (struct futex_waiter *w = waiters; w && woken < n; w = w->next)
		if (!w->woken && w->mm == mm && w->uaddr == uaddr) {
			w->woken = true;
			wakeup(w);
			woken++;
		}
	return woken;
}

static long futex_wait(uint64_t uaddr, uint32_t val, uint64_t timeout)
{
	uint32_t cur;
	if (uaddr & 3)
		return -EINVAL;
	if (copy_from_user(&cur, uaddr, 4))
		return -EFAULT;
	if (cur != val)
		return -EAGAIN;
	uint64_t deadline = 0;
	if (timeout) {
		int64_t ts[2];
		if (copy_from_user(ts, timeout, sizeof(ts)))
			return -EFAULT;
		if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
			return -EINVAL;
		deadline = clock_monotonic_ns() + (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
	}
	struct futex_waiter w = { current_proc()->mm, uaddr, waiters, false };
	waiters = &w;
	int r = 0;
	while (!w.woken && r == 0)
		r = sleep_on(&w, true, deadline);
	for (struct futex_waiter **pp = &waiters; *pp; pp = &(*pp)->next)
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	if (w.woken)
		return 0;
	if (r == -ETIMEDOUT)
		return -ETIMEDOUT;
	/* A signal: EINTR for a handler, else the wait starts again (with SA_RESTART too, untimed). */
	return timeout ? -ERESTART_RESTARTBLOCK : -ERESTARTSYS;
}

long sys_futex(uint64_t uaddr, int op, uint32_t val, uint64_t timeout, uint64_t uaddr2, uint32_t val3)
{
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
		return futex_wait(uaddr, val, timeout);
	case FUTEX_WAKE:
		return futex_wake_addr(uaddr, (int)val);
	default:
		return -ENOSYS;
	}
}
