/* virtio-console with VIRTIO_CONSOLE_F_MULTIPORT (virtio spec v1.2, 5.3): ports 0, 1, 2 on host fds 0, 1, 2. */
#ifndef DEVICES_VIRTIO_CONSOLE_H
#define DEVICES_VIRTIO_CONSOLE_H
#include "virtio.h"

/*
 * Create the device (free with free()). Port n is backed by host fd n:
 * transmitq data is written to it (in order, all of it, before the buffer
 * is returned: a returned buffer is output that reached the host fd),
 * port 0's receiveq is filled from it by a reader thread that reads only
 * while the driver has a receive buffer posted (so kvmbox never takes
 * input the program did not ask for). End of file on fd 0, or a write
 * error on fd 1/2 (EPIPE), becomes PORT_OPEN(port, 0) (5.3.6.2); a
 * terminal's size is sent as RESIZE for the ports that are terminals.
 */
struct virtio_device *virtio_console_create(struct vm *vm);
#endif
