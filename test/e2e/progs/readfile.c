/* Read the file named by argv[1] (given to kvmbox with --file): size, checksum, first line. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: readfile PATH\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		printf("open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		printf("fstat: %s\n", strerror(errno));
		return 1;
	}
	printf("st_size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	size_t total = 0;
	char first[81] = "";
	size_t firstlen = 0;
	int in_first = 1;
	static char buf[7000]; /* an odd size: reads straddle pages */
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			printf("read: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			h = (h ^ (uint8_t)buf[i]) * 0x100000001b3ull;
			if (in_first) {
				if (buf[i] == '\n' || firstlen == 80)
					in_first = 0;
				else
					first[firstlen++] = buf[i];
			}
		}
		total += (size_t)n;
	}
	printf("read %zu bytes, fnv1a 0x%016llx\n", total, (unsigned long long)h);
	printf("first line: [%s]\n", first);
	/* pread in the middle, and lseek to the end */
	if (total > 10) {
		char mid[8] = "";
		ssize_t n = pread(fd, mid, 5, (off_t)(total / 2));
		printf("pread 5 at %zu: %zd\n", total / 2, n);
	}
	printf("lseek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
	close(fd);
	return total == (size_t)st.st_size ? 0 : 1;
}
