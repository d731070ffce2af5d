/*
 * Futexes (futex(2)): WAIT, WAKE, WAIT_BITSET, WAKE_BITSET, REQUEUE,
 * CMP_REQUEUE and WAKE_OP; the priority-inheritance operations are ENOSYS.
 *
 * A waiter is keyed as Linux's get_futex_key does: a word in a MAP_SHARED
 * mapping by its physical address (so it matches across fork), any other
 * word -- private ops always -- by (address space, address). Waiters sit in
 * one FIFO list (there are few); each sleeps on its own entry, so a wakeup
 * goes to exactly the threads chosen.
 */
#include "proc.h"
#include "uaccess.h"
#include "syscalls.h"
#include "platform.h"
#include "lib.h"
#include "errno.h"

#define FUTEX_WAIT            0
#define FUTEX_WAKE            1
#define FUTEX_FD              2
#define FUTEX_REQUEUE         3
#define FUTEX_CMP_REQUEUE     4
#define FUTEX_WAKE_OP         5
#define FUTEX_LOCK_PI         6
#define FUTEX_UNLOCK_PI       7
#define FUTEX_TRYLOCK_PI      8
#define FUTEX_WAIT_BITSET     9
#define FUTEX_WAKE_BITSET     10
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI  12
#define FUTEX_LOCK_PI2        13
#define FUTEX_PRIVATE_FLAG    128
#define FUTEX_CLOCK_REALTIME  256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#define NSEC 1000000000ull

struct futex_key {
	uint64_t a, b;            /* (mm, address), or (physical address, 1) when shared */
};

struct futex_waiter {
	struct futex_waiter *prev, *next;
	struct futex_key key;
	uint32_t bitset;
	bool woken;
};
static struct futex_waiter *head, *tail;

static void waiter_add(struct futex_waiter *w)
{
	w->next = NULL;
	w->prev = tail;
	if (tail)
		tail->next = w;
	else
		head = w;
	tail = w;
}

static void waiter_del(struct futex_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		tail = w->prev;
	w->prev = w->next = NULL;
}

static inline bool key_eq(const struct futex_key *x, const struct futex_key *y)
{
	return x->a == y->a && x->b == y->b;
}

static int get_key(uint64_t uaddr, bool private, struct futex_key *key)
{
	if (uaddr & 3)
		return -EINVAL;
	struct mm *mm = current_proc()->mm;
	if (!private) {
		struct vma *v = vma_find(mm, uaddr);
		if (v && (v->flags & KVMBOX_VMA_SHARED)) {
			struct kvmbox_seg seg;
			unsigned nr;
			if (user_segs(uaddr, 4, false, &seg, 1, &nr) < 4)
				return -EFAULT;
			key->a = seg.gpa;
			key->b = 1;
			return 0;
		}
	}
	key->a = (uint64_t)mm;
	key->b = uaddr;
	return 0;
}

/* Wake up to n waiters of key whose bitset meets `bitset` (Linux wakes one even for n <= 0). */
static int wake_key(const struct futex_key *key, int n, uint32_t bitset)
{
	int woken = 0;
	for (struct futex_waiter *w = head, *next; w; w = next) {
		next = w->next;
		if (!key_eq(&w->key, key) || !(w->bitset & bitset))
			continue;
		waiter_del(w);
		w->woken = true;
		wakeup(w);
		if (++woken >= n)
			break;
	}
	return woken;
}

int futex_wake_addr(uint64_t uaddr, int n)
{
	struct futex_key key;
	if (get_key(uaddr, false, &key))
		return 0;
	return wake_key(&key, n, FUTEX_BITSET_MATCH_ANY);
}

