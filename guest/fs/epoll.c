/*
 * epoll(7). Each watched (file, fd) is an item with a wait entry on the
 * file's wait queue; a wakeup there puts the item on the ready list and
 * wakes the epoll set's own queue (so epoll sets nest, and poll works on
 * them). epoll_wait polls only the items on the ready list: level-triggered
 * items go back on it after being reported, edge-triggered ones wait for
 * the next wakeup, one-shot ones are disabled until EPOLL_CTL_MOD. Items
 * whose readiness changes with time (timerfd) or outside the guest (the
 * console's host stdin) are re-checked at every wait instead.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <platform.h>
#include <syscalls.h>
#include <uaccess.h>

#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLWAKEUP    (1u << 29)
#define EPOLLONESHOT   (1u << 30)
#define EPOLLET        (1u << 31)
#define EP_PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
#define EP_MAX_NESTS 4
#define EP_MAX_EVENTS (0x7fffffff / 12)

struct epoll_event {
	uint32_t events;
	uint64_t data;
} __attribute__((packed));
_Static_assert(sizeof(struct epoll_event) == 12, "epoll_event");

struct eventpoll;

struct epitem {
	struct epitem *next;      /* the set's items */
	struct epitem *rdnext;    /* the ready list */
	struct epitem *flnext;    /* the watched file's items (file->epitems) */
	struct eventpoll *ep;
	struct file *file;        /* not referenced: the item goes when the file does */
	int fd;
	uint32_t events;          /* what was asked (EPOLLERR|EPOLLHUP always) */
	uint64_t data;
	bool ready;               /* on the ready list */
	bool recheck;             /* readiness changes without a wakeup: look at every wait */
	uint64_t deadline;        /* when its readiness changes by itself (timerfd), 0 none */
	struct wait_entry we;     /* on the file's wait queue */
};

struct eventpoll {
	struct waitq wq;          /* epoll_wait sleepers, and pollers of the epoll file */
	struct epitem *items;
	struct epitem *rdhead, *rdtail;
	unsigned nr_recheck;
};

static void rd_add(struct eventpoll *ep, struct epitem *it)
{
	if (it->ready)
		return;
	it->ready = true;
	it->rdnext = NULL;
	if (ep->rdtail)
		ep->rdtail->rdnext = it;
	else
		ep->rdhead = it;
	ep->rdtail = it;
}

static void rd_del(struct eventpoll *ep, struct epitem *it)
{
	if (!it->ready)
		return;
	struct epitem *prev = NULL;
	for (struct epitem *x = ep->rdhead; x; prev = x, x = x->rdnext)
		if (x == it) {
			if (prev)
				prev->rdnext = it->rdnext;
			else
				ep->rdhead = it->rdnext;
			if (ep->rdtail == it)
				ep->rdtail = prev;
			break;
		}
	it->ready = false;
}

/* The watched file's queue was woken. */
static void ep_item_wake(struct wait_entry *e)
{
	struct epitem *it = (struct epitem *)((char *)e - __builtin_offsetof(struct epitem, we));
	struct eventpoll *ep = it->ep;
	if (!(it->events & ~EP_PRIVATE_BITS))
		return;               /* a disabled one-shot item */
	rd_add(ep, it);
	waitq_wake(&ep->wq);
}

static void ep_queue(struct poll_table *pt, struct waitq *q)
{
	struct epitem *it = pt->qpriv;
	if (it->we.q)
		return;               /* every file here has one queue */
	it->we.fn = ep_item_wake;
	it->we.wchan = NULL;
	it->we.file = NULL;
	wait_entry_add(q, &it->we);
}

/* Ask the item's file for its readiness; with `reg`, hook onto its queue. */
static unsigned item_poll(struct epitem *it, bool reg)
{
	struct poll_table pt;
	poll_table_init(&pt, NULL);
	pt.register_q = reg;
	pt.qproc = ep_queue;
	pt.qpriv = it;
	pt.events = it->events;
	unsigned m = file_poll(it->file, &pt);
	it->deadline = pt.deadline;
	bool recheck = pt.deadline || pt.console_in || !it->we.q;
	if (recheck != it->recheck) {
		it->recheck = recheck;
		if (recheck)
			it->ep->nr_recheck++;
		else
			it->ep->nr_recheck--;
	}
	return m & (it->events | POLLERR | POLLHUP);
}

