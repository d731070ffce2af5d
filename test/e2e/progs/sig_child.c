/*
 * Signals and child processes: a child killed by SIGTERM/SIGKILL/its own
 * raise()/an alarm is WIFSIGNALED with that WTERMSIG; abort() ends a process
 * with SIGABRT even when a SIGABRT handler returns; a SIGCHLD handler gets
 * CLD_EXITED/CLD_KILLED with si_pid and si_status; a handled signal sent to
 * a child runs its handler and the child goes on.
 */
#include "sig_check.h"
#include <sys/time.h>
#include <sys/wait.h>

static volatile int chld_hits, chld_code, chld_status, chld_pid;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	chld_hits++;
	chld_code = si->si_code;
	chld_status = si->si_status;
	chld_pid = si->si_pid;
}

static volatile int usr1;
static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static void on_abrt(int sig)
{
	(void)sig;
	static const char msg[] = "abort handler ran\n";
	write(1, msg, sizeof(msg) - 1);
}

static void wait_report(const char *what, pid_t c)
{
	int st;
	pid_t r = waitpid(c, &st, 0);
	if (r != c) {
		printf("%s: waitpid %s\n", what, res(r));
		CHECK(0);
		return;
	}
	if (WIFSIGNALED(st))
		printf("%s: killed by %d\n", what, WTERMSIG(st));
	else
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
}

static pid_t child_pausing(void)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	return c;
}

static void settle(void)
{
	struct timespec ts = { 0, 50000000 };
	nanosleep(&ts, NULL);
}

int main(void)
{
	pid_t c = child_pausing();
	settle();
	kill(c, SIGTERM);
	wait_report("SIGTERM", c);
	c = child_pausing();
	kill(c, SIGKILL);
	wait_report("SIGKILL", c);

	fflush(stdout);
	c = fork();
	if (c == 0) {
		raise(SIGUSR2);
		_exit(0);
	}
	wait_report("raise(SIGUSR2)", c);

	fflush(stdout);
	c = fork();
	if (c == 0) {
		struct itimerval it = { { 0, 0 }, { 0, 20000 } };
		setitimer(ITIMER_REAL, &it, NULL);
		for (;;)
			pause();
	}
	wait_report("setitimer, pause", c);

	fflush(stdout);
	c = fork();
	if (c == 0) {
		signal(SIGABRT, on_abrt);
		abort();
	}
	wait_report("abort() with a returning handler", c);

	/* A handled signal: the child runs its handler, then exits normally. */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		signal(SIGUSR1, on_usr1);
		while (!usr1)
			pause();
		_exit(10 + usr1);
	}
	settle();
	kill(c, SIGUSR1);
	wait_report("handled SIGUSR1", c);

	/* SIGCHLD with siginfo: exited, then killed. */
	install(SIGCHLD, on_chld, SA_RESTART);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(stdout);
	c = fork();
	if (c == 0)
		_exit(42);
	while (!chld_hits)
		sigsuspend(&old);
	printf("SIGCHLD: code=%d status=%d pid_ok=%d\n", chld_code, chld_status, chld_pid == c);
	CHECK(chld_code == CLD_EXITED && chld_status == 42);
	waitpid(c, NULL, 0);
	c = child_pausing();
	kill(c, SIGKILL);
	chld_hits = 0;
	while (!chld_hits)
		sigsuspend(&old);
	printf("SIGCHLD: code=%d status=%d pid_ok=%d\n", chld_code, chld_status, chld_pid == c);
	CHECK(chld_code == CLD_KILLED && chld_status == SIGKILL);
	wait_report("after SIGCHLD", c);
	printf("no more children: %s\n", res(wait(NULL)));
	return sig_finish("sig_child");
}
