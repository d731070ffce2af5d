/* The demo program for `make run`: a friendly static hello that echoes its arguments. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("hello from kvmbox\n");
	for (int i = 1; i < argc; i++)
		printf("  argument %d: %s\n", i, argv[i]);
	return 0;
}
