/*
 * Anonymous memory comes zeroed, including pages the program dirtied,
 * unmapped and mapped again, and a brk area grown after shrinking.
 * Self-checking: PASS/FAIL lines, exit 0 only if all passed.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", what);
	failed |= !ok;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

#define LEN (1u << 20)

int main(void)
{
	for (int round = 0; round < 4; round++) {
		unsigned char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			check(0, "mmap 1 MiB");
			break;
		}
		char what[64];
		snprintf(what, sizeof(what), "round %d: fresh 1 MiB mapping reads as zero", round);
		check(all_zero(p, LEN), what);
		memset(p, 0xa5, LEN);
		check(munmap(p, LEN) == 0, "munmap");
	}
	/* Raw brk(2): musl's sbrk() refuses to move the break. */
	uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
	check(cur != 0, "brk(0)");
	unsigned char *b = (unsigned char *)cur;
	uintptr_t want = cur + (256 << 10);
	int grown = (uintptr_t)syscall(SYS_brk, want) == want;
	check(grown && all_zero(b, 256 << 10), "brk grown by 256 KiB reads as zero");
	if (grown) {
		memset(b, 0x5a, 256 << 10);
		check((uintptr_t)syscall(SYS_brk, cur) == cur, "brk shrunk back");
		check((uintptr_t)syscall(SYS_brk, want) == want && all_zero(b, 256 << 10),
		      "brk grown again reads as zero");
	}
	printf("%s mmap\n", failed ? "FAIL" : "PASS");
	return failed;
}