static void item_free(struct epitem *it)
{
	struct eventpoll *ep = it->ep;
	wait_entry_del(&it->we);
	rd_del(ep, it);
	if (it->recheck)
		ep->nr_recheck--;
	for (struct epitem **pp = &ep->items; *pp; pp = &(*pp)->next)
		if (*pp == it) {
			*pp = it->next;
			break;
		}
	for (struct epitem **pp = &it->file->epitems; *pp; pp = &(*pp)->flnext)
		if (*pp == it) {
			*pp = it->flnext;
			break;
		}
	kfree(it);
}

void eventpoll_release_file(struct file *f)
{
	while (f->epitems)
		item_free(f->epitems);
}

/* Put the items whose readiness may have changed unseen on the ready list. */
static void ep_recheck(struct eventpoll *ep)
{
	if (!ep->nr_recheck)
		return;
	uint64_t now = clock_monotonic_ns();
	for (struct epitem *it = ep->items; it; it = it->next)
		if (it->recheck && (it->events & ~EP_PRIVATE_BITS) &&
		    (!it->deadline || now >= it->deadline))
			rd_add(ep, it);
}

/* The nearest deadline among the items, and whether the console is watched. */
static uint64_t ep_deadline(struct eventpoll *ep, bool *console)
{
	uint64_t d = 0;
	*console = false;
	if (!ep->nr_recheck)
		return 0;
	for (struct epitem *it = ep->items; it; it = it->next) {
		if (!it->recheck || !(it->events & ~EP_PRIVATE_BITS))
			continue;
		if (it->deadline)
			d = !d || it->deadline < d ? it->deadline : d;
		else
			*console = true;
	}
	return d;
}

/* ---- the epoll file itself: nestable and pollable ---- */

static struct file_ops eventpoll_ops;

static bool ep_has_ready(struct eventpoll *ep, struct poll_table *pt)
{
	ep_recheck(ep);
	for (struct epitem *it = ep->rdhead; it; it = it->rdnext)
		if (item_poll(it, false))
			return true;
	bool console;
	poll_deadline(pt, ep_deadline(ep, &console));
	if (console && pt)
		pt->console_in = true;
	return false;
}

static unsigned eventpoll_poll(struct file *f, struct poll_table *pt)
{
	struct eventpoll *ep = f->priv;
	poll_wait(pt, &ep->wq);
	return ep_has_ready(ep, pt) ? POLLIN | POLLRDNORM : 0;
}

static void eventpoll_release(struct file *f)
{
	struct eventpoll *ep = f->priv;
	while (ep->items)
		item_free(ep->items);
	kfree(ep);
}

static struct file_ops eventpoll_ops = {
	.poll = eventpoll_poll,
	.release = eventpoll_release,
};

