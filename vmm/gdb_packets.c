/*
 * gdb remote protocol commands (see gdb_packets.h). Every parser checks its
 * input to the last byte: a malformed packet gets "E16" (EINVAL), an unknown
 * one the empty reply (GDB manual E.1: "For any command not supported by
 * the stub, an empty response ("$#00") should be returned").
 */
#include "gdb_packets.h"
#include "gdb_tdesc.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- signals: gdb numbers them its own way (include/gdb/signals.def) ---- */

static const unsigned char linux_to_gdb[32] = {
	0, 1, 2, 3, 4, 5, 6, 10 /* BUS */, 8, 9, 30 /* USR1 */, 11, 31 /* USR2 */, 13, 14, 15,
	143 /* STKFLT: none */, 20 /* CHLD */, 19 /* CONT */, 17 /* STOP */, 18, 21, 22, 16 /* URG */,
	24, 25, 26, 27, 28, 23 /* IO */, 32 /* PWR */, 12 /* SYS */,
};

int gdb_signal_from_linux(int sig)
{
	if (sig >= 0 && sig < 32)
		return linux_to_gdb[sig];
	if (sig == 32)
		return 77;
	if (sig >= 33 && sig <= 63)
		return 45 + sig - 33;
	if (sig == 64)
		return 78;
	return 143;
}

int gdb_signal_to_linux(int gsig)
{
	for (int s = 0; s <= 64; s++)
		if (gdb_signal_from_linux(s) == gsig && gsig != 143)
			return s;
	return -1;
}

/* ---- reply building ------------------------------------------------------ */

