/* virtio-rng (virtio spec v1.2, 5.4): the host's getrandom() behind one request queue. */
#ifndef DEVICES_VIRTIO_RNG_H
#define DEVICES_VIRTIO_RNG_H
#include "virtio.h"

/*
 * Create the device (free with free()). test_pattern != 0 (tests only,
 * KVMBOX_TEST_RNG_PATTERN): serve that byte value in every position
 * instead of entropy, so a test can prove where the guest's random bytes came from.
 */
struct virtio_device *virtio_rng_create(struct vm *vm, int test_pattern);
#endif
