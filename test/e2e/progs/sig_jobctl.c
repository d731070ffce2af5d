/*
 * Job control: the default action "stop" (SIGSTOP, SIGTSTP, SIGTTIN,
 * SIGTTOU) and "continue" (SIGCONT) -- wait(WUNTRACED/WCONTINUED) reports,
 * SIGCHLD with CLD_STOPPED/CLD_CONTINUED, SA_NOCLDSTOP, WNOWAIT, a stopped
 * child that really does not run, SIGKILL of a stopped child, a blocking
 * read restarted after stop and continue, terminal stop signals discarded
 * in an orphaned process group, a handled SIGTSTP that does not stop.
 */
#include "sig_check.h"
#include <fcntl.h>
#include <sys/wait.h>

/*
 * A child that writes one byte into the pipe every 2 ms until killed, in a
 * process group of its own below us (so not an orphaned group: terminal
 * stop signals stop it).
 */
static pid_t ticker(int p[2])
{
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		close(p[0]);
		for (;;) {
			if (write(p[1], "t", 1) != 1)
				_exit(3);
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
	}
	close(p[1]);
	return pid;
}

/* Read what is in the non-blocking pipe now; the count of bytes. */
static int drain(int fd)
{
	char buf[4096];
	int n = 0, r;
	while ((r = (int)read(fd, buf, sizeof(buf))) > 0)
		n += r;
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

static void stop_and_continue(void)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = ticker(p);
	char c;
	CHECK(read(p[0], &c, 1) == 1); /* it runs */
	fcntl(p[0], F_SETFL, O_NONBLOCK);

	CHECK(kill(pid, SIGSTOP) == 0);
	int st = 0;
	pid_t r = waitpid(pid, &st, WUNTRACED);
	printf("SIGSTOP: waitpid=%s stopped=%d sig=%d status=%#x\n", r == pid ? "child" : res(r), WIFSTOPPED(st),
	       WIFSTOPPED(st) ? WSTOPSIG(st) : 0, st);
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	r = sigtimedwait(&chld, &si, &zero);
	printf("SIGCHLD: %s code=%s status=%d pid_ok=%d\n", res(r), si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other",
	       si.si_status, si.si_pid == pid);

	/* Stopped: no more bytes after what was in flight. */
	drain(p[0]);
	sleep_ms(40);
	printf("while stopped: %d bytes\n", drain(p[0]));
	r = waitpid(pid, &st, WUNTRACED | WNOHANG);
	printf("the stop is reported once: waitpid=%s\n", res(r));

	CHECK(kill(pid, SIGCONT) == 0);
	r = waitpid(pid, &st, WCONTINUED);
	printf("SIGCONT: waitpid=%s continued=%d status=%#x\n", r == pid ? "child" : res(r), WIFCONTINUED(st), st);
	/* Linux sends this SIGCHLD when the continued child next runs: wait for it. */
	struct timespec five = { 5, 0 };
	r = sigtimedwait(&chld, &si, &five);
	printf("SIGCHLD: %s code=%s status=%d\n", res(r), si.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other",
	       si.si_status);
	fcntl(p[0], F_SETFL, 0);
	printf("runs again: %d\n", (int)read(p[0], &c, 1));

	/* waitid: WNOWAIT leaves the report; without it the report is taken. */
	CHECK(kill(pid, SIGTSTP) == 0);
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT);
	printf("waitid WNOWAIT: %s code=%s status=%d\n", res(r), si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other",
	       si.si_status);
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, pid, &si, WSTOPPED);
	printf("waitid again: %s code=%s status=%d\n", res(r), si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other",
	       si.si_status);
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, pid, &si, WSTOPPED | WNOHANG);
	printf("then nothing: %s pid=%d\n", res(r), si.si_pid);
	sigtimedwait(&chld, &si, &zero);

	/* SIGKILL ends a stopped child. */
	CHECK(kill(pid, SIGKILL) == 0);
	r = waitpid(pid, &st, 0);
	printf("SIGKILL while stopped: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	CHECK(r == pid);
	close(p[0]);
	sigtimedwait(&chld, &si, &zero);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
}