static void put(struct gdb_reply *r, const void *p, size_t n)
{
	if (r->len + n > GDB_PACKET_MAX) {
		r->overflow = true;
		return;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = 0;
}

static void puts_(struct gdb_reply *r, const char *s) { put(r, s, strlen(s)); }

static void printf_(struct gdb_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(struct gdb_reply *r, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		r->overflow = true;
	else
		put(r, tmp, (size_t)n);
}

static void put_hex(struct gdb_reply *r, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		char h[2] = { hex[b[i] >> 4], hex[b[i] & 15] };
		put(r, h, 2);
	}
}

static enum gdb_action error(struct gdb_reply *r, int err)
{
	r->len = 0;
	r->overflow = false;
	printf_(r, "E%02x", (err > 0 && err < 256) ? err : EINVAL);
	return GDB_SEND_REPLY;
}

/* A target result: 0 -> OK, -EOPNOTSUPP -> empty (not supported), else E. */
static enum gdb_action result(struct gdb_reply *r, int rc)
{
	if (rc == -EOPNOTSUPP)
		return GDB_SEND_REPLY;
	if (rc < 0)
		return error(r, -rc);
	puts_(r, "OK");
	return GDB_SEND_REPLY;
}

/* ---- parsing -------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* One to 16 hex digits. */
static bool parse_hex(const char **p, uint64_t *v)
{
	uint64_t x = 0;
	int n = 0;
	while (hexval(**p) >= 0) {
		if (++n > 16)
			return false;
		x = x << 4 | (uint64_t)hexval(**p);
		(*p)++;
	}
	*v = x;
	return n > 0;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static bool decode_hex(const char *h, size_t hexlen, uint8_t *out)
{
	if (hexlen % 2)
		return false;
	for (size_t i = 0; i < hexlen / 2; i++) {
		int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);
		if (a < 0 || b < 0)
			return false;
		out[i] = (uint8_t)(a << 4 | b);
	}
	return true;
}

/* A thread-id component: -1 (all), 0 (any) or a positive hex number. */
static bool parse_id(const char **p, int64_t *v)
{
	if ((*p)[0] == '-' && (*p)[1] == '1') {
		*p += 2;
		*v = -1;
		return true;
	}
	uint64_t x;
	if (!parse_hex(p, &x) || x > INT64_MAX)
		return false;
	*v = (int64_t)x;
	return true;
}

/* "pPID.TID", "pPID" (= all its threads), or "TID" (E.1 "thread-id syntax"). */
static bool parse_tid(const char **p, struct gdb_tid *t)
{
	if (**p == 'p') {
		(*p)++;
		if (!parse_id(p, &t->pid))
			return false;
		t->tid = -1;
		if (**p == '.') {
			(*p)++;
			return parse_id(p, &t->tid);
		}
		return true;
	}
	t->pid = 0;
	return parse_id(p, &t->tid);
}

static void put_tid(struct gdb_session *s, struct gdb_reply *r, struct gdb_tid t)
{
	if (s->multiprocess)
		printf_(r, "p%llx.%llx", (unsigned long long)t.pid, (unsigned long long)t.tid);
	else
		printf_(r, "%llx", (unsigned long long)t.tid);
}

/* ---- threads ------------------------------------------------------------- */

static int refresh_threads(struct gdb_session *s)
{
	int n = s->t->ops->threads(s->t->ctx, s->threads, GDB_MAX_THREADS);
	s->nthreads = n < 0 ? 0 : n > GDB_MAX_THREADS ? GDB_MAX_THREADS : n;
	return s->nthreads;
}

static bool tid_matches(struct gdb_tid pattern, struct gdb_tid t)
{
	if (pattern.pid > 0 && pattern.pid != t.pid)
		return false;
	if (pattern.pid == -1)
		return true;
	return pattern.tid <= 0 || pattern.tid == t.tid;
}

/* The concrete thread an H selection (or "any") stands for: the selected one
   if it exists, else the thread of the last stop, else the first thread. */
static bool resolve(struct gdb_session *s, struct gdb_tid sel, struct gdb_tid *out)
{
	if (refresh_threads(s) == 0)
		return false;
	if (sel.tid > 0) {
		for (int i = 0; i < s->nthreads; i++)
			if (tid_matches(sel, s->threads[i])) {
				*out = s->threads[i];
				return true;
			}
		return false;
	}
	if (s->have_last && s->last.kind == GDB_STOP_SIGNAL)
		for (int i = 0; i < s->nthreads; i++)
			if (s->threads[i].pid == s->last.tid.pid && s->threads[i].tid == s->last.tid.tid &&
			    tid_matches(sel, s->threads[i])) {
				*out = s->threads[i];
				return true;
			}
	for (int i = 0; i < s->nthreads; i++)
		if (tid_matches(sel, s->threads[i])) {
			*out = s->threads[i];
			return true;
		}
	return false;
}

/* ---- stop replies (E.3 "Stop Reply Packets") ------------------------------ */

enum gdb_action gdb_stop_reply(struct gdb_session *s, const struct gdb_stop *st, struct gdb_reply *r)
{
	r->len = 0;
	s->last = *st;
	s->have_last = true;
	if (st->kind == GDB_STOP_EXITED || st->kind == GDB_STOP_KILLED) {
		if (st->kind == GDB_STOP_EXITED)
			printf_(r, "W%02x", st->status & 0xff);
		else
			printf_(r, "X%02x", gdb_signal_from_linux(st->signo));
		if (s->multiprocess)
			printf_(r, ";process:%llx", (unsigned long long)st->tid.pid);
		return refresh_threads(s) == 0 ? GDB_SEND_AND_CLOSE : GDB_SEND_REPLY;
	}
	/*
	 * The stopped thread becomes the general thread, as gdbserver does:
	 * gdb records it as current from the reply and sends no Hg for it
	 * (remote.c, record_currthread).
	 */
	s->g_thread = st->tid;
	printf_(r, "T%02xthread:", gdb_signal_from_linux(st->signo));
	put_tid(s, r, st->tid);
	puts_(r, ";");
	/* The reason fields (E.3): its name, whether gdb asked for it, what follows the colon. */
	enum { NOTHING, ADDR, VALUE, CHILD, PATH };
	const struct { const char *name; bool wanted; int arg; } why[] = {
		[GDB_STOP_REASON_NONE]           = { NULL, false, NOTHING },
		[GDB_STOP_REASON_SWBREAK]        = { "swbreak", s->swbreak, NOTHING },
		[GDB_STOP_REASON_HWBREAK]        = { "hwbreak", s->hwbreak, NOTHING },
		[GDB_STOP_REASON_WATCH]          = { "watch", true, ADDR },
		[GDB_STOP_REASON_RWATCH]         = { "rwatch", true, ADDR },
		[GDB_STOP_REASON_AWATCH]         = { "awatch", true, ADDR },
		[GDB_STOP_REASON_SYSCALL_ENTRY]  = { "syscall_entry", true, VALUE },
		[GDB_STOP_REASON_SYSCALL_RETURN] = { "syscall_return", true, VALUE },
		[GDB_STOP_REASON_FORK]           = { "fork", s->fork_events, CHILD },
		[GDB_STOP_REASON_VFORK]          = { "vfork", s->vfork_events, CHILD },
		[GDB_STOP_REASON_VFORKDONE]      = { "vforkdone", s->vfork_events, NOTHING },
		[GDB_STOP_REASON_EXEC]           = { "exec", s->exec_events, PATH },
	};
	if ((size_t)st->reason < sizeof(why) / sizeof(why[0]) && why[st->reason].wanted) {
		printf_(r, "%s:", why[st->reason].name);
		switch (why[st->reason].arg) {
		case ADDR: printf_(r, "%llx", (unsigned long long)st->addr); break;
		case VALUE: printf_(r, "%llx", (unsigned long long)st->value); break;
		case CHILD: put_tid(s, r, st->child); break;
		case PATH: put_hex(r, st->path, strnlen(st->path, sizeof(st->path))); break;
		}
		puts_(r, ";");
	}
	return GDB_SEND_REPLY;
}

/* '?' before any stop: the target is stopped at its start (gdb_target.h). */
static enum gdb_action why_stopped(struct gdb_session *s, struct gdb_reply *r)
{
	if (s->have_last)
		return gdb_stop_reply(s, &s->last, r);
	struct gdb_stop st = { .kind = GDB_STOP_SIGNAL, .signo = 5 /* SIGTRAP */ };
	if (refresh_threads(s) == 0)
		return error(r, ESRCH);
	st.tid = s->threads[0];
	return gdb_stop_reply(s, &st, r);
}

/* ---- registers and memory ------------------------------------------------ */

static bool current(struct gdb_session *s, struct gdb_tid *t) { return resolve(s, s->g_thread, t); }

/* The current thread (Hg) and its registers: 0 or -errno. */
static int current_regs(struct gdb_session *s, struct gdb_tid *t, struct gdb_regs *regs)
{
	return current(s, t) ? s->t->ops->get_regs(s->t->ctx, *t, regs) : -ESRCH;
}

static enum gdb_action read_regs(struct gdb_session *s, struct gdb_reply *r)
{
	struct gdb_tid t;
	struct gdb_regs regs;
	uint8_t wire[GDB_REGS_BYTES];
	int rc = current_regs(s, &t, &regs);
	if (rc < 0)
		return error(r, -rc);
	gdb_regs_to_wire(&regs, wire);
	put_hex(r, wire, sizeof(wire));
	return GDB_SEND_REPLY;
}

static enum gdb_action write_regs(struct gdb_session *s, const char *hex, size_t len, struct gdb_reply *r)
{
	struct gdb_tid t;
	struct gdb_regs regs;
	uint8_t wire[GDB_REGS_BYTES];
	if (len != 2 * sizeof(wire) || !decode_hex(hex, len, wire))
		return error(r, EINVAL);
	int rc = current_regs(s, &t, &regs);  /* keeps what the image does not carry */
	if (rc < 0)
		return error(r, -rc);
	gdb_regs_from_wire(&regs, wire);
	return result(r, s->t->ops->set_regs(s->t->ctx, t, &regs));
}

/* p n / P n=v: one register of the g image. */
static enum gdb_action one_reg(struct gdb_session *s, const char *p, bool write, struct gdb_reply *r)
{
	uint64_t n;
	size_t off, size;
	struct gdb_tid t;
	struct gdb_regs regs;
	uint8_t wire[GDB_REGS_BYTES];
	if (!parse_hex(&p, &n) || (write ? !expect(&p, '=') : *p != 0))
		return error(r, EINVAL);
	if (n >= GDB_NUM_REGS || gdb_reg_span((int)n, &off, &size) < 0)
		return error(r, EINVAL);
	if (write && (strlen(p) != 2 * size))
		return error(r, EINVAL);
	int rc = current_regs(s, &t, &regs);
	if (rc < 0)
		return error(r, -rc);
	gdb_regs_to_wire(&regs, wire);
	if (!write) {
		put_hex(r, wire + off, size);
		return GDB_SEND_REPLY;
	}
	if (!decode_hex(p, 2 * size, wire + off))
		return error(r, EINVAL);
	gdb_regs_from_wire(&regs, wire);
	return result(r, s->t->ops->set_regs(s->t->ctx, t, &regs));
}

/* "ADDR,LENGTH" followed by `end` (0 or ':'). */
static bool parse_addr_len(const char **p, uint64_t *addr, uint64_t *len, char end)
{
	return parse_hex(p, addr) && expect(p, ',') && parse_hex(p, len) && **p == end;
}

static enum gdb_action read_mem(struct gdb_session *s, const char *p, struct gdb_reply *r)
{
	uint64_t addr, len;
	struct gdb_tid t;
	static uint8_t buf[GDB_PACKET_MAX / 2];
	if (!parse_addr_len(&p, &addr, &len, 0))
		return error(r, EINVAL);
	if (len > sizeof(buf))
		len = sizeof(buf);  /* a short reply is allowed (E.1 'm') */
	if (len == 0)
		return GDB_SEND_REPLY;
	if (!current(s, &t))
		return error(r, ESRCH);
	ssize_t n = s->t->ops->read_mem(s->t->ctx, t, addr, buf, len);
	if (n <= 0)
		return error(r, n < 0 ? (int)-n : EFAULT);
	put_hex(r, buf, (size_t)n);
	return GDB_SEND_REPLY;
}

static enum gdb_action write_mem(struct gdb_session *s, char *p, size_t plen, bool binary, struct gdb_reply *r)
{
	uint64_t addr, len;
	struct gdb_tid t;
	static uint8_t buf[GDB_PACKET_MAX];
	const char *q = p;
	if (!parse_addr_len(&q, &addr, &len, ':'))
		return error(r, EINVAL);
	q++;
	size_t datalen = plen - (size_t)(q - p);
	if (binary) {
		datalen = gdb_unescape_binary((char *)q, datalen);
		if (datalen != len || len > sizeof(buf))
			return error(r, EINVAL);
		memcpy(buf, q, len);
	} else if (len > sizeof(buf) / 2 || datalen != 2 * len || !decode_hex(q, datalen, buf)) {
		return error(r, EINVAL);
	}
	if (len == 0) {  /* gdb probes X support with an empty write */
		puts_(r, "OK");
		return GDB_SEND_REPLY;
	}
	if (!current(s, &t))
		return error(r, ESRCH);
	ssize_t n = s->t->ops->write_mem(s->t->ctx, t, addr, buf, len);
	if (n < 0)
		return error(r, (int)-n);
	if ((uint64_t)n != len)
		return error(r, EFAULT);
	puts_(r, "OK");
	return GDB_SEND_REPLY;
}

/* ---- breakpoints (Z/z, E.1) ------------------------------------------------ */

static enum gdb_action breakpoint(struct gdb_session *s, const char *p, bool insert, struct gdb_reply *r)
{
	uint64_t type, addr, kind;
	struct gdb_tid t;
	if (!parse_hex(&p, &type) || !expect(&p, ',') || !parse_hex(&p, &addr) || !expect(&p, ',') ||
	    !parse_hex(&p, &kind) || (*p && *p != ';'))
		return error(r, EINVAL);
	if (kind == 0 || kind > 8)
		return error(r, EINVAL);
	static const unsigned need[] = { GDB_CAP_SW_BREAK, GDB_CAP_HW_BREAK, GDB_CAP_WATCH, GDB_CAP_WATCH, GDB_CAP_WATCH };
	if (type > 4 || !(s->caps & need[type]))
		return GDB_SEND_REPLY;
	if (!current(s, &t))
		return error(r, ESRCH);
	int (*op)(void *, struct gdb_tid, enum gdb_bp_type, uint64_t, int) =
		insert ? s->t->ops->insert_bp : s->t->ops->remove_bp;
	return result(r, op(s->t->ctx, t, (enum gdb_bp_type)type, addr, (int)kind));
}

/* ---- resuming ------------------------------------------------------------- */

struct vcont_action {
	enum gdb_resume_kind kind;
	int signo;
	bool has_tid;
	struct gdb_tid tid;
};

#define MAX_VCONT_ACTIONS 64

/* Per-thread actions: for each thread the leftmost matching action (E.1
   vCont: "the leftmost action with a matching thread-id is applied"). */
static enum gdb_action do_resume(struct gdb_session *s, const struct vcont_action *a, int na, struct gdb_reply *r)
{
	static struct gdb_resume res[GDB_MAX_THREADS];
	int n = refresh_threads(s), active = 0;
	for (int i = 0; i < n; i++) {
		res[i] = (struct gdb_resume){ .tid = s->threads[i], .kind = GDB_RESUME_STOPPED };
		for (int k = 0; k < na; k++) {
			struct gdb_tid pat = a[k].tid;
			if (a[k].has_tid && !tid_matches(pat, s->threads[i]))
				continue;
			res[i].kind = a[k].kind;
			res[i].signo = a[k].signo;
			break;
		}
		active += res[i].kind != GDB_RESUME_STOPPED;
	}
	if (active == 0)
		return error(r, ESRCH);
	int rc = s->t->ops->resume(s->t->ctx, res, n);
	if (rc < 0)
		return error(r, -rc);
	s->started = true;
	s->have_last = false;
	return GDB_RESUMED;
}

static bool parse_signal(const char **p, int *linux_sig)
{
	uint64_t g;
	if (!parse_hex(p, &g) || g > 255)
		return false;
	int sig = g ? gdb_signal_to_linux((int)g) : 0;
	if (sig < 0)
		return false;
	*linux_sig = sig;
	return true;
}

static enum gdb_action vcont(struct gdb_session *s, const char *p, struct gdb_reply *r)
{
	struct vcont_action a[MAX_VCONT_ACTIONS];
	int na = 0;
	while (*p == ';') {
		p++;
		if (na == MAX_VCONT_ACTIONS)
			return error(r, EINVAL);
		struct vcont_action *x = &a[na++];
		*x = (struct vcont_action){ 0 };
		char c = *p++;
		switch (c) {
		case 'c': x->kind = GDB_RESUME_CONTINUE; break;
		case 's': x->kind = GDB_RESUME_STEP; break;
		case 't': x->kind = GDB_RESUME_STOPPED; break;
		case 'C': case 'S':
			x->kind = c == 'C' ? GDB_RESUME_CONTINUE : GDB_RESUME_STEP;
			if (!parse_signal(&p, &x->signo))
				return error(r, EINVAL);
			break;
		default:
			return error(r, EINVAL);
		}
		if (*p == ':') {
			p++;
			x->has_tid = true;
			if (!parse_tid(&p, &x->tid))
				return error(r, EINVAL);
		}
	}
	if (*p || na == 0)
		return error(r, EINVAL);
	return do_resume(s, a, na, r);
}

/* Legacy c [addr] / s [addr] / C sig[;addr] / S sig[;addr]: continue all,
   or step the Hc thread alone. */
static enum gdb_action legacy_resume(struct gdb_session *s, char cmd, const char *p, struct gdb_reply *r)
{
	struct vcont_action a[2] = { 0 };
	int signo = 0;
	if (cmd == 'C' || cmd == 'S') {
		if (!parse_signal(&p, &signo))
			return error(r, EINVAL);
		if (*p && !expect(&p, ';'))
			return error(r, EINVAL);
	}
	if (*p) {
		uint64_t addr;
		struct gdb_tid t;
		struct gdb_regs regs;
		if (!parse_hex(&p, &addr) || *p)
			return error(r, EINVAL);
		if (!resolve(s, s->c_thread, &t))
			return error(r, ESRCH);
		int rc = s->t->ops->get_regs(s->t->ctx, t, &regs);
		if (rc == 0) {
			regs.rip = addr;
			rc = s->t->ops->set_regs(s->t->ctx, t, &regs);
		}
		if (rc < 0)
			return error(r, -rc);
	}
	bool step = cmd == 's' || cmd == 'S';
	a[0].kind = step ? GDB_RESUME_STEP : GDB_RESUME_CONTINUE;
	a[0].signo = signo;
	if (step) {
		a[0].has_tid = true;
		if (!resolve(s, s->c_thread, &a[0].tid))
			return error(r, ESRCH);
		if (!s->multiprocess)
			a[0].tid.pid = 0;
	}
	return do_resume(s, a, 1, r);
}

/* ---- queries ----------------------------------------------------------------- */

static bool starts(const char *p, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);
	if (strncmp(p, prefix, n))
		return false;
	if (rest)
		*rest = p + n;
	return true;
}

