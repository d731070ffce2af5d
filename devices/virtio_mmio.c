/* virtio-mmio version 2 registers (virtio spec v1.2, 4.2.2) decoded into the device core's calls. */
#include <string.h>
#include "virtio_mmio.h"

/* The queue QueueSel selects, or NULL when out of range (4.2.3.2: QueueNumMax reads 0 then). */
static struct virtio_queue *selected(struct virtio_device *dev)
{
	return dev->queue_sel < dev->ops->num_queues ? &dev->queues[dev->queue_sel] : NULL;
}

/* Config space: 8, 16 or 32 bits wide, naturally aligned, inside the device's config (4.2.2.2). */
static bool config_access_ok(struct virtio_device *dev, uint64_t off, uint32_t len)
{
	uint64_t coff = off - VIRTIO_MMIO_CONFIG;
	if ((len != 1 && len != 2 && len != 4) || (coff & (len - 1)) ||
	    coff + len > dev->ops->config_size) {
		virtio_device_fail(dev, "config space access of %u bytes at offset 0x%llx (%u bytes of config)",
				   len, (unsigned long long)coff, dev->ops->config_size);
		return false;
	}
	return true;
}

static uint32_t read_reg(struct virtio_device *dev, uint64_t off)
{
	struct virtio_queue *q = selected(dev);
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		/* Words beyond the second read 0: no such features. */
		return dev->device_features_sel < 2 ?
			(uint32_t)(virtio_device_features(dev) >> (32 * dev->device_features_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? dev->ops->queue_num_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return dev->isr;
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	}
	virtio_device_fail(dev, "read of write-only or reserved register 0x%llx", (unsigned long long)off);
	return 0;
}

/* A queue's size and addresses may change only while it is not ready (4.2.3.2). */
static struct virtio_queue *queue_for_config(struct virtio_device *dev, uint64_t off)
{
	struct virtio_queue *q = selected(dev);
	if (!q)
		virtio_device_fail(dev, "register 0x%llx written for queue %u; the device has %u",
				   (unsigned long long)off, dev->queue_sel, dev->ops->num_queues);
	else if (q->ready)
		virtio_device_fail(dev, "register 0x%llx written while queue %u is ready",
				   (unsigned long long)off, dev->queue_sel);
	else
		return q;
	return NULL;
}

static void set_half(uint64_t *v, uint32_t val, bool high)
{
	*v = high ? (*v & 0xffffffffull) | (uint64_t)val << 32 : (*v & ~0xffffffffull) | val;
}

static void write_reg(struct virtio_device *dev, uint64_t off, uint32_t val)
{
	struct virtio_queue *q;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* 3.1.1: features are written between DRIVER and FEATURES_OK. */
		if (dev->status & VIRTIO_STATUS_FEATURES_OK) {
			virtio_device_fail(dev, "driver features written after FEATURES_OK");
			return;
		}
		if (dev->driver_features_sel < 2)
			set_half(&dev->driver_features, val, dev->driver_features_sel == 1);
		else if (val)
			dev->driver_features |= 1ull << 63; /* an unknown bit: FEATURES_OK will refuse */
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
		if ((q = queue_for_config(dev, off)))
			q->num = val;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		q = selected(dev);
		if (!q) {
			virtio_device_fail(dev, "QueueReady for queue %u; the device has %u", dev->queue_sel,
					   dev->ops->num_queues);
			return;
		}
		if (val > 1) {
			virtio_device_fail(dev, "QueueReady written with %u", val);
			return;
		}
		virtio_queue_set_ready(dev, (uint16_t)dev->queue_sel, val);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* 4.2.2: the value is the queue index. The work goes to the I/O thread. */
		if (val >= dev->ops->num_queues) {
			virtio_device_fail(dev, "QueueNotify for queue %u; the device has %u", val,
					   dev->ops->num_queues);
			return;
		}
		if (dev->kick)
			dev->kick(dev, (uint16_t)val);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		dev->isr &= ~val;
		return;
	case VIRTIO_MMIO_STATUS:
		virtio_set_status(dev, val);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if ((q = queue_for_config(dev, off)))
			set_half(&q->desc, val, off == VIRTIO_MMIO_QUEUE_DESC_HIGH);
		return;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if ((q = queue_for_config(dev, off)))
			set_half(&q->avail, val, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH);
		return;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if ((q = queue_for_config(dev, off)))
			set_half(&q->used, val, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH);
		return;
	}
	virtio_device_fail(dev, "write of read-only or reserved register 0x%llx", (unsigned long long)off);
}

/* One access, either way: config space (device-defined widths) or a 32-bit control register. */
static void reg_access(struct virtio_device *dev, uint64_t off, void *data, uint32_t len, bool write)
{
	pthread_mutex_lock(&dev->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint32_t coff = (uint32_t)(off - VIRTIO_MMIO_CONFIG);
		if (!config_access_ok(dev, off, len))
			;
		else if (write && dev->ops->config_write)
			dev->ops->config_write(dev, coff, data, len);
		else if (!write && dev->ops->config_read)
			dev->ops->config_read(dev, coff, data, len);
	} else if (len != 4 || (off & 3)) {
		virtio_device_fail(dev, "%u-byte %s of register 0x%llx (only aligned 32-bit accesses)",
				   len, write ? "write" : "read", (unsigned long long)off);
	} else if (write) {
		uint32_t v;
		memcpy(&v, data, 4);
		write_reg(dev, off, v);
	} else {
		uint32_t v = read_reg(dev, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_read(struct virtio_device *dev, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len); /* what a failed access reads */
	reg_access(dev, off, data, len, false);
}

void virtio_mmio_write(struct virtio_device *dev, uint64_t off, const void *data, uint32_t len)
{
	reg_access(dev, off, (void *)data, len, true);
}
