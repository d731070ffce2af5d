/*
 * The whole vector register state survives preemption and signal handlers:
 * xmm0-15, and where the CPU and OS offer them the upper YMM halves,
 * zmm16-31 and the opmask registers. A second process keeps overwriting all
 * of them; this one holds a pattern in every register while it spins, takes
 * page faults and makes syscalls until it is preempted (a TSC gap) or a
 * signal handler (which overwrites them too) has run, then checks the
 * pattern. glibc's string functions keep data in exactly these registers
 * (busybox sort lost a realloc's first 64 bytes to this).
 */
#include "sig_check.h"
#include <stdint.h>
#include <cpuid.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>

enum { SSE, AVX, AVX512 };

/*
 * int vec_hold(const uint8_t pat[2048], uint8_t out[2048], int level,
 *              uint8_t *mem, volatile int *stop, uint64_t budget):
 * load the pattern (16 regs x 64 bytes, then zmm16-31, then k0-7 as 8 x 8),
 * loop until a TSC gap of 2^23 ticks, *stop or the budget, touching one new
 * page of mem and calling getppid each round, and store the registers.
 * Every vector and mask register is caller-saved (SysV ABI), so a function
 * of its own may use them all.
 */
__asm__(
	".text\n"
	".globl vec_hold\n"
	"vec_hold:\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	mov %rdx, %r12\n"              /* level */
	"	mov %rcx, %r10\n"              /* mem */
	"	cmp $1, %r12d\n"
	"	jb 1f\n"
	"	je 2f\n"
	"	vmovdqu64 0(%rdi), %zmm0\n vmovdqu64 64(%rdi), %zmm1\n vmovdqu64 128(%rdi), %zmm2\n vmovdqu64 192(%rdi), %zmm3\n"
	"	vmovdqu64 256(%rdi), %zmm4\n vmovdqu64 320(%rdi), %zmm5\n vmovdqu64 384(%rdi), %zmm6\n vmovdqu64 448(%rdi), %zmm7\n"
	"	vmovdqu64 512(%rdi), %zmm8\n vmovdqu64 576(%rdi), %zmm9\n vmovdqu64 640(%rdi), %zmm10\n vmovdqu64 704(%rdi), %zmm11\n"
	"	vmovdqu64 768(%rdi), %zmm12\n vmovdqu64 832(%rdi), %zmm13\n vmovdqu64 896(%rdi), %zmm14\n vmovdqu64 960(%rdi), %zmm15\n"
	"	vmovdqu64 1024(%rdi), %zmm16\n vmovdqu64 1088(%rdi), %zmm17\n vmovdqu64 1152(%rdi), %zmm18\n vmovdqu64 1216(%rdi), %zmm19\n"
	"	vmovdqu64 1280(%rdi), %zmm20\n vmovdqu64 1344(%rdi), %zmm21\n vmovdqu64 1408(%rdi), %zmm22\n vmovdqu64 1472(%rdi), %zmm23\n"
	"	vmovdqu64 1536(%rdi), %zmm24\n vmovdqu64 1600(%rdi), %zmm25\n vmovdqu64 1664(%rdi), %zmm26\n vmovdqu64 1728(%rdi), %zmm27\n"
	"	vmovdqu64 1792(%rdi), %zmm28\n vmovdqu64 1856(%rdi), %zmm29\n vmovdqu64 1920(%rdi), %zmm30\n vmovdqu64 1984(%rdi), %zmm31\n"
	"	kmovq 2048(%rdi), %k1\n kmovq 2056(%rdi), %k2\n kmovq 2064(%rdi), %k3\n kmovq 2072(%rdi), %k4\n"
	"	kmovq 2080(%rdi), %k5\n kmovq 2088(%rdi), %k6\n kmovq 2096(%rdi), %k7\n"
	"	jmp 3f\n"
	"2:	vmovdqu 0(%rdi), %ymm0\n vmovdqu 64(%rdi), %ymm1\n vmovdqu 128(%rdi), %ymm2\n vmovdqu 192(%rdi), %ymm3\n"
	"	vmovdqu 256(%rdi), %ymm4\n vmovdqu 320(%rdi), %ymm5\n vmovdqu 384(%rdi), %ymm6\n vmovdqu 448(%rdi), %ymm7\n"
	"	vmovdqu 512(%rdi), %ymm8\n vmovdqu 576(%rdi), %ymm9\n vmovdqu 640(%rdi), %ymm10\n vmovdqu 704(%rdi), %ymm11\n"
	"	vmovdqu 768(%rdi), %ymm12\n vmovdqu 832(%rdi), %ymm13\n vmovdqu 896(%rdi), %ymm14\n vmovdqu 960(%rdi), %ymm15\n"
	"	jmp 3f\n"
	"1:	movdqu 0(%rdi), %xmm0\n movdqu 64(%rdi), %xmm1\n movdqu 128(%rdi), %xmm2\n movdqu 192(%rdi), %xmm3\n"
	"	movdqu 256(%rdi), %xmm4\n movdqu 320(%rdi), %xmm5\n movdqu 384(%rdi), %xmm6\n movdqu 448(%rdi), %xmm7\n"
	"	movdqu 512(%rdi), %xmm8\n movdqu 576(%rdi), %xmm9\n movdqu 640(%rdi), %xmm10\n movdqu 704(%rdi), %xmm11\n"
	"	movdqu 768(%rdi), %xmm12\n movdqu 832(%rdi), %xmm13\n movdqu 896(%rdi), %xmm14\n movdqu 960(%rdi), %xmm15\n"
	"3:	mov %rsi, %rbx\n"              /* out */
	"	rdtsc\n shl $32, %rdx\n or %rax, %rdx\n mov %rdx, %r11\n" /* previous TSC in r11 */
	"	mov %r8, %rsi\n"               /* stop */
	"4:	rdtsc\n shl $32, %rdx\n or %rax, %rdx\n"
	"	mov %rdx, %rax\n sub %r11, %rax\n mov %rdx, %r11\n"
	"	cmp $0x800000, %rax\n ja 5f\n"
	"	cmpl $0, (%rsi)\n jne 5f\n"
	"	movb $1, (%r10)\n add $4096, %r10\n"   /* a page fault */
	"	push %r11\n mov $110, %eax\n syscall\n pop %r11\n" /* getppid */
	"	dec %r9\n jnz 4b\n"
	"5:	cmp $1, %r12d\n"
	"	jb 1f\n"
	"	je 2f\n"
	"	vmovdqu64 %zmm0, 0(%rbx)\n vmovdqu64 %zmm1, 64(%rbx)\n vmovdqu64 %zmm2, 128(%rbx)\n vmovdqu64 %zmm3, 192(%rbx)\n"
	"	vmovdqu64 %zmm4, 256(%rbx)\n vmovdqu64 %zmm5, 320(%rbx)\n vmovdqu64 %zmm6, 384(%rbx)\n vmovdqu64 %zmm7, 448(%rbx)\n"
	"	vmovdqu64 %zmm8, 512(%rbx)\n vmovdqu64 %zmm9, 576(%rbx)\n vmovdqu64 %zmm10, 640(%rbx)\n vmovdqu64 %zmm11, 704(%rbx)\n"
	"	vmovdqu64 %zmm12, 768(%rbx)\n vmovdqu64 %zmm13, 832(%rbx)\n vmovdqu64 %zmm14, 896(%rbx)\n vmovdqu64 %zmm15, 960(%rbx)\n"
	"	vmovdqu64 %zmm16, 1024(%rbx)\n vmovdqu64 %zmm17, 1088(%rbx)\n vmovdqu64 %zmm18, 1152(%rbx)\n vmovdqu64 %zmm19, 1216(%rbx)\n"
	"	vmovdqu64 %zmm20, 1280(%rbx)\n vmovdqu64 %zmm21, 1344(%rbx)\n vmovdqu64 %zmm22, 1408(%rbx)\n vmovdqu64 %zmm23, 1472(%rbx)\n"
	"	vmovdqu64 %zmm24, 1536(%rbx)\n vmovdqu64 %zmm25, 1600(%rbx)\n vmovdqu64 %zmm26, 1664(%rbx)\n vmovdqu64 %zmm27, 1728(%rbx)\n"
	"	vmovdqu64 %zmm28, 1792(%rbx)\n vmovdqu64 %zmm29, 1856(%rbx)\n vmovdqu64 %zmm30, 1920(%rbx)\n vmovdqu64 %zmm31, 1984(%rbx)\n"
	"	kmovq %k1, 2048(%rbx)\n kmovq %k2, 2056(%rbx)\n kmovq %k3, 2064(%rbx)\n kmovq %k4, 2072(%rbx)\n"
	"	kmovq %k5, 2080(%rbx)\n kmovq %k6, 2088(%rbx)\n kmovq %k7, 2096(%rbx)\n"
	"	vzeroupper\n jmp 3f\n"
	"2:	vmovdqu %ymm0, 0(%rbx)\n vmovdqu %ymm1, 64(%rbx)\n vmovdqu %ymm2, 128(%rbx)\n vmovdqu %ymm3, 192(%rbx)\n"
	"	vmovdqu %ymm4, 256(%rbx)\n vmovdqu %ymm5, 320(%rbx)\n vmovdqu %ymm6, 384(%rbx)\n vmovdqu %ymm7, 448(%rbx)\n"
	"	vmovdqu %ymm8, 512(%rbx)\n vmovdqu %ymm9, 576(%rbx)\n vmovdqu %ymm10, 640(%rbx)\n vmovdqu %ymm11, 704(%rbx)\n"
	"	vmovdqu %ymm12, 768(%rbx)\n vmovdqu %ymm13, 832(%rbx)\n vmovdqu %ymm14, 896(%rbx)\n vmovdqu %ymm15, 960(%rbx)\n"
	"	vzeroupper\n jmp 3f\n"
	"1:	movdqu %xmm0, 0(%rbx)\n movdqu %xmm1, 64(%rbx)\n movdqu %xmm2, 128(%rbx)\n movdqu %xmm3, 192(%rbx)\n"
	"	movdqu %xmm4, 256(%rbx)\n movdqu %xmm5, 320(%rbx)\n movdqu %xmm6, 384(%rbx)\n movdqu %xmm7, 448(%rbx)\n"
	"	movdqu %xmm8, 512(%rbx)\n movdqu %xmm9, 576(%rbx)\n movdqu %xmm10, 640(%rbx)\n movdqu %xmm11, 704(%rbx)\n"
	"	movdqu %xmm12, 768(%rbx)\n movdqu %xmm13, 832(%rbx)\n movdqu %xmm14, 896(%rbx)\n movdqu %xmm15, 960(%rbx)\n"
	"3:	xor %eax, %eax\n"
	"	pop %r12\n pop %rbx\n ret\n"
	/* void vec_clobber(int level): every register of the level to all ones. */
	".globl vec_clobber\n"
	"vec_clobber:\n"
	"	pcmpeqd %xmm0, %xmm0\n"
	"	cmp $1, %edi\n jb 1f\n je 2f\n"
	"	vpternlogd $0xff, %zmm0, %zmm0, %zmm0\n"
	"	vmovdqa64 %zmm0, %zmm1\n vmovdqa64 %zmm0, %zmm8\n vmovdqa64 %zmm0, %zmm15\n"
	"	vmovdqa64 %zmm0, %zmm16\n vmovdqa64 %zmm0, %zmm17\n vmovdqa64 %zmm0, %zmm24\n vmovdqa64 %zmm0, %zmm31\n"
	"	kxnorq %k0, %k0, %k1\n kxnorq %k0, %k0, %k4\n kxnorq %k0, %k0, %k7\n"
	"	vzeroupper\n ret\n"
	"2:	vpcmpeqd %ymm0, %ymm0, %ymm0\n vmovdqa %ymm0, %ymm1\n vmovdqa %ymm0, %ymm8\n vmovdqa %ymm0, %ymm15\n"
	"	vzeroupper\n ret\n"
	"1:	movdqa %xmm0, %xmm1\n movdqa %xmm0, %xmm8\n movdqa %xmm0, %xmm15\n ret\n");

