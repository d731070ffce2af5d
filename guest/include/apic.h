/* The local APIC in x2APIC mode and its TSC-deadline timer (SDM vol. 3A ch. 11): the kernel's interrupt source. */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H
#include "types.h"
#include "platform.h"

/* Vectors (IDT stubs in arch/x86_64/entry.S; trap.c dispatches vectors >= 32). */
#define APIC_TIMER_VECTOR    0xec
#define APIC_SPURIOUS_VECTOR 0xff

/* The VMM gave this vCPU an in-kernel local APIC with the TSC-deadline timer (KVMBOX_BOOT_LAPIC). */
static inline bool apic_present(void)
{
	return boot_flags & KVMBOX_BOOT_LAPIC;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The TSC value at CLOCK_MONOTONIC time mono_ns (rounded up: the timer never fires early). */
uint64_t tsc_at(uint64_t mono_ns);
/* TSC ticks in ns nanoseconds (rounded up). */
uint64_t tsc_ticks(uint64_t ns);

/*
 * Make the one-shot timer fire when the TSC reaches deadline (0: disarm).
 * The x2APIC is enabled at the first call, not at boot (the boot path is
 * counted in CPL0 instructions). Writes IA32_TSC_DEADLINE only when the
 * deadline changes. Only with apic_present().
 */
void apic_timer_arm(uint64_t deadline);
/* Enable the x2APIC now (if not yet): device interrupts need it before the first timer does. */
void apic_enable_once(void);
/* The deadline armed now (TSC), 0 for none. */
uint64_t apic_timer_deadline(void);
/* The timer interrupt: acknowledge it (EOI) and note the deadline passed at now (TSC). */
void apic_timer_ack(uint64_t now);
/* End of interrupt for any other vector the APIC delivered (not for the spurious one). */
void apic_eoi(void);

/*
 * Wait for an interrupt with `sti; hlt; cli` (the STI shadow covers the HLT,
 * so an interrupt that is already pending ends the halt rather than being
 * taken before it). With KVM's in-kernel irqchip the halt stays inside KVM:
 * no exit to the VMM. The handler runs in between, interrupted at a rip in
 * [idle_halt_begin, idle_halt_end]: the only kernel code that runs with IF=1.
 * Normally that rip is idle_halt_end (after the HLT); a host that ignores the
 * STI shadow delivers at idle_halt_hlt, and the handler then skips the HLT.
 */
void idle_halt(void);
extern const char idle_halt_begin[], idle_halt_hlt[], idle_halt_end[];
#endif
