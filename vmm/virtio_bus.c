/*
 * The VMM side of virtio-mmio (virtio spec v1.2, 4.2): register windows
 * served from the vCPU loop's MMIO exits, QueueNotify bound to
 * KVM_IOEVENTFD (api.rst 4.59) so kicks reach the I/O thread without an
 * exit to userspace, and one KVM_IRQFD (4.75) per device on an MSI route
 * (KVM_SET_GSI_ROUTING, 4.52) to the local APIC: the split irqchip has no
 * IOAPIC, and MSIs need none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_console.h"
#include "devices/virtio_rng.h"
#include "guest_mem.h"
#include "io_thread.h"
#include "kvm.h"
#include "virtio_bus.h"

struct slot {
	struct virtio_device *dev;
	uint64_t base;
	uint32_t vector, gsi;
	int irqfd;
	int notify_fd[VIRTIO_MAX_QUEUES];
	struct notify_watch { struct slot *slot; uint16_t q; } watch[VIRTIO_MAX_QUEUES];
};

static struct slot slots[VIRTIO_BUS_MAX];
static unsigned nr_slots;
static struct fdt_virtio_mmio fdt_nodes[VIRTIO_BUS_MAX];

void virtio_bus_place(struct vm *vm)
{
	vm->virtio_base = align_up(vm->mem_size, 1ull << 30);
}

static void signal_irqfd(struct virtio_device *dev)
{
	struct slot *s = dev->host;
	uint64_t one = 1;
	if (write(s->irqfd, &one, sizeof(one)) != sizeof(one))
		warn("%s: irqfd write failed: %s", dev->ops->name, strerror(errno));
}

/* A QueueNotify that reached the register (no ioeventfd): hand it to the I/O thread the same way. */
static void kick_eventfd(struct virtio_device *dev, uint16_t q)
{
	struct slot *s = dev->host;
	uint64_t one = 1;
	if (write(s->notify_fd[q], &one, sizeof(one)) != sizeof(one))
		warn("%s: notify eventfd write failed: %s", dev->ops->name, strerror(errno));
}

static void on_notify(void *arg)
{
	struct notify_watch *w = arg;
	uint64_t count;
	if (read(w->slot->notify_fd[w->q], &count, sizeof(count)) != sizeof(count))
		return;
	virtio_device_notify(w->slot->dev, w->q);
}

static void add_device(struct vm *vm, struct virtio_device *dev)
{
	if (nr_slots == VIRTIO_BUS_MAX)
		die(EXIT_VMM_ERROR, "too many virtio devices (at most %d)", VIRTIO_BUS_MAX);
	struct slot *s = &slots[nr_slots];
	s->dev = dev;
	s->base = vm->virtio_base + nr_slots * VIRTIO_BUS_SLOT;
	s->vector = VIRTIO_BUS_VECTOR0 + nr_slots;
	s->gsi = VIRTIO_BUS_GSI0 + nr_slots;
	dev->host = s;
	dev->signal = signal_irqfd;
	dev->kick = kick_eventfd;

	s->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->irqfd < 0)
		die(EXIT_VMM_ERROR, "eventfd: %s", strerror(errno));
	for (uint16_t q = 0; q < dev->ops->num_queues; q++) {
		s->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (s->notify_fd[q] < 0)
			die(EXIT_VMM_ERROR, "eventfd: %s", strerror(errno));
		/* The guest's 32-bit write of q to QueueNotify signals the eventfd inside KVM. */
		struct kvm_ioeventfd io = {
			.datamatch = q, .addr = s->base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4,
			.fd = s->notify_fd[q], .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (__vm_ioctl(vm, KVM_IOEVENTFD, &io) < 0)
			info("%s: KVM_IOEVENTFD failed (%s): queue %u notifications exit to the VMM",
			     dev->ops->name, strerror(errno), q);
		s->watch[q] = (struct notify_watch){ s, q };
		io_thread_watch(s->notify_fd[q], on_notify, &s->watch[q]);
	}
	fdt_nodes[nr_slots] = (struct fdt_virtio_mmio){ s->base, VIRTIO_MMIO_REGION_SIZE, s->vector };
	nr_slots++;
}

/* One MSI route per device to APIC ID 0 (the boot vCPU), fixed delivery, edge (SDM vol. 3A 11.11). */
static void route_interrupts(struct vm *vm)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + nr_slots * sizeof(r->entries[0]));
	if (!r)
		die(EXIT_VMM_ERROR, "out of memory");
	r->nr = nr_slots;
	for (unsigned i = 0; i < nr_slots; i++) {
		r->entries[i] = (struct kvm_irq_routing_entry){
			.gsi = slots[i].gsi, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = 0xfee00000u, .address_hi = 0, .data = slots[i].vector },
		};
	}
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, r);
	free(r);
	for (unsigned i = 0; i < nr_slots; i++) {
		struct kvm_irqfd irqfd = { .fd = (uint32_t)slots[i].irqfd, .gsi = slots[i].gsi };
		vm_ioctl(vm, KVM_IRQFD, &irqfd);
	}
}

