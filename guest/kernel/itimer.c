/*
 * Timers that send signals: alarm/setitimer(ITIMER_REAL) and POSIX timers
 * (timer_create...). Tickless: each armed timer has a CLOCK_MONOTONIC
 * deadline; the scheduler's deadline mechanism (sched_timer_tick, the idle
 * loop, the local APIC timer) asks itimer_next_deadline() and calls
 * itimer_tick() once it has passed.
 */
#include "proc.h"
#include "uaccess.h"
#include "syscalls.h"
#include "signal.h"
#include "platform.h"
#include "lib.h"
#include "errno.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_BOOTTIME 7
#define TIMER_ABSTIME 1

#define SIGEV_SIGNAL 0
#define SIGEV_NONE 1
#define SIGEV_THREAD 2
#define SIGEV_THREAD_ID 4

#define ITIMER_REAL 0
#define ITIMER_VIRTUAL 1
#define ITIMER_PROF 2

#define REAL_ID (-1)          /* the process's ITIMER_REAL */
#define MAX_TIMERS 4096       /* in the whole VM: kernel memory is not the program's to exhaust */
#define NS 1000000000ull
#define FAR_FUTURE (1ull << 62)

struct ktimer {
	struct ktimer *next;
	struct proc *proc;
	int id;               /* timer_t, or REAL_ID */
	int clock;
	int notify;           /* SIGEV_* */
	int signo;
	pid_t tid;            /* SIGEV_THREAD_ID: the thread that gets the signal */
	uint64_t value;       /* sigev_value, handed back in si_value */
	uint64_t expires;     /* CLOCK_MONOTONIC ns; 0 = disarmed */
	uint64_t interval;    /* ns; 0 = one-shot */
	int overrun;          /* expirations merged into the pending signal */
	int overrun_last;     /* timer_getoverrun: as of the last delivery */
};

static struct ktimer *timers;
static unsigned nr_timers;
static uint64_t next_deadline;

uint64_t itimer_next_deadline(void)
{
	return next_deadline;
}

static void recompute(void)
{
	uint64_t d = 0;
	for (struct ktimer *k = timers; k; k = k->next)
		if (k->expires && k->notify != SIGEV_NONE && (!d || k->expires < d))
			d = k->expires;
	next_deadline = d;
}

static struct ktimer *find(struct proc *p, int id)
{
	for (struct ktimer *k = timers; k; k = k->next)
		if (k->proc == p && k->id == id)
			return k;
	return NULL;
}

static struct thread *proc_thread(struct proc *p, pid_t tid)
{
	for (struct thread *t = p->threads; t; t = t->proc_next)
		if (t->tid == tid)
			return t;
	return NULL;
}

static void add_overrun(struct ktimer *k, uint64_t n)
{
	uint64_t o = (uint64_t)k->overrun + n;
	k->overrun = o > INT32_MAX ? INT32_MAX : (int)o; /* DELAYTIMER_MAX */
}

/* Bring a periodic timer's deadline past now; returns the periods skipped over. */
static uint64_t forward(struct ktimer *k, uint64_t now)
{
	if (!k->interval) {
		k->expires = 0;
		return 0;
	}
	uint64_t missed = (now - k->expires) / k->interval;
	k->expires += (missed + 1) * k->interval;
	return missed;
}

static void fire(struct ktimer *k, uint64_t now)
{
	uint64_t missed = forward(k, now);
	struct ksiginfo info = { .signo = k->signo };
	if (k->id == REAL_ID) {
		info.code = SI_KERNEL; /* Linux's it_real_fn sends SIGALRM as SEND_SIG_PRIV */
		send_signal_info(k->proc, NULL, &info);
		return;
	}
	struct thread *t = NULL;
	if (k->notify & SIGEV_THREAD_ID) {
		t = proc_thread(k->proc, k->tid);
		if (!t)
			return; /* its thread is gone */
	}
	add_overrun(k, missed);
	/* Still pending from the last expiry: count it instead (POSIX timer overrun). */
	if (signal_pending_from(k->proc, t, k->signo, SI_TIMER, k->id)) {
		add_overrun(k, 1);
		return;
	}
	info.code = SI_TIMER;
	info.pid = k->id;
	info.value = k->value;
	send_signal_info(k->proc, t, &info);
}

bool itimer_tick(uint64_t now)
{
	if (!next_deadline || now < next_deadline)
		return false;
	for (struct ktimer *k = timers; k; k = k->next)
		if (k->expires && k->notify != SIGEV_NONE && now >= k->expires)
			fire(k, now);
	recompute();
	return true;
}

/* Before reading or changing a timer: fire what is due, so the state is current. */
static uint64_t now_ticked(void)
{
	uint64_t now = clock_monotonic_ns();
	itimer_tick(now);
	return now;
}

void itimer_dequeued(struct proc *p, struct ksiginfo *info)
{
	struct ktimer *k = find(p, info->pid);
	if (!k)
		return;
	info->status = k->overrun;
	k->overrun_last = k->overrun;
	k->overrun = 0;
}

