/* Fatal-signal case: divide an integer by zero. */
#include "crash.h"

__attribute__((noinline)) void trigger_div0(void)
{
	volatile int zero = 0, x = 42;
	x = x / zero;
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "divide an integer by zero");
	trigger_div0();
	write(1, "still alive\n", 12);
	return 3;
}
