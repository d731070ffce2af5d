/* getpid/getppid/gettid: properties that hold natively and in the guest; raw values on stderr. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", what);
	failed |= !ok;
}

int main(void)
{
	pid_t pid = getpid(), ppid = getppid();
	pid_t tid = (pid_t)syscall(SYS_gettid);
	fprintf(stderr, "pid=%d ppid=%d tid=%d\n", (int)pid, (int)ppid, (int)tid);
	check(pid > 0, "getpid() > 0");
	check(tid == pid, "gettid() == getpid() in a single-threaded process");
	check(ppid >= 0 && ppid != pid, "getppid() >= 0 and != getpid()");
	check(getpid() == pid && getppid() == ppid, "stable across calls");
	printf("%s ids\n", failed ? "FAIL" : "PASS");
	return failed;
}