static void remove_where(struct proc *p, bool posix_only)
{
	for (struct ktimer **pp = &timers; *pp;) {
		struct ktimer *k = *pp;
		if (k->proc == p && (!posix_only || k->id != REAL_ID)) {
			*pp = k->next;
			kfree(k);
			nr_timers--;
		} else {
			pp = &k->next;
		}
	}
	recompute();
}

void itimer_proc_exit(struct proc *p)
{
	remove_where(p, false);
}

void itimer_exec(struct proc *p)
{
	remove_where(p, true);
}

static struct ktimer *timer_new(struct proc *p, int id)
{
	if (nr_timers >= MAX_TIMERS)
		return NULL;
	struct ktimer *k = kmalloc(sizeof(*k));
	if (!k)
		return NULL;
	k->proc = p;
	k->id = id;
	k->next = timers;
	timers = k;
	nr_timers++;
	return k;
}

/* ---- time conversions ---- */

struct ktimespec {
	int64_t sec, nsec;
};
struct kitimerspec {
	struct ktimespec interval, value;
};
struct ktimeval {
	int64_t sec, usec;
};
struct kitimerval {
	struct ktimeval interval, value;
};

static int ts_ns(const struct ktimespec *ts, uint64_t *ns)
{
	if (ts->sec < 0 || ts->nsec < 0 || ts->nsec >= (int64_t)NS)
		return -EINVAL;
	*ns = (uint64_t)ts->sec >= FAR_FUTURE / NS ? FAR_FUTURE : (uint64_t)ts->sec * NS + (uint64_t)ts->nsec;
	return 0;
}

static struct ktimespec ns_ts(uint64_t ns)
{
	return (struct ktimespec){ (int64_t)(ns / NS), (int64_t)(ns % NS) };
}

/* The time left and the interval, as timer_gettime/getitimer report them. */
static void remaining(struct ktimer *k, uint64_t now, uint64_t *left, uint64_t *interval)
{
	*interval = k ? k->interval : 0;
	*left = 0;
	if (!k || !k->expires)
		return;
	if (k->notify == SIGEV_NONE && now >= k->expires)
		forward(k, now); /* never fires: its periods just pass */
	if (k->expires > now)
		*left = k->expires - now;
	else if (k->expires)
		*left = 1; /* due but not yet fired: still armed */
}

/* Arm (value > 0) or disarm (value == 0); value is relative unless abs (then on the timer's clock). */
static void arm(struct ktimer *k, uint64_t now, uint64_t value, uint64_t interval, bool abs)
{
	k->interval = interval;
	k->overrun = k->overrun_last = 0;
	if (!value) {
		k->expires = 0;
	} else if (!abs) {
		k->expires = now + MIN(value, FAR_FUTURE);
	} else {
		uint64_t clk_now = k->clock == CLOCK_REALTIME ? clock_realtime_ns() : now;
		k->expires = value > clk_now ? now + MIN(value - clk_now, FAR_FUTURE) : now;
	}
	if (k->expires == 0 && value)
		k->expires = 1;
	uint64_t before = next_deadline;
	recompute();
	if (next_deadline && (!before || next_deadline < before))
		sched_timer_update(); /* the tickless timer must not sleep past it */
}

/* ---- POSIX timers ---- */

struct ksigevent {
	uint64_t value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};
_Static_assert(sizeof(struct ksigevent) == 64, "sigevent");

long sys_timer_create(int clock, uint64_t usev, uint64_t uid)
{
	switch (clock) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_BOOTTIME:
	/* CPU-time clocks read as running time (sys_time.c): one process per dedicated vCPU. */
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		break;
	default:
		return -EINVAL;
	}
	struct proc *p = current_proc();
	int id = 0;
	while (find(p, id))
		id++;
	struct ksigevent ev = { .value = (uint64_t)id, .signo = SIGALRM, .notify = SIGEV_SIGNAL };
	if (usev && copy_from_user(&ev, usev, sizeof(ev)))
		return -EFAULT;
	switch (ev.notify) {
	case SIGEV_SIGNAL | SIGEV_THREAD_ID: {
		struct thread *t = proc_thread(p, ev.tid);
		if (!t)
			return -EINVAL;
	}
		/* fall through */
	case SIGEV_SIGNAL:
	case SIGEV_THREAD:
		if (ev.signo <= 0 || ev.signo > NSIG)
			return -EINVAL;
		break;
	case SIGEV_NONE:
		break;
	default:
		return -EINVAL;
	}
	struct ktimer *k = timer_new(p, id);
	if (!k)
		return -EAGAIN;
	k->clock = clock;
	k->notify = ev.notify;
	k->signo = ev.signo;
	k->tid = ev.tid;
	k->value = ev.value;
	int32_t tid32 = id;
	if (copy_to_user(uid, &tid32, sizeof(tid32))) {
		timers = k->next;
		kfree(k);
		nr_timers--;
		return -EFAULT;
	}
	return 0;
}

