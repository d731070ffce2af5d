/*
 * timerfd(2): a timer read as a file. No timer interrupt is needed: the
 * expiry is computed when someone looks (read, poll), and whoever waits
 * for it sleeps with the expiry as its deadline -- a blocked read directly,
 * poll/select/epoll through poll_deadline. The scheduler's deadline wakeup
 * (idle loop, APIC timer) therefore covers timerfds with no hook of its own.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <platform.h>
#include <syscalls.h>
#include <uaccess.h>

#define CLOCK_REALTIME       0
#define CLOCK_MONOTONIC      1
#define CLOCK_BOOTTIME       7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define TFD_TIMER_ABSTIME       1
#define TFD_TIMER_CANCEL_ON_SET 2
#define NSEC 1000000000ull

struct timerfd {
	struct waitq wq;
	int clockid;
	uint64_t expiry;          /* CLOCK_MONOTONIC ns of the next expiration, 0 = disarmed */
	uint64_t interval;        /* ns, 0 = one-shot */
	uint64_t ticks;           /* expirations not yet read */
};

struct itimerspec_k {
	int64_t interval_sec, interval_nsec;
	int64_t value_sec, value_nsec;
};

static bool is_realtime(int clk) { return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_ALARM; }

/* Count the expirations up to now. */
static void timerfd_update(struct timerfd *t, uint64_t now)
{
	if (!t->expiry || now < t->expiry)
		return;
	if (t->interval) {
		uint64_t n = (now - t->expiry) / t->interval + 1;
		t->ticks += n;
		t->expiry += n * t->interval;
	} else {
		t->ticks++;
		t->expiry = 0;
	}
}

static ssize_t timerfd_rw(struct file *f, const struct kiovec *iov, int cnt, bool write)
{
	struct timerfd *t = f->priv;
	if (write)
		return -EINVAL;
	if (iov_len(iov, cnt) < 8)
		return -EINVAL;
	for (;;) {
		timerfd_update(t, clock_monotonic_ns());
		if (t->ticks)
			break;
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		/* Until the expiry, or a settime (which wakes the queue). */
		if (waitq_sleep(&t->wq, t->expiry) == -EINTR)
			return -ERESTARTSYS;
	}
	uint64_t v = t->ticks;
	if (iov_copy8(iov, cnt, &v, true))
		return -EFAULT;
	t->ticks = 0;
	return 8;
}

static unsigned timerfd_poll(struct file *f, struct poll_table *pt)
{
	struct timerfd *t = f->priv;
	poll_wait(pt, &t->wq);
	timerfd_update(t, clock_monotonic_ns());
	if (t->ticks)
		return POLLIN | POLLRDNORM;
	poll_deadline(pt, t->expiry);
	return 0;
}

static void timerfd_release(struct file *f)
{
	kfree(f->priv);
}

static const struct file_ops timerfd_ops = {
	.rw = timerfd_rw,
	.poll = timerfd_poll,
	.release = timerfd_release,
};

long sys_timerfd_create(int clockid, int flags)
{
	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	if (clockid != CLOCK_REALTIME && clockid != CLOCK_MONOTONIC && clockid != CLOCK_BOOTTIME &&
	    clockid != CLOCK_REALTIME_ALARM && clockid != CLOCK_BOOTTIME_ALARM)
		return -EINVAL;
	struct timerfd *t = kmalloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->clockid = clockid;
	struct file *f = anon_file_alloc(0600, O_RDWR | (flags & O_NONBLOCK), &timerfd_ops, t);
	if (!f) {
		kfree(t);
		return -ENOMEM;
	}
	return fd_install_new(f, flags & O_CLOEXEC);
}

static int timerfd_get(int fd, struct timerfd **out)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (f->ops != &timerfd_ops)
		return -EINVAL;
	*out = f->priv;
	return 0;
}

static void current_value(struct timerfd *t, struct itimerspec_k *v)
{
	uint64_t now = clock_monotonic_ns();
	timerfd_update(t, now);
	uint64_t left = t->expiry > now ? t->expiry - now : 0;
	v->interval_sec = (int64_t)(t->interval / NSEC);
	v->interval_nsec = (int64_t)(t->interval % NSEC);
	v->value_sec = (int64_t)(left / NSEC);
	v->value_nsec = (int64_t)(left % NSEC);
	/* Armed but due this very instant: Linux reports 1 ns rather than "disarmed". */
	if (t->expiry && !left)
		v->value_nsec = 1;
}

static bool ts_valid(int64_t sec, int64_t nsec)
{
	return sec >= 0 && nsec >= 0 && (uint64_t)nsec < NSEC;
}

static uint64_t ts_ns(int64_t sec, int64_t nsec)
{
	if ((uint64_t)sec > (1ull << 62) / NSEC)
		return 1ull << 62;
	return (uint64_t)sec * NSEC + (uint64_t)nsec;
}

long sys_timerfd_settime(int fd, int flags, uint64_t unew, uint64_t uold)
{
	struct timerfd *t;
	int r = timerfd_get(fd, &t);
	if (r)
		return r;
	if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return -EINVAL;
	struct itimerspec_k nv;
	if (copy_from_user(&nv, unew, sizeof(nv)))
		return -EFAULT;
	if (!ts_valid(nv.interval_sec, nv.interval_nsec) || !ts_valid(nv.value_sec, nv.value_nsec))
		return -EINVAL;
	if (uold) {
		struct itimerspec_k ov;
		current_value(t, &ov);
		if (copy_to_user(uold, &ov, sizeof(ov)))
			return -EFAULT;
	}
	uint64_t value = ts_ns(nv.value_sec, nv.value_nsec);
	uint64_t now = clock_monotonic_ns();
	t->ticks = 0;
	t->interval = ts_ns(nv.interval_sec, nv.interval_nsec);
	if (!value) {
		t->expiry = 0;
	} else if (flags & TFD_TIMER_ABSTIME) {
		/* An absolute time on the timer's clock, as a monotonic deadline from now. */
		uint64_t clk_now = is_realtime(t->clockid) ? clock_realtime_ns() : now;
		t->expiry = value > clk_now ? now + (value - clk_now) : now;
		if (!t->expiry)
			t->expiry = 1;
	} else {
		t->expiry = now + value;
	}
	waitq_wake(&t->wq);       /* readers and pollers: a new deadline */
	return 0;
}

long sys_timerfd_gettime(int fd, uint64_t ucur)
{
	struct timerfd *t;
	int r = timerfd_get(fd, &t);
	if (r)
		return r;
	struct itimerspec_k v;
	current_value(t, &v);
	return copy_to_user(ucur, &v, sizeof(v));
}
