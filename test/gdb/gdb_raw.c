/*
 * A raw gdb remote-protocol client for the stub's tests (test/cases/gdb_kernel.sh).
 *
 *   gdb_raw SOCKET SCENARIO [ADDR]
 *
 * SOCKET is a unix socket path or HOST:PORT; the stub is in kernel mode,
 * stopped at the guest's first instruction. Scenarios:
 *   bad-input   garbage, random packets, bad checksums (NAK, retransmit),
 *               a NAKed reply, an oversized packet, malformed and unknown
 *               packets, unmapped addresses, a fifth debug register; then
 *               continue to the program's exit (W with $GDB_RAW_EXIT, default 03).
 *               ADDR: a mapped kernel address (e.g. _start).
 *   interrupt   no-ack mode, continue, 0x03 stops with SIGINT, k.
 *   breakpoint  Z0 at ADDR (a kernel function the program's run calls),
 *               continue to it (swbreak, rip = ADDR), vCont;s off it,
 *               remove it, continue to W.
 *   vfile       process mode: the vFile packets gdb's `info proc` uses on
 *               /proc/1/maps and the program, and malformed ones (an E or
 *               an F-1 errno reply each); then continue to W.
 * One "ok ..." line per check; the first failed one prints "FAIL: ..." and
 * exits 1. Every read has a deadline ($GDB_RAW_LIMIT seconds, default 30):
 * a missing reply is a failure, not a hang. Static, so it runs anywhere the
 * tests do (also inside make test-svm's guest).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fd, limit_ms = 30000;
static uint8_t inbuf[65536];
static size_t inpos, inlen;
static char reply[70000];
static size_t reply_len;

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

static void check(bool ok, const char *what)
{
	if (!ok)
		fail("%s, got \"%.120s\"", what, reply);
	printf("ok %s\n", what);
}

static void send_raw(const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			fail("send: %s", w < 0 ? strerror(errno) : "closed");
		c += w;
		n -= (size_t)w;
	}
}

/* Next byte, or -1 when the stub closed the connection. */
static int next_byte(void)
{
	if (inpos == inlen) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, limit_ms);
		if (r == 0)
			fail("no reply within %d s", limit_ms / 1000);
		ssize_t n = recv(fd, inbuf, sizeof(inbuf), 0);
		if (n <= 0)
			return -1;
		inpos = 0;
		inlen = (size_t)n;
	}
	return inbuf[inpos++];
}

static int must_byte(void)
{
	int c = next_byte();
	if (c < 0)
		fail("the stub closed the connection");
	return c;
}

static void send_packet_n(const char *p, size_t n)
{
	static char buf[70000];
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (uint8_t)p[i];
	buf[0] = '$';
	memcpy(buf + 1, p, n);
	snprintf(buf + 1 + n, 4, "#%02x", sum);
	send_raw(buf, n + 4);
}
static void send_packet(const char *p) { send_packet_n(p, strlen(p)); }

static int ack(void)
{
	int c = must_byte();
	if (c != '+' && c != '-')
		fail("expected an ack, got 0x%02x", c);
	return c;
}

/* The next packet into reply (checksum verified, escapes undone). */
static void get_packet(void)
{
	static const char hex[] = "0123456789abcdef";
	while (must_byte() != '$')
		;
	uint8_t sum = 0;
	reply_len = 0;
	for (;;) {
		int c = must_byte();
		if (c == '#')
			break;
		sum += (uint8_t)c;
		if (c == '}') {
			int d = must_byte();
			sum += (uint8_t)d;
			c = d ^ 0x20;
		}
		if (reply_len < sizeof(reply) - 1)
			reply[reply_len++] = (char)c;
	}
	reply[reply_len] = 0;
	int h = must_byte(), l = must_byte();
	if (h != hex[sum >> 4] || l != hex[sum & 15])
		fail("bad checksum from the stub on \"%.60s\"", reply);
}

/* A packet in ack mode: '+', then the reply, acknowledged. */
static const char *cmd(const char *p)
{
	send_packet(p);
	if (ack() != '+')
		fail("packet \"%.60s\" was NAKed", p);
	get_packet();
	send_raw("+", 1);
	return reply;
}

