/* Read stdin to EOF in odd-sized chunks: byte count, FNV-1a checksum, line count. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	static char buf[3001];
	uint64_t h = 0xcbf29ce484222325ull;
	size_t total = 0, lines = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0) {
			perror("read");
			return 1;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			h = (h ^ (uint8_t)buf[i]) * 0x100000001b3ull;
			lines += buf[i] == '\n';
		}
		total += (size_t)n;
	}
	printf("stdin: %zu bytes, %zu lines, fnv1a 0x%016llx\n", total, lines, (unsigned long long)h);
	return 0;
}
