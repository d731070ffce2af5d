/*
 * Many mappings: thousands of random MAP_FIXED mmaps, munmaps and mprotects
 * inside one reservation, and mmaps without an address among them, checked
 * page by page against a model (the kernel keeps
 * its VMAs in a balanced tree with gap sizes: this exercises its
 * rotations, merges, splits and the top-down free-space search). No
 * address is printed: the output is the same natively and in the microVM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#define P 4096ul
#define NPAGES 2048
#define NOPS 3000

enum { UNMAPPED = -1 };
static signed char model[NPAGES];     /* UNMAPPED or the PROT_* bits */
static char *R;
static unsigned long rng = 12345;

static unsigned rnd(unsigned n)
{
	rng = rng * 6364136223846793005ul + 1442695040888963407ul;
	return (unsigned)(rng >> 33) % n;
}

static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE };

/*
 * What a page is, asked through syscalls that check user memory without
 * faulting (cheap, and the same on both kernels): mremap to the same size
 * fails with EFAULT where nothing is mapped; a pipe write from the page
 * fails with EFAULT unless it is readable, a pipe read into it unless it
 * is writable.
 */
static int pfd[2];

static int page_state(char *p)
{
	if (syscall(SYS_mremap, p, P, P, 0, 0) != (long)p)
		return UNMAPPED;
	if (write(pfd[1], p, 1) != 1)
		return PROT_NONE;
	char c;
	if (read(pfd[0], &c, 1) != 1)
		return -2;
	if (write(pfd[1], &c, 1) != 1)
		return -2;
	if (read(pfd[0], p, 1) != 1) {
		read(pfd[0], &c, 1);
		return PROT_READ;
	}
	return PROT_READ | PROT_WRITE;
}

/* n pages of the reservation (all when n == NPAGES, else at random) against the model: 1 if they agree. */
static int check(int op, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		unsigned i = n == NPAGES ? k : rnd(NPAGES);
		int st = page_state(R + i * P);
		if (st != model[i]) {
			printf("FAIL op %d: page %u is %d, expected %d\n", op, i, st, model[i]);
			return 0;
		}
	}
	return 1;
}

int main(void)
{
	R = mmap(NULL, NPAGES * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (R == MAP_FAILED)
		return 2;
	memset(model, PROT_NONE, sizeof(model));
	/* Every other page readable: NPAGES / 2 + 1 mappings to start with. */
	for (unsigned i = 0; i < NPAGES; i += 2) {
		if (mprotect(R + i * P, P, PROT_READ))
			return 3;
		model[i] = PROT_READ;
	}
	int failures = 0, checks = 0;
	if (pipe(pfd))
		return 4;
	if (!check(-1, NPAGES))
		failures++;
	void *loose[64];
	unsigned long loose_len[64];
	int nloose = 0;
	unsigned long base = (unsigned long)R, top = base + NPAGES * P;
	for (int op = 0; op < NOPS && failures < 5; op++) {
		unsigned a = rnd(NPAGES), n = 1 + rnd(rnd(4) ? 4 : 64);
		if (a + n > NPAGES)
			n = NPAGES - a;
		int prot = prots[rnd(3)];
		switch (rnd(5)) {
		case 0: /* MAP_FIXED over whatever is there */
			if (mmap(R + a * P, n * P, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != R + a * P) {
				printf("FAIL op %d: mmap fixed\n", op);
				failures++;
			}
			memset(model + a, prot, n);
			break;
		case 1:
			if (munmap(R + a * P, n * P)) {
				printf("FAIL op %d: munmap\n", op);
				failures++;
			}
			memset(model + a, UNMAPPED, n);
			break;
		case 2: { /* mprotect, only over mapped pages (partial failures differ between kernels) */
			int mapped = 1;
			for (unsigned i = a; i < a + n; i++)
				mapped &= model[i] != UNMAPPED;
			if (!mapped)
				break;
			if (mprotect(R + a * P, n * P, prot)) {
				printf("FAIL op %d: mprotect\n", op);
				failures++;
			}
			memset(model + a, prot, n);
			break;
		}
		case 3: { /* no address: anywhere free, maybe in a hole of the reservation */
			char *m = mmap(NULL, n * P, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED) {
				printf("FAIL op %d: mmap\n", op);
				failures++;
				break;
			}
			unsigned long x = (unsigned long)m;
			if (x < top && x + n * P > base) {
				/* It may reach past the reservation's ends (into free space there). */
				for (unsigned long p = x; p < x + n * P; p += P) {
					if (p < base || p >= top)
						continue;
					if (model[(p - base) / P] != UNMAPPED) {
						printf("FAIL op %d: mmap placed over a mapping\n", op);
						failures++;
						break;
					}
					model[(p - base) / P] = (signed char)prot;
				}
			} else if (nloose < 64) {
				loose[nloose] = m;
				loose_len[nloose++] = n * P;
			} else {
				munmap(m, n * P);
			}
			break;
		}
		default: /* write to a writable page */
			if (model[a] == (PROT_READ | PROT_WRITE))
				R[a * P + op % P] = 1;
			break;
		}
		if (op % 50 == 49) {
			checks++;
			if (!check(op, 64))
				failures++;
		}
	}
	for (int i = 0; i < nloose; i++)
		if (munmap(loose[i], loose_len[i])) {
			printf("FAIL munmap of a placed mapping\n");
			failures++;
		}
	munmap(R, NPAGES * P);
	memset(model, UNMAPPED, sizeof(model));
	if (!check(NOPS, NPAGES))
		failures++;
	printf("%s mmap_many: %d ops, %d checks, %d failures\n", failures ? "FAIL" : "PASS", NOPS, checks, failures);
	return failures != 0;
}