static bool is(const char *want) { return !strcmp(reply, want); }
static bool is_error(void)
{
	return reply_len == 3 && reply[0] == 'E' && strchr("0123456789abcdefABCDEF", reply[1]) &&
	       strchr("0123456789abcdefABCDEF", reply[2]);
}

static void stopped_at_start(const char *what)
{
	cmd("?");
	check(!strncmp(reply, "T05thread:", 10), what);
}

static uint64_t rip_of_g(void)
{
	/* rip is register 16: bytes 128..135 of the g image, little endian. */
	if (reply_len < 272)
		fail("short g reply");
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		unsigned b;
		sscanf(reply + 256 + 2 * i, "%2x", &b);
		v = v << 8 | b;
	}
	return v;
}

static const char *exit_code(void)
{
	const char *e = getenv("GDB_RAW_EXIT");
	return e ? e : "03";
}

static void run_to_exit(void)
{
	char want[16];
	send_packet("vCont;c");
	check(ack() == '+', "vCont;c acked");
	get_packet();  /* not acked: after the final W the VM is gone */
	snprintf(want, sizeof(want), "W%s", exit_code());
	check(is(want), "the program's exit is reported with W");
}

static void scenario_vfile(void)
{
	/* Exact replies, in order (the fd numbers are the stub's: the first free one). */
	static const struct { const char *packet, *want, *what; } exact[] = {
		{ "vFile:setfs:0", "F0", "setfs" },
		{ "vFile:open:2f70726f632f312f6d617073,0,0", "F0", "open /proc/1/maps -> fd 0" },
		{ "vFile:pread:0,100,100000", "F0;", "pread past the end -> F0;" },
		{ "vFile:open:2f6e6f2f737563682f66696c65,0,0", "F-1,2", "open of a missing file -> ENOENT" },
		{ "vFile:open:2f70726f632f3939392f6d617073,0,0", "F-1,2", "/proc of a missing process -> ENOENT" },
		{ "vFile:open:2f70726f632f312f6d617073,1,0", "F-1,d", "open for writing -> EACCES" },
		{ "vFile:pread:7,10,0", "F-1,9", "pread of a fd not open -> EBADF" },
		{ "vFile:close:99", "F-1,9", "close of a bad fd -> EBADF" },
		{ "vFile:unlink:2f", "", "vFile:unlink (a write) -> not supported" },
	};
	static const char *const bad[] = {
		"vFile:open:zz,0,0", "vFile:open:2f,0", "vFile:open:,0,0", "vFile:open:2f00,0,0",
		"vFile:pread:0,10", "vFile:pread:x,1,0", "vFile:fstat:", "vFile:close:",
		"vFile:readlink:", "vFile:readlink:2", "vFile:setfs:-1",
	};
	stopped_at_start("initial stop");
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		cmd(exact[i].packet);
		check(is(exact[i].want), exact[i].what);
	}
	cmd("vFile:pread:0,100,0");
	check(!strncmp(reply, "F100;", 5), "pread of /proc/1/maps returns 0x100 bytes");
	check(strstr(reply, "r-xp") && strstr(reply, "/work/"), "the maps text names the program's text mapping");
	cmd("vFile:fstat:0");
	check(!strncmp(reply, "F40;", 4) && reply_len == 4 + 64, "fstat -> a 64-byte struct stat");
	cmd("vFile:close:0");
	check(is("F0"), "close -> F0");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[100];
		cmd(bad[i]);
		snprintf(what, sizeof(what), "malformed \"%s\" -> E reply", bad[i]);
		check(is_error(), what);
	}
	cmd("vFile:readlink:2f70726f632f312f657865");
	check(reply[0] == 'F' && strstr(reply, ";/work/"), "readlink /proc/1/exe -> the program's guest path");
	run_to_exit();
}

