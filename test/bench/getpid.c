/* getpid N: N getpid system calls in a loop (default 0), then exit 0. For the per-syscall cost. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	long sum = 0;
	for (long i = 0; i < n; i++)
		sum += syscall(SYS_getpid);  /* the raw syscall: no libc caching */
	return sum == n * (long)getpid() ? 0 : 1;
}