long sys_timer_settime(int id, int flags, uint64_t unew, uint64_t uold)
{
	struct kitimerspec n;
	uint64_t value, interval;
	if (copy_from_user(&n, unew, sizeof(n)))
		return -EFAULT;
	int r = ts_ns(&n.value, &value);
	if (!r)
		r = ts_ns(&n.interval, &interval);
	if (r)
		return r;
	struct ktimer *k = find(current_proc(), id);
	if (!k || id < 0)
		return -EINVAL;
	uint64_t now = now_ticked(), left, ival;
	remaining(k, now, &left, &ival);
	arm(k, now, value, interval, flags & TIMER_ABSTIME);
	if (uold) {
		struct kitimerspec o = { ns_ts(ival), ns_ts(left) };
		if (copy_to_user(uold, &o, sizeof(o)))
			return -EFAULT;
	}
	return 0;
}

long sys_timer_gettime(int id, uint64_t ucur)
{
	struct ktimer *k = find(current_proc(), id);
	if (!k || id < 0)
		return -EINVAL;
	uint64_t left, ival;
	remaining(k, now_ticked(), &left, &ival);
	struct kitimerspec c = { ns_ts(ival), ns_ts(left) };
	return copy_to_user(ucur, &c, sizeof(c));
}

long sys_timer_getoverrun(int id)
{
	struct ktimer *k = find(current_proc(), id);
	if (!k || id < 0)
		return -EINVAL;
	return k->overrun_last;
}

long sys_timer_delete(int id)
{
	struct proc *p = current_proc();
	for (struct ktimer **pp = &timers; *pp; pp = &(*pp)->next) {
		struct ktimer *k = *pp;
		if (k->proc == p && k->id == id && id >= 0) {
			*pp = k->next;
			kfree(k);
			nr_timers--;
			recompute();
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- ITIMER_REAL and alarm ---- */

static struct ktimer *real_timer(struct proc *p, bool create)
{
	struct ktimer *k = find(p, REAL_ID);
	if (!k && create) {
		k = timer_new(p, REAL_ID);
		if (k) {
			k->clock = CLOCK_MONOTONIC;
			k->notify = SIGEV_SIGNAL;
			k->signo = SIGALRM;
		}
	}
	return k;
}

static struct ktimeval ns_tv(uint64_t ns)
{
	return (struct ktimeval){ (int64_t)(ns / NS), (int64_t)(ns % NS / 1000) };
}

static int tv_ns(const struct ktimeval *tv, uint64_t *ns)
{
	if (tv->sec < 0 || tv->usec < 0 || tv->usec >= 1000000)
		return -EINVAL;
	*ns = (uint64_t)tv->sec >= FAR_FUTURE / NS ? FAR_FUTURE : (uint64_t)tv->sec * NS + (uint64_t)tv->usec * 1000;
	return 0;
}

long sys_getitimer(int which, uint64_t ucur)
{
	if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
		return -EINVAL;
	uint64_t left = 0, ival = 0;
	if (which == ITIMER_REAL)
		remaining(real_timer(current_proc(), false), now_ticked(), &left, &ival);
	struct kitimerval c = { ns_tv(ival), ns_tv(left) };
	return copy_to_user(ucur, &c, sizeof(c));
}

/*
 * ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time, which the
 * kernel does not account: arming them is EINVAL (disarming works).
 */
long sys_setitimer(int which, uint64_t unew, uint64_t uold)
{
	if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
		return -EINVAL;
	struct kitimerval n = { { 0, 0 }, { 0, 0 } };
	uint64_t value, interval;
	/* A NULL new value disarms (a Linux misfeature programs rely on). */
	if (unew && copy_from_user(&n, unew, sizeof(n)))
		return -EFAULT;
	int r = tv_ns(&n.value, &value);
	if (!r)
		r = tv_ns(&n.interval, &interval);
	if (r)
		return r;
	uint64_t left = 0, ival = 0;
	if (which != ITIMER_REAL) {
		if (value)
			return -EINVAL;
	} else {
		struct proc *p = current_proc();
		struct ktimer *k = real_timer(p, value != 0);
		if (value && !k)
			return -ENOMEM;
		uint64_t now = now_ticked();
		remaining(k, now, &left, &ival);
		if (k)
			arm(k, now, value, interval, false);
	}
	if (uold) {
		struct kitimerval o = { ns_tv(ival), ns_tv(left) };
		if (copy_to_user(uold, &o, sizeof(o)))
			return -EFAULT;
	}
	return 0;
}

long sys_alarm(unsigned seconds)
{
	struct proc *p = current_proc();
	struct ktimer *k = real_timer(p, seconds != 0);
	uint64_t now = now_ticked(), left = 0, ival;
	remaining(k, now, &left, &ival);
	if (k)
		arm(k, now, (uint64_t)seconds * NS, 0, false);
	/* Whole seconds left, rounded as Linux's alarm_setitimer does. */
	uint64_t sec = left / NS, usec = left % NS / 1000;
	if ((!sec && usec) || usec >= 500000)
		sec++;
	return (long)sec;
}