/* A child blocked in read() stops and continues; the read goes on and gets the data. */
static void restart_after_stop(void)
{
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		char buf[8];
		ssize_t n = read(p[0], buf, sizeof(buf));
		_exit(n == 5 && !memcmp(buf, "hello", 5) ? 7 : 1);
	}
	sleep_ms(20);
	kill(pid, SIGSTOP);
	int st;
	pid_t r = waitpid(pid, &st, WUNTRACED);
	printf("reader stopped: %d\n", r == pid && WIFSTOPPED(st));
	kill(pid, SIGCONT);
	r = waitpid(pid, &st, WCONTINUED);
	printf("reader continued: %d\n", r == pid && WIFCONTINUED(st));
	CHECK(write(p[1], "hello", 5) == 5);
	r = waitpid(pid, &st, 0);
	printf("reader exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	close(p[0]);
	close(p[1]);
}

static volatile sig_atomic_t got_chld, got_tstp;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_chld = si->si_code;
}
static void on_tstp(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	got_tstp++;
}

/* SA_NOCLDSTOP: no SIGCHLD for the stop, wait still reports it. */
static void nocldstop(void)
{
	install(SIGCHLD, on_chld, SA_NOCLDSTOP);
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = ticker(p);
	char c;
	CHECK(read(p[0], &c, 1) == 1);
	kill(pid, SIGSTOP);
	int st;
	pid_t r = waitpid(pid, &st, WUNTRACED);
	sleep_ms(10);
	printf("SA_NOCLDSTOP: stopped=%d sigchld=%d\n", r == pid && WIFSTOPPED(st), got_chld);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	printf("then its death: sigchld=%s\n", got_chld == CLD_KILLED ? "CLD_KILLED" : "other");
	close(p[0]);
	signal(SIGCHLD, SIG_DFL);
}

/* waitid(WSTOPPED) alone does not report an exit. */
static void waitid_kinds(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(4);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	/* Until it has exited, without reaping it (a sleep would race with a slow host). */
	pid_t r = waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	printf("waitid(WEXITED|WNOWAIT): %s pid_ok=%d\n", res(r), si.si_pid == pid);
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, pid, &si, WSTOPPED | WCONTINUED | WNOHANG);
	printf("waitid(WSTOPPED|WCONTINUED) on an exited child: %s pid=%d\n", res(r), si.si_pid);
	r = waitid(P_PID, pid, &si, WEXITED);
	printf("waitid(WEXITED): %s code=%s status=%d\n", res(r), si.si_code == CLD_EXITED ? "CLD_EXITED" : "other",
	       si.si_status);
}

/*
 * Terminal stop signals: a handled SIGTSTP runs its handler; in a process
 * group of its own below us it stops the child; after setsid (a new
 * session, so an orphaned group) the default SIGTSTP is discarded but
 * SIGSTOP still stops.
 */
static void terminal_stops(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		install(SIGTSTP, on_tstp, 0);
		raise(SIGTSTP);
		_exit(got_tstp == 1 ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, WUNTRACED);
	printf("handled SIGTSTP: exited=%d code=%d\n", WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		raise(SIGTSTP);
		_exit(5);
	}
	pid_t r = waitpid(pid, &st, WUNTRACED);
	printf("SIGTSTP in its own group: stopped=%d sig=%d\n", r == pid && WIFSTOPPED(st),
	       WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
	kill(pid, SIGCONT);
	waitpid(pid, &st, 0);
	printf("then continued to exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	pid = fork();
	if (pid == 0) {
		setsid();
		raise(SIGTSTP);
		raise(SIGTTIN);
		raise(SIGTTOU);
		raise(SIGSTOP);
		_exit(6);
	}
	r = waitpid(pid, &st, WUNTRACED);
	printf("orphaned group: SIGTSTP/TTIN/TTOU ignored, SIGSTOP stops: stopped=%d sig=%d\n",
	       r == pid && WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
	kill(pid, SIGCONT);
	waitpid(pid, &st, 0);
	printf("then exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	stop_and_continue();
	restart_after_stop();
	nocldstop();
	waitid_kinds();
	terminal_stops();
	return sig_finish("sig_jobctl");
}