static int read_timespec(uint64_t uts, uint64_t *ns)
{
	int64_t ts[2];
	if (copy_from_user(ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || (uint64_t)ts[1] >= NSEC)
		return -EINVAL;
	*ns = (uint64_t)ts[0] > (1ull << 62) / NSEC ? 1ull << 62 : (uint64_t)ts[0] * NSEC + (uint64_t)ts[1];
	return 0;
}

/* WAIT (relative timeout) and WAIT_BITSET (absolute, on CLOCK_MONOTONIC or CLOCK_REALTIME). */
static long futex_wait(uint64_t uaddr, bool private, uint32_t val, uint64_t utimeout, bool absolute,
		       bool realtime, uint32_t bitset)
{
	if (!bitset)
		return -EINVAL;
	struct futex_key key;
	int r = get_key(uaddr, private, &key);
	if (r)
		return r;
	uint64_t deadline = 0;
	if (utimeout) {
		uint64_t ns;
		if ((r = read_timespec(utimeout, &ns)))
			return r;
		uint64_t now = clock_monotonic_ns();
		if (!absolute) {
			deadline = now + ns;
		} else {
			uint64_t clk = realtime ? clock_realtime_ns() : now;
			deadline = ns > clk ? now + (ns - clk) : now;
		}
		if (!deadline)
			deadline = 1;
	}
	uint32_t cur;
	if (copy_from_user(&cur, uaddr, 4))
		return -EFAULT;
	if (cur != val)
		return -EAGAIN;
	struct futex_waiter w = { .key = key, .bitset = bitset };
	waiter_add(&w);
	r = 0;
	while (!w.woken && r == 0)
		r = sleep_on(&w, true, deadline);
	if (w.woken)
		return 0;
	waiter_del(&w);
	if (r == -ETIMEDOUT)
		return -ETIMEDOUT;
	/* A signal: EINTR for a handler, else the wait starts again (with SA_RESTART too, untimed). */
	return utimeout ? -ERESTART_RESTARTBLOCK : -ERESTARTSYS;
}

/* REQUEUE and CMP_REQUEUE: wake nr_wake, move up to nr_requeue more to uaddr2. */
static long futex_requeue(uint64_t uaddr, bool private, int nr_wake, int nr_requeue, uint64_t uaddr2,
			  bool cmp, uint32_t val3)
{
	if (nr_wake < 0 || nr_requeue < 0)
		return -EINVAL;
	struct futex_key k1, k2;
	int r = get_key(uaddr, private, &k1);
	if (!r)
		r = get_key(uaddr2, private, &k2);
	if (r)
		return r;
	if (cmp) {
		uint32_t cur;
		if (copy_from_user(&cur, uaddr, 4))
			return -EFAULT;
		if (cur != val3)
			return -EAGAIN;
	}
	int count = 0;
	struct futex_waiter *moved = NULL, **moved_tail = &moved;
	for (struct futex_waiter *w = head, *next; w; w = next) {
		next = w->next;
		if (count - nr_wake >= nr_requeue)
			break;
		if (!key_eq(&w->key, &k1))
			continue;
		waiter_del(w);
		if (++count <= nr_wake) {
			w->woken = true;
			wakeup(w);
		} else {
			w->key = k2;      /* behind uaddr2's own waiters, in order */
			*moved_tail = w;
			moved_tail = &w->next;
		}
	}
	while (moved) {
		struct futex_waiter *next = moved->next;
		waiter_add(moved);
		moved = next;
	}
	return count;
}

/* WAKE_OP: *uaddr2 = op(*uaddr2, oparg); wake uaddr; if cmp(old, cmparg) wake uaddr2 too. */
static long futex_wake_op(uint64_t uaddr, bool private, int nr_wake, int nr_wake2, uint64_t uaddr2,
			  uint32_t val3)
{
	unsigned op = (val3 >> 28) & 7, cmp = (val3 >> 24) & 15;
	int32_t oparg = (int32_t)(val3 << 8) >> 20, cmparg = (int32_t)(val3 << 20) >> 20;
	if (val3 & (8u << 28)) {          /* FUTEX_OP_OPARG_SHIFT */
		oparg &= 31;
		oparg = 1 << oparg;
	}
	if (op > 4 || cmp > 5)
		return -ENOSYS;
	struct futex_key k1, k2;
	int r = get_key(uaddr, private, &k1);
	if (!r)
		r = get_key(uaddr2, private, &k2);
	if (r)
		return r;
	/* One CPU and no preemption in the kernel: read-modify-write is atomic here. */
	int32_t old, nv;
	if (copy_from_user(&old, uaddr2, 4))
		return -EFAULT;
	switch (op) {
	case 0: nv = oparg; break;
	case 1: nv = (int32_t)((uint32_t)old + (uint32_t)oparg); break;
	case 2: nv = old | oparg; break;
	case 3: nv = old & ~oparg; break;
	default: nv = old ^ oparg; break;
	}
	if (copy_to_user(uaddr2, &nv, 4))
		return -EFAULT;
	int woken = wake_key(&k1, nr_wake, FUTEX_BITSET_MATCH_ANY);
	bool hit;
	switch (cmp) {
	case 0: hit = old == cmparg; break;
	case 1: hit = old != cmparg; break;
	case 2: hit = old < cmparg; break;
	case 3: hit = old <= cmparg; break;
	case 4: hit = old > cmparg; break;
	default: hit = old >= cmparg; break;
	}
	if (hit)
		woken += wake_key(&k2, nr_wake2, FUTEX_BITSET_MATCH_ANY);
	return woken;
}

long sys_futex(uint64_t uaddr, int op, uint32_t val, uint64_t timeout, uint64_t uaddr2, uint32_t val3)
{
	int cmd = op & FUTEX_CMD_MASK;
	bool private = op & FUTEX_PRIVATE_FLAG, realtime = op & FUTEX_CLOCK_REALTIME;
	if (realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT_REQUEUE_PI &&
	    cmd != FUTEX_LOCK_PI2)
		return -ENOSYS;
	/* For the requeue and wake-op commands the timeout argument is a count (val2). */
	int val2 = (int)(uint32_t)timeout;
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(uaddr, private, val, timeout, false, realtime, FUTEX_BITSET_MATCH_ANY);
	case FUTEX_WAIT_BITSET:
		return futex_wait(uaddr, private, val, timeout, true, realtime, val3);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET: {
		uint32_t bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3;
		if (!bitset)
			return -EINVAL;
		struct futex_key key;
		int r = get_key(uaddr, private, &key);
		if (r)
			return r;
		return wake_key(&key, (int)val, bitset);
	}
	case FUTEX_REQUEUE:
		return futex_requeue(uaddr, private, (int)val, val2, uaddr2, false, 0);
	case FUTEX_CMP_REQUEUE:
		return futex_requeue(uaddr, private, (int)val, val2, uaddr2, true, val3);
	case FUTEX_WAKE_OP:
		return futex_wake_op(uaddr, private, (int)val, val2, uaddr2, val3);
	default:
		return -ENOSYS;   /* FUTEX_FD (gone since 2.6.26) and the PI operations */
	}
}
