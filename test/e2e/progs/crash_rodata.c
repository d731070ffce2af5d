/* Fatal-signal case: write to a string literal (read-only page). */
#include "crash.h"

__attribute__((noinline)) void trigger_rodata(void)
{
	char *volatile s = (char *)"a string literal";
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "target 0x%016lx\n", (unsigned long)s);
	write(1, buf, (size_t)n);
	*(volatile char *)s = 0x41;
}

int main(int argc, char **argv)
{
	crash_setup(argc, argv, "write to a string literal (read-only page)");
	trigger_rodata();
	write(1, "still alive\n", 12);
	return 3;
}