static uint32_t rnd_state = 5;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void scenario_bad_input(uint64_t base)
{
	char p[256];
	stopped_at_start("initial stop is SIGTRAP with a thread");
	/* Garbage between packets (no '$', '+', '-', 0x03): ignored. */
	static uint8_t junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++) {
		do
			junk[i] = (uint8_t)rnd();
		while (junk[i] == '$' || junk[i] == '+' || junk[i] == '-' || junk[i] == 3);
	}
	send_raw(junk, sizeof(junk));
	stopped_at_start("a packet after 4 KiB of garbage is answered");
	/* Random packets with good checksums (not the resuming or ending ones). */
	static const char alphabet[] = "gGpPmMXZzHTqQ?0123456789abcdef,:;.-=p";
	for (int i = 0; i < 300; i++) {
		size_t n = 1 + rnd() % 60;
		for (size_t k = 0; k < n; k++)
			p[k] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		p[n] = 0;
		cmd(p);
	}
	stopped_at_start("300 random packets later the session goes on");
	/* A bad checksum is NAKed; the retransmission is answered. */
	send_raw("$g#00", 5);
	check(ack() == '-', "a bad checksum is NAKed");
	cmd("g");
	check(reply_len == 2 * 560 && strspn(reply, "0123456789abcdef") == reply_len,
	      "the retransmitted g gets the 560-byte register image");
	/* We NAK the stub's reply: it sends it again. */
	send_packet("qC");
	check(ack() == '+', "qC acked");
	get_packet();
	static char first[sizeof(reply)];
	memcpy(first, reply, reply_len + 1);
	send_raw("-", 1);
	get_packet();
	send_raw("+", 1);
	check(!strcmp(first, reply) && !strncmp(reply, "QC", 2), "a NAKed reply is sent again");
	/* Oversized packet: acked, refused with an error, the session goes on. */
	static char big[20002];
	big[0] = 'm';
	memset(big + 1, '0', 20000);
	send_packet_n(big, 20001);
	check(ack() == '+', "an oversized packet is acked");
	get_packet();
	send_raw("+", 1);
	check(is_error(), "an oversized packet gets an E reply");
	stopped_at_start("the session goes on after an oversized packet");
	/* Malformed packets: E replies. */
	static const char *const bad[] = { "m12", "mzz,4", "m1,", "M0,2:zz", "M0,4:00", "p999", "pxyz", "P0=12",
		"Z0,abc", "Hgzz", "X0,4:a", "G00", "Z1,1000,0", "mfffffffffffffffff,1", "vCont;x", "vCont;c:zz",
		"T0", "Hg0.5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cmd(bad[i]);
		snprintf(p, sizeof(p), "malformed \"%s\" gets an error reply", bad[i]);
		check(is_error(), p);
	}
	/* Unknown or unsupported: the empty reply. */
	static const char *const unknown[] = { "qNoSuchThing", "vNoSuchThing", "!", "QNoSuch:1", "Z9,0,1" };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		cmd(unknown[i]);
		snprintf(p, sizeof(p), "unsupported \"%s\" gets the empty reply", unknown[i]);
		check(is(""), p);
	}
	snprintf(p, sizeof(p), "Z3,%llx,4", (unsigned long long)base);
	cmd(p);
	check(is(""), "a read watchpoint (x86 has none) gets the empty reply");
	/* Unmapped addresses. */
	cmd("m1000,10");
	check(is("E0e"), "reading an unmapped address gets EFAULT");
	cmd("Z0,1000,1");
	check(is("E0e"), "a breakpoint at an unmapped address gets EFAULT");
	/* What this host delivers (monitor info debug, hex encoded). */
	static const char info_hex[] = "qRcmd,696e666f206465627567"; /* "info debug" */
	cmd(info_hex);
	static char info[4096];
	size_t il = 0;
	for (size_t i = 0; i + 1 < reply_len && il < sizeof(info) - 1; i += 2) {
		unsigned b;
		sscanf(reply + i, "%2x", &b);
		info[il++] = (char)b;
	}
	info[il] = 0;
	bool watch = strstr(info, "\nwatchpoints: yes"), hw = strstr(info, "\nhardware breakpoints: yes"),
	     int3 = strstr(info, "software breakpoints: yes, int3");
	printf("ok monitor info debug says: %s%s%s\n", watch ? "watchpoints " : "", hw ? "hw-breakpoints " : "",
	       int3 ? "int3" : "");
	check(strstr(info, "software breakpoints: yes") != NULL, "software breakpoints are available");
	if (!watch) {
		snprintf(p, sizeof(p), "Z2,%llx,8", (unsigned long long)base);
		cmd(p);
		check(is(""), "a watchpoint the host cannot deliver is refused (empty reply)");
	}
	if (!hw) {
		snprintf(p, sizeof(p), "Z1,%llx,1", (unsigned long long)base);
		cmd(p);
		check(is(""), "a hardware breakpoint the host cannot deliver is refused (empty reply)");
	}
	if (int3) {
		snprintf(p, sizeof(p), "Z0,%llx,1", (unsigned long long)base);
		check(!strcmp(cmd(p), "OK"), "an int3 breakpoint inserted");
		snprintf(p, sizeof(p), "m%llx,1", (unsigned long long)base);
		check(strcmp(cmd(p), "cc") != 0 && reply_len == 2, "memory reads do not show the int3");
		snprintf(p, sizeof(p), "z0,%llx,1", (unsigned long long)base);
		check(!strcmp(cmd(p), "OK"), "the int3 breakpoint removed");
	}
	if (watch || hw) {
		/* Four debug registers: a fifth gets ENOSPC; freeing one makes room. */
		char z = watch ? '2' : '1';
		int kind = watch ? 8 : 1;
		for (int i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "Z%c,%llx,%d", z, (unsigned long long)(base + 8 * i), kind);
			cmd(p);
			check(is("OK"), watch ? "a watchpoint inserted" : "a hardware breakpoint inserted");
		}
		snprintf(p, sizeof(p), "Z%c,%llx,%d", z, (unsigned long long)(base + 64), kind);
		cmd(p);
		check(is("E1c"), watch ? "a fifth hardware watchpoint gets ENOSPC" : "a fifth hardware breakpoint gets ENOSPC");
		if (!int3) {
			snprintf(p, sizeof(p), "Z0,%llx,1", (unsigned long long)(base + 72));
			cmd(p);
			check(is("E1c"), "a software breakpoint with all four registers taken gets ENOSPC");
		}
		snprintf(p, sizeof(p), "z%c,%llx,%d", z, (unsigned long long)(base + 8), kind);
		check(!strcmp(cmd(p), "OK"), "one removed");
		check(!strcmp(cmd(p), "E02"), "removing it twice gets ENOENT");
		snprintf(p, sizeof(p), "Z%c,%llx,%d", z, (unsigned long long)(base + 64), kind);
		check(!strcmp(cmd(p), "OK"), "the freed register takes a new one");
		for (int i = 0; i < 5; i++) {
			if (i == 1)
				continue;
			snprintf(p, sizeof(p), "z%c,%llx,%d", z, (unsigned long long)(base + (i == 4 ? 64 : 8 * i)), kind);
			cmd(p);
			check(is("OK"), "removed");
		}
	} else {
		printf("ok no debug registers on this host: the fifth-register check does not apply\n");
	}
	stopped_at_start("the session is still usable");
	run_to_exit();
}

