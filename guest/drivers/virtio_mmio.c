/*
 * The virtio-mmio driver core (virtio spec v1.2, 4.2.3): devices found only
 * in the device tree, the initialization sequence of 3.1.1 step by step,
 * and interrupt dispatch by LAPIC vector (each device has its own MSI).
 * Register accesses exit to the VMM; they happen at initialization and per
 * interrupt, never per byte of data.
 */
#include "virtio_drv.h"
#include "apic.h"
#include "errno.h"
#include "fdt_prop.h"
#include "lib.h"
#include "mm.h"
#include "proc.h"

#define MAX_DEVS 16

static struct virtio_dev devs[MAX_DEVS];
static unsigned nr_devs;
static bool scanned;

static inline uint32_t reg_read(struct virtio_dev *d, uint32_t off)
{
	return *(volatile uint32_t *)(d->regs + off);
}

static inline void reg_write(struct virtio_dev *d, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(d->regs + off) = v;
}

/* Every node compatible with "virtio,mmio" whose magic and version are right (4.2.3.1.1). */
static void scan(void)
{
	scanned = true;
	const void *fdt = P2V(boot_info->fdt);
	size_t size = boot_info->fdt_size;
	for (long node = fdt_next_compatible(fdt, size, -1, "virtio,mmio");
	     node >= 0 && nr_devs < MAX_DEVS; node = fdt_next_compatible(fdt, size, node, "virtio,mmio")) {
		uint32_t len;
		const void *reg = fdt_node_prop(fdt, size, node, "reg", &len);
		if (!reg || len != 16)
			continue;
		const void *irq = fdt_node_prop(fdt, size, node, "interrupts", &len);
		if (!irq || len != 4)
			continue;
		struct virtio_dev *d = &devs[nr_devs];
		d->regs_pa = fdt_read_u64(reg);
		d->regs = P2V(d->regs_pa);
		d->vector = fdt_read_u32(irq);
		/* 4.2.3.1.1: check MagicValue and Version; DeviceID 0 is a placeholder. */
		if (reg_read(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
		    reg_read(d, VIRTIO_MMIO_VERSION) != VIRTIO_MMIO_VERSION_2)
			continue;
		d->device_id = reg_read(d, VIRTIO_MMIO_DEVICE_ID);
		if (d->device_id)
			nr_devs++;
	}
}

struct virtio_dev *virtio_find_nth(uint32_t device_id, unsigned n)
{
	if (!apic_present())
		return NULL; /* nothing could deliver the device's interrupts */
	if (!scanned)
		scan();
	for (unsigned i = 0; i < nr_devs; i++)
		if (devs[i].device_id == device_id && n-- == 0)
			return &devs[i];
	return NULL;
}

struct virtio_dev *virtio_find(uint32_t device_id)
{
	return virtio_find_nth(device_id, 0);
}

uint32_t virtio_config_read32(struct virtio_dev *d, uint32_t off)
{
	return reg_read(d, VIRTIO_MMIO_CONFIG + off);
}

static int fail(struct virtio_dev *d, const char *why)
{
	/* 3.1.1 step 8 (on failure): set FAILED; the device is not used again. */
	reg_write(d, VIRTIO_MMIO_STATUS, reg_read(d, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FAILED);
	d->broken = true;
	printk("kvmbox guest: virtio device %u at %lx: %s\n", d->device_id, d->regs_pa, why);
	return -ENODEV;
}

/* Queue q: one page holds descriptors, available ring (+ used_event), used ring (+ avail_event). */
static int setup_queue(struct virtio_dev *d, struct vq *q, uint16_t index, uint16_t want)
{
	reg_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
	if (reg_read(d, VIRTIO_MMIO_QUEUE_READY))
		return -1; /* 4.2.3.2: must not be in use */
	uint32_t max = reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0)
		return -1;
	uint16_t num = want;
	while (num > max)
		num >>= 1;
	uint64_t page = page_alloc_zeroed();
	q->token = kmalloc(num * sizeof(void *));
	if (!page || !q->token)
		return -1;
	uint64_t desc = page, avail = page + VIRTQ_DESC_BYTES(num);
	uint64_t used = (avail + VIRTQ_AVAIL_BYTES(num) + 3) & ~3ull;
	q->dev = d;
	q->index = index;
	q->num = num;
	q->desc = P2V(desc);
	q->avail = P2V(avail);
	q->used = P2V(used);
	q->free_head = 0;
	q->list_len = 0;
	q->fresh = 0;
	q->nr_free = num;
	reg_write(d, VIRTIO_MMIO_QUEUE_NUM, num);
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	reg_write(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	reg_write(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	reg_write(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	reg_write(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
}

int virtio_init(struct virtio_dev *d, uint64_t wanted, unsigned nr_vqs, uint16_t queue_size,
		bool (*used)(struct virtio_dev *d))
{
	if (d->broken)
		return -ENODEV;
	/* 1. Reset the device. */
	reg_write(d, VIRTIO_MMIO_STATUS, 0);
	/* 2. ACKNOWLEDGE: we noticed the device. 3. DRIVER: we can drive it. */
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* 4. Read the device's features; write the subset we understand. */
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t offered = reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	uint64_t need = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX);
	if ((offered & need) != need)
		return fail(d, "VERSION_1 or EVENT_IDX not offered");
	d->features = offered & (need | wanted);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	/* 5. FEATURES_OK; 6. re-read it: still set means the device accepted the subset. */
	uint32_t status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	reg_write(d, VIRTIO_MMIO_STATUS, status);
	if (!(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return fail(d, "features refused");
	/* 7. Device-specific setup: the virtqueues. */
	d->vqs = kmalloc(nr_vqs * sizeof(struct vq));
	if (!d->vqs)
		return fail(d, "out of memory");
	for (unsigned i = 0; i < nr_vqs; i++)
		if (!(d->unused_vqs & (1u << i)) &&
		    setup_queue(d, &d->vqs[i], (uint16_t)i, MIN(queue_size, VQ_MAX_SIZE)))
			return fail(d, "queue setup failed");
	d->nr_vqs = nr_vqs;
	d->used = used;
	/* Its MSIs are accepted only by a software-enabled APIC (SDM vol. 3A 11.4.7.2). */
	apic_enable_once();
	/* 8. DRIVER_OK: the device is live. */
	reg_write(d, VIRTIO_MMIO_STATUS, status | VIRTIO_STATUS_DRIVER_OK);
	d->ready = true;
	return 0;
}

bool virtio_interrupt(unsigned vector, bool from_user)
{
	for (unsigned i = 0; i < nr_devs; i++) {
		struct virtio_dev *d = &devs[i];
		if (d->vector != vector)
			continue;
		apic_eoi();
		/*
		 * The vector is this device's alone (an MSI, as with virtio-pci's
		 * MSI-X, where the ISR is not read): look at the used rings first.
		 * Only an interrupt that completed nothing reads InterruptStatus and
		 * acknowledges it (4.2.3.4): two exits to the VMM that a data
		 * interrupt does not pay, so a write costs no exit at all.
		 */
		if (d->ready && d->used && d->used(d))
			return true;
		uint32_t isr = reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);
		if (isr)
			reg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
		if ((isr & VIRTIO_MMIO_INT_CONFIG) &&
		    (reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
			/* 2.1.2: the device broke; its requests never complete. */
			d->broken = true;
			printk("kvmbox guest: virtio device %u at %lx needs a reset; not used any more\n",
			       d->device_id, d->regs_pa);
		}
		if (d->ready && d->used)
			d->used(d); /* wakes the waiters (of a broken device too) */
		/* A woken thread runs at the next return to user mode, not after this one's slice. */
		if (from_user)
			this_cpu()->work |= WORK_RESCHED;
		return true;
	}
	return false;
}
