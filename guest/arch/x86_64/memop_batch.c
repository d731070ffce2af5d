/* Batched guest-physical copies: many runs in one HC_MEMOP exit where CPL0 is emulated. */
#include "platform.h"
#include "mm.h"
#include "lib.h"

/*
 * Where CPL0 is emulated a copy stays in the guest only up to this total:
 * each emulated instruction costs ~1 us (a byte of `rep movsb` ~0.9 us) and
 * an exit ~8 us, so only a handful of moves beat the exit.
 */
#define INLINE_COPY_MAX 16

/* Up to 16 bytes in at most four (overlapping) moves. */
static inline void copy_small(uint8_t *d, const uint8_t *s, size_t n)
{
	if (n >= 8) {
		uint64_t a = *(const uint64_t *)s, b = *(const uint64_t *)(s + n - 8);
		*(uint64_t *)d = a;
		*(uint64_t *)(d + n - 8) = b;
	} else if (n >= 4) {
		uint32_t a = *(const uint32_t *)s, b = *(const uint32_t *)(s + n - 4);
		*(uint32_t *)d = a;
		*(uint32_t *)(d + n - 4) = b;
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

void pmem_copy_batch(const struct pmem_copy_seg *segs, unsigned n)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += segs[i].len;
	if (!(boot_flags & KVMBOX_BOOT_CPL0_EMULATED)) {
		for (unsigned i = 0; i < n; i++)
			memcpy(P2V(segs[i].dst), P2V(segs[i].src), segs[i].len);
		return;
	}
	if (total <= INLINE_COPY_MAX) {
		for (unsigned i = 0; i < n; i++)
			copy_small(P2V(segs[i].dst), P2V(segs[i].src), segs[i].len);
		return;
	}
	BUG_ON(n > KVMBOX_MEMOP_MAX_SEGS);
	static struct kvmbox_hc_memop hc; /* one vCPU; per-CPU once SMP lands */
	hc.op = KVMBOX_MEMOP_COPY;
	hc.nr_segs = n;
	for (unsigned i = 0; i < n; i++) {
		hc.segs[i].dst = segs[i].dst;
		hc.segs[i].src = segs[i].src;
		hc.segs[i].len = segs[i].len;
	}
	hypercall(KVMBOX_HC_MEMOP, &hc);
	if (hc.ret)
		panic("HC_MEMOP copy %u segments: %ld", n, hc.ret);
}