static enum gdb_action supported(struct gdb_session *s, const char *p, struct gdb_reply *r)
{
	/* gdb's features: "name+", "name-", "name=value", ';' separated. */
	bool gdb_multiprocess = false;
	while (*p) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 13 && !strncmp(p, "multiprocess+", n)) gdb_multiprocess = true;
		if (n == 8 && !strncmp(p, "swbreak+", n)) s->swbreak = true;
		if (n == 8 && !strncmp(p, "hwbreak+", n)) s->hwbreak = true;
		if (n == 12 && !strncmp(p, "fork-events+", n)) s->fork_events = !!(s->caps & GDB_CAP_FORK_EVENTS);
		if (n == 13 && !strncmp(p, "vfork-events+", n)) s->vfork_events = !!(s->caps & GDB_CAP_FORK_EVENTS);
		if (n == 12 && !strncmp(p, "exec-events+", n)) s->exec_events = !!(s->caps & GDB_CAP_EXEC_EVENTS);
		p += n;
		if (*p == ';')
			p++;
	}
	s->multiprocess = gdb_multiprocess && (s->caps & GDB_CAP_MULTIPROCESS);
	const struct gdb_target_ops *o = s->t->ops;
	if (!s->multiprocess)  /* the child's id in a fork stop needs pPID.TID */
		s->fork_events = s->vfork_events = false;
	if (o->events)
		o->events(s->t->ctx, s->fork_events, s->vfork_events, s->exec_events);
	printf_(r, "PacketSize=%x;QStartNoAckMode+;qXfer:features:read+;vContSupported+", GDB_PACKET_MAX);
	if (s->multiprocess) puts_(r, ";multiprocess+");
	if (s->swbreak) puts_(r, ";swbreak+");
	if (s->hwbreak) puts_(r, ";hwbreak+");
	if (s->fork_events) puts_(r, ";fork-events+");
	if (s->vfork_events) puts_(r, ";vfork-events+");
	if (s->exec_events) puts_(r, ";exec-events+");
	if (o->xfer_read) puts_(r, ";qXfer:auxv:read+;qXfer:exec-file:read+;qXfer:siginfo:read+");
	if (o->catch_syscalls && (s->caps & GDB_CAP_CATCH_SYSCALL)) puts_(r, ";QCatchSyscalls+");
	if (o->pass_signals && (s->caps & GDB_CAP_PASS_SIGNALS)) puts_(r, ";QPassSignals+");
	if (o->program_signals && (s->caps & GDB_CAP_PASS_SIGNALS)) puts_(r, ";QProgramSignals+");
	return GDB_SEND_REPLY;
}

