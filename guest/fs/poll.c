/*
 * Waiting on files: wait queues, poll tables, each file's readiness, and
 * poll, ppoll, select, pselect6.
 *
 * A poller scans its files once with registration on (poll_table), which
 * puts one wait_entry per file on that file's wait queue; then it sleeps on
 * its own channel until some queue is woken, the nearest deadline (its
 * timeout, or a timerfd expiry a file reported) passes, or a signal comes.
 * Later scans only ask; the entries come off at the end.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <platform.h>
#include <signal.h>
#include <uaccess.h>
#include "ufast.h"

/* ---- wait queues ---------------------------------------------------------------- */

void __waitq_wake(struct waitq *q)
{
	if (q->sleepers)
		wakeup(q);
	for (struct wait_entry *e = q->head, *n; e; e = n) {
		n = e->next;          /* fn may take e off the queue */
		if (e->fn)
			e->fn(e);
		else
			wakeup(e->wchan);
	}
}

int waitq_sleep(struct waitq *q, uint64_t deadline_ns)
{
	q->sleepers++;
	int r = sleep_on(q, true, deadline_ns);
	q->sleepers--;
	return r;
}

void wait_entry_add(struct waitq *q, struct wait_entry *e)
{
	e->q = q;
	e->next = q->head;
	e->pprev = &q->head;
	if (q->head)
		q->head->pprev = &e->next;
	q->head = e;
}

void wait_entry_del(struct wait_entry *e)
{
	if (!e->q)
		return;
	*e->pprev = e->next;
	if (e->next)
		e->next->pprev = e->pprev;
	e->q = NULL;
}

/* ---- poll tables ------------------------------------------------------------------ */

void poll_table_init(struct poll_table *pt, const void *wchan)
{
	pt->register_q = true;
	pt->console_in = false;
	pt->nomem = false;
	pt->wchan = wchan;
	pt->deadline = 0;
	pt->cur = NULL;
	pt->events = ~0u;
	pt->qproc = NULL;
	pt->qpriv = NULL;
	pt->entries = NULL;
	pt->nr_inline = 0;
}

void poll_wait(struct poll_table *pt, struct waitq *q)
{
	if (!pt || !pt->register_q)
		return;
	if (pt->qproc) {
		pt->qproc(pt, q);
		return;
	}
	struct wait_entry *e;
	if (pt->nr_inline < ARRAY_SIZE(pt->inline_entries)) {
		e = &pt->inline_entries[pt->nr_inline++];
	} else if (!(e = kmalloc(sizeof(*e)))) {
		pt->nomem = true;     /* poll_block rescans on a short deadline instead */
		return;
	}
	e->wchan = pt->wchan;
	e->fn = NULL;
	e->file = pt->cur;
	if (e->file)
		file_get(e->file);
	wait_entry_add(q, e);
	e->pt_next = pt->entries;
	pt->entries = e;
}

void poll_deadline(struct poll_table *pt, uint64_t deadline_ns)
{
	if (pt && deadline_ns && (!pt->deadline || deadline_ns < pt->deadline))
		pt->deadline = deadline_ns;
}

void poll_table_free(struct poll_table *pt)
{
	struct wait_entry *e = pt->entries;
	while (e) {
		struct wait_entry *n = e->pt_next;
		wait_entry_del(e);
		if (e->file)
			file_put(e->file);
		if (e < pt->inline_entries || e >= pt->inline_entries + ARRAY_SIZE(pt->inline_entries))
			kfree(e);
		e = n;
	}
	pt->entries = NULL;
	pt->nr_inline = 0;
}

#define ALWAYS_READY (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

unsigned file_poll(struct file *f, struct poll_table *pt)
{
	if (pt)
		pt->cur = f;
	if (f->ops)
		return f->ops->poll ? f->ops->poll(f, pt) : ALWAYS_READY;
	if (f->inode->kind == I_CONSOLE)
		return console_poll(f, pt);
	/* ramfs files, directories, /dev/null and friends never block. */
	return ALWAYS_READY;
}

/* Another thread could run now: then we must not block inside the VMM. */
static bool others_runnable(void)
{
	for (struct thread *t = all_threads; t; t = t->all_next)
		if (t->state == T_RUNNABLE)
			return true;
	return false;
}

/* The nearest deadline of any other sleeper (0 = none). */
static uint64_t others_deadline(void)
{
	uint64_t d = 0;
	for (struct thread *t = all_threads; t; t = t->all_next)
		if (t->state == T_SLEEPING && t->wake_at && (!d || t->wake_at < d))
			d = t->wake_at;
	return d;
}

