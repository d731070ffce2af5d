/*
 * pagefault N [STRIDE]: write one byte to each of N pages of fresh anonymous
 * memory, STRIDE pages apart (default 1), then exit. Run with N and with 0
 * (test/svm/bench-guest.sh): the difference / N is the cost of a first touch
 * (a demand-zero page fault; with STRIDE 1 the guest kernel's fault-around
 * may map several pages per fault, a larger stride makes each touch fault).
 */
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	long stride = argc > 2 ? atol(argv[2]) : 1;
	if (n <= 0)
		return 0;
	if (stride < 1)
		stride = 1;
	size_t len = (size_t)(n * stride) * 4096;
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (long i = 0; i < n; i++)
		p[(size_t)(i * stride) * 4096] = 1;
	return 0;
}
