/* Fatal-signal case: execute ud2. */
#include "crash.h"

__attribute__((noinline)) void trigger_ud2(void)
{
	__asm__ volatile("ud2");
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "execute ud2");
	trigger_ud2();
	write(1, "still alive\n", 12);
	return 3;
}