long sys_epoll_create1(int flags)
{
	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	struct eventpoll *ep = kmalloc(sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	struct file *f = anon_file_alloc(0600, O_RDWR, &eventpoll_ops, ep);
	if (!f) {
		kfree(ep);
		return -ENOMEM;
	}
	return fd_install_new(f, flags & O_CLOEXEC);
}

long sys_epoll_create(int size)
{
	if (size <= 0)
		return -EINVAL;
	return sys_epoll_create1(0);
}

/* ---- epoll_ctl ---- */

static struct epitem *ep_find(struct eventpoll *ep, struct file *f, int fd)
{
	for (struct epitem *it = ep->items; it; it = it->next)
		if (it->file == f && it->fd == fd)
			return it;
	return NULL;
}

/* Adding `target` (an epoll set) to `ep`: would that close a loop or nest too deep? */
static int ep_loop_depth(struct eventpoll *target, struct eventpoll *ep, int depth)
{
	if (target == ep)
		return -ELOOP;
	if (depth > EP_MAX_NESTS)
		return -ELOOP;
	for (struct epitem *it = target->items; it; it = it->next)
		if (it->file->ops == &eventpoll_ops) {
			int r = ep_loop_depth(it->file->priv, ep, depth + 1);
			if (r)
				return r;
		}
	return 0;
}

static bool pollable(struct file *f)
{
	if (f->ops)
		return f->ops->poll != NULL;
	return f->inode->kind == I_CONSOLE;
}

long sys_epoll_ctl(int epfd, int op, int fd, uint64_t uevent)
{
	struct epoll_event ev = { 0, 0 };
	if (op != EPOLL_CTL_DEL && copy_from_user(&ev, uevent, sizeof(ev)))
		return -EFAULT;
	struct file *epf = fd_get(epfd), *f = fd_get(fd);
	if (!epf || !f)
		return -EBADF;
	if (!pollable(f))
		return -EPERM;
	if (epf->ops != &eventpoll_ops || epf == f)
		return -EINVAL;
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_DEL && op != EPOLL_CTL_MOD)
		return -EINVAL;
	if (ev.events & EPOLLEXCLUSIVE) {
		/* Only with ADD, not on an epoll file, and not with one-shot (Linux's ep_op_has_event rules). */
		if (op == EPOLL_CTL_MOD || f->ops == &eventpoll_ops ||
		    (ev.events & ~(EPOLLEXCLUSIVE | POLLIN | POLLOUT | POLLERR | POLLHUP | EPOLLWAKEUP |
				   EPOLLET | POLLRDNORM | POLLWRNORM | POLLRDBAND | POLLWRBAND | POLLPRI)))
			return -EINVAL;
	}
	struct eventpoll *ep = epf->priv;
	struct epitem *it = ep_find(ep, f, fd);
	switch (op) {
	case EPOLL_CTL_ADD: {
		if (it)
			return -EEXIST;
		if (f->ops == &eventpoll_ops) {
			int r = ep_loop_depth(f->priv, ep, 1);
			if (r)
				return r;
		}
		it = kmalloc(sizeof(*it));
		if (!it)
			return -ENOMEM;
		it->ep = ep;
		it->file = f;
		it->fd = fd;
		it->events = ev.events | POLLERR | POLLHUP;
		it->data = ev.data;
		it->next = ep->items;
		ep->items = it;
		it->flnext = f->epitems;
		f->epitems = it;
		if (item_poll(it, true))
			rd_add(ep, it);
		if (it->ready)
			waitq_wake(&ep->wq);
		return 0;
	}
	case EPOLL_CTL_DEL:
		if (!it)
			return -ENOENT;
		item_free(it);
		return 0;
	case EPOLL_CTL_MOD:
		if (!it)
			return -ENOENT;
		if (it->events & EPOLLEXCLUSIVE)
			return -EINVAL;
		it->events = ev.events | POLLERR | POLLHUP;
		it->data = ev.data;
		if (item_poll(it, true)) {
			rd_add(ep, it);
			waitq_wake(&ep->wq);
		}
		return 0;
	}
	return -EINVAL;
}

/* ---- epoll_wait ---- */

