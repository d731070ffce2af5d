/*
 * Unit tests of the gdb stub's command layer (vmm/gdb_packets.c) against a
 * fake two-thread target: replies as the GDB manual's appendix E specifies
 * them (qSupported, ?, vCont's leftmost-match rule, H/g, m/M/X, Z with and
 * without the capability, qXfer:features, thread lists, stop replies with
 * thread ids, watch and syscall reasons, W/X with process ids), and the
 * Linux <-> gdb signal numbering (include/gdb/signals.def).
 */
#include <errno.h>
#include "unit.h"

#pragma GCC diagnostic ignored "-Wunused-parameter" /* the fake target ignores most arguments */
#include "vmm/gdb_packets.h"
#include "vmm/gdb_tdesc.h"

static unsigned caps = GDB_CAP_SW_BREAK | GDB_CAP_HW_BREAK;
static struct gdb_resume last_resume[4];
static int last_n, last_regs_tid, nthreads = 2;
static uint8_t mem[256];  /* at 0x1000 */

static unsigned f_caps(void *c) { return caps; }
static int f_threads(void *c, struct gdb_tid *o, int max)
{
	for (int i = 0; i < nthreads && i < max; i++)
		o[i] = (struct gdb_tid){ 1, i + 1 };
	return nthreads;
}
static int f_alive(void *c, struct gdb_tid t) { return t.tid <= nthreads ? 0 : -ESRCH; }
static int f_get(void *c, struct gdb_tid t, struct gdb_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rip = 0x1000 + (uint64_t)t.tid;
	last_regs_tid = (int)t.tid;
	return 0;
}
static int f_set(void *c, struct gdb_tid t, const struct gdb_regs *r) { return 0; }
static ssize_t f_rw(uint64_t a, void *b, size_t l, bool w)
{
	if (a < 0x1000 || a >= 0x1000 + sizeof(mem))
		return -EFAULT;
	size_t n = 0x1000 + sizeof(mem) - a < l ? 0x1000 + sizeof(mem) - a : l;
	if (w)
		memcpy(mem + a - 0x1000, b, n);
	else
		memcpy(b, mem + a - 0x1000, n);
	return (ssize_t)n;
}
static ssize_t f_read(void *c, struct gdb_tid t, uint64_t a, void *b, size_t l) { return f_rw(a, b, l, false); }
static ssize_t f_write(void *c, struct gdb_tid t, uint64_t a, const void *b, size_t l) { return f_rw(a, (void *)b, l, true); }
static int f_ins(void *c, struct gdb_tid t, enum gdb_bp_type ty, uint64_t a, int l) { return a == 0x1000 ? 0 : -ENOSPC; }
static int f_rem(void *c, struct gdb_tid t, enum gdb_bp_type ty, uint64_t a, int l) { return -ENOENT; }
static int f_resume(void *c, const struct gdb_resume *a, int n)
{
	last_n = n;
	memcpy(last_resume, a, sizeof(*a) * (size_t)n);
	return 0;
}
static int f_wait(void *c, struct gdb_stop *s, int fd) { return 1; }
static void f_intr(void *c) {}
static int f_kill(void *c, int64_t p) { return 0; }
static int f_detach(void *c, int64_t p) { return 0; }
static void f_end(void *c) {}

static const struct gdb_target_ops ops = {
	.caps = f_caps, .threads = f_threads, .thread_alive = f_alive, .get_regs = f_get, .set_regs = f_set,
	.read_mem = f_read, .write_mem = f_write, .insert_bp = f_ins, .remove_bp = f_rem, .resume = f_resume,
	.wait = f_wait, .interrupt = f_intr, .kill = f_kill, .detach = f_detach, .session_end = f_end,
};
static struct gdb_target target = { .ops = &ops };
static struct gdb_session s;
static struct gdb_reply r;
static enum gdb_action act;

static const char *pkt(const char *p)
{
	static char buf[GDB_PACKET_MAX + 1];
	size_t n = strlen(p);
	memcpy(buf, p, n + 1);
	act = gdb_handle_packet(&s, buf, n, &r);
	return r.buf;
}
#define REPLY(p, want) CHECK_MSG(!strcmp(pkt(p), want), "%s -> \"%s\" (want \"%s\")", p, r.buf, want)

static const char *stop(struct gdb_stop st)
{
	act = gdb_stop_reply(&s, &st, &r);
	return r.buf;
}

