/*
 * Taking signals synchronously: sigtimedwait/sigwaitinfo with a pending
 * signal, a timeout (EAGAIN), one sent later by a child, SIGCHLD with its
 * si_status, a queued real-time signal's value, an interruption by another
 * handled signal (EINTR), and the EINVAL/EFAULT cases.
 */
#include "sig_check.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile int hits;
static void on_alarm(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	hits++;
}

int main(void)
{
	sigset_t set;
	siginfo_t si;
	struct timespec zero = { 0, 0 }, t100 = { 0, 100000000 };
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, 40);
	sigprocmask(SIG_BLOCK, &set, NULL);

	/* Pending already: returned at once with its siginfo, no longer pending. */
	kill(getpid(), SIGUSR1);
	int r = sigtimedwait(&set, &si, &zero);
	printf("pending: %s signo=%d code=%d pid_ok=%d\n", res(r), si.si_signo, si.si_code, si.si_pid == getpid());
	CHECK(r == SIGUSR1 && si.si_code == SI_USER);
	sigset_t p;
	sigpending(&p);
	CHECK(!sigismember(&p, SIGUSR1));

	/* Nothing pending: EAGAIN at once with a zero timeout, after it otherwise. */
	printf("zero timeout: %s\n", res(sigtimedwait(&set, &si, &zero)));
	long long t0 = now_ms();
	r = sigtimedwait(&set, &si, &t100);
	long long took = now_ms() - t0;
	printf("100 ms timeout: %s waited_enough=%d\n", res(r), took >= 95);
	CHECK(r == -1 && errno == EAGAIN && took >= 95);

	/* Two pending: the lower number first; a real-time signal with its value. */
	union sigval v = { .sival_int = 4321 };
	sigqueue(getpid(), 40, v);
	kill(getpid(), SIGUSR2);
	r = sigwaitinfo(&set, &si);
	printf("first: %d code=%d\n", r, si.si_code);
	r = sigwaitinfo(&set, &si);
	printf("second: %d code=%d value=%d\n", r, si.si_code, si.si_value.sival_int);
	CHECK(r == 40 && si.si_code == SI_QUEUE && si.si_value.sival_int == 4321);

	/* Sent later by a child: the wait sleeps until it arrives. */
	fflush(stdout);
	pid_t parent = getpid();
	pid_t c = fork();
	if (c == 0) {
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
		kill(parent, SIGUSR2);
		_exit(5);
	}
	r = sigwaitinfo(&set, &si);
	printf("from child: %d code=%d pid_ok=%d\n", r, si.si_code, si.si_pid == c);
	CHECK(r == SIGUSR2 && si.si_pid == c);
	/* Then its SIGCHLD (blocked, so kept although ignored by default). */
	r = sigwaitinfo(&set, &si);
	printf("sigchld: %d code=%d status=%d pid_ok=%d\n", r, si.si_code, si.si_status, si.si_pid == c);
	CHECK(r == SIGCHLD && si.si_code == CLD_EXITED && si.si_status == 5);
	waitpid(c, NULL, 0);

	/*
	 * Another signal with a handler interrupts the wait: EINTR, and its
	 * handler ran (musl's sigtimedwait retries on EINTR: EAGAIN at the timeout).
	 */
	install(SIGALRM, on_alarm, SA_RESTART);
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	struct timespec t2 = { 2, 0 };
	r = sigtimedwait(&set, &si, &t2);
	printf("interrupted: %s hits=%d\n", res(r), hits);
	CHECK(r == -1 && (errno == EINTR || errno == EAGAIN) && hits == 1);

	/* A waited-for signal that is not blocked: with a handler the wait takes it (the handler does not run). */
	sigset_t only_hup;
	sigemptyset(&only_hup);
	sigaddset(&only_hup, SIGHUP);
	install(SIGHUP, on_alarm, 0);
	hits = 0;
	fflush(stdout);
	c = fork();
	if (c == 0) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
		kill(parent, SIGHUP);
		_exit(0);
	}
	r = sigtimedwait(&only_hup, &si, &t2);
	printf("unblocked SIGHUP with a handler: %s hits=%d\n", res(r), hits);
	waitpid(c, NULL, 0);
	sigwaitinfo(&set, &si); /* the SIGCHLD */
	/* With the default action it kills the process, wait or not (in a child: SIGTERM). */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		sigset_t only_term;
		sigemptyset(&only_term);
		sigaddset(&only_term, SIGTERM);
		sigprocmask(SIG_UNBLOCK, &only_term, NULL);
		sigtimedwait(&only_term, &si, &t2);
		_exit(3);
	}
	struct timespec ts50 = { 0, 50000000 };
	nanosleep(&ts50, NULL);
	kill(c, SIGTERM);
	int st;
	waitpid(c, &st, 0);
	printf("unblocked SIGTERM default: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	sigwaitinfo(&set, &si); /* the SIGCHLD */

	/* Real-time signals queue every instance, in order; standard ones merge. */
	for (int i = 1; i <= 3; i++) {
		union sigval qv = { .sival_int = i };
		sigqueue(getpid(), 40, qv);
		kill(getpid(), SIGUSR1);
	}
	printf("queued:");
	while ((r = sigtimedwait(&set, &si, &zero)) > 0)
		printf(" %d/%d", r, r == 40 ? si.si_value.sival_int : 0);
	printf(" then %s\n", res(r));
	/* Handlers run once per queued instance. */
	install(40, on_alarm, 0);
	hits = 0;
	for (int i = 0; i < 4; i++)
		sigqueue(getpid(), 40, v);
	sigset_t only40;
	sigemptyset(&only40);
	sigaddset(&only40, 40);
	sigprocmask(SIG_UNBLOCK, &only40, NULL);
	printf("handled instances: %d\n", hits);
	sigprocmask(SIG_BLOCK, &only40, NULL);
	/* SIG_IGN discards them all. */
	sigqueue(getpid(), 40, v);
	sigqueue(getpid(), 40, v);
	signal(40, SIG_IGN);
	install(40, on_alarm, 0);
	sigpending(&p);
	printf("after SIG_IGN: pending=%d\n", sigismember(&p, 40));

	/* Errors. */
	struct timespec bad = { 0, 1000000000 };
	uint64_t k = 1ull << (SIGUSR1 - 1);
	printf("bad nsec: %s\n", res(sigtimedwait(&set, &si, &bad)));
	printf("setsize 4: %s\n", res(syscall(SYS_rt_sigtimedwait, &k, NULL, &zero, 4)));
	printf("bad set: %s\n", res(syscall(SYS_rt_sigtimedwait, 8, NULL, &zero, 8)));
	printf("bad timeout: %s\n", res(syscall(SYS_rt_sigtimedwait, &k, NULL, 8, 8)));
	kill(getpid(), SIGUSR1);
	printf("bad info: %s\n", res(syscall(SYS_rt_sigtimedwait, &k, 8, &zero, 8)));
	sigpending(&p);
	printf("taken despite bad info: %d\n", !sigismember(&p, SIGUSR1));
	/* SIGKILL/SIGSTOP in the set are ignored: nothing to wait for but the timeout. */
	k = (1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1));
	printf("kill/stop only: %s\n", res(syscall(SYS_rt_sigtimedwait, &k, NULL, &zero, 8)));
	return sig_finish("sig_wait");
}
