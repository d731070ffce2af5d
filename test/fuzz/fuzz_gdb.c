/*
 * libFuzzer target for the gdb stub's input side: every byte goes through
 * the framer (vmm/gdb_framing.c), every complete packet through the command
 * layer (vmm/gdb_packets.c) against a fake target with two threads, 64 KiB
 * of memory at 0x1000 and debug-register bookkeeping, and every resume gets
 * a stop reply built from the input itself. Built with
 * clang -fsanitize=fuzzer,address,undefined (make fuzz-gdb); any crash,
 * overflow or undefined behaviour is a finding. Reply invariants are
 * checked too: a reply fits the packet size and frames into a packet the
 * framer reads back unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/gdb_framing.h"
#include "vmm/gdb_packets.h"

static struct gdb_regs regs[2];
static uint8_t mem[65536];
static struct { bool used; int type; uint64_t addr; } slots[4];
static const uint8_t *fz_data;
static size_t fz_left;

static uint8_t fz_byte(void)
{
	if (!fz_left)
		return 0;
	fz_left--;
	return *fz_data++;
}

static int th_index(struct gdb_tid t) { return t.pid == 1 && (t.tid == 1 || t.tid == 2) ? (int)t.tid - 1 : -1; }

static unsigned f_caps(void *c) { return 0x1ff; }
static int f_threads(void *c, struct gdb_tid *o, int max)
{
	for (int i = 0; i < 2 && i < max; i++)
		o[i] = (struct gdb_tid){ 1, i + 1 };
	return 2;
}
static int f_alive(void *c, struct gdb_tid t) { return th_index(t) < 0 ? -ESRCH : 0; }
static int f_get(void *c, struct gdb_tid t, struct gdb_regs *r)
{
	int i = th_index(t);
	if (i < 0)
		abort();  /* the stub must only name threads that exist */
	*r = regs[i];
	return 0;
}
static int f_set(void *c, struct gdb_tid t, const struct gdb_regs *r)
{
	int i = th_index(t);
	if (i < 0)
		abort();
	regs[i] = *r;
	return 0;
}
static ssize_t f_rw(uint64_t addr, void *buf, size_t len, bool w)
{
	if (addr < 0x1000 || addr >= 0x1000 + sizeof(mem))
		return -EFAULT;
	size_t n = 0x1000 + sizeof(mem) - addr;
	if (n > len)
		n = len;
	if (w)
		memcpy(mem + addr - 0x1000, buf, n);
	else
		memcpy(buf, mem + addr - 0x1000, n);
	return (ssize_t)n;
}
static ssize_t f_read(void *c, struct gdb_tid t, uint64_t a, void *b, size_t l) { return f_rw(a, b, l, false); }
static ssize_t f_write(void *c, struct gdb_tid t, uint64_t a, const void *b, size_t l) { return f_rw(a, (void *)b, l, true); }
static int f_ins(void *c, struct gdb_tid t, enum gdb_bp_type ty, uint64_t a, int l)
{
	if (a < 0x1000 || a >= 0x1000 + sizeof(mem))
		return -EFAULT;
	for (int i = 0; i < 4; i++)
		if (!slots[i].used) {
			slots[i].used = true;
			slots[i].type = ty;
			slots[i].addr = a;
			return 0;
		}
	return -ENOSPC;
}
static int f_rem(void *c, struct gdb_tid t, enum gdb_bp_type ty, uint64_t a, int l)
{
	for (int i = 0; i < 4; i++)
		if (slots[i].used && slots[i].addr == a && slots[i].type == (int)ty) {
			slots[i].used = false;
			return 0;
		}
	return -ENOENT;
}
static bool resumed;
static int f_resume(void *c, const struct gdb_resume *a, int n)
{
	if (n != 2)
		abort();
	resumed = true;
	return 0;
}
static int f_wait(void *c, struct gdb_stop *st, int fd) { return 1; }
static void f_interrupt(void *c) {}
static int f_kill(void *c, int64_t pid) { return 0; }
static int f_detach(void *c, int64_t pid) { return 0; }
static void f_end(void *c) {}
static ssize_t f_xfer(void *c, struct gdb_tid t, const char *o, const char *an, uint64_t off, void *b, size_t l)
{
	if (strcmp(o, "auxv"))
		return -EOPNOTSUPP;
	if (off >= 4000)
		return 0;
	size_t n = 4000 - off < l ? 4000 - off : l;
	memset(b, 0x7d, n);  /* '}' everywhere: escaping doubles it */
	return (ssize_t)n;
}
static int f_catch(void *c, bool e, const uint64_t *n, int k) { return 0; }
static int f_pass(void *c, const bool p[65]) { return 0; }
static ssize_t f_file(void *c, int64_t pid, const char *path, uint64_t off, void *b, size_t l)
{
	if (off > 100 || pid > 5)
		return off > 100 ? 0 : -ENOENT;
	memset(b, '$', l < 50 ? l : 50);
	return l < 50 ? (ssize_t)l : 50;
}
static int f_stat(void *c, int64_t pid, const char *path, struct gdb_file_stat *st)
{
	*st = (struct gdb_file_stat){ .size = 150, .mode = strcmp(path, "/") ? 0100644 : 040755 };
	return path[0] == '/' ? 0 : -ENOENT;
}
static ssize_t f_link(void *c, int64_t pid, const char *path, char *b, size_t l)
{
	memset(b, '#', l);
	return strcmp(path, "/big") ? -EINVAL : (ssize_t)l;
}
static int f_monitor(void *c, const char *cmd, char *out, size_t n)
{
	if (strcmp(cmd, "big"))
		return -EOPNOTSUPP;
	memset(out, 'x', n - 1);
	out[n - 1] = 0;
	return 0;
}