bool poll_alone(void)
{
	return !others_runnable() && !others_deadline();
}

static inline uint64_t min_deadline(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : MIN(a, b);
}

/* While waiting for host stdin beside other threads: how often to ask the VMM. */
#define CONSOLE_POLL_NS 2000000ull
/* The longest single wait inside the VMM (timers of other subsystems may be due). */
#define CONSOLE_BLOCK_MAX_NS 50000000ull

int poll_block(struct poll_table *pt, uint64_t deadline_ns)
{
	uint64_t dl = min_deadline(deadline_ns, pt->deadline);
	bool short_wait = pt->nomem || (pt->console_in && others_runnable());
	if (short_wait || !pt->console_in) {
		if (short_wait)
			dl = min_deadline(dl, clock_monotonic_ns() + CONSOLE_POLL_NS);
		int r = sleep_on(pt->wchan, true, dl);
		if (r == -EINTR)
			return -EINTR;
	} else {
		/*
		 * Only host stdin can end the wait now (nothing else runs until a
		 * deadline): block inside the VMM, up to the nearest deadline.
		 */
		if (signal_deliverable(current_thread()))
			return -EINTR;
		dl = min_deadline(dl, others_deadline());
		uint64_t now = clock_monotonic_ns();
		uint64_t wait = dl ? (dl > now ? dl - now : 0) : CONSOLE_BLOCK_MAX_NS;
		console_wait_input(MIN(wait, CONSOLE_BLOCK_MAX_NS));
		sched_timer_tick();
	}
	if (deadline_ns && clock_monotonic_ns() >= deadline_ns)
		return -ETIMEDOUT;
	return 0;
}

/* ---- timeouts and signal masks ------------------------------------------------------ */

#define NSEC 1000000000ull

