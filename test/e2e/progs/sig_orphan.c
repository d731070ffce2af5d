/*
 * Orphaned process groups (POSIX _exit(), Linux's kill_orphaned_pgrp): when
 * a process exits and so orphans a process group with a stopped member,
 * the group gets SIGHUP then SIGCONT. We are the subreaper (natively by
 * prctl; in the microVM the first process adopts orphans anyway), so the
 * grandchild comes back to us and we wait for it. The grandchild reports
 * what it received in its exit status, so nothing races for stdout.
 *
 *   orphan-handled  middle does setsid(), grandchild its own group in that
 *                   session, stops; middle exits: SIGHUP (SI_KERNEL) and
 *                   SIGCONT reach its handlers
 *   orphan-default  the same without handlers: SIGHUP kills it
 *   not-orphaned    no setsid: we, its new parent, are in another group of
 *                   the same session, so the group is not orphaned; no
 *                   signal, it stays stopped until our SIGCONT
 *   leader-group    middle does setsid() and the grandchild stays in the
 *                   middle's group: the exit of a session leader orphans
 *                   nothing by this rule (its parent is in another session)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_hup, got_cont, hup_code;

static void on_hup(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	got_hup = 1;
	hup_code = si->si_code == SI_KERNEL && si->si_pid == 0;
}

static void on_cont(int sig)
{
	(void)sig;
	got_cont = 1;
}

static void describe(const char *who, int st)
{
	if (WIFEXITED(st))
		printf("%s: exited %d\n", who, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %s\n", who, strsignal(WTERMSIG(st)));
	else if (WIFSTOPPED(st))
		printf("%s: stopped by %s\n", who, strsignal(WSTOPSIG(st)));
	else
		printf("%s: status %#x\n", who, st);
}

static int scenario(const char *what)
{
	bool handled = !strcmp(what, "orphan-handled");
	bool new_session = strcmp(what, "not-orphaned") != 0;
	bool own_group = strcmp(what, "leader-group") != 0;
	int p[2];
	if (pipe(p))
		return 1;
	pid_t middle = fork();
	if (middle == 0) {
		close(p[0]);
		if (new_session && setsid() < 0)
			_exit(20);
		pid_t c = fork();
		if (c == 0) {
			if (own_group && setpgid(0, 0))
				_exit(21);
			if (handled) {
				struct sigaction sa = { .sa_sigaction = on_hup, .sa_flags = SA_SIGINFO };
				sigaction(SIGHUP, &sa, NULL);
				struct sigaction sc = { .sa_handler = on_cont };
				sigaction(SIGCONT, &sc, NULL);
			}
			raise(SIGSTOP);
			/* Continued: by the kernel's SIGCONT (after SIGHUP) or by our grandparent's. */
			_exit(64 | got_hup | got_cont << 1 | hup_code << 2);
		}
		int st;
		if (waitpid(c, &st, WUNTRACED) != c || !WIFSTOPPED(st))
			_exit(22);
		if (write(p[1], &c, sizeof(c)) != sizeof(c))
			_exit(23);
		_exit(0); /* the group loses its parent */
	}
	close(p[1]);
	pid_t c;
	if (read(p[0], &c, sizeof(c)) != sizeof(c))
		return 1;
	close(p[0]);
	int st;
	waitpid(middle, &st, 0);
	describe("middle", st);
	if (!handled && strcmp(what, "orphan-default")) {
		/* Not orphaned: still stopped, nothing pending; we continue it. */
		kill(c, SIGCONT);
	}
	if (waitpid(c, &st, 0) != c) {
		perror("waitpid grandchild");
		return 1;
	}
	describe("grandchild", st);
	if (WIFEXITED(st) && WEXITSTATUS(st) & 64)
		printf("grandchild: SIGHUP %s, SIGCONT handler %s, SIGHUP from the kernel %s\n",
		       WEXITSTATUS(st) & 1 ? "yes" : "no", WEXITSTATUS(st) & 2 ? "yes" : "no",
		       WEXITSTATUS(st) & 4 ? "yes" : "no");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1); /* the microVM's first process adopts orphans without it */
	const char *all[] = { "orphan-handled", "orphan-default", "not-orphaned", "leader-group" };
	int r = 0;
	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (argc > 1 && strcmp(argv[1], all[i]))
			continue;
		printf("== %s\n", all[i]);
		r |= scenario(all[i]);
	}
	return r;
}