static void scenario_interrupt(void)
{
	stopped_at_start("initial stop");
	check(!strcmp(cmd("QStartNoAckMode"), "OK"), "no-ack mode accepted");
	/* From here on nothing is acknowledged either way. */
	send_packet("vCont;c");
	/* GDB_RAW_INTERRUPT_AFTER_MS: let the program get somewhere first (e.g.
	   blocked reading stdin); the interrupt must work whatever it is doing. */
	if (getenv("GDB_RAW_INTERRUPT_AFTER_MS"))
		poll(NULL, 0, atoi(getenv("GDB_RAW_INTERRUPT_AFTER_MS")));
	send_raw("\x03", 1);
	get_packet();
	check(!strncmp(reply, "T02thread:", 10), "0x03 stops the running VM with SIGINT");
	send_packet("g");
	get_packet();
	check(reply_len == 1120, "registers readable after the interrupt");
	send_packet("k");
	int c;
	while ((c = next_byte()) >= 0)
		;
	printf("ok k ends the session (connection closed)\n");
}

static void scenario_breakpoint(uint64_t addr)
{
	char p[128];
	stopped_at_start("initial stop");
	cmd("qSupported:swbreak+;hwbreak+");
	check(strstr(reply, "swbreak+") != NULL, "qSupported: swbreak+");
	snprintf(p, sizeof(p), "Z0,%llx,1", (unsigned long long)addr);
	check(!strcmp(cmd(p), "OK"), "Z0 at the function inserted");
	send_packet("vCont;c");
	check(ack() == '+', "vCont;c acked");
	get_packet();
	send_raw("+", 1);
	check(!strncmp(reply, "T05thread:", 10) && strstr(reply, "swbreak:;"), "the breakpoint is hit (T05 swbreak)");
	cmd("g");
	check(rip_of_g() == addr, "rip is the breakpoint's address");
	send_packet("vCont;s:1");
	check(ack() == '+', "vCont;s acked");
	get_packet();
	send_raw("+", 1);
	check(!strncmp(reply, "T05thread:", 10) && !strstr(reply, "swbreak"), "the step stops with a plain SIGTRAP");
	cmd("g");
	check(rip_of_g() > addr && rip_of_g() < addr + 16, "the step moved rip past the breakpoint by one instruction");
	snprintf(p, sizeof(p), "z0,%llx,1", (unsigned long long)addr);
	check(!strcmp(cmd(p), "OK"), "Z0 removed");
	run_to_exit();
}

