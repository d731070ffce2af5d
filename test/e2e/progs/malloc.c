/*
 * malloc/free/realloc/calloc churn with random sizes (fixed seed, so the
 * output is deterministic), including blocks over 128 KiB that the allocator
 * takes from mmap. Every block is filled with a pattern and verified before
 * it is freed or resized. Prints a summary; exit 0 only if all checks passed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512
#define OPS 40000

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static struct { unsigned char *p; size_t n; uint8_t seed; } slot[SLOTS];
static unsigned long failures, big_allocs, ops_done;

static size_t pick_size(void)
{
	uint64_t r = next() % 1000;
	if (r < 700)
		return 1 + next() % 256;
	if (r < 950)
		return 257 + next() % (16 << 10);
	if (r < 995)
		return (16 << 10) + next() % (112 << 10);
	big_allocs++;
	return (128 << 10) + next() % (640 << 10); /* 128 KiB .. 768 KiB: mmap */
}

static void fill(unsigned char *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

static int verify(const unsigned char *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seed + i * 31 + (i >> 8)))
			return 0;
	return 1;
}

static void fail(const char *what, int k)
{
	if (failures++ < 10)
		printf("FAIL %s (slot %d, size %zu)\n", what, k, slot[k].n);
}

int main(void)
{
	uint64_t sum = 0;
	for (int op = 0; op < OPS; op++, ops_done++) {
		int k = (int)(next() % SLOTS);
		if (!slot[k].p) {
			size_t n = pick_size();
			int use_calloc = next() % 4 == 0;
			unsigned char *p = use_calloc ? calloc(1, n) : malloc(n);
			if (!p) {
				fail("allocation returned NULL", k);
				continue;
			}
			if ((uintptr_t)p % 16)
				fail("block not 16-byte aligned", k);
			if (use_calloc)
				for (size_t i = 0; i < n; i++)
					if (p[i]) {
						fail("calloc memory not zero", k);
						break;
					}
			slot[k].p = p;
			slot[k].n = n;
			slot[k].seed = (uint8_t)next();
			fill(p, n, slot[k].seed);
			sum += n;
			continue;
		}
		if (!verify(slot[k].p, slot[k].n, slot[k].seed))
			fail("block contents changed", k);
		if (next() % 2) {
			free(slot[k].p);
			slot[k].p = NULL;
		} else {
			size_t n = pick_size();
			unsigned char *p = realloc(slot[k].p, n);
			if (!p) {
				fail("realloc returned NULL", k);
				continue;
			}
			size_t keep = n < slot[k].n ? n : slot[k].n;
			slot[k].p = p;
			if (!verify(p, keep, slot[k].seed))
				fail("realloc lost the contents", k);
			slot[k].n = n;
			fill(p, n, slot[k].seed);
			sum += n;
		}
	}
	for (int k = 0; k < SLOTS; k++) {
		if (slot[k].p && !verify(slot[k].p, slot[k].n, slot[k].seed))
			fail("block contents changed (final)", k);
		free(slot[k].p);
	}
	printf("ops=%lu big=%lu bytes=%llu\n", ops_done, big_allocs, (unsigned long long)sum);
	printf("%s malloc\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
