/*
 * gdb remote protocol framing ("Overview" and "Packet Acknowledgment" in the
 * GDB manual, appendix E): $payload#cs, the checksum the sum of the payload
 * bytes modulo 256 as two hex digits; '+'/'-' acknowledge a packet; a lone
 * 0x03 outside a packet is an interrupt. Pure byte logic, no I/O: the
 * listener feeds received bytes and sends what the framer asks for.
 */
#ifndef VMM_GDB_FRAMING_H
#define VMM_GDB_FRAMING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest payload accepted and sent; advertised as PacketSize (qSupported). */
#define GDB_PACKET_MAX 16384

enum gdb_frame_event {
	GDB_FRAME_NONE = 0,      /* byte consumed, nothing complete yet */
	GDB_FRAME_PACKET,        /* a packet with a good checksum: f->buf[0..len) (NUL terminated) */
	GDB_FRAME_BAD_CHECKSUM,  /* reply '-' (in ack mode): gdb retransmits */
	GDB_FRAME_OVERSIZED,     /* complete but longer than GDB_PACKET_MAX: ack and reply E */
	GDB_FRAME_ACK,           /* '+' from gdb */
	GDB_FRAME_NAK,           /* '-' from gdb: retransmit the last packet */
	GDB_FRAME_INTERRUPT,     /* 0x03 between packets */
};

struct gdb_framer {
	enum { GDB_FS_IDLE, GDB_FS_BODY, GDB_FS_CSUM1, GDB_FS_CSUM2 } state;
	uint8_t sum;             /* running checksum of the payload */
	uint8_t csum;            /* received checksum, high digit first */
	bool csum_bad_digit;     /* a non-hex checksum digit: the packet is corrupt */
	bool overflow;
	size_t len;
	char buf[GDB_PACKET_MAX + 1];
};

void gdb_framer_init(struct gdb_framer *f);
/* Feed one received byte; returns what it completed. Garbage outside a
   packet (anything but '$', '+', '-', 0x03) is ignored, as gdbserver does. */
enum gdb_frame_event gdb_framer_feed(struct gdb_framer *f, uint8_t c);

/*
 * Frame `payload` for sending: '$', the payload with '#', '$', '}' and '*'
 * escaped as '}' followed by the byte XOR 0x20 ("Binary data"), '#', two hex
 * checksum digits. `out` needs 2 * len + 4 bytes. Returns the framed length.
 */
size_t gdb_frame_encode(const void *payload, size_t len, char *out);

/* Undo the '}' escaping of binary data (X, vFile:pwrite) in place; returns the new length. */
size_t gdb_unescape_binary(char *buf, size_t len);
#endif