static enum gdb_action thread_info(struct gdb_session *s, bool first, struct gdb_reply *r)
{
	if (first) {
		refresh_threads(s);
		s->thread_iter = 0;
	}
	if (s->thread_iter >= s->nthreads) {
		puts_(r, "l");
		return GDB_SEND_REPLY;
	}
	puts_(r, "m");
	/* Stay well inside the packet: the rest comes with qsThreadInfo. */
	for (int k = 0; s->thread_iter < s->nthreads && r->len < GDB_PACKET_MAX - 64; k++) {
		if (k)
			puts_(r, ",");
		put_tid(s, r, s->threads[s->thread_iter++]);
	}
	return GDB_SEND_REPLY;
}

/* qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH -> "m" data (more) or "l" data (last). */
static enum gdb_action xfer(struct gdb_session *s, char *p, struct gdb_reply *r)
{
	char *object = p, *colon = strchr(p, ':');
	if (!colon)
		return error(r, EINVAL);
	*colon = 0;
	p = colon + 1;
	if (!starts(p, "read:", (const char **)&p))
		return GDB_SEND_REPLY;  /* writes are not supported */
	char *annex = p;
	colon = strchr(p, ':');
	if (!colon)
		return error(r, EINVAL);
	*colon = 0;
	const char *q = colon + 1;
	uint64_t off, len;
	if (!parse_addr_len(&q, &off, &len, 0))
		return error(r, EINVAL);
	if (len > GDB_PACKET_MAX / 2)
		len = GDB_PACKET_MAX / 2;  /* escaping may double it */
	static uint8_t buf[GDB_PACKET_MAX / 2];
	ssize_t n;
	if (!strcmp(object, "features")) {
		if (strcmp(annex, "target.xml"))
			return error(r, ENOENT);
		const char *xml = gdb_tdesc_xml(!!(s->caps & GDB_CAP_PROCESS));
		size_t total = strlen(xml);
		n = off >= total ? 0 : (ssize_t)((total - off) < len ? total - off : len);
		if (n > 0)
			memcpy(buf, xml + off, (size_t)n);
	} else {
		struct gdb_tid t;
		if (!s->t->ops->xfer_read)
			return GDB_SEND_REPLY;
		if (!current(s, &t))
			return error(r, ESRCH);
		n = s->t->ops->xfer_read(s->t->ctx, t, object, annex, off, buf, len);
		if (n == -EOPNOTSUPP)
			return GDB_SEND_REPLY;
		if (n < 0)
			return error(r, (int)-n);
		if ((uint64_t)n > len)
			n = (ssize_t)len;
	}
	put(r, (uint64_t)n < len ? "l" : "m", 1);
	put(r, buf, (size_t)n);
	return GDB_SEND_REPLY;
}

