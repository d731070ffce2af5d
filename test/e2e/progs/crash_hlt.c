/* Fatal-signal case: execute hlt in user mode (#GP). */
#include "crash.h"

__attribute__((noinline)) void trigger_hlt(void)
{
	__asm__ volatile("hlt");
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "execute hlt in user mode (#GP)");
	trigger_hlt();
	write(1, "still alive\n", 12);
	return 3;
}
