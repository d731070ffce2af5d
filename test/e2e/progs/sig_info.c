/*
 * Signal handlers: SA_SIGINFO contents for kill/raise/tgkill/sigqueue, the
 * mask inside a handler and in its ucontext, SA_NODEFER, SA_RESETHAND,
 * SIG_IGN, stack alignment, the x86-64 SA_RESTORER requirement, and the
 * errors of kill/sigaction/rt_sigqueueinfo.
 */
#include "sig_check.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>

static volatile int hits, depth, max_depth, reraise;
static siginfo_t last;
static sigset_t in_mask, uc_mask;
static int aligned, fp_ok;

static void handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	hits++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	last = *si;
	sigprocmask(SIG_BLOCK, NULL, &in_mask);
	uc_mask = uc->uc_sigmask;
	/* -fno-omit-frame-pointer: rbp is rsp+8 at entry minus the push, so 16-aligned. */
	aligned = (uintptr_t)__builtin_frame_address(0) % 16 == 0;
	fp_ok = uc->uc_mcontext.fpregs && (uintptr_t)uc->uc_mcontext.fpregs % 16 == 0;
	if (reraise) {
		reraise = 0;
		raise(sig);
	}
	depth--;
}

static void show(const char *what)
{
	printf("%s: hits=%d signo=%d code=%d pid_ok=%d uid_ok=%d aligned=%d fpregs_ok=%d\n", what, hits,
	       last.si_signo, last.si_code, last.si_pid == getpid(), last.si_uid == getuid(), aligned, fp_ok);
}

/* The kernel's struct sigaction (no SA_RESTORER: the libc wrappers would add it). */
#define SA_RESTORER_ 0x04000000
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

static void plain(int sig)
{
	(void)sig;
	hits++;
}

