/* Console throughput: write MiB (default 64) to stdout in 64 KiB writes from one buffer (make bench). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[65536];
	long mib = argc > 1 ? atol(argv[1]) : 64;
	memset(buf, 'x', sizeof(buf));
	for (long i = 0; i < mib * 16; i++) {
		size_t off = 0;
		while (off < sizeof(buf)) {
			ssize_t n = write(1, buf + off, sizeof(buf) - off);
			if (n <= 0)
				return 1;
			off += (size_t)n;
		}
	}
	return 0;
}
