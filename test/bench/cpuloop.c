/* cpuloop N: N iterations of integer arithmetic, no syscalls, then exit 0. For what a debugger costs a computation. */
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	volatile unsigned long x = 1;
	for (long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	return (int)(x & 0);
}
