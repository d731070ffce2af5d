/* gdb process-mode scenario: a SIGSEGV at a known line, reported with its siginfo. */
#include <stdint.h>

__attribute__((noinline)) void poke(volatile int *p)
{
	*p = 42;                     /* faults */
}

int main(void)
{
	poke((volatile int *)(uintptr_t)0x10);
	return 0;
}
