/* The transport-independent virtio device core: status, feature negotiation, queues, interrupts (virtio spec v1.2, 2-3). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "virtio.h"

#define CORE_FEATURES ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) | \
		       (1ull << VIRTIO_RING_F_INDIRECT_DESC))

uint64_t virtio_device_features(const struct virtio_device *dev)
{
	return dev->ops->features | CORE_FEATURES;
}

void virtio_device_init(struct virtio_device *dev, const struct virtio_device_ops *ops,
			struct vm *vm, void *priv)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->vm = vm;
	dev->priv = priv;
	pthread_mutex_init(&dev->lock, NULL);
}

static void raise_interrupt(struct virtio_device *dev, uint32_t why)
{
	dev->isr |= why;
	dev->interrupts++;
	if (dev->signal)
		dev->signal(dev);
}

void virtio_device_fail(struct virtio_device *dev, const char *fmt, ...)
{
	if (dev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return; /* one line per breakage */
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fprintf(stderr, "kvmbox: %s: %s; device needs reset\n", dev->ops->name, why);
	dev->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	/* 2.1.2: "the device SHOULD send a device configuration change notification". */
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		raise_interrupt(dev, VIRTIO_MMIO_INT_CONFIG);
}

/* 2.4: reset returns every register and queue to its initial value. */
static void reset(struct virtio_device *dev)
{
	dev->status = 0;
	dev->driver_features = 0;
	dev->features = 0;
	dev->isr = 0;
	dev->device_features_sel = dev->driver_features_sel = dev->queue_sel = 0;
	memset(dev->queues, 0, sizeof(dev->queues));
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

void virtio_set_status(struct virtio_device *dev, uint32_t status)
{
	if (status == 0) {
		reset(dev);
		return;
	}
	uint32_t old = dev->status;
	/* 2.1.1: the driver MUST NOT clear a status bit (other than by reset). */
	if ((old & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) & ~status) {
		virtio_device_fail(dev, "status 0x%x clears bits of 0x%x without a reset", status, old);
		return;
	}
	uint32_t added = status & ~old;
	if (added & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
		virtio_device_fail(dev, "the driver set DEVICE_NEEDS_RESET (status 0x%x)", status);
		return;
	}
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		/*
		 * 3.1.1 step 5/6 and 2.2.2: accept only a subset of what we offer, and
		 * VERSION_1 (a legacy driver cannot use this transport). Otherwise
		 * leave FEATURES_OK clear: the driver re-reads and sees the refusal.
		 */
		uint64_t offered = virtio_device_features(dev);
		if ((dev->driver_features & ~offered) ||
		    !(dev->driver_features & (1ull << VIRTIO_F_VERSION_1))) {
			status &= ~VIRTIO_STATUS_FEATURES_OK;
		} else {
			dev->features = dev->driver_features;
		}
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(status & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_device_fail(dev, "DRIVER_OK without FEATURES_OK (status 0x%x)", status);
		return;
	}
	dev->status = status | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if ((added & VIRTIO_STATUS_DRIVER_OK) && dev->ops->driver_ok)
		dev->ops->driver_ok(dev);
}

void virtio_queue_set_ready(struct virtio_device *dev, uint16_t q, bool ready)
{
	struct virtio_queue *vq = &dev->queues[q];
	if (!ready) {
		vq->ready = false;
		return;
	}
	/* 3.1.1 step 7: queues are set up after FEATURES_OK, before DRIVER_OK. */
	if (!(dev->status & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_device_fail(dev, "queue %u made ready before FEATURES_OK", q);
		return;
	}
	if (vq->num > dev->ops->queue_num_max) {
		virtio_device_fail(dev, "queue %u: size %u above QueueNumMax %u", q, vq->num,
				   dev->ops->queue_num_max);
		return;
	}
	bool event_idx = dev->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	bool indirect = dev->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	if (virtq_setup(&vq->vq, dev->vm, vq->num, vq->desc, vq->avail, vq->used, event_idx, indirect)) {
		virtio_device_fail(dev, "queue %u: %s", q, vq->vq.error);
		return;
	}
	vq->ready = true;
	if (dev->ops->queue_ready)
		dev->ops->queue_ready(dev, q);
}

bool virtio_queue_usable(const struct virtio_device *dev, uint16_t q)
{
	return q < dev->ops->num_queues && dev->queues[q].ready &&
	       (dev->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) ==
		       VIRTIO_STATUS_DRIVER_OK;
}

void virtio_queue_interrupt(struct virtio_device *dev, uint16_t q)
{
	if (virtq_should_interrupt(&dev->queues[q].vq))
		raise_interrupt(dev, VIRTIO_MMIO_INT_VRING);
}

void virtio_config_changed(struct virtio_device *dev)
{
	dev->config_generation++;
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		raise_interrupt(dev, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_device_notify(struct virtio_device *dev, uint16_t q)
{
	pthread_mutex_lock(&dev->lock);
	dev->notifies++;
	if (virtio_queue_usable(dev, q) && dev->ops->notify)
		dev->ops->notify(dev, q);
	pthread_mutex_unlock(&dev->lock);
}
