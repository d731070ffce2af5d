/* Fatal-signal case: execute int3. */
#include "crash.h"

__attribute__((noinline)) void trigger_int3(void)
{
	__asm__ volatile("int3; nop");
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "execute int3");
	trigger_int3();
	write(1, "still alive\n", 12);
	return 3;
}
