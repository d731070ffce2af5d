/* Fatal-signal case: set EFLAGS.AC and load from an unaligned address (#AC). */
#include "crash.h"

__attribute__((noinline)) void trigger_align(void)
{
	static char buf[16] __attribute__((aligned(16)));
	char *volatile p = buf + 1;
	unsigned long v;
	/* Step over the red zone: pushfq writes below rsp. */
	__asm__ volatile("leaq -128(%%rsp), %%rsp\n\tpushfq\n\torq $0x40000, (%%rsp)\n\tpopfq\n\t"
			 "movq (%1), %0\n\t"
			 "pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq\n\tleaq 128(%%rsp), %%rsp"
			 : "=r"(v) : "r"(p) : "memory", "cc");
	(void)v;
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "set EFLAGS.AC and load from an unaligned address (#AC)");
	trigger_align();
	write(1, "still alive\n", 12);
	return 3;
}
