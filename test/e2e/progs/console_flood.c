/*
 * Console output checks (compared byte for byte with a native run):
 *   console_flood bytes MiB      MiB of deterministic data to stdout, in writes of
 *                                varying sizes (1 byte .. 192 KiB, some writev)
 *   console_flood interleave N   N numbered lines to stdout and N to stderr, alternating
 *   console_flood winsize        TIOCGWINSZ of fds 0, 1, 2 ("rows cols" or the errno)
 *   console_flood slowcat        copy stdin to stdout 16 KiB at a time, 1 ms apart (a slow pipe reader)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "bytes") && argc > 2) {
		size_t total = (size_t)atol(argv[2]) << 20;
		char *buf = malloc(total);
		uint32_t x = 12345;
		for (size_t i = 0; i < total; i++) {
			x = x * 1103515245 + 12345;
			buf[i] = (char)(32 + (x >> 16) % 95);
			if (i % 77 == 76)
				buf[i] = '\n';
		}
		static const size_t sizes[] = { 1, 100, 4095, 4096, 4097, 65536, 70001, 196608, 13 };
		size_t off = 0;
		for (unsigned k = 0; off < total; k++) {
			size_t n = sizes[k % 9];
			if (n > total - off)
				n = total - off;
			if (k % 5 == 4 && n > 2) {
				/* A writev of three pieces. */
				struct iovec v[3] = { { buf + off, 1 }, { buf + off + 1, n / 2 }, { buf + off + 1 + n / 2, n - 1 - n / 2 } };
				ssize_t w = writev(1, v, 3);
				if (w < 0)
					return 1;
				off += (size_t)w;
				continue;
			}
			if (write_all(1, buf + off, n))
				return 1;
			off += n;
		}
		return 0;
	}
	if (!strcmp(argv[1], "interleave") && argc > 2) {
		int n = atoi(argv[2]);
		char line[64];
		for (int i = 0; i < n; i++) {
			int l = snprintf(line, sizeof(line), "out %d\n", i);
			write_all(1, line, (size_t)l);
			l = snprintf(line, sizeof(line), "err %d\n", i);
			write_all(2, line, (size_t)l);
		}
		return 0;
	}
	if (!strcmp(argv[1], "slowcat")) {
		static char buf[16384];
		struct timespec ms = { 0, 1000000 };
		ssize_t n;
		while ((n = read(0, buf, sizeof(buf))) > 0) {
			if (write_all(1, buf, (size_t)n))
				return 1;
			nanosleep(&ms, NULL);
		}
		return n < 0;
	}
	if (!strcmp(argv[1], "winsize")) {
		for (int fd = 0; fd < 3; fd++) {
			struct winsize ws;
			if (ioctl(fd, TIOCGWINSZ, &ws) == 0)
				printf("fd %d: %d %d\n", fd, ws.ws_row, ws.ws_col);
			else
				printf("fd %d: %s\n", fd, strerror(errno));
		}
		return 0;
	}
	return 2;
}
