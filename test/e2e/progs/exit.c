/* Exit with the status given as argv[1], through exit() (default), _exit() or return. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: exit STATUS [exit|_exit|return]\n");
		return 2;
	}
	int status = atoi(argv[1]);
	const char *how = argc > 2 ? argv[2] : "exit";
	printf("exiting with %d via %s\n", status, how);
	fflush(stdout);
	if (!strcmp(how, "_exit"))
		_exit(status);
	if (!strcmp(how, "return"))
		return status;
	exit(status);
}
