/* virtio-blk (virtio spec v1.2, 5.2): a raw image file behind one request queue, host I/O through io_uring. */
#ifndef DEVICES_VIRTIO_BLK_H
#define DEVICES_VIRTIO_BLK_H
#include <stdbool.h>
#include <stddef.h>
#include "virtio.h"

/* A --disk image, opened and sized before the VM exists (so a bad one fails first). */
struct blk_image {
	const char *path;
	int fd;
	bool ro;
	uint64_t size;            /* bytes; the device shows size / 512 sectors */
};

/*
 * Parse "PATH[,ro]" and open PATH (read-only with ",ro", else read-write).
 * 0, or -1 with a one-line reason in err ("cannot open x.img: No such file...").
 */
int blk_image_open(const char *spec, struct blk_image *img, char *err, size_t err_size);

/*
 * Create the device over an opened image (free with free() after
 * virtio_blk_destroy). index names it in messages and in GET_ID
 * ("kvmbox-disk<index>"). NULL with a reason in err if io_uring cannot be set up.
 */
struct virtio_device *virtio_blk_create(struct vm *vm, const struct blk_image *img, unsigned index,
					char *err, size_t err_size);

/*
 * Host I/O completes asynchronously: this eventfd becomes readable when it
 * did; the host side watches it and calls virtio_blk_complete (on the I/O
 * thread, like notify), which finishes the requests and interrupts.
 */
int virtio_blk_event_fd(struct virtio_device *dev);
void virtio_blk_complete(struct virtio_device *dev);
#endif