/* A relative timespec from user memory to an absolute deadline; *none for a NULL pointer. */
static int timespec_deadline(uint64_t uts, uint64_t *deadline, bool *zero)
{
	int64_t ts[2];
	if (copy_from_user(ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || (uint64_t)ts[1] >= NSEC)
		return -EINVAL;
	*zero = ts[0] == 0 && ts[1] == 0;
	uint64_t ns = (uint64_t)ts[0] > (UINT64_MAX / 2) / NSEC ? UINT64_MAX / 2
		    : (uint64_t)ts[0] * NSEC + (uint64_t)ts[1];
	*deadline = clock_monotonic_ns() + ns;
	return 0;
}

/* What is left of a deadline, as a timespec or timeval, written back (errors ignored, as Linux). */
static void write_remaining(uint64_t uaddr, uint64_t deadline, bool timeval)
{
	uint64_t now = clock_monotonic_ns();
	uint64_t left = deadline > now ? deadline - now : 0;
	int64_t v[2] = { (int64_t)(left / NSEC), (int64_t)(left % NSEC) };
	if (timeval)
		v[1] /= 1000;
	copy_to_user(uaddr, v, sizeof(v));
}

#ifndef UNBLOCKABLE
#define UNBLOCKABLE ((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)))
#endif

/* ppoll/pselect6/epoll_pwait: the caller's mask replaces the thread's for the wait. */
int sigmask_swap_in(struct sigmask_swap *s, uint64_t umask, size_t size)
{
	s->active = false;
	if (!umask)
		return 0;
	if (size != 8)
		return -EINVAL;
	uint64_t m;
	if (copy_from_user(&m, umask, 8))
		return -EFAULT;
	struct thread *t = current_thread();
	s->old = t->sigmask;
	s->active = true;
	t->sigmask = m & ~UNBLOCKABLE;
	update_work();
	return 0;
}

/*
 * After the wait. Interrupted: the wait's mask stays until the handler has
 * run (restore_sigmask, as Linux), so the signal that ended the wait is
 * delivered even if the old mask blocks it. Otherwise back at once.
 */
void sigmask_swap_out(struct sigmask_swap *s, long result)
{
	if (!s->active)
		return;
	struct thread *t = current_thread();
	if (result == -EINTR || result == -ERESTARTNOHAND) {
		t->saved_sigmask = s->old;
		t->restore_sigmask = true;
	} else {
		t->sigmask = s->old;
	}
	update_work();
}

/* ---- poll / ppoll ------------------------------------------------------------------ */

struct pollfd {
	int32_t fd;
	int16_t events;
	int16_t revents;
};

/* One pass: revents for every entry; the number with any. */
static long poll_scan(struct pollfd *kp, uint64_t nfds, struct poll_table *pt)
{
	long ready = 0;
	for (uint64_t i = 0; i < nfds; i++) {
		int16_t rev = 0;
		if (kp[i].fd >= 0) {
			struct file *f = fd_get(kp[i].fd);
			if (!f) {
				rev = POLLNVAL;
			} else {
				unsigned want = (uint16_t)kp[i].events | POLLERR | POLLHUP;
				pt->events = want;
				rev = (int16_t)(file_poll(f, pt) & want);
			}
		}
		kp[i].revents = rev;
		if (rev) {
			ready++;
			pt->register_q = false;  /* the answer is in: stop registering */
		}
	}
	return ready;
}

/*
 * The pollfd array is used in place when it sits in one present, writable
 * page (the common case: no copies, revents written directly); otherwise
 * it is copied in and out.
 */
static struct pollfd *pollfd_direct(uint64_t ufds, size_t bytes)
{
	if (ufast_page_left(ufds) < bytes || (ufds & 7))
		return NULL;
	uint64_t pa = ufast_pa(ufds, true);
	return pa ? P2V(pa) : NULL;
}

static long do_poll(uint64_t ufds, uint64_t nfds, uint64_t deadline, bool nowait)
{
	if (nfds > NR_OPEN)        /* Linux: EINVAL past RLIMIT_NOFILE (NR_OPEN here) */
		return -EINVAL;
	struct pollfd small[16];
	size_t bytes = nfds * sizeof(struct pollfd);
	struct pollfd *kp = bytes ? pollfd_direct(ufds, bytes) : small;
	bool direct = bytes && kp;
	if (!kp) {
		kp = small;
		if (nfds > ARRAY_SIZE(small) && !(kp = kmalloc(bytes)))
			return -ENOMEM;
		if (copy_from_user(kp, ufds, bytes)) {
			if (kp != small)
				kfree(kp);
			return -EFAULT;
		}
	}
	long r;
	struct poll_table pt;
	poll_table_init(&pt, &pt);
	pt.register_q = !nowait;
	for (;;) {
		r = poll_scan(kp, nfds, &pt);
		if (r || nowait)
			break;
		pt.register_q = false;
		int w = poll_block(&pt, deadline);
		if (w == -EINTR) {
			r = -ERESTARTNOHAND;
			break;
		}
		if (w == -ETIMEDOUT)
			nowait = true;      /* one last look, then 0 */
		pt.console_in = false;
		pt.nomem = false;
		pt.deadline = 0;
		/* Another thread may have unmapped the array while we slept. */
		if (direct && !(kp = pollfd_direct(ufds, bytes))) {
			r = -EFAULT;
			break;
		}
	}
	if (pt.entries)
		poll_table_free(&pt);
	if (!direct) {
		/* Only revents changes; the copy is whole entries (8 bytes each). */
		if (r >= 0 && bytes && copy_to_user(ufds, kp, bytes))
			r = -EFAULT;
		if (kp != small)
			kfree(kp);
	}
	return r;
}

long sys_poll(uint64_t fds, uint64_t nfds, int timeout_ms)
{
	uint64_t deadline = 0;
	if (timeout_ms > 0)
		deadline = clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
	return do_poll(fds, nfds, deadline, timeout_ms == 0);
}

long sys_ppoll(uint64_t fds, uint64_t nfds, uint64_t tsp, uint64_t sigmask, size_t sigsetsize)
{
	uint64_t deadline = 0;
	bool zero = false;
	if (tsp) {
		int r = timespec_deadline(tsp, &deadline, &zero);
		if (r)
			return r;
	}
	struct sigmask_swap s;
	int e = sigmask_swap_in(&s, sigmask, sigsetsize);
	if (e)
		return e;
	long r = do_poll(fds, nfds, deadline, zero);
	sigmask_swap_out(&s, r);
	if (tsp)
		write_remaining(tsp, deadline, false);
	return r;
}

/* ---- select / pselect6 ------------------------------------------------------------ */

/* Linux's mapping of poll bits to the three sets (fs/select.c). */
#define SEL_IN  (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define SEL_OUT (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define SEL_EX  POLLPRI
#define FDS_WORDS (NR_OPEN / 64)

static long do_select(int nfds, uint64_t rfds, uint64_t wfds, uint64_t efds, uint64_t deadline,
		      bool nowait)
{
	if (nfds < 0)
		return -EINVAL;
	if (nfds > NR_OPEN)
		nfds = NR_OPEN;
	size_t bytes = ALIGN_UP((size_t)nfds, 64) / 8;
	size_t words = bytes / 8;
	uint64_t in[3][FDS_WORDS], out[3][FDS_WORDS];
	uint64_t addr[3] = { rfds, wfds, efds };
	for (int s = 0; s < 3; s++) {
		for (size_t w = 0; w < FDS_WORDS; w++)
			in[s][w] = 0;
		if (addr[s] && bytes && copy_from_user(in[s], addr[s], bytes))
			return -EFAULT;
		if (nfds % 64 && words)
			in[s][words - 1] &= (1ull << (nfds % 64)) - 1;
	}
	for (size_t w = 0; w < words; w++) {
		uint64_t any = in[0][w] | in[1][w] | in[2][w];
		while (any) {
			int fd = (int)(w * 64) + __builtin_ctzll(any);
			any &= any - 1;
			if (!fd_get(fd))
				return -EBADF;
		}
	}
	struct poll_table pt;
	poll_table_init(&pt, &pt);
	pt.register_q = !nowait;
	long r;
	for (;;) {
		r = 0;
		for (size_t w = 0; w < words; w++) {
			out[0][w] = out[1][w] = out[2][w] = 0;
			uint64_t any = in[0][w] | in[1][w] | in[2][w];
			while (any) {
				int b = __builtin_ctzll(any);
				any &= any - 1;
				struct file *f = fd_get((int)(w * 64) + b);
				if (!f) {
					r = -EBADF;      /* closed while we waited */
					goto done;
				}
				uint64_t bit = 1ull << b;
				pt.events = ((in[0][w] & bit) ? SEL_IN : 0) | ((in[1][w] & bit) ? SEL_OUT : 0) |
					    ((in[2][w] & bit) ? SEL_EX : 0);
				unsigned m = file_poll(f, &pt);
				int before = (int)r;
				if ((in[0][w] & bit) && (m & SEL_IN))
					out[0][w] |= bit, r++;
				if ((in[1][w] & bit) && (m & SEL_OUT))
					out[1][w] |= bit, r++;
				if ((in[2][w] & bit) && (m & SEL_EX))
					out[2][w] |= bit, r++;
				if (r != before)
					pt.register_q = false;
			}
		}
		if (r || nowait)
			break;
		pt.register_q = false;
		int w = poll_block(&pt, deadline);
		if (w == -EINTR) {
			r = -ERESTARTNOHAND;
			break;
		}
		if (w == -ETIMEDOUT)
			nowait = true;
		pt.console_in = false;
		pt.nomem = false;
		pt.deadline = 0;
	}
done:
	poll_table_free(&pt);
	if (r < 0)
		return r;
	for (int s = 0; s < 3; s++)
		if (addr[s] && bytes && copy_to_user(addr[s], out[s], bytes))
			return -EFAULT;
	return r;
}

long sys_select(int nfds, uint64_t rfds, uint64_t wfds, uint64_t efds, uint64_t tv)
{
	uint64_t deadline = 0;
	bool zero = false;
	if (tv) {
		int64_t v[2];
		if (copy_from_user(v, tv, sizeof(v)))
			return -EFAULT;
		if (v[0] < 0 || v[1] < 0)
			return -EINVAL;
		/* Linux carries whole seconds out of tv_usec (fs/select.c kern_select). */
		v[0] += v[1] / 1000000;
		v[1] %= 1000000;
		zero = v[0] == 0 && v[1] == 0;
		uint64_t ns = (uint64_t)v[0] > (UINT64_MAX / 2) / NSEC ? UINT64_MAX / 2
			    : (uint64_t)v[0] * NSEC + (uint64_t)v[1] * 1000;
		deadline = clock_monotonic_ns() + ns;
	}
	long r = do_select(nfds, rfds, wfds, efds, deadline, zero);
	if (tv)
		write_remaining(tv, deadline, true);
	return r;
}

long sys_pselect6(int nfds, uint64_t rfds, uint64_t wfds, uint64_t efds, uint64_t ts, uint64_t sig)
{
	uint64_t deadline = 0;
	bool zero = false;
	if (ts) {
		int r = timespec_deadline(ts, &deadline, &zero);
		if (r)
			return r;
	}
	/* The 6th argument points at { const sigset_t *ss; size_t ss_len; }. */
	uint64_t sigarg[2] = { 0, 0 };
	if (sig && copy_from_user(sigarg, sig, sizeof(sigarg)))
		return -EFAULT;
	struct sigmask_swap s;
	int e = sigmask_swap_in(&s, sigarg[0], sigarg[1]);
	if (e)
		return e;
	long r = do_select(nfds, rfds, wfds, efds, deadline, zero);
	sigmask_swap_out(&s, r);
	if (ts)
		write_remaining(ts, deadline, false);
	return r;
}