static const struct gdb_target_ops ops = {
	.caps = f_caps, .threads = f_threads, .thread_alive = f_alive, .get_regs = f_get, .set_regs = f_set,
	.read_mem = f_read, .write_mem = f_write, .insert_bp = f_ins, .remove_bp = f_rem,
	.resume = f_resume, .wait = f_wait, .interrupt = f_interrupt, .kill = f_kill, .detach = f_detach,
	.session_end = f_end, .xfer_read = f_xfer, .catch_syscalls = f_catch, .pass_signals = f_pass,
	.program_signals = f_pass, .file_read = f_file,
	.file_stat = f_stat, .file_readlink = f_link, .monitor = f_monitor,
};

static struct gdb_target target = { .ops = &ops };
static struct gdb_framer fr, check;
static struct gdb_session s;
static struct gdb_reply r;
static char framed[2 * GDB_PACKET_MAX + 8];

static void check_reply(void)
{
	if (r.len > GDB_PACKET_MAX)
		abort();
	size_t n = gdb_frame_encode(r.buf, r.len, framed);
	gdb_framer_init(&check);
	enum gdb_frame_event ev = GDB_FRAME_NONE;
	for (size_t i = 0; i < n; i++)
		ev = gdb_framer_feed(&check, (uint8_t)framed[i]);
	/* The peer sees exactly the reply (after undoing the escapes). */
	size_t l = gdb_unescape_binary(check.buf, check.len);
	if (ev != GDB_FRAME_PACKET || l != r.len || memcmp(check.buf, r.buf, l))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(regs, 0, sizeof(regs));
	memset(slots, 0, sizeof(slots));
	gdb_framer_init(&fr);
	gdb_session_init(&s, &target);
	fz_data = data;
	fz_left = size;
	while (fz_left) {
		enum gdb_frame_event ev = gdb_framer_feed(&fr, fz_byte());
		if (ev != GDB_FRAME_PACKET)
			continue;
		enum gdb_action a = gdb_handle_packet(&s, fr.buf, fr.len, &r);
		check_reply();
		if (a == GDB_RESUMED) {
			struct gdb_stop st = { 0 };
			st.kind = (enum gdb_stop_kind)(fz_byte() % 3);
			st.tid = (struct gdb_tid){ 1, 1 + fz_byte() % 2 };
			st.signo = fz_byte();
			st.status = fz_byte();
			st.reason = (enum gdb_stop_reason)(fz_byte() % 12);
			st.addr = fz_byte() * 0x1234567ull;
			st.child = (struct gdb_tid){ 2, 2 };
			memset(st.path, 'p', sizeof(st.path));  /* unterminated: strnlen bounds it */
			gdb_stop_reply(&s, &st, &r);
			check_reply();
		}
		if (a == GDB_SEND_AND_CLOSE || a == GDB_CLOSE)
			break;
	}
	return 0;
}
