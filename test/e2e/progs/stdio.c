/* Interleave stdout and stderr through write(2) and stdio, then a large stdout burst. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void w(int fd, const char *s) { write(fd, s, strlen(s)); }

int main(void)
{
	w(1, "out 1 (write)\n");
	w(2, "err 1 (write)\n");
	printf("out 2 (printf)\n");
	fflush(stdout);
	fprintf(stderr, "err 2 (fprintf)\n");
	w(1, "out 3 no newline");
	w(1, "... continued\n");
	w(2, "");
	/* ~110 KB in one write: spans many pages of the program's buffer. */
	static char big[110000];
	size_t n = 0;
	for (int i = 0; n + 40 < sizeof(big); i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "line %05d abcdefghijklmnopqrstuvwxyz\n", i);
	if (write(1, big, n) != (ssize_t)n)
		w(2, "short write\n");
	/* and the same through stdio, line by line */
	for (int i = 0; i < 2000; i++)
		printf("stdio %04d\n", i);
	fflush(stdout);
	w(2, "err 3 (last)\n");
	return 0;
}