static enum gdb_action monitor(struct gdb_session *s, const char *hex, struct gdb_reply *r)
{
	char cmd[512], out[GDB_PACKET_MAX / 2];
	size_t n = strlen(hex);
	if (n / 2 >= sizeof(cmd) || !decode_hex(hex, n, (uint8_t *)cmd))
		return error(r, EINVAL);
	cmd[n / 2] = 0;
	if (!s->t->ops->monitor)
		return GDB_SEND_REPLY;
	out[0] = 0;
	int rc = s->t->ops->monitor(s->t->ctx, cmd, out, sizeof(out));
	if (rc < 0)
		return result(r, rc);
	out[sizeof(out) - 1] = 0;
	if (!out[0])
		puts_(r, "OK");
	else
		put_hex(r, out, strlen(out));
	return GDB_SEND_REPLY;
}

/* QPassSignals:SIG;SIG... / QProgramSignals:... (gdb numbers, hex). */
static enum gdb_action signal_list(struct gdb_session *s, const char *p, bool program, struct gdb_reply *r)
{
	bool set[65] = { false };
	while (*p) {
		uint64_t g;
		if (!parse_hex(&p, &g) || g > 255 || (*p && !expect(&p, ';')))
			return error(r, EINVAL);
		int sig = gdb_signal_to_linux((int)g);
		if (sig > 0)
			set[sig] = true;
	}
	int (*op)(void *, const bool[65]) = program ? s->t->ops->program_signals : s->t->ops->pass_signals;
	if (!op || !(s->caps & GDB_CAP_PASS_SIGNALS))
		return GDB_SEND_REPLY;
	return result(r, op(s->t->ctx, set));
}

