/* The virtio-mmio transport, version 2 (virtio spec v1.2, 4.2.2): a register file in front of a struct virtio_device. */
#ifndef DEVICES_VIRTIO_MMIO_H
#define DEVICES_VIRTIO_MMIO_H
#include <stdbool.h>
#include <stdint.h>
#include "virtio.h"

/*
 * A driver access to offset off (0 .. VIRTIO_MMIO_REGION_SIZE) of the
 * device's register window, len bytes at data (little-endian). Control
 * registers take only aligned 32-bit accesses (4.2.2.2); anything else, a
 * write to a read-only register or a read of a write-only one puts the
 * device in DEVICE_NEEDS_RESET (reads then see 0). Config space takes 1, 2
 * or 4 bytes (8 as two 4-byte halves by the driver). QueueNotify calls
 * dev->kick: the queue's work never runs on the caller's thread.
 */
void virtio_mmio_read(struct virtio_device *dev, uint64_t off, void *data, uint32_t len);
void virtio_mmio_write(struct virtio_device *dev, uint64_t off, const void *data, uint32_t len);
#endif
