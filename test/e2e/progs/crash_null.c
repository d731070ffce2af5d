/* Fatal-signal case: read through a NULL pointer. */
#include "crash.h"

__attribute__((noinline)) void trigger_null(void)
{
	int *volatile p = 0;
	*(volatile int *)p;
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "read through a NULL pointer");
	trigger_null();
	write(1, "still alive\n", 12);
	return 3;
}