int main(void)
{
	/* Signals: gdb's numbering differs from Linux's past 6. */
	CHECK(gdb_signal_from_linux(5) == 5 && gdb_signal_from_linux(7) == 10 && gdb_signal_from_linux(10) == 30);
	CHECK(gdb_signal_from_linux(11) == 11 && gdb_signal_from_linux(17) == 20 && gdb_signal_from_linux(32) == 77);
	CHECK(gdb_signal_from_linux(33) == 45 && gdb_signal_from_linux(64) == 78 && gdb_signal_from_linux(99) == 143);
	CHECK(gdb_signal_to_linux(30) == 10 && gdb_signal_to_linux(10) == 7 && gdb_signal_to_linux(143) == -1);

	gdb_session_init(&s, &target);
	REPLY("?", "T05thread:1;");
	pkt("qSupported:multiprocess+;swbreak+;xmlRegisters=i386");
	CHECK(strstr(r.buf, "PacketSize=4000;") && strstr(r.buf, "QStartNoAckMode+") &&
	      strstr(r.buf, "qXfer:features:read+") && strstr(r.buf, "swbreak+"));
	CHECK(!strstr(r.buf, "multiprocess+"));  /* the target did not offer it */
	CHECK(!strstr(r.buf, "qXfer:auxv"));      /* no xfer_read */
	REPLY("qAttached", "1");
	REPLY("qC", "QC1");
	REPLY("qfThreadInfo", "m1,2");
	REPLY("qsThreadInfo", "l");
	REPLY("T2", "OK");
	REPLY("T3", "E03");
	REPLY("vCont?", "vCont;c;C;s;S;t");
	REPLY("qNoSuchQuery", "");
	REPLY("", "");

	/* H selects the thread whose registers g reads. */
	REPLY("Hg2", "OK");
	pkt("g");
	CHECK(strlen(r.buf) == 2 * GDB_REGS_BYTES && last_regs_tid == 2);
	REPLY("p10", "0210000000000000");  /* rip = 0x1002, little endian */
	REPLY("Hg5", "E03");
	REPLY("p3c", "E16");

	/* Memory. */
	REPLY("M1000,3:616263", "OK");
	REPLY("m1000,3", "616263");
	REPLY("m10fe,4", "0000");          /* short read at the end of what is mapped */
	REPLY("m2000,4", "E0e");
	REPLY("X1000,2:}]z", "OK");        /* '}' escapes: 0x7d ^ 0x20 = ']' -> '}' */
	REPLY("m1000,2", "7d7a");
	REPLY("X1000,0:", "OK");
	REPLY("M1000,2:61", "E16");

	/* Breakpoints: errors mapped; kinds the target lacks get the empty reply. */
	REPLY("Z0,1000,1", "OK");
	REPLY("Z1,1008,1", "E1c");
	REPLY("z0,1000,1", "E02");
	REPLY("Z2,1000,4", "");
	REPLY("Z0,1000,0", "E16");
	REPLY("Z0,1000,1;X2,0a", "OK");   /* conditions are accepted and ignored */

	/* vCont: the leftmost action matching a thread applies; others stay stopped. */
	CHECK(!strcmp(pkt("vCont;s:2;c"), "") && act == GDB_RESUMED && last_n == 2);
	CHECK(last_resume[0].kind == GDB_RESUME_CONTINUE && last_resume[1].kind == GDB_RESUME_STEP);
	pkt("vCont;c:1");
	CHECK(act == GDB_RESUMED && last_resume[0].kind == GDB_RESUME_CONTINUE && last_resume[1].kind == GDB_RESUME_STOPPED);
	pkt("vCont;C1e");
	CHECK(act == GDB_RESUMED && last_resume[0].signo == 10 && last_resume[1].signo == 10);
	REPLY("vCont;t", "E03");           /* nothing would run */
	REPLY("vCont;q", "E16");
	REPLY("vCont", "E16");

	/* Stop replies. */
	CHECK(!strcmp(stop((struct gdb_stop){ .kind = GDB_STOP_SIGNAL, .tid = { 1, 2 }, .signo = 5,
					      .reason = GDB_STOP_REASON_WATCH, .addr = 0x1008 }),
		      "T05thread:2;watch:1008;"));
	REPLY("?", "T05thread:2;watch:1008;");
	CHECK(!strcmp(stop((struct gdb_stop){ .kind = GDB_STOP_SIGNAL, .tid = { 1, 1 }, .signo = 5,
					      .reason = GDB_STOP_REASON_SYSCALL_ENTRY, .value = 60 }),
		      "T05thread:1;syscall_entry:3c;"));
	CHECK(!strcmp(stop((struct gdb_stop){ .kind = GDB_STOP_SIGNAL, .tid = { 1, 1 }, .signo = 5,
					      .reason = GDB_STOP_REASON_SWBREAK }), "T05thread:1;swbreak:;"));
	CHECK(!strcmp(stop((struct gdb_stop){ .kind = GDB_STOP_SIGNAL, .tid = { 1, 1 }, .signo = 10 }), "T1ethread:1;"));
	CHECK(!strcmp(stop((struct gdb_stop){ .kind = GDB_STOP_EXITED, .tid = { 1, 1 }, .status = 3 }), "W03") &&
	      act == GDB_SEND_REPLY);  /* threads remain: the session goes on */

	/* Multiprocess ids once both sides offer them. */
	caps |= GDB_CAP_MULTIPROCESS | GDB_CAP_PROCESS;
	gdb_session_init(&s, &target);
	pkt("qSupported:multiprocess+");
	CHECK(strstr(r.buf, "multiprocess+") != NULL);
	REPLY("qAttached", "0");
	REPLY("qfThreadInfo", "mp1.1,p1.2");
	REPLY("Hgp1.2", "OK");
	REPLY("Hgp2.1", "E03");
	pkt("vCont;s:p1.1;c:p1.-1");
	CHECK(act == GDB_RESUMED && last_resume[0].kind == GDB_RESUME_STEP && last_resume[1].kind == GDB_RESUME_CONTINUE);
	nthreads = 0;  /* the process is gone: its exit ends the session */
	CHECK(!strcmp(stop((struct gdb_stop){ .kind = GDB_STOP_KILLED, .tid = { 1, 1 }, .signo = 11 }), "X0b;process:1") &&
	      act == GDB_SEND_AND_CLOSE);
	nthreads = 2;

	/* The target description, in pieces. */
	pkt("qXfer:features:read:target.xml:0,10");
	CHECK(!strcmp(r.buf, "m<?xml version=\"1"));  /* 0x10 bytes */
	pkt("qXfer:features:read:target.xml:100000,10");
	CHECK(!strcmp(r.buf, "l"));
	REPLY("qXfer:features:read:other.xml:0,10", "E02");
	REPLY("qXfer:auxv:read::0,10", "");
	REPLY("QStartNoAckMode", "OK");
	CHECK(s.no_ack);
	REPLY("D", "OK");
	CHECK(act == GDB_SEND_AND_CLOSE);
	UNIT_DONE();
}
