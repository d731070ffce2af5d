/*
 * Signals across execve: caught signals go back to SIG_DFL, ignored ones
 * stay ignored, the mask and pending signals stay, the alternate stack is
 * gone, an armed ITIMER_REAL (alarm) survives and POSIX timers do not.
 * The program runs itself again with the argument "after".
 */
#include "sig_check.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>

static void handler(int sig)
{
	(void)sig;
}

static const char *disposition(int sig)
{
	struct sigaction sa;
	sigaction(sig, NULL, &sa);
	return sa.sa_handler == SIG_DFL ? "default" : sa.sa_handler == SIG_IGN ? "ignored" : "handler";
}

int main(int argc, char **argv)
{
	sigset_t set;
	if (argc > 1 && !strcmp(argv[1], "after")) {
		printf("after exec: usr1 %s, usr2 %s, term %s\n", disposition(SIGUSR1), disposition(SIGUSR2),
		       disposition(SIGTERM));
		sigprocmask(SIG_BLOCK, NULL, &set);
		printf("blocked: hup=%d int=%d\n", sigismember(&set, SIGHUP), sigismember(&set, SIGINT));
		sigpending(&set);
		printf("pending: hup=%d\n", sigismember(&set, SIGHUP));
		stack_t ss;
		sigaltstack(NULL, &ss);
		printf("altstack: flags=%d\n", ss.ss_flags);
		struct itimerval it;
		getitimer(ITIMER_REAL, &it);
		printf("itimer survived: %d\n", it.it_value.tv_sec > 0 && it.it_value.tv_sec <= 100);
		struct itimerspec its;
		printf("posix timer 0: %s\n", res(syscall(SYS_timer_gettime, 0, &its)));
		alarm(0);
		return sig_finish("sig_exec");
	}
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, handler);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), SIGHUP);
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt), .ss_flags = 0 };
	CHECK(sigaltstack(&ss, NULL) == 0);
	alarm(100);
	int kid;
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_NONE;
	CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &kid) == 0);
	printf("timer id before exec: %d\n", kid);
	fflush(stdout);
	char *args[] = { argv[0], "after", NULL };
	execv(argv[0], args);
	printf("execv: %s\n", strerror(errno));
	return 1;
}