/* QCatchSyscalls:0 | QCatchSyscalls:1[;NR]... */
static enum gdb_action catch_syscalls(struct gdb_session *s, const char *p, struct gdb_reply *r)
{
	static uint64_t nrs[512];
	int n = 0;
	if (!s->t->ops->catch_syscalls || !(s->caps & GDB_CAP_CATCH_SYSCALL))
		return GDB_SEND_REPLY;
	if (!strcmp(p, "0"))
		return result(r, s->t->ops->catch_syscalls(s->t->ctx, false, NULL, 0));
	if (!expect(&p, '1'))
		return error(r, EINVAL);
	while (*p) {
		if (!expect(&p, ';') || n == 512 || !parse_hex(&p, &nrs[n++]))
			return error(r, EINVAL);
	}
	return result(r, s->t->ops->catch_syscalls(s->t->ctx, true, nrs, n));
}

/* ---- host I/O (E.1 "Host I/O Packets", E.13 "File-I/O Remote Protocol Extension") ---- */

/* The protocol's errno values (E.13.9 "Errno Values"): Linux's, except ENAMETOOLONG; others EUNKNOWN. */
static unsigned fio_errno(long e)
{
	static const unsigned char same[] = { 1, 2, 4, 9, 13, 14, 16, 17, 19, 20, 21, 22, 23, 24, 27, 28, 29, 30 };
	e = -e;
	for (size_t i = 0; i < sizeof(same); i++)
		if (e == same[i])
			return (unsigned)e;
	return e == ENAMETOOLONG ? 91 : 9999;
}

static enum gdb_action fio_result(struct gdb_reply *r, long rc)
{
	if (rc < 0)
		printf_(r, "F-1,%x", fio_errno(rc));
	else
		printf_(r, "F%lx", rc);
	return GDB_SEND_REPLY;
}

/* A hex-encoded path (NUL-free), up to `end` (0 or ','). */
static bool parse_path(const char **p, char end, char *path, size_t size)
{
	const char *e = end ? strchr(*p, end) : *p + strlen(*p);
	size_t hl = e ? (size_t)(e - *p) : 0;
	if (!e || hl == 0 || hl / 2 >= size || !decode_hex(*p, hl, (uint8_t *)path) || memchr(path, 0, hl / 2))
		return false;
	path[hl / 2] = 0;
	*p = e;
	return true;
}

/* An open vFile fd, or -1 (EBADF). */
static int vfile_fd(struct gdb_session *s, uint64_t fd)
{
	return fd < GDB_MAX_VFILES && s->vfile_used[fd] ? (int)fd : -1;
}

static void put_be(struct gdb_reply *r, uint64_t v, int bytes)
{
	uint8_t b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> 8 * (bytes - 1 - i));
	put(r, b, (size_t)bytes);
}

