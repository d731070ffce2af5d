/* The flattened device tree the guest kernel boots with (pure: libfdt only, unit-tested). */
#ifndef VMM_FDT_H
#define VMM_FDT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDT_RNG_SEED_BYTES 64
#define FDT_MAX_SIZE (64 * 1024)

/* A virtio-mmio device node: registers [base, base + size), interrupt = LAPIC vector. */
struct fdt_virtio_mmio {
	uint64_t base, size;
	uint32_t vector;
};

struct fdt_params {
	uint64_t mem_size;
	uint32_t nr_cpus;
	const char *bootargs;             /* the kernel command line */
	uint64_t initrd_start, initrd_end; /* gpa, [start, end) */
	uint64_t tsc_khz, boot_tsc, boot_realtime_ns;
	bool cpl0_emulated;
	bool lapic;                       /* in-kernel x2APIC with the TSC-deadline timer */
	uint8_t rng_seed[FDT_RNG_SEED_BYTES];
	const struct fdt_virtio_mmio *virtio; /* virtio-mmio devices (need lapic) */
	unsigned nr_virtio;
};

/*
 * Build the tree into buf[0, size) (Devicetree Specification v0.4, ch. 3:
 * root, /memory, /cpus, /chosen; the local APIC node when p->lapic, then
 * one virtio_mmio node per device). Returns the packed size, or -1 with a
 * libfdt error text in err.
 */
int fdt_build(void *buf, size_t size, const struct fdt_params *p, char *err, size_t err_size);
#endif
