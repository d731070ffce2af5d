/* The virtio-console driver (drivers/virtio_console.c): the program's fds 0, 1, 2 when the device exists. */
#ifndef GUEST_VCONSOLE_H
#define GUEST_VCONSOLE_H
#include "types.h"
#include <hypercall.h>

struct kiovec;
struct poll_table;

/*
 * Is the virtio console there and set up? Initializes it at the first call
 * (3.1.1, then the MULTIPORT handshake of 5.3.6.2); false: use the console
 * hypercalls (no device: no local APIC, KVMBOX_IRQCHIP=0).
 */
bool vcons_ready(void);

/*
 * Should a write of len bytes go to the device? A program's first few small
 * writes go by the CONSOLE_WRITE hypercall instead, so a short-lived program
 * never pays for the device's set-up; the device takes over from the first
 * write past that budget (and at once for stdin and terminal sizes).
 */
bool vcons_for_write(uint64_t len);

/*
 * Write guest-physical segments (the program's own pages) to port 1
 * (stdout) or 2 (stderr): one descriptor chain, returned by the device
 * once the host fd took all of it. Bytes written, or -EPIPE once the host
 * side closed (a closed pipe).
 */
ssize_t vcons_write(unsigned port, const struct kvmbox_seg *segs, unsigned nr);

/*
 * Read from port 0 (stdin) into user iov: what is buffered, waiting for
 * input unless nonblock (-EAGAIN); 0 at end of file; -ERESTARTSYS on a signal.
 */
ssize_t vcons_read(const struct kiovec *iov, int cnt, bool nonblock);

/* POLLIN | POLLRDNORM when stdin has data or reached end of file; else registers on its wait queue. */
unsigned vcons_poll_in(struct poll_table *pt);

/* Bytes buffered from stdin (FIONREAD). */
int vcons_nread(void);

/* A terminal size the device reported (RESIZE) since the last call, if any. */
bool vcons_winsize(uint16_t *rows, uint16_t *cols);
#endif
