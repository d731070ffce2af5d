/* The x86-64 platform layer: hypercalls, bulk memory, the clock, halting. */
#include "platform.h"
#include "proc.h"
#include "mm.h"
#include "lib.h"

uint64_t boot_flags;
struct kvmbox_boot_info *boot_info;

void hypercall(unsigned nr, void *arg)
{
	uint32_t gpa = (uint32_t)V2P(arg);
	__asm__ volatile("outl %0, %w1" : : "a"(gpa), "Nd"(KVMBOX_HC_PORT_BASE + nr) : "memory");
}

/*
 * Below this size a copy stays in the guest even where CPL0 is emulated:
 * `rep movsq` costs ~0.5-0.9 us per 8 bytes there and an exit ~7.5 us.
 */
#define INLINE_COPY_MAX 64

static bool emulated(void)
{
	return boot_flags & KVMBOX_BOOT_CPL0_EMULATED;
}

static void memop(uint32_t op, uint64_t dst, uint64_t src, size_t len)
{
	static struct kvmbox_hc_memop hc; /* one vCPU; per-CPU once SMP lands */
	hc.op = op;
	hc.nr_segs = 1;
	hc.segs[0].dst = dst;
	hc.segs[0].src = src;
	hc.segs[0].len = len;
	hypercall(KVMBOX_HC_MEMOP, &hc);
	if (hc.ret)
		panic("HC_MEMOP op %u dst %lx src %lx len %zu: %ld", op, dst, src, len, hc.ret);
}

void pmem_zero_pages(const uint64_t *pas, unsigned n)
{
	if (!emulated()) {
		for (unsigned i = 0; i < n; i++)
			memset(P2V(pas[i]), 0, PAGE_SIZE);
		return;
	}
	static struct kvmbox_hc_memop hc;
	hc.op = KVMBOX_MEMOP_ZERO;
	hc.nr_segs = n;
	for (unsigned i = 0; i < n; i++) {
		hc.segs[i].dst = pas[i];
		hc.segs[i].src = 0;
		hc.segs[i].len = PAGE_SIZE;
	}
	hypercall(KVMBOX_HC_MEMOP, &hc);
	if (hc.ret)
		panic("HC_MEMOP zero %u pages: %ld", n, hc.ret);
}

static void copy_inline(void *dst, const void *src, size_t len)
{
	if (!((len | (uint64_t)dst | (uint64_t)src) & 7)) {
		size_t q = len / 8;
		__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
	} else {
		__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
	}
}

void pmem_zero(uint64_t pa, size_t len)
{
	if (emulated() && len > INLINE_COPY_MAX) {
		memop(KVMBOX_MEMOP_ZERO, pa, 0, len);
		return;
	}
	memset(P2V(pa), 0, len);
}

void pmem_copy(uint64_t dst_pa, uint64_t src_pa, size_t len)
{
	if (emulated() && len > INLINE_COPY_MAX) {
		memop(KVMBOX_MEMOP_COPY, dst_pa, src_pa, len);
		return;
	}
	copy_inline(P2V(dst_pa), P2V(src_pa), len);
}

/* Kernel virtual addresses are physically contiguous (direct map or image). */
void kmem_copy(void *dst, const void *src, size_t len)
{
	if (emulated() && len > INLINE_COPY_MAX) {
		memop(KVMBOX_MEMOP_COPY, V2P(dst), V2P(src), len);
		return;
	}
	copy_inline(dst, src, len);
}

void kmem_zero(void *dst, size_t len)
{
	if (emulated() && len > INLINE_COPY_MAX) {
		memop(KVMBOX_MEMOP_ZERO, V2P(dst), 0, len);
		return;
	}
	memset(dst, 0, len);
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* ns = ticks * 10^6 / khz, without overflowing for a century of ticks. */
uint64_t tsc_to_ns(uint64_t ticks)
{
	uint64_t khz = boot_info->tsc_khz ? boot_info->tsc_khz : 1000000;
	unsigned __int128 ns = (unsigned __int128)ticks * 1000000u;
	return (uint64_t)(ns / khz);
}

uint64_t clock_monotonic_ns(void)
{
	uint64_t now = rdtsc();
	return now > boot_info->boot_tsc ? tsc_to_ns(now - boot_info->boot_tsc) : 0;
}

uint64_t clock_realtime_ns(void)
{
	return boot_info->boot_realtime_ns + clock_monotonic_ns();
}

/* --verbose: the scheduler's counters for the VMM to print (the tests count timer interrupts). */
static void report_stats(void)
{
	static struct kvmbox_guest_stats st;
	static struct kvmbox_hc_notice hc;
	const struct sched_stats *s = sched_get_stats();
	st.timer_interrupts = s->timer_interrupts;
	st.context_switches = s->context_switches;
	st.preemptions = s->preemptions;
	st.idle_halts = s->idle_halts;
	hc.kind = KVMBOX_NOTICE_STATS;
	hc.arg = V2P(&st);
	hypercall(KVMBOX_HC_NOTICE, &hc);
}

noreturn void platform_exit(int status)
{
	static struct kvmbox_hc_exit hc;
	if (boot_flags & KVMBOX_BOOT_VERBOSE)
		report_stats();
	hc.status = status;
	for (;;)
		hypercall(KVMBOX_HC_EXIT, &hc);
}