/* --symbol ELF NAME: print NAME's address in hex (the test scripts' nm, which
   make test-svm's guest does not have). */
static int print_symbol(const char *path, const char *name)
{
	int f = open(path, O_RDONLY);
	static uint8_t img[16 << 20];
	ssize_t n = f < 0 ? -1 : read(f, img, sizeof(img));
	if (n < (ssize_t)sizeof(Elf64_Ehdr))
		return 1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	if (eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > (uint64_t)n)
		return 1;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *str = &sh[sh[i].sh_link];
		if (sh[i].sh_offset + sh[i].sh_size > (uint64_t)n || str->sh_offset + str->sh_size > (uint64_t)n)
			return 1;
		const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh[i].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++)
			if (sym[k].st_name < str->sh_size &&
			    !strcmp((const char *)img + str->sh_offset + sym[k].st_name, name) && sym[k].st_value) {
				printf("%llx\n", (unsigned long long)sym[k].st_value);
				return 0;
			}
	}
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "--symbol"))
		return print_symbol(argv[2], argv[3]);
	if (argc < 3) {
		fprintf(stderr, "usage: gdb_raw SOCKET bad-input|interrupt|breakpoint [ADDR]\n");
		return 2;
	}
	if (getenv("GDB_RAW_LIMIT"))
		limit_ms = atoi(getenv("GDB_RAW_LIMIT")) * 1000;
	const char *where = argv[1], *colon = strrchr(where, ':');
	if (where[0] != '/' && colon) {
		char host[256];
		snprintf(host, sizeof(host), "%.*s", (int)(colon - where), where);
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
		if (getaddrinfo(host, colon + 1, &hints, &ai))
			fail("cannot resolve %s", where);
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			fail("connect %s: %s", where, strerror(errno));
	} else {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", where);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			fail("connect %s: %s", where, strerror(errno));
	}
	uint64_t addr = argc > 3 ? strtoull(argv[3], NULL, 16) : 0;
	if (!strcmp(argv[2], "bad-input"))
		scenario_bad_input(addr);
	else if (!strcmp(argv[2], "interrupt"))
		scenario_interrupt();
	else if (!strcmp(argv[2], "breakpoint"))
		scenario_breakpoint(addr);
	else if (!strcmp(argv[2], "vfile"))
		scenario_vfile();
	else
		fail("unknown scenario %s", argv[2]);
	return 0;
}
