/* The local APIC in x2APIC mode (SDM vol. 3A 11.12) and its one-shot TSC-deadline timer (11.5.4.1). */
#include "apic.h"
#include "lib.h"

/* MSRs (SDM vol. 3A 11.4.4, 11.12.1 Table 11-6, 11.5.4.1). */
#define MSR_IA32_APIC_BASE    0x1b
#define APIC_BASE_EXTD        (1ull << 10)   /* x2APIC mode */
#define APIC_BASE_EN          (1ull << 11)   /* APIC global enable */
#define MSR_X2APIC_EOI        0x80b
#define MSR_X2APIC_SIVR       0x80f
#define SIVR_APIC_ENABLE      (1u << 8)      /* software enable */
#define MSR_X2APIC_LVT_TIMER  0x832
#define LVT_TIMER_TSC_DEADLINE (2u << 17)    /* timer mode bits 18:17 = 10b */
#define MSR_IA32_TSC_DEADLINE 0x6e0

static bool enabled;          /* x2APIC on and the LVT timer in TSC-deadline mode */
static uint64_t armed;        /* IA32_TSC_DEADLINE as we last wrote it; 0 = disarmed or fired */

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * TSC ticks per ns as a 32.32 fixed-point factor, rounded up: a division
 * (__udivti3, ~25 instructions at CPL0) becomes a multiply. Computed at the
 * first need, not at boot.
 */
static uint64_t ticks_per_ns_32;

uint64_t tsc_ticks(uint64_t ns)
{
	if (unlikely(!ticks_per_ns_32)) {
		uint64_t khz = boot_info->tsc_khz ? boot_info->tsc_khz : 1000000;
		ticks_per_ns_32 = (uint64_t)((((unsigned __int128)khz << 32) + 999999) / 1000000);
	}
	/* Rounded up factor, + 1 for the truncation: never fewer than ns * khz / 10^6 ticks. */
	return (uint64_t)(((unsigned __int128)ns * ticks_per_ns_32) >> 32) + 1;
}

/*
 * clock_monotonic_ns() (platform.c) is floor((tsc - boot_tsc) * 10^6 / khz):
 * at TSC boot_tsc + tsc_ticks(ns) >= boot_tsc + ns * khz / 10^6 it reads at
 * least ns, so a deadline never fires early.
 */
uint64_t tsc_at(uint64_t mono_ns)
{
	return boot_info->boot_tsc + tsc_ticks(mono_ns);
}

/*
 * x2APIC mode from the reset state (xAPIC enabled, SDM 11.12.5: EN then
 * EN|EXTD is a legal transition); software enable with the spurious vector
 * (11.9); the LVT timer unmasked in TSC-deadline mode. KVM accepts EXTD and
 * the TSC-deadline mode only because the VMM put them in our CPUID.
 */
static void apic_enable(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	if ((base & (APIC_BASE_EN | APIC_BASE_EXTD)) != (APIC_BASE_EN | APIC_BASE_EXTD))
		wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(MSR_X2APIC_SIVR, SIVR_APIC_ENABLE | APIC_SPURIOUS_VECTOR);
	/*
	 * Switching the timer mode disarms the timer; a later IA32_TSC_DEADLINE
	 * write arms it (11.5.4.1: "software should ... mode before writing").
	 */
	wrmsr(MSR_X2APIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | APIC_TIMER_VECTOR);
	enabled = true;
}

void apic_enable_once(void)
{
	if (!enabled)
		apic_enable();
}

void apic_timer_arm(uint64_t deadline)
{
	if (deadline == armed)
		return;
	if (unlikely(!enabled)) {
		if (!deadline)
			return;
		apic_enable();
	}
	/* A deadline already passed fires at once; 0 disarms (11.5.4.1). */
	wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	armed = deadline;
}

uint64_t apic_timer_deadline(void)
{
	return armed;
}

void apic_eoi(void)
{
	if (enabled)
		wrmsr(MSR_X2APIC_EOI, 0);
}

void apic_timer_ack(uint64_t now)
{
	wrmsr(MSR_X2APIC_EOI, 0);
	/* Fired (the MSR reads 0 now), unless re-armed later since it was raised. */
	if (armed && now >= armed)
		armed = 0;
}

/* void idle_halt(void): see apic.h. Plain assembly, so the labels exist exactly once. */
__asm__(".text\n"
	".globl idle_halt, idle_halt_begin, idle_halt_hlt, idle_halt_end\n"
	".type idle_halt, @function\n"
	"idle_halt:\n"
	"idle_halt_begin:\n"
	"	sti\n"
	"idle_halt_hlt:\n"
	"	hlt\n"
	"idle_halt_end:\n"
	"	cli\n"
	"	ret\n"
	".size idle_halt, . - idle_halt\n");
