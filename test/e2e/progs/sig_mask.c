/*
 * Masks and pending signals: sigprocmask rules and errors, sigpending,
 * the order pending signals are delivered in once unblocked (lowest number
 * first; handlers nest unless their sa_mask holds the others back),
 * sigsuspend (mask during and after, uc_sigmask), SIG_IGN discarding
 * pending signals, and a blocked SIGCHLD staying pending though its
 * default action is to ignore it.
 */
#include "sig_check.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>

static int order[16], norder;
static sigset_t mask_in_handler, uc_mask;

static void record(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)si;
	if (norder < 16)
		order[norder++] = sig;
	sigprocmask(SIG_BLOCK, NULL, &mask_in_handler);
	uc_mask = uc->uc_sigmask;
}

static void show_order(const char *what)
{
	printf("%s:", what);
	for (int i = 0; i < norder; i++)
		printf(" %d", order[i]);
	printf("\n");
	norder = 0;
}

/* Real-time 36 and 39: above both libcs' SIGRTMIN (glibc 34, musl 35). */
static const int sigs[] = { SIGTERM, SIGUSR2, SIGINT, SIGUSR1, 39, 36 };

static void send_all(void)
{
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		kill(getpid(), sigs[i]);
}

static void show_pending(const char *what)
{
	sigset_t p;
	sigpending(&p);
	printf("%s:", what);
	for (int s = 1; s < 65; s++)
		if (sigismember(&p, s))
			printf(" %d", s);
	printf("\n");
}

int main(void)
{
	sigset_t set, all, none, cur;
	sigemptyset(&none);
	sigfillset(&all);

	/* SIGKILL and SIGSTOP cannot be blocked; bad "how" and sizes are EINVAL. */
	sigprocmask(SIG_SETMASK, &all, NULL);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	printf("all blocked: kill=%d stop=%d usr1=%d\n", sigismember(&cur, SIGKILL), sigismember(&cur, SIGSTOP),
	       sigismember(&cur, SIGUSR1));
	sigprocmask(SIG_SETMASK, &none, NULL);
	uint64_t k = 0;
	printf("how=7: %s\n", res(syscall(SYS_rt_sigprocmask, 7, &k, NULL, 8)));
	printf("how=7 no set: %s\n", res(syscall(SYS_rt_sigprocmask, 7, NULL, &k, 8)));
	printf("setsize 16: %s\n", res(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &k, NULL, 16)));
	printf("bad set: %s\n", res(syscall(SYS_rt_sigprocmask, SIG_BLOCK, 8, NULL, 8)));
	printf("bad old: %s\n", res(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, 8, 8)));
	printf("sigpending setsize 4: %s\n", res(syscall(SYS_rt_sigpending, &k, 4)));
	printf("sigpending bad: %s\n", res(syscall(SYS_rt_sigpending, 8, 8)));

	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		install(sigs[i], record, 0);

	/* Blocked, sent, pending; then unblocked at once: delivered lowest first, each nesting over the last. */
	sigprocmask(SIG_SETMASK, &all, NULL);
	send_all();
	show_pending("pending");
	sigprocmask(SIG_SETMASK, &none, NULL);
	show_order("nested order");
	show_pending("pending after");

	/* With sa_mask holding all the others back: one at a time, lowest first. */
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = record;
		sa.sa_flags = SA_SIGINFO;
		sigfillset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_SETMASK, &all, NULL);
	send_all();
	sigprocmask(SIG_SETMASK, &none, NULL);
	show_order("serial order");

	/* sigsuspend: the mask during the handler, in uc_sigmask, and after. */
	install(SIGUSR1, record, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_SETMASK, &set, NULL);
	kill(getpid(), SIGUSR1);
	sigset_t wait_mask;
	sigemptyset(&wait_mask);
	sigaddset(&wait_mask, SIGUSR2);
	int r = sigsuspend(&wait_mask);
	printf("sigsuspend: %s\n", res(r));
	show_order("sigsuspend delivered");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	printf("in handler: usr1=%d usr2=%d hup=%d; uc_sigmask: usr1=%d usr2=%d hup=%d; after: usr1=%d usr2=%d hup=%d\n",
	       sigismember(&mask_in_handler, SIGUSR1), sigismember(&mask_in_handler, SIGUSR2),
	       sigismember(&mask_in_handler, SIGHUP), sigismember(&uc_mask, SIGUSR1), sigismember(&uc_mask, SIGUSR2),
	       sigismember(&uc_mask, SIGHUP), sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2),
	       sigismember(&cur, SIGHUP));
	CHECK(r == -1 && errno == EINTR);
	printf("sigsuspend setsize 4: %s\n", res(syscall(SYS_rt_sigsuspend, &k, 4)));
	printf("sigsuspend bad mask: %s\n", res(syscall(SYS_rt_sigsuspend, 8, 8)));

	/* SIG_IGN throws a pending signal away; SIG_DFL of an ignore-by-default one too. */
	sigprocmask(SIG_SETMASK, &all, NULL);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGWINCH);
	show_pending("before SIG_IGN");
	signal(SIGUSR1, SIG_IGN);
	signal(SIGWINCH, SIG_DFL);
	show_pending("after SIG_IGN");
	/* An ignored signal sent while blocked stays pending (its action may change before unblocking). */
	kill(getpid(), SIGUSR1);
	show_pending("ignored but blocked");
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR1, SIG_IGN);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* SIGCHLD: ignored by default, but pending while blocked. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	waitpid(c, NULL, 0);
	show_pending("blocked SIGCHLD");
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	show_pending("unblocked SIGCHLD");
	fflush(stdout);
	c = fork();
	if (c == 0)
		_exit(0);
	waitpid(c, NULL, 0);
	show_pending("unblocked child exit");
	return sig_finish("sig_mask");
}
