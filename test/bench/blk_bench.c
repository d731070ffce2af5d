/*
 * Block I/O benchmark, run the same way in a microVM (on /dev/vda) and
 * natively (on the image file, O_DIRECT): static musl.
 *   blk_bench seqread  PATH MIB     MIB sequential 1 MiB reads
 *   blk_bench seqwrite PATH MIB     MIB sequential 1 MiB writes, then fdatasync
 *   blk_bench randread PATH N       N 4 KiB reads at random 4 KiB-aligned offsets
 * Prints "<mode> bytes=B seconds=S MBps=X IOPS=Y" (timed inside the program).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: blk_bench seqread|seqwrite|randread PATH N\n");
		return 2;
	}
	const char *mode = argv[1], *path = argv[2];
	long n = atol(argv[3]);
	int write_mode = !strcmp(mode, "seqwrite");
	/* O_DIRECT natively (the reference: no page cache); the guest's disk has none anyway. */
	int fd = open(path, (write_mode ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	size_t bs = !strcmp(mode, "randread") ? 4096 : 1 << 20;
	void *buf;
	if (posix_memalign(&buf, 4096, bs))
		return 1;
	memset(buf, 0x5a, bs);
	uint64_t x = 88172645463325252ull, done = 0;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		off_t off;
		if (bs == 4096) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			off = (off_t)(x % (uint64_t)(size / 4096)) * 4096;
		} else {
			off = (off_t)(((uint64_t)i * bs) % (uint64_t)size);
		}
		ssize_t r = write_mode ? pwrite(fd, buf, bs, off) : pread(fd, buf, bs, off);
		if (r != (ssize_t)bs) {
			fprintf(stderr, "%s at %lld: %zd\n", mode, (long long)off, r);
			return 1;
		}
		done += bs;
	}
	if (write_mode && fdatasync(fd)) {
		perror("fdatasync");
		return 1;
	}
	double s = now() - t0;
	printf("%s bytes=%llu seconds=%.4f MBps=%.1f IOPS=%.0f\n", mode, (unsigned long long)done, s,
	       (double)done / s / 1e6, (double)done / bs / s);
	return 0;
}
