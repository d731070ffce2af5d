/* Fatal-signal case: abort() (SIGABRT sent by the program to itself with tgkill/tkill). */
#include <stdlib.h>
#include "crash.h"

__attribute__((noinline)) void trigger_abort(void)
{
	abort();
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "call abort()");
	trigger_abort();
	write(1, "still alive\n", 12);
	return 3;
}
