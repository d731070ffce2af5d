/*
 * Fault signals with handlers: SIGSEGV si_code/si_addr (unmapped, read-only,
 * a write to a PROT_NONE page) left with siglongjmp, a handler that moves
 * the saved rip past the faulting instruction (rt_sigreturn with a modified
 * context), SIGFPE and SIGILL, and a stack overflow caught on an alternate
 * signal stack (SA_ONSTACK), plus sigaltstack's rules and errors.
 */
#include "sig_check.h"
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>

static sigjmp_buf jb;
static volatile siginfo_t got;
static volatile uintptr_t handler_sp;
static volatile int on_alt;
static volatile int query_rc, query_errno, query_flags;
static volatile int set_rc, set_errno;
static char *alt;
static size_t alt_size = 64 * 1024;

static void jump_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	got = *si;
	handler_sp = (uintptr_t)__builtin_frame_address(0);
	on_alt = handler_sp > (uintptr_t)alt && handler_sp < (uintptr_t)alt + alt_size;
	/* sigaltstack from inside the handler: the query says SS_ONSTACK; a change is EPERM there. */
	if (on_alt) {
		stack_t q, n = { .ss_sp = alt, .ss_size = alt_size, .ss_flags = 0 };
		query_rc = sigaltstack(NULL, &q);
		query_errno = errno;
		query_flags = q.ss_flags;
		set_rc = sigaltstack(&n, NULL);
		set_errno = errno;
	}
	siglongjmp(jb, 1);
}

/* The faulting instruction, and where to resume: the handler rewrites rip in the ucontext. */
extern char skip_from[], skip_to[];
static volatile int skipped;
static void skip_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)sig;
	got = *si;
	CHECK(uc->uc_mcontext.gregs[REG_RIP] == (greg_t)(uintptr_t)skip_from);
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)skip_to;
	uc->uc_mcontext.gregs[REG_RBX] = 4242; /* registers come back from the frame too */
	skipped++;
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int __attribute__((noinline)) recurse(int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	return recurse(n + 1) + pad[0];
}

static void report(const char *what)
{
	printf("%s: signo=%d code=%d\n", what, got.si_signo, got.si_code);
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	install(SIGSEGV, jump_handler, 0);

	/* Unmapped: SEGV_MAPERR at the exact address. */
	char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, page);
	if (!sigsetjmp(jb, 1))
		*(volatile char *)(p + 123) = 1;
	report("unmapped write");
	CHECK(got.si_signo == SIGSEGV && got.si_code == SEGV_MAPERR && got.si_addr == p + 123);

	/* Read-only page: SEGV_ACCERR. */
	p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!sigsetjmp(jb, 1))
		*(volatile char *)(p + 8) = 1;
	report("read-only write");
	CHECK(got.si_code == SEGV_ACCERR && got.si_addr == p + 8);
	/* PROT_NONE: a read is SEGV_ACCERR too. */
	mprotect(p, page, PROT_NONE);
	if (!sigsetjmp(jb, 1))
		(void)*(volatile char *)(p + 16);
	report("prot_none read");
	CHECK(got.si_code == SEGV_ACCERR && got.si_addr == p + 16);
	/* The mask came back with siglongjmp: SIGSEGV is not blocked. */
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(!sigismember(&cur, SIGSEGV));

	/* The handler skips the faulting load by rewriting rip; rbx comes back as it set it. */
	install(SIGSEGV, skip_handler, 0);
	long rbx_after;
	__asm__ volatile("xor %%ebx, %%ebx\n"
			 ".globl skip_from\nskip_from:\n"
			 "movb (%1), %%al\n"
			 ".globl skip_to\nskip_to:\n"
			 "mov %%rbx, %0\n"
			 : "=r"(rbx_after) : "r"(p + 32) : "rax", "rbx", "memory");
	printf("skip: skipped=%d rbx=%ld code=%d addr_ok=%d\n", skipped, rbx_after, got.si_code, got.si_addr == p + 32);
	CHECK(skipped == 1 && rbx_after == 4242);

	install(SIGSEGV, jump_handler, 0);

	/* SIGFPE (integer divide by zero) and SIGILL (ud2): si_addr is the instruction. */
	install(SIGFPE, jump_handler, 0);
	install(SIGILL, jump_handler, 0);
	if (!sigsetjmp(jb, 1))
		__asm__ volatile("xor %%edx, %%edx\n mov $1, %%eax\n idivl %0" : : "r"(0) : "rax", "rdx");
	report("divide by zero");
	CHECK(got.si_signo == SIGFPE && got.si_code == FPE_INTDIV && got.si_addr != NULL);
	if (!sigsetjmp(jb, 1))
		__asm__ volatile("ud2");
	report("ud2");
	CHECK(got.si_signo == SIGILL && got.si_code == ILL_ILLOPN && got.si_addr != NULL);

	/* sigaltstack: none yet; then the errors. */
	stack_t ss, old;
	CHECK(sigaltstack(NULL, &old) == 0);
	printf("initial: flags=%d size=%zu\n", old.ss_flags, old.ss_size);
	alt = mmap(NULL, alt_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ss.ss_sp = alt;
	ss.ss_size = alt_size;
	ss.ss_flags = 12345;
	printf("bad flags: %s\n", res(sigaltstack(&ss, NULL)));
	ss.ss_flags = 0;
	ss.ss_size = MINSIGSTKSZ - 1;
	printf("too small: %s\n", res(sigaltstack(&ss, NULL)));
	/* Raw syscalls: a libc may read the stack_t itself. */
	printf("bad pointer: %s\n", res(syscall(SYS_sigaltstack, 8, NULL)));
	printf("bad old pointer: %s\n", res(syscall(SYS_sigaltstack, NULL, 8)));
	ss.ss_size = alt_size;
	CHECK(sigaltstack(&ss, NULL) == 0);
	CHECK(sigaltstack(NULL, &old) == 0);
	printf("set: flags=%d size_ok=%d sp_ok=%d\n", old.ss_flags, old.ss_size == alt_size, old.ss_sp == alt);

	/* A stack overflow: the SIGSEGV handler can only run on the alternate stack. */
	install(SIGSEGV, jump_handler, SA_ONSTACK);
	if (!sigsetjmp(jb, 1))
		recurse(0);
	report("stack overflow");
	printf("overflow: on_alt=%d query=%d flags=%d set_in_handler=%d errno_eperm=%d\n", on_alt, query_rc,
	       query_flags, set_rc, set_errno == EPERM);
	CHECK(got.si_signo == SIGSEGV && on_alt && query_flags == SS_ONSTACK && set_rc == -1 && set_errno == EPERM);
	/* Back on the main stack: not SS_ONSTACK any more, and it can be disabled. */
	CHECK(sigaltstack(NULL, &old) == 0);
	printf("after: flags=%d\n", old.ss_flags);
	ss.ss_flags = SS_DISABLE;
	CHECK(sigaltstack(&ss, NULL) == 0);
	CHECK(sigaltstack(NULL, &old) == 0);
	printf("disabled: flags=%d size=%zu\n", old.ss_flags, old.ss_size);

	/* A handler without SA_ONSTACK runs on the normal stack even with an altstack set. */
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	install(SIGSEGV, jump_handler, 0);
	if (!sigsetjmp(jb, 1))
		*(volatile char *)8 = 1;
	printf("no SA_ONSTACK: on_alt=%d code=%d addr=%p\n", on_alt, got.si_code, got.si_addr);
	CHECK(!on_alt && got.si_addr == (void *)8);
	return sig_finish("sig_segv");
}
