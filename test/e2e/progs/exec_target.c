/* execve tests: the program exec'd into. Prints what it was given and what it inherited; exits with argv's "exit=N". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static const char *disp(int sig)
{
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa))
		return "error";
	if (sa.sa_handler == SIG_DFL)
		return "SIG_DFL";
	if (sa.sa_handler == SIG_IGN)
		return "SIG_IGN";
	return "handler";
}

int main(int argc, char **argv)
{
	int status = 0;
	if (argc > 1 && !strcmp(argv[1], "quiet"))
		return 0;               /* exec_main bench: only the exec */
	printf("target: argc=%d\n", argc);
	for (int i = 0; i < argc; i++)   /* a pid differs from the native run's */
		printf("target: argv[%d]=\"%s\"\n", i, strncmp(argv[i], "pid=", 4) ? argv[i] : "pid=...");
	for (char **e = environ; *e; e++)
		printf("target: env \"%s\"\n", *e);
	const char *fn = (const char *)getauxval(AT_EXECFN);
	printf("target: AT_EXECFN=\"%s\"\n", fn ? fn : "(none)");
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	printf("target: /proc/self/exe basename=%s\n", base(exe));
	printf("target: single thread: %s\n", getpid() == (pid_t)syscall(SYS_gettid) ? "yes" : "no");
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "exit=", 5))
			status = atoi(argv[i] + 5);
		else if (!strncmp(argv[i], "fd=", 3)) {
			int fd = atoi(argv[i] + 3);
			int fl = fcntl(fd, F_GETFD);
			printf("target: fd %d %s\n", fd, fl < 0 ? (errno == EBADF ? "closed" : "error") :
			       fl & FD_CLOEXEC ? "open, close-on-exec" : "open");
		} else if (!strcmp(argv[i], "signals")) {
			printf("target: SIGUSR1 %s, SIGUSR2 %s, SIGTERM %s, SIGINT %s\n", disp(SIGUSR1),
			       disp(SIGUSR2), disp(SIGTERM), disp(SIGINT));
			sigset_t m;
			sigprocmask(SIG_SETMASK, NULL, &m);
			printf("target: SIGQUIT blocked: %s\n", sigismember(&m, SIGQUIT) ? "yes" : "no");
		} else if (!strncmp(argv[i], "pid=", 4)) {
			printf("target: same pid as before exec: %s\n", atoi(argv[i] + 4) == getpid() ? "yes" : "no");
		} else if (!strcmp(argv[i], "fpu")) {
			unsigned mxcsr;
			unsigned short fcw;
			__asm__ volatile("stmxcsr %0; fnstcw %1" : "=m"(mxcsr), "=m"(fcw));
			printf("target: mxcsr=%#x fcw=%#x\n", mxcsr, fcw);
			unsigned long fs;
			__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
			printf("target: TLS self pointer ok: %s\n", fs ? "yes" : "no");
		}
	}
	fflush(stdout);
	return status;
}
