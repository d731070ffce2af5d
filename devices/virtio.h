/*
 * virtio devices, independent of transport and of the vCPU loop (virtio spec v1.2, 2 and 3).
 *
 * A device model (virtio_rng.c, ...) fills a struct virtio_device_ops: its
 * ID, features, queues, configuration space and callbacks. The common state
 * below (status, negotiated features, queues) is driven by a transport
 * (virtio_mmio.c decodes the virtio-mmio registers into the calls here); the
 * host side wires the device to the world with two callbacks: `signal`
 * raises the device's interrupt (an irqfd write under KVM) and `kick` hands
 * a queue notification that reached the transport to the I/O thread (when
 * no ioeventfd caught it). Device work (ops->notify) runs on the caller's
 * thread, which is the I/O thread in the VMM and could be a vhost-user
 * backend's: nothing here knows about vCPUs.
 *
 * Locking: every entry point takes dev->lock; ops callbacks run with it held.
 *
 * Writing a device:
 *   static const struct virtio_device_ops my_ops = {
 *       .name = "virtio-foo", .device_id = VIRTIO_ID_FOO, .features = ...,
 *       .num_queues = 2, .queue_num_max = 256, .config_size = sizeof(cfg),
 *       .config_read = ..., .notify = ..., .reset = ...,
 *   };
 *   virtio_device_init(dev, &my_ops, vm, priv);
 * In ops->notify(dev, q): while ((r = virtq_pop(&dev->queues[q].vq, &chain)) > 0)
 * { ...; virtq_push(...); }  if (r < 0) virtio_device_fail(dev, "%s", vq->error);
 * then virtio_queue_interrupt(dev, q) and loop while virtq_enable_notify().
 * With EVENT_IDX (always offered) a device that never calls
 * virtq_enable_notify on a queue gets exactly one notification for it.
 */
#ifndef DEVICES_VIRTIO_H
#define DEVICES_VIRTIO_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <virtio.h>
#include "virtqueue.h"

#define VIRTIO_MAX_QUEUES 8

struct virtio_device;

struct virtio_device_ops {
	const char *name;             /* for messages: "virtio-rng" */
	uint32_t device_id;           /* VIRTIO_ID_* (spec 5) */
	uint64_t features;            /* device-specific feature bits; the core adds
	                               * VERSION_1, EVENT_IDX and INDIRECT_DESC */
	uint16_t num_queues;
	uint16_t queue_num_max;       /* QueueNumMax of every queue (power of 2) */
	uint32_t config_size;         /* bytes of device configuration space */
	/* Read/write config space [off, off + len) (in bounds: the core checks). */
	void (*config_read)(struct virtio_device *dev, uint32_t off, void *buf, uint32_t len);
	void (*config_write)(struct virtio_device *dev, uint32_t off, const void *buf, uint32_t len);
	/* Queue q was set up and marked ready by the driver (optional). */
	void (*queue_ready)(struct virtio_device *dev, uint16_t q);
	/* The driver set DRIVER_OK (optional): the device may start using its queues. */
	void (*driver_ok)(struct virtio_device *dev);
	/* The driver notified queue q (available buffers). Runs on the I/O thread. */
	void (*notify)(struct virtio_device *dev, uint16_t q);
	/* Device reset (status 0, spec 2.4): drop device-specific state (optional). */
	void (*reset)(struct virtio_device *dev);
};

struct virtio_queue {
	uint32_t num;                 /* QueueNum as the driver set it */
	bool ready;                   /* QueueReady */
	uint64_t desc, avail, used;   /* the three areas (gpa) */
	struct virtq vq;              /* valid while ready */
};

struct virtio_device {
	const struct virtio_device_ops *ops;
	void *priv;                   /* the device model's own state */
	struct vm *vm;                /* guest memory */
	pthread_mutex_t lock;

	uint32_t status;              /* device status (2.1) */
	uint64_t driver_features;     /* as written by the driver */
	uint64_t features;            /* negotiated: valid from FEATURES_OK */
	uint32_t config_generation;   /* bumped on every device-side config change (2.5.1) */
	uint32_t isr;                 /* VIRTIO_MMIO_INT_* pending */
	struct virtio_queue queues[VIRTIO_MAX_QUEUES];
	/* Transport selector registers (virtio-mmio DeviceFeaturesSel, DriverFeaturesSel, QueueSel). */
	uint32_t device_features_sel, driver_features_sel, queue_sel;

	/* Wired by the host side. */
	void (*signal)(struct virtio_device *dev);          /* raise the interrupt */
	void (*kick)(struct virtio_device *dev, uint16_t q); /* queue it to the I/O thread */
	void *host;                   /* the host side's own state */
	uint64_t notifies, interrupts; /* counters (--verbose) */
};

/* Every feature bit a device offers: its own plus the core's. */
uint64_t virtio_device_features(const struct virtio_device *dev);

void virtio_device_init(struct virtio_device *dev, const struct virtio_device_ops *ops,
			struct vm *vm, void *priv);

/*
 * The driver broke the device: print one line on stderr ("kvmbox: virtio-rng:
 * <why>; device needs reset"), set DEVICE_NEEDS_RESET and send a
 * configuration change notification (2.1.2). Queues stay dead until reset.
 * Call with dev->lock held.
 */
void virtio_device_fail(struct virtio_device *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Status register write (2.1, 3.1.1), with the checks the device MUST do; lock held. */
void virtio_set_status(struct virtio_device *dev, uint32_t status);

/* Queue q's QueueReady written (1: validate and map the rings); lock held. */
void virtio_queue_set_ready(struct virtio_device *dev, uint16_t q, bool ready);

/* Can queue q carry buffers now (DRIVER_OK, ready, not broken)? Lock held. */
bool virtio_queue_usable(const struct virtio_device *dev, uint16_t q);

/*
 * After used buffers were pushed on q: interrupt the driver if it wants one
 * (virtq_should_interrupt). Lock held.
 */
void virtio_queue_interrupt(struct virtio_device *dev, uint16_t q);

/* A device-side configuration change: bump the generation and notify (2.5.1, 4.2.3.3). Lock held. */
void virtio_config_changed(struct virtio_device *dev);

/* The I/O thread's entry: queue q was notified. Takes the lock, runs ops->notify if usable. */
void virtio_device_notify(struct virtio_device *dev, uint16_t q);
#endif