int vec_hold(const uint8_t *pat, uint8_t *out, int level, uint8_t *mem, volatile int *stop, uint64_t budget);
void vec_clobber(int level);

#define REGS_BYTES 2104          /* 32 x 64 + 7 x 8 (k1-k7) */

static int level;
static volatile int handled;

/* CPUID says the CPU has it and XGETBV that the OS enabled its state (SDM vol. 1 13.3, 15.2). */
static int vector_level(void)
{
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 27)) || !(c & (1u << 28)))
		return SSE;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 6) != 6)
		return SSE;
	__cpuid_count(7, 0, a, b, c, d);
	if ((b & (1u << 16)) && (lo & 0xe0) == 0xe0)
		return AVX512;
	return AVX;
}

/* Bytes of the pattern this level holds: a register's first 16/32/64 bytes, the upper registers, k1-7. */
static int compare(const uint8_t *pat, const uint8_t *out)
{
	int width = level == AVX512 ? 64 : level == AVX ? 32 : 16, nregs = level == AVX512 ? 32 : 16;
	for (int r = 0; r < nregs; r++)
		if (memcmp(pat + r * 64, out + r * 64, width)) {
			printf("register %d lost its value\n", r);
			return 0;
		}
	if (level == AVX512 && memcmp(pat + 2048, out + 2048, 56)) {
		printf("an opmask register lost its value\n");
		return 0;
	}
	return 1;
}