/* setfs, open (O_RDONLY), pread, fstat, close, readlink; the rest (writes) is not supported. */
static enum gdb_action vfile(struct gdb_session *s, const char *p, size_t len, struct gdb_reply *r)
{
	const struct gdb_target_ops *o = s->t->ops;
	uint64_t a, b, c;
	char path[256];
	int fd;
	if (!o->file_read || !o->file_stat || !o->file_readlink)
		return GDB_SEND_REPLY;
	if (strlen(p) != len)
		return error(r, EINVAL);
	if (starts(p, "setfs:", &p)) {
		if (!parse_hex(&p, &a) || *p || a > INT64_MAX)
			return error(r, EINVAL);
		s->vfile_pid = (int64_t)a;
		return fio_result(r, 0);
	}
	if (starts(p, "open:", &p)) {
		struct gdb_file_stat st;
		if (!parse_path(&p, ',', path, sizeof(path)) || !expect(&p, ',') || !parse_hex(&p, &a) ||
		    !expect(&p, ',') || !parse_hex(&p, &b) || *p)
			return error(r, EINVAL);
		if ((a & 3) != 0) /* FILEIO_O_RDONLY only */
			return fio_result(r, -EACCES);
		int rc = o->file_stat(s->t->ctx, s->vfile_pid, path, &st);
		if (rc < 0)
			return fio_result(r, rc);
		if ((st.mode & 0170000) == 0040000)
			return fio_result(r, -EISDIR);
		for (fd = 0; fd < GDB_MAX_VFILES; fd++)
			if (!s->vfile_used[fd]) {
				s->vfile_used[fd] = true;
				s->vfile_fd_pid[fd] = s->vfile_pid;
				memcpy(s->vfile_path[fd], path, sizeof(path));
				return fio_result(r, fd);
			}
		return fio_result(r, -EMFILE);
	}
	if (starts(p, "pread:", &p)) {
		static uint8_t buf[GDB_PACKET_MAX / 2 - 32]; /* escaping may double it */
		if (!parse_hex(&p, &a) || !expect(&p, ',') || !parse_hex(&p, &b) || !expect(&p, ',') ||
		    !parse_hex(&p, &c) || *p)
			return error(r, EINVAL);
		if ((fd = vfile_fd(s, a)) < 0)
			return fio_result(r, -EBADF);
		if (c > INT64_MAX)
			return fio_result(r, -EINVAL);
		ssize_t n = o->file_read(s->t->ctx, s->vfile_fd_pid[fd], s->vfile_path[fd], c, buf,
					 b < sizeof(buf) ? b : sizeof(buf));
		fio_result(r, n);
		if (n >= 0) {  /* "F0;" at the end: gdb wants the attachment even when empty */
			puts_(r, ";");
			put(r, buf, (size_t)n);
		}
		return GDB_SEND_REPLY;
	}
	if (starts(p, "fstat:", &p)) {
		struct gdb_file_stat st;
		if (!parse_hex(&p, &a) || *p)
			return error(r, EINVAL);
		if ((fd = vfile_fd(s, a)) < 0)
			return fio_result(r, -EBADF);
		int rc = o->file_stat(s->t->ctx, s->vfile_fd_pid[fd], s->vfile_path[fd], &st);
		if (rc < 0)
			return fio_result(r, rc);
		/* struct fio_stat (E.13.8 "struct stat"): big-endian, 64 bytes. */
		fio_result(r, 64);
		puts_(r, ";");
		put_be(r, 0, 4);                   /* st_dev */
		put_be(r, st.ino, 4);
		put_be(r, st.mode, 4);
		put_be(r, st.nlink, 4);
		put_be(r, 0, 4);                   /* st_uid */
		put_be(r, 0, 4);                   /* st_gid */
		put_be(r, 0, 4);                   /* st_rdev */
		put_be(r, st.size, 8);
		put_be(r, 4096, 8);                /* st_blksize */
		put_be(r, (st.size + 511) / 512, 8);
		for (int i = 0; i < 3; i++)
			put_be(r, 0, 4);           /* st_atime, st_mtime, st_ctime */
		return GDB_SEND_REPLY;
	}
	if (starts(p, "close:", &p)) {
		if (!parse_hex(&p, &a) || *p)
			return error(r, EINVAL);
		if ((fd = vfile_fd(s, a)) < 0)
			return fio_result(r, -EBADF);
		s->vfile_used[fd] = false;
		return fio_result(r, 0);
	}
	if (starts(p, "readlink:", &p)) {
		static char target[GDB_PACKET_MAX / 2 - 32];
		if (!parse_path(&p, 0, path, sizeof(path)))
			return error(r, EINVAL);
		ssize_t n = o->file_readlink(s->t->ctx, s->vfile_pid, path, target, sizeof(target));
		fio_result(r, n);
		if (n >= 0) {
			puts_(r, ";");
			put(r, target, (size_t)n);
		}
		return GDB_SEND_REPLY;
	}
	return GDB_SEND_REPLY;
}

/* ---- dispatch ------------------------------------------------------------------- */

void gdb_session_init(struct gdb_session *s, struct gdb_target *t)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->caps = t->ops->caps(t->ctx);
}

static enum gdb_action end_process(struct gdb_session *s, const char *p, bool kill, struct gdb_reply *r)
{
	int64_t pid = 0;
	struct gdb_tid t;
	if (*p) {
		if (!expect(&p, ';') || !parse_id(&p, &pid) || *p || pid <= 0)
			return error(r, EINVAL);
	} else if (resolve(s, (struct gdb_tid){ 0, 0 }, &t)) {
		pid = t.pid;
	}
	int rc = kill ? s->t->ops->kill(s->t->ctx, pid) : s->t->ops->detach(s->t->ctx, pid);
	if (rc < 0)
		return error(r, -rc);
	puts_(r, "OK");
	/* 1: one of several processes (D;PID after a fork), the others are still debugged. */
	return rc > 0 ? GDB_SEND_REPLY : GDB_SEND_AND_CLOSE;
}

