/*
 * Shared by the crash_* programs: each says what it is about to do on stdout
 * (unbuffered, so it must survive the crash), then faults inside a
 * noinline function named trigger_<what> that the crash report's backtrace
 * must name. With --catch the program instead catches the signal and prints
 * signo, si_code and si_addr as the host kernel reports them: the runner uses
 * that, natively, as the expected report fields.
 */
#ifndef CRASH_H
#define CRASH_H
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void crash_on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* Linux keeps EFLAGS.AC set in the handler: clear it before touching stdio. */
	__asm__ volatile("leaq -128(%%rsp), %%rsp\n\tpushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq\n\t"
			 "leaq 128(%%rsp), %%rsp" ::: "memory", "cc");
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "caught signo=%d code=%d addr=0x%016lx\n", sig,
			 si->si_code, (unsigned long)si->si_addr);
	write(1, buf, (size_t)n);
	_exit(0);
}

static void crash_setup(int argc, char **argv, const char *what)
{
	if (argc > 1 && !strcmp(argv[1], "--catch")) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = crash_on_signal;
		sa.sa_flags = SA_SIGINFO;
		/* An alternate stack, so that a stack overflow can be caught too. */
		static char altstack[64 * 1024];
		stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
		sigaltstack(&ss, NULL);
		sa.sa_flags |= SA_ONSTACK;
		int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
		for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &sa, NULL);
	}
	write(1, "about to ", 9);
	write(1, what, strlen(what));
	write(1, "\n", 1);
}
#endif
