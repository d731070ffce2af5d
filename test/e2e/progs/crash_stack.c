/* Fatal-signal case: unbounded recursion runs off the end of the 8 MiB stack. */
#include "crash.h"

static volatile int never = -1;

__attribute__((noinline)) int trigger_stack(int depth)
{
	volatile char frame[4000];
	frame[0] = (char)depth;
	if (depth == never)
		return 0;
	return trigger_stack(depth + 1) + frame[0];
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "recurse until the stack runs out");
	trigger_stack(0);
	write(1, "still alive\n", 12);
	return 3;
}
