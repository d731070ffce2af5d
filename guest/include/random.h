/* Randomness: the virtio-rng device when there is one, else a generator seeded from the FDT. */
#ifndef GUEST_RANDOM_H
#define GUEST_RANDOM_H
#include "types.h"

/*
 * Fill user [ubuf, ubuf + len) from the virtio-rng device (drivers/virtio_rng.c):
 * bytes filled, -EFAULT, or -ENODEV when there is no usable device.
 */
long virtio_rng_read(uint64_t ubuf, size_t len);
#endif
