/* Fatal-signal case: execute cli in user mode (#GP). */
#include "crash.h"

__attribute__((noinline)) void trigger_cli(void)
{
	__asm__ volatile("cli");
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "execute cli in user mode (#GP)");
	trigger_cli();
	write(1, "still alive\n", 12);
	return 3;
}
