/* The VMM side of virtio-mmio devices: the MMIO window, ioeventfds, irqfds on MSI routes, FDT nodes. */
#ifndef VMM_VIRTIO_BUS_H
#define VMM_VIRTIO_BUS_H
#include <stdbool.h>
#include <stdint.h>
#include "fdt.h"
#include "options.h"
#include "vm.h"

/* Register windows: VIRTIO_BUS_SLOT bytes each from vm->virtio_base (covered by the direct map). */
#define VIRTIO_BUS_SLOT   0x1000ull
#define VIRTIO_BUS_WINDOW (2ull << 20)
#define VIRTIO_BUS_MAX    16
/* Device i interrupts the guest with LAPIC vector VIRTIO_BUS_VECTOR0 + i, on GSI VIRTIO_BUS_GSI0 + i. */
#define VIRTIO_BUS_VECTOR0 0x40
#define VIRTIO_BUS_GSI0    24

/* Where the window goes: the first 1 GiB boundary above guest memory (before the page tables). */
void virtio_bus_place(struct vm *vm);

/*
 * Create the devices (virtio-rng, then one virtio-blk per --disk; needs the in-kernel LAPIC: without it nothing can
 * deliver their interrupts, and the guest uses its fallbacks), bind their
 * queue notifications to ioeventfds and their interrupts to irqfds on MSI
 * routes, and record their FDT nodes in fp.
 */
void virtio_bus_create(struct vm *vm, const struct options *o, struct fdt_params *fp);

/* Start the I/O thread (before the first KVM_RUN). */
void virtio_bus_start(struct vm *vm);

/* A KVM_EXIT_MMIO from the vCPU loop: true if a device window took it. */
bool virtio_bus_mmio(struct vm *vm, uint64_t gpa, uint8_t *data, uint32_t len, bool is_write);

/* --verbose: one line per device with its notify and interrupt counts. */
void virtio_bus_report(void);

/* --verbose at a --timeout: every live queue's ring indexes and EVENT_IDX words on stderr. */
void virtio_bus_dump_queues(void);
#endif