int main(void)
{
	sigset_t set, cur;
	struct sigaction sa, old;

	/* kill(): SI_USER from us; SIGUSR2 (sa_mask) and SIGUSR1 blocked inside, SIGHUP in uc_sigmask. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	CHECK(kill(getpid(), SIGUSR1) == 0);
	show("kill");
	CHECK(hits == 1 && last.si_signo == SIGUSR1 && last.si_code == SI_USER);
	CHECK(sigismember(&in_mask, SIGUSR1) && sigismember(&in_mask, SIGUSR2) && sigismember(&in_mask, SIGHUP));
	CHECK(sigismember(&uc_mask, SIGHUP) && !sigismember(&uc_mask, SIGUSR1) && !sigismember(&uc_mask, SIGUSR2));
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(sigismember(&cur, SIGHUP) && !sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGUSR2));
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* raise(), tgkill(): SI_TKILL. */
	raise(SIGUSR1);
	show("raise");
	CHECK(hits == 2 && last.si_code == SI_TKILL);
	CHECK(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1) == 0);
	show("tgkill");
	CHECK(hits == 3 && last.si_code == SI_TKILL);

	/* sigqueue(): SI_QUEUE with a value. */
	union sigval v = { .sival_int = 77 };
	CHECK(sigqueue(getpid(), SIGUSR1, v) == 0);
	show("sigqueue");
	printf("sigqueue: value=%d\n", last.si_value.sival_int);
	CHECK(last.si_code == SI_QUEUE && last.si_value.sival_int == 77);

	/* Without SA_NODEFER a signal raised in its own handler waits for the handler to return. */
	hits = 0, max_depth = 0, reraise = 1;
	raise(SIGUSR1);
	printf("defer: hits=%d max_depth=%d\n", hits, max_depth);
	CHECK(hits == 2 && max_depth == 1);
	/* With SA_NODEFER it nests. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGUSR1, &sa, NULL);
	hits = 0, max_depth = 0, reraise = 1;
	raise(SIGUSR1);
	printf("nodefer: hits=%d max_depth=%d in_mask_has_usr1=%d\n", hits, max_depth, sigismember(&in_mask, SIGUSR1));
	CHECK(hits == 2 && max_depth == 2);

	/* SA_RESETHAND: one delivery, then SIG_DFL. */
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigaction(SIGUSR2, &sa, NULL);
	hits = 0;
	raise(SIGUSR2);
	CHECK(sigaction(SIGUSR2, NULL, &old) == 0);
	printf("resethand: hits=%d now_default=%d\n", hits, old.sa_handler == SIG_DFL);
	CHECK(hits == 1 && old.sa_handler == SIG_DFL);

	/* sa_flags read back as set (the libc adds SA_RESTORER). */
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR1, NULL, &old);
	printf("flags: restart=%d onstack=%d siginfo=%d restorer=%d\n", !!(old.sa_flags & SA_RESTART),
	       !!(old.sa_flags & SA_ONSTACK), !!(old.sa_flags & SA_SIGINFO), !!(old.sa_flags & 0x04000000));

	/* SIG_IGN: nothing happens. */
	signal(SIGUSR1, SIG_IGN);
	hits = 0;
	kill(getpid(), SIGUSR1);
	raise(SIGUSR1);
	printf("ignored: hits=%d\n", hits);
	CHECK(hits == 0);

	/* A plain handler (no SA_SIGINFO). */
	signal(SIGUSR1, plain);
	kill(getpid(), SIGUSR1);
	printf("plain: hits=%d\n", hits);
	CHECK(hits == 1);

	/* Errors. */
	printf("kill(self, 0) = %s\n", res(kill(getpid(), 0)));
	printf("kill(self, 65) = %s\n", res(kill(getpid(), 65)));
	printf("kill(99999, USR1) = %s\n", res(kill(99999, SIGUSR1)));
	printf("sigaction(SIGKILL) = %s\n", res(sigaction(SIGKILL, &sa, NULL)));
	printf("sigaction(SIGSTOP) = %s\n", res(sigaction(SIGSTOP, &sa, NULL)));
	printf("sigaction(SIGKILL, query) = %s\n", res(sigaction(SIGKILL, NULL, &old)));
	printf("rt_sigaction(0) = %s\n", res(syscall(SYS_rt_sigaction, 0, NULL, &old, 8)));
	printf("rt_sigaction(65) = %s\n", res(syscall(SYS_rt_sigaction, 65, NULL, &old, 8)));
	printf("rt_sigaction(setsize 4) = %s\n", res(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4)));
	printf("rt_sigaction(bad act) = %s\n", res(syscall(SYS_rt_sigaction, SIGUSR1, (void *)8, NULL, 8)));
	printf("rt_sigaction(SIGKILL, bad act) = %s\n", res(syscall(SYS_rt_sigaction, SIGKILL, (void *)8, NULL, 8)));
	/* Unknown flag bits read back cleared (how programs probe, with SA_UNSUPPORTED 0x400). */
	struct ksigaction kn = { (void *)plain, SA_RESTORER_ | 0x400 | SA_RESTART, (void *)plain, 0 }, ko;
	CHECK(syscall(SYS_rt_sigaction, SIGUSR2, &kn, NULL, 8) == 0);
	CHECK(syscall(SYS_rt_sigaction, SIGUSR2, NULL, &ko, 8) == 0);
	printf("unsupported flag: %#lx -> %#lx\n", kn.flags, ko.flags);
	/* A bad old-action pointer: EFAULT, but the new action is in force. */
	kn.flags = SA_RESTORER_ | SA_NODEFER;
	printf("rt_sigaction(bad oact) = %s\n", res(syscall(SYS_rt_sigaction, SIGUSR2, &kn, (void *)8, 8)));
	CHECK(syscall(SYS_rt_sigaction, SIGUSR2, NULL, &ko, 8) == 0);
	printf("after bad oact: flags %#lx\n", ko.flags);

	/* A child: rt_sigqueueinfo may not pose as kill() to another process; then it dies of SIGTERM. */
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR1;
	si.si_code = SI_USER;
	printf("rt_sigqueueinfo(child, SI_USER) = %s\n", res(syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &si)));
	si.si_code = SI_QUEUE;
	printf("rt_sigqueueinfo(child, SI_QUEUE, 0) = %s\n", res(syscall(SYS_rt_sigqueueinfo, child, 0, &si)));
	printf("rt_sigqueueinfo(bad info) = %s\n", res(syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, (void *)8)));
	kill(child, SIGTERM);
	int st;
	CHECK(waitpid(child, &st, 0) == child);
	printf("child: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : -1);

	/* x86-64 needs SA_RESTORER: without it the handler frame cannot be built and SIGSEGV kills. */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		struct ksigaction k = { (void *)plain, 0, NULL, 0 };
		if (syscall(SYS_rt_sigaction, SIGUSR1, &k, NULL, 8))
			_exit(2);
		kill(getpid(), SIGUSR1);
		_exit(3);
	}
	CHECK(waitpid(child, &st, 0) == child);
	printf("no restorer: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	return sig_finish("sig_info");
}
