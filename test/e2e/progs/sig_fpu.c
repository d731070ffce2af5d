/*
 * The FPU/SSE state across a signal handler: a handler that clobbers every
 * xmm register, MXCSR, the x87 control word and stack leaves the interrupted
 * code's state intact; a handler starts with the default state (Linux
 * resets it); a handler's edit of the saved state in its ucontext is what
 * the interrupted code gets back; a frame with reserved MXCSR bits set is
 * a bad frame (SIGSEGV), not a kernel fault.
 */
#include "sig_check.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>

static volatile unsigned handler_mxcsr;
static volatile unsigned short handler_fcw;
static volatile double handler_result;

static void clobber(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	unsigned m, mx = 0x3f80;           /* round down */
	unsigned short cw, ncw = 0x0c7f;   /* x87: truncate, single precision */
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	handler_mxcsr = m;
	handler_fcw = cw;
	__asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n movdqa %%xmm0, %%xmm1\n movdqa %%xmm0, %%xmm2\n"
			 "movdqa %%xmm0, %%xmm3\n movdqa %%xmm0, %%xmm4\n movdqa %%xmm0, %%xmm5\n"
			 "movdqa %%xmm0, %%xmm6\n movdqa %%xmm0, %%xmm7\n movdqa %%xmm0, %%xmm8\n"
			 "movdqa %%xmm0, %%xmm9\n movdqa %%xmm0, %%xmm10\n movdqa %%xmm0, %%xmm11\n"
			 "movdqa %%xmm0, %%xmm12\n movdqa %%xmm0, %%xmm13\n movdqa %%xmm0, %%xmm14\n"
			 "movdqa %%xmm0, %%xmm15\n"
			 "ldmxcsr %0\n fldcw %1\n"
			 "fldz\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n" /* all 8 x87 registers */
			 "faddp\n faddp\n faddp\n faddp\n faddp\n faddp\n faddp\n fstp %%st(0)\n"
			 : : "m"(mx), "m"(ncw)
			 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
			   "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");
	volatile double a = 1.0;
	handler_result = a / 3.0;
}

/* Edits the saved state: the interrupted code's xmm1 and MXCSR come back as set here. */
static volatile unsigned bad_mxcsr;
static void edit(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)sig, (void)si;
	uc->uc_mcontext.fpregs->_xmm[1].element[0] = 0x12345678;
	uc->uc_mcontext.fpregs->mxcsr = bad_mxcsr ? 0xffffffff : 0x1f80 | 0x6000; /* round toward zero */
}

static uint8_t in[16][16] __attribute__((aligned(16)));
static uint8_t out[16][16] __attribute__((aligned(16)));

/* Load xmm0-15 from in, 1 and pi on the x87 stack, MXCSR/FCW; kill(self, sig); store everything back. */
static void run(int sig, unsigned mx, unsigned short cw, unsigned *mx_after, unsigned short *cw_after,
		double *st0, double *st1)
{
	long pid = getpid();
	__asm__ volatile("ldmxcsr %[mx]\n fldcw %[cw]\n"
			 "movdqa 0(%[in]), %%xmm0\n movdqa 16(%[in]), %%xmm1\n movdqa 32(%[in]), %%xmm2\n"
			 "movdqa 48(%[in]), %%xmm3\n movdqa 64(%[in]), %%xmm4\n movdqa 80(%[in]), %%xmm5\n"
			 "movdqa 96(%[in]), %%xmm6\n movdqa 112(%[in]), %%xmm7\n movdqa 128(%[in]), %%xmm8\n"
			 "movdqa 144(%[in]), %%xmm9\n movdqa 160(%[in]), %%xmm10\n movdqa 176(%[in]), %%xmm11\n"
			 "movdqa 192(%[in]), %%xmm12\n movdqa 208(%[in]), %%xmm13\n movdqa 224(%[in]), %%xmm14\n"
			 "movdqa 240(%[in]), %%xmm15\n"
			 "fldpi\n fld1\n"
			 "mov %[nr], %%eax\n mov %[pid], %%rdi\n mov %[sig], %%rsi\n syscall\n"
			 "fstpl %[st0]\n fstpl %[st1]\n"
			 "movdqa %%xmm0, 0(%[out])\n movdqa %%xmm1, 16(%[out])\n movdqa %%xmm2, 32(%[out])\n"
			 "movdqa %%xmm3, 48(%[out])\n movdqa %%xmm4, 64(%[out])\n movdqa %%xmm5, 80(%[out])\n"
			 "movdqa %%xmm6, 96(%[out])\n movdqa %%xmm7, 112(%[out])\n movdqa %%xmm8, 128(%[out])\n"
			 "movdqa %%xmm9, 144(%[out])\n movdqa %%xmm10, 160(%[out])\n movdqa %%xmm11, 176(%[out])\n"
			 "movdqa %%xmm12, 192(%[out])\n movdqa %%xmm13, 208(%[out])\n movdqa %%xmm14, 224(%[out])\n"
			 "movdqa %%xmm15, 240(%[out])\n"
			 "stmxcsr %[mxa]\n fnstcw %[cwa]\n"
			 : [mxa] "=m"(*mx_after), [cwa] "=m"(*cw_after), [st0] "=m"(*st0), [st1] "=m"(*st1)
			 : [in] "r"(in), [out] "r"(out), [mx] "m"(mx), [cw] "m"(cw), [nr] "i"(SYS_kill),
			   [pid] "r"(pid), [sig] "r"((long)sig)
			 : "rax", "rdi", "rsi", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
			   "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
			   "xmm15");
	/* Back to the defaults for the C code that follows. */
	unsigned dmx = 0x1f80;
	unsigned short dcw = 0x037f;
	__asm__ volatile("ldmxcsr %0\n fldcw %1" : : "m"(dmx), "m"(dcw));
}

int main(void)
{
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++)
			in[i][j] = (uint8_t)(i * 16 + j + 1);
	install(SIGUSR1, clobber, 0);
	install(SIGUSR2, edit, 0);

	unsigned mx;
	unsigned short cw;
	double st0, st1;
	run(SIGUSR1, 0x7f80, 0x0f7f, &mx, &cw, &st0, &st1);
	int same = !memcmp(in, out, sizeof(in));
	printf("handler saw: mxcsr=%#x fcw=%#x result_ok=%d\n", handler_mxcsr, handler_fcw,
	       handler_result > 0.333 && handler_result < 0.334);
	printf("after clobbering handler: xmm_same=%d mxcsr=%#x fcw=%#x st0=%a st1=%a\n", same, mx, cw, st0, st1);
	CHECK(same && mx == 0x7f80 && cw == 0x0f7f && st0 == 1.0);

	run(SIGUSR2, 0x1f80, 0x037f, &mx, &cw, &st0, &st1);
	uint32_t x1;
	memcpy(&x1, out[1], 4);
	printf("after editing handler: xmm1[0]=%#x xmm2_same=%d mxcsr=%#x\n", x1, !memcmp(in[2], out[2], 16), mx);
	CHECK(x1 == 0x12345678 && mx == 0x7f80);

	/* Reserved MXCSR bits in the frame: rt_sigreturn refuses it with SIGSEGV. */
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		bad_mxcsr = 1;
		run(SIGUSR2, 0x1f80, 0x037f, &mx, &cw, &st0, &st1);
		_exit(0);
	}
	int st;
	CHECK(waitpid(child, &st, 0) == child);
	printf("bad mxcsr: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	return sig_finish("sig_fpu");
}