static void on_alarm(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	vec_clobber(level);
	handled = 1;
}

int main(void)
{
	level = vector_level();
	static const char *const names[] = { "sse", "avx", "avx512" };
	printf("level %s\n", names[level]);
	fflush(stdout);
	static uint8_t pat[REGS_BYTES], out[REGS_BYTES];
	for (int i = 0; i < REGS_BYTES; i++)
		pat[i] = (uint8_t)(i * 7 + 1);

	/* The other process: every register it can reach, all ones, forever. */
	pid_t hog = fork();
	if (hog == 0) {
		for (;;)
			vec_clobber(level);
	}
	size_t len = 64u << 20;
	uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	static volatile int never;
	int ok = 1;
	/* Preemption: each round ends at a TSC gap (the other process ran) or after 2000 pages. */
	for (int round = 0; round < 30 && ok; round++) {
		memset(out, 0, sizeof(out));
		vec_hold(pat, out, level, mem + (size_t)round * 2000 * 4096 % (len - 2000 * 4096), &never, 2000);
		ok = compare(pat, out);
	}
	printf("preemption: registers kept=%d\n", ok);
	CHECK(ok);
	munmap(mem, len);
	kill(hog, SIGKILL);
	waitpid(hog, NULL, 0);

	/* A handler that overwrites every register: the interrupted code gets its own back. */
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	install(SIGALRM, on_alarm, 0);
	ok = 1;
	for (int round = 0; round < 10 && ok; round++) {
		handled = 0;
		struct itimerval it = { { 0, 0 }, { 0, 2000 } };
		setitimer(ITIMER_REAL, &it, NULL);
		memset(out, 0, sizeof(out));
		vec_hold(pat, out, level, mem + (size_t)round * 1000 * 4096 % (len - 1000 * 4096), &handled, 1000);
		while (!handled)
			pause();
		ok = compare(pat, out);
	}
	printf("signal handler: registers kept=%d\n", ok);
	CHECK(ok);
	return sig_finish("sig_vector");
}