/* Report ready items: the number written, or -EFAULT if not even one could be. */
static long ep_send_events(struct eventpoll *ep, uint64_t uevents, int maxevents)
{
	struct epitem *list = ep->rdhead;
	ep->rdhead = ep->rdtail = NULL;
	for (struct epitem *it = list; it; it = it->rdnext)
		it->ready = false;
	long n = 0;
	struct epitem *it = list;
	struct epitem *again = NULL, **again_tail = &again; /* level-triggered: back on the list */
	while (it && n < maxevents) {
		struct epitem *next = it->rdnext;
		unsigned m = (it->events & ~EP_PRIVATE_BITS) ? item_poll(it, false) : 0;
		if (m) {
			struct epoll_event ev = { m, it->data };
			if (copy_to_user(uevents + (uint64_t)n * sizeof(ev), &ev, sizeof(ev))) {
				rd_add(ep, it);
				if (!n)
					n = -EFAULT;
				it = next;
				break;
			}
			n++;
			if (it->events & EPOLLONESHOT)
				it->events &= EP_PRIVATE_BITS;
			else if (!(it->events & EPOLLET)) {
				it->rdnext = NULL;
				*again_tail = it;
				again_tail = &it->rdnext;
			}
		}
		it = next;
	}
	/* Items not looked at stay ready, ahead of the reported level-triggered ones. */
	while (it) {
		struct epitem *next = it->rdnext;
		rd_add(ep, it);
		it = next;
	}
	while (again) {
		struct epitem *next = again->rdnext;
		rd_add(ep, again);
		again = next;
	}
	return n;
}

static long do_epoll_wait(int epfd, uint64_t uevents, int maxevents, uint64_t deadline, bool nowait)
{
	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return -EINVAL;
	if (uevents + (uint64_t)maxevents * sizeof(struct epoll_event) > KVMBOX_USER_MAP_TOP ||
	    uevents + (uint64_t)maxevents * sizeof(struct epoll_event) < uevents)
		return -EFAULT;
	struct file *f = fd_get(epfd);
	if (!f)
		return -EBADF;
	if (f->ops != &eventpoll_ops)
		return -EINVAL;
	struct eventpoll *ep = f->priv;
	file_get(f);              /* a thread may close it while we sleep */
	long n;
	for (;;) {
		ep_recheck(ep);
		n = ep_send_events(ep, uevents, maxevents);
		if (n || nowait)
			break;
		struct poll_table pt;
		poll_table_init(&pt, &ep->wq);
		pt.register_q = false;
		bool console;
		pt.deadline = ep_deadline(ep, &console);
		pt.console_in = console;
		ep->wq.sleepers++;
		int w = poll_block(&pt, deadline);
		ep->wq.sleepers--;
		if (w == -EINTR) {
			n = -EINTR;       /* epoll_wait is never restarted (signal(7)) */
			break;
		}
		if (w == -ETIMEDOUT)
			nowait = true;
	}
	file_put(f);
	return n;
}

static uint64_t ms_deadline(int timeout_ms)
{
	return timeout_ms > 0 ? clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull : 0;
}

long sys_epoll_wait(int epfd, uint64_t events, int maxevents, int timeout_ms)
{
	return do_epoll_wait(epfd, events, maxevents, ms_deadline(timeout_ms), timeout_ms == 0);
}

long sys_epoll_pwait(int epfd, uint64_t events, int maxevents, int timeout_ms, uint64_t sigmask,
		     size_t sigsetsize)
{
	struct sigmask_swap s;
	int e = sigmask_swap_in(&s, sigmask, sigsetsize);
	if (e)
		return e;
	long r = do_epoll_wait(epfd, events, maxevents, ms_deadline(timeout_ms), timeout_ms == 0);
	sigmask_swap_out(&s, r);
	return r;
}

long sys_epoll_pwait2(int epfd, uint64_t events, int maxevents, uint64_t timeout, uint64_t sigmask,
		      size_t sigsetsize)
{
	uint64_t deadline = 0;
	bool nowait = false;
	if (timeout) {
		int64_t ts[2];
		if (copy_from_user(ts, timeout, sizeof(ts)))
			return -EFAULT;
		if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
			return -EINVAL;
		nowait = !ts[0] && !ts[1];
		uint64_t ns = (uint64_t)ts[0] > (1ull << 62) / 1000000000ull ? 1ull << 62
			    : (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
		deadline = clock_monotonic_ns() + ns;
	}
	struct sigmask_swap s;
	int e = sigmask_swap_in(&s, sigmask, sigsetsize);
	if (e)
		return e;
	long r = do_epoll_wait(epfd, events, maxevents, deadline, nowait);
	sigmask_swap_out(&s, r);
	return r;
}