static void on_blk_complete(void *arg)
{
	virtio_blk_complete(arg);
}

void virtio_bus_create(struct vm *vm, const struct options *o, struct fdt_params *fp)
{
	/* Interrupts need the in-kernel LAPIC; without it the guest keeps its fallbacks. */
	if (!vm->lapic) {
		if (o->nr_disks)
			die(EXIT_VMM_ERROR, "--disk needs KVM's in-kernel local APIC for the disk's "
			    "interrupts, and this VM has none (KVMBOX_IRQCHIP=0?)");
		return;
	}
	const char *pattern = getenv("KVMBOX_TEST_RNG_PATTERN");
	struct virtio_device *rng = virtio_rng_create(vm, pattern ? (int)strtol(pattern, NULL, 0) : 0);
	if (!rng)
		die(EXIT_VMM_ERROR, "out of memory");
	add_device(vm, rng);
	struct virtio_device *console = virtio_console_create(vm);
	if (!console)
		die(EXIT_VMM_ERROR, "out of memory");
	add_device(vm, console);
	/* The disks in --disk order: the guest names them vda, vdb, ... in device-tree order. */
	for (int i = 0; i < o->nr_disks; i++) {
		char err[512];
		struct virtio_device *blk = virtio_blk_create(vm, &o->disks[i], (unsigned)i, err, sizeof(err));
		if (!blk)
			die(EXIT_VMM_ERROR, "%s", err);
		add_device(vm, blk);
		io_thread_watch(virtio_blk_event_fd(blk), on_blk_complete, blk);
	}
	route_interrupts(vm);
	fp->virtio = fdt_nodes;
	fp->nr_virtio = nr_slots;
}

void virtio_bus_start(struct vm *vm)
{
	if (!nr_slots)
		return;
	io_thread_start();
	if (log_verbose)
		atexit(virtio_bus_report);
}

bool virtio_bus_mmio(struct vm *vm, uint64_t gpa, uint8_t *data, uint32_t len, bool is_write)
{
	if (gpa < vm->virtio_base || !nr_slots)
		return false;
	uint64_t i = (gpa - vm->virtio_base) / VIRTIO_BUS_SLOT;
	uint64_t off = (gpa - vm->virtio_base) % VIRTIO_BUS_SLOT;
	if (i >= nr_slots || off >= VIRTIO_MMIO_REGION_SIZE || len > 8 ||
	    off + len > VIRTIO_MMIO_REGION_SIZE)
		return false;
	if (is_write)
		virtio_mmio_write(slots[i].dev, off, data, len);
	else
		virtio_mmio_read(slots[i].dev, off, data, len);
	return true;
}

/* Every live queue's indexes and EVENT_IDX words (--verbose at a timeout: why a wait never ended). */
void virtio_bus_dump_queues(void)
{
	for (unsigned i = 0; i < nr_slots; i++) {
		struct virtio_device *d = slots[i].dev;
		/* No lock: the I/O thread may hold it blocked on a host write; the words are read once each. */
		info("%s: status 0x%x isr 0x%x, %llu notifications, %llu interrupts", d->ops->name, d->status,
		     d->isr, (unsigned long long)d->notifies, (unsigned long long)d->interrupts);
		for (unsigned q = 0; q < d->ops->num_queues; q++) {
			struct virtq *vq = &d->queues[q].vq;
			if (!d->queues[q].ready)
				continue;
			uint16_t avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_RELAXED);
			uint16_t used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_RELAXED);
			uint16_t used_event = __atomic_load_n(&vq->avail->ring[vq->num], __ATOMIC_RELAXED);
			uint16_t avail_event = __atomic_load_n((uint16_t *)&vq->used->ring[vq->num], __ATOMIC_RELAXED);
			info("  queue %u: avail idx %u (device took %u, avail_event %u), used idx %u "
			     "(device's %u, signalled %u, used_event %u)", q, avail_idx, vq->last_avail,
			     avail_event, used_idx, vq->used_idx, vq->signalled_used, used_event);
		}
	}
}

void virtio_bus_report(void)
{
	for (unsigned i = 0; i < nr_slots; i++) {
		struct virtio_device *d = slots[i].dev;
		pthread_mutex_lock(&d->lock);
		info("%s at 0x%llx: %llu queue notifications, %llu interrupts, status 0x%x", d->ops->name,
		     (unsigned long long)slots[i].base, (unsigned long long)d->notifies,
		     (unsigned long long)d->interrupts, d->status);
		pthread_mutex_unlock(&d->lock);
	}
}
