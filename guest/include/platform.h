/* The platform layer: what differs between hardware-virtualized and emulated-CPL0 hosts. */
#ifndef GUEST_PLATFORM_H
#define GUEST_PLATFORM_H
#include "types.h"
#include <kvmbox.h>

/* Make hypercall nr with argument struct `arg` (must live in kernel memory below 4 GiB phys). */
void hypercall(unsigned nr, void *arg);

/*
 * Bulk memory on guest-physical ranges. On emulated-CPL0 hosts (boot flag
 * KVMBOX_BOOT_CPL0_EMULATED) these are one HC_MEMOP exit; elsewhere rep movs/stos
 * through the direct map.
 */
void pmem_zero(uint64_t pa, size_t len);
void pmem_copy(uint64_t dst_pa, uint64_t src_pa, size_t len);
/* Several copies at once (n <= KVMBOX_MEMOP_MAX_SEGS): one HC_MEMOP exit where CPL0 is emulated. */
struct pmem_copy_seg {
	uint64_t dst, src, len;
};
void pmem_copy_batch(const struct pmem_copy_seg *segs, unsigned n);
/* Zero n (<= KVMBOX_MEMOP_MAX_SEGS) whole pages at once. */
void pmem_zero_pages(const uint64_t *pas, unsigned n);
/* Same, on kernel virtual addresses (direct map or kernel image). */
void kmem_copy(void *dst, const void *src, size_t len);
void kmem_zero(void *dst, size_t len);

/* Nanoseconds since boot (TSC based) and CLOCK_REALTIME in ns. */
uint64_t clock_monotonic_ns(void);
uint64_t clock_realtime_ns(void);
/* A TSC interval in ns (CPU-time accounting). */
uint64_t tsc_to_ns(uint64_t ticks);

/* End the VM. */
noreturn void platform_exit(int status);

extern uint64_t boot_flags;
extern struct kvmbox_boot_info *boot_info;
#endif
