/*
 * Unit tests of the gdb remote protocol framing (vmm/gdb_framing.c): good
 * packets, checksums (wrong, non-hex, upper-case), acks, interrupts, garbage
 * between packets, a restart on '$' mid-packet, oversized packets, and the
 * encoder's escaping checked by feeding its output back through the framer.
 */
#include "unit.h"
#include "vmm/gdb_framing.h"

static struct gdb_framer f;

/* Feed a string; return the last non-NONE event (NONE if there was none) and count events. */
static int nevents;
static enum gdb_frame_event feed(const char *s, size_t n)
{
	enum gdb_frame_event last = GDB_FRAME_NONE;
	nevents = 0;
	for (size_t i = 0; i < n; i++) {
		enum gdb_frame_event e = gdb_framer_feed(&f, (uint8_t)s[i]);
		if (e != GDB_FRAME_NONE) {
			last = e;
			nevents++;
		}
	}
	return last;
}
#define FEED(s) feed(s, sizeof(s) - 1)

int main(void)
{
	gdb_framer_init(&f);
	CHECK(FEED("$g#67") == GDB_FRAME_PACKET && f.len == 1 && !strcmp(f.buf, "g"));
	CHECK(FEED("$qSupported:multiprocess+#c6") == GDB_FRAME_PACKET && !strcmp(f.buf, "qSupported:multiprocess+"));
	CHECK(FEED("$#00") == GDB_FRAME_PACKET && f.len == 0);
	CHECK(FEED("$g#6A") == GDB_FRAME_BAD_CHECKSUM);
	CHECK(FEED("$g#68") == GDB_FRAME_BAD_CHECKSUM);
	CHECK(FEED("$g#6z") == GDB_FRAME_BAD_CHECKSUM);
	CHECK(FEED("$g#z7") == GDB_FRAME_BAD_CHECKSUM);
	/* Upper-case hex digits are accepted: "?" is 0x3f. */
	CHECK(FEED("$?#3F") == GDB_FRAME_PACKET && !strcmp(f.buf, "?"));
	CHECK(FEED("+") == GDB_FRAME_ACK);
	CHECK(FEED("-") == GDB_FRAME_NAK);
	CHECK(FEED("\x03") == GDB_FRAME_INTERRUPT);
	/* Inside a packet, 0x03 and '+' are payload bytes, not events. */
	CHECK(FEED("$a\x03+#8f") == GDB_FRAME_PACKET && f.len == 3 && nevents == 1);
	/* Garbage between packets is ignored; the packet after it still parses. */
	CHECK(FEED("garbage\xff\x00 #12$g#67") == GDB_FRAME_PACKET && nevents == 1 && !strcmp(f.buf, "g"));
	/* A '$' mid-packet restarts: only the second packet counts. */
	CHECK(FEED("$m10$g#67") == GDB_FRAME_PACKET && !strcmp(f.buf, "g"));

	/* Exactly GDB_PACKET_MAX bytes fit; one more is oversized (but framed: the stream goes on). */
	static char big[GDB_PACKET_MAX + 16];
	uint8_t sum = 0;
	size_t n = 0;
	big[n++] = '$';
	for (int i = 0; i < GDB_PACKET_MAX; i++) {
		big[n++] = 'a';
		sum += 'a';
	}
	n += (size_t)sprintf(big + n, "#%02x", sum);
	CHECK(feed(big, n) == GDB_FRAME_PACKET && f.len == GDB_PACKET_MAX);
	n = 0;
	sum = 0;
	big[n++] = '$';
	for (int i = 0; i <= GDB_PACKET_MAX; i++) {
		big[n++] = 'a';
		sum += 'a';
	}
	n += (size_t)sprintf(big + n, "#%02x", sum);
	CHECK(feed(big, n) == GDB_FRAME_OVERSIZED && f.len == GDB_PACKET_MAX);
	CHECK(FEED("$g#67") == GDB_FRAME_PACKET && !strcmp(f.buf, "g"));

	/* Encoding: checksum and escapes, round-tripped through the framer. */
	char out[64];
	size_t l = gdb_frame_encode("OK", 2, out);
	CHECK(l == 6 && !memcmp(out, "$OK#9a", 6));
	const char special[] = "a#b$c}d*e";
	l = gdb_frame_encode(special, 9, out);
	CHECK(l == 9 + 4 + 4);
	CHECK(feed(out, l) == GDB_FRAME_PACKET);
	size_t ul = gdb_unescape_binary(f.buf, f.len);
	CHECK(ul == 9 && !memcmp(f.buf, special, 9));
	/* A trailing lone '}' is kept as is rather than read past the end. */
	char tail[] = "ab}";
	CHECK(gdb_unescape_binary(tail, 3) == 3);
	UNIT_DONE();
}
