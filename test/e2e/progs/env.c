/* Print the whole environment (environ, in order) and look one variable up. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(void)
{
	int n = 0;
	for (char **e = environ; *e; e++, n++)
		printf("env[%d]=[%s]\n", n, *e);
	printf("count=%d\n", n);
	const char *b = getenv("B");
	printf("getenv(B)=%s%s%s\n", b ? "[" : "", b ? b : "(null)", b ? "]" : "");
	return 0;
}
