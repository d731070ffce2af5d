/* gdb remote protocol framing: the receive state machine and packet encoding (see gdb_framing.h). */
#include "gdb_framing.h"
#include <string.h>

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void gdb_framer_init(struct gdb_framer *f)
{
	f->state = GDB_FS_IDLE;
	f->len = 0;
	f->buf[0] = 0;
}

static void start_packet(struct gdb_framer *f)
{
	f->state = GDB_FS_BODY;
	f->sum = 0;
	f->len = 0;
	f->overflow = false;
	f->csum_bad_digit = false;
}

enum gdb_frame_event gdb_framer_feed(struct gdb_framer *f, uint8_t c)
{
	switch (f->state) {
	case GDB_FS_IDLE:
		switch (c) {
		case '$': start_packet(f); return GDB_FRAME_NONE;
		case '+': return GDB_FRAME_ACK;
		case '-': return GDB_FRAME_NAK;
		case 0x03: return GDB_FRAME_INTERRUPT;
		default: return GDB_FRAME_NONE;
		}
	case GDB_FS_BODY:
		if (c == '#') {
			f->state = GDB_FS_CSUM1;
			return GDB_FRAME_NONE;
		}
		/* A '$' inside a packet means the previous one was cut short (gdb
		   gave up on it and started again): restart, as gdbserver does. */
		if (c == '$') {
			start_packet(f);
			return GDB_FRAME_NONE;
		}
		f->sum += c;
		if (f->len < GDB_PACKET_MAX)
			f->buf[f->len++] = (char)c;
		else
			f->overflow = true;
		return GDB_FRAME_NONE;
	case GDB_FS_CSUM1: {
		int v = hexval(c);
		f->csum_bad_digit = v < 0;
		f->csum = (uint8_t)((v < 0 ? 0 : v) << 4);
		f->state = GDB_FS_CSUM2;
		return GDB_FRAME_NONE;
	}
	case GDB_FS_CSUM2: {
		int v = hexval(c);
		f->state = GDB_FS_IDLE;
		f->buf[f->len] = 0;
		if (v < 0 || f->csum_bad_digit || (uint8_t)(f->csum | v) != f->sum)
			return GDB_FRAME_BAD_CHECKSUM;
		return f->overflow ? GDB_FRAME_OVERSIZED : GDB_FRAME_PACKET;
	}
	}
	return GDB_FRAME_NONE;
}

size_t gdb_frame_encode(const void *payload, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = payload;
	size_t o = 0;
	uint8_t sum = 0;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		if (c == '#' || c == '$' || c == '}' || c == '*') {
			out[o++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		out[o++] = (char)c;
		sum += c;
	}
	out[o++] = '#';
	out[o++] = hex[sum >> 4];
	out[o++] = hex[sum & 15];
	return o;
}

size_t gdb_unescape_binary(char *buf, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '}' && i + 1 < len)
			buf[o++] = (char)(buf[++i] ^ 0x20);
		else
			buf[o++] = buf[i];
	}
	return o;
}