enum gdb_action gdb_handle_packet(struct gdb_session *s, char *pkt, size_t len, struct gdb_reply *r)
{
	r->len = 0;
	r->overflow = false;
	r->buf[0] = 0;
	pkt[len] = 0;
	/* A NUL inside a text packet would hide its tail from the parsers: malformed
	   (binary payloads are X and vFile:pwrite, both handled by length). */
	bool has_nul = strlen(pkt) != len;
	if (len == 0)
		return GDB_SEND_REPLY;
	if (has_nul && pkt[0] != 'X')
		return error(r, EINVAL);
	const char *p = pkt + 1, *rest;
	enum gdb_action a = GDB_SEND_REPLY;
	switch (pkt[0]) {
	case '?': a = why_stopped(s, r); break;
	case 'g': a = *p ? error(r, EINVAL) : read_regs(s, r); break;
	case 'G': a = write_regs(s, p, len - 1, r); break;
	case 'p': a = one_reg(s, p, false, r); break;
	case 'P': a = one_reg(s, p, true, r); break;
	case 'm': a = read_mem(s, p, r); break;
	case 'M': a = write_mem(s, pkt + 1, len - 1, false, r); break;
	case 'X': a = write_mem(s, pkt + 1, len - 1, true, r); break;
	case 'c': case 'C': case 's': case 'S': a = legacy_resume(s, pkt[0], p, r); break;
	case 'Z': case 'z': a = breakpoint(s, p, pkt[0] == 'Z', r); break;
	case 'k':
		s->t->ops->kill(s->t->ctx, 0);
		return GDB_CLOSE;  /* E.1 'k': no reply is expected */
	case 'D': a = end_process(s, p, false, r); break;
	case 'H': {
		struct gdb_tid t;
		char which = *p++;
		if ((which != 'g' && which != 'c') || !parse_tid(&p, &t) || *p)
			return error(r, EINVAL);
		struct gdb_tid real;
		if (t.tid > 0 && !resolve(s, t, &real))
			return error(r, ESRCH);
		if (which == 'g')
			s->g_thread = t;
		else
			s->c_thread = t;
		puts_(r, "OK");
		break;
	}
	case 'T': {
		struct gdb_tid t, real;
		if (!parse_tid(&p, &t) || *p)
			return error(r, EINVAL);
		if (t.tid <= 0 || !resolve(s, t, &real))
			return error(r, ESRCH);
		a = result(r, s->t->ops->thread_alive(s->t->ctx, real));
		break;
	}
	case 'q':
		if (starts(pkt, "qSupported", &rest)) {
			if (*rest && *rest != ':')
				break;
			a = supported(s, *rest ? rest + 1 : rest, r);
		} else if (!strcmp(pkt, "qAttached") || starts(pkt, "qAttached:", NULL)) {
			/* 1: attached to an existing process, so quitting gdb detaches
			   rather than kills; kernel mode is a machine we attached to. */
			puts_(r, (s->caps & GDB_CAP_PROCESS) ? "0" : "1");
		} else if (!strcmp(pkt, "qC")) {
			struct gdb_tid t;
			if (!resolve(s, (struct gdb_tid){ 0, 0 }, &t))
				return error(r, ESRCH);
			puts_(r, "QC");
			put_tid(s, r, t);
		} else if (!strcmp(pkt, "qfThreadInfo")) {
			a = thread_info(s, true, r);
		} else if (!strcmp(pkt, "qsThreadInfo")) {
			a = thread_info(s, false, r);
		} else if (starts(pkt, "qXfer:", &rest)) {
			a = xfer(s, pkt + 6, r);
		} else if (starts(pkt, "qRcmd,", &rest)) {
			a = monitor(s, rest, r);
		} else if (!strcmp(pkt, "qSymbol::")) {
			puts_(r, "OK");  /* no symbols wanted */
		}
		break;
	case 'Q':
		if (!strcmp(pkt, "QStartNoAckMode")) {
			s->no_ack = true;  /* takes effect after this reply is acked (E.11) */
			puts_(r, "OK");
		} else if (starts(pkt, "QPassSignals:", &rest)) {
			a = signal_list(s, rest, false, r);
		} else if (starts(pkt, "QProgramSignals:", &rest)) {
			a = signal_list(s, rest, true, r);
		} else if (starts(pkt, "QCatchSyscalls:", &rest)) {
			a = catch_syscalls(s, rest, r);
		}
		break;
	case 'v':
		if (!strcmp(pkt, "vCont?")) {
			puts_(r, "vCont;c;C;s;S;t");
		} else if (starts(pkt, "vCont", &rest) && (*rest == ';' || !*rest)) {
			a = vcont(s, rest, r);
		} else if (starts(pkt, "vKill", &rest)) {
			a = end_process(s, rest, true, r);
		} else if (starts(pkt, "vFile:", &rest)) {
			a = vfile(s, rest, len - (size_t)(rest - pkt), r);
		}
		break;
	default:
		break;
	}
	if (r->overflow)
		return error(r, ENOMEM);
	return a;
}
