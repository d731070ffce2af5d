/*
 * Block device checks for /dev/vdX (virtio-blk). One mode per run:
 *   gen SEED SIZE          print the pattern (the host's expected image)
 *   write DEV SEED         fill the disk with the pattern, in odd-sized, unaligned pieces; fsync
 *   read DEV SEED          read it all back the same way and compare
 *   ro DEV                 a read-only disk: writes fail with EPERM, reads work
 *   info DEV               size (lseek, ioctls), fstat, end-of-disk and bad-pointer behaviour
 *   discard DEV            BLKDISCARD: zeros after, bad ranges refused
 * Prints "PASS <mode>" and exits 0, or says what failed and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#define BLKSSZGET    _IO(0x12, 104)
#define BLKDISCARD   _IO(0x12, 119)
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)

static int failed;
#define CHECK(c, ...) do { if (!(c)) { failed = 1; printf("FAIL: " __VA_ARGS__); printf("\n"); } } while (0)

static unsigned char pat(uint64_t i, unsigned seed)
{
	return (unsigned char)(i * 131 + seed + (i >> 9) * 7);
}

/* Odd piece sizes that cross sector and page boundaries in every way. */
static const size_t pieces[] = { 1, 511, 513, 4096, 100, 1536, 65536 + 7, 3, 512, 300000, 8192 };

static off_t disk_size(int fd)
{
	return lseek(fd, 0, SEEK_END);
}

static int do_write(const char *dev, unsigned seed)
{
	int fd = open(dev, O_RDWR);
	CHECK(fd >= 0, "open %s: %s", dev, strerror(errno));
	if (fd < 0)
		return 1;
	off_t size = disk_size(fd);
	CHECK(size > 0 && lseek(fd, 0, SEEK_SET) == 0, "size %lld", (long long)size);
	unsigned char *buf = malloc((size_t)size + 1);
	/* Misaligned user buffer: +1. */
	unsigned char *p = buf + 1;
	for (off_t i = 0; i < size; i++)
		p[i] = pat((uint64_t)i, seed);
	off_t pos = 0;
	for (unsigned k = 0; pos < size; k++) {
		size_t n = pieces[k % (sizeof(pieces) / sizeof(pieces[0]))];
		if ((off_t)n > size - pos)
			n = (size_t)(size - pos);
		ssize_t w = (k % 3 == 1) ? pwrite(fd, p + pos, n, pos) : write(fd, p + pos, n);
		CHECK(w == (ssize_t)n, "write %zu at %lld: %zd (%s)", n, (long long)pos, w, strerror(errno));
		if (w != (ssize_t)n)
			return 1;
		pos += n;
		if (k % 3 == 1)
			lseek(fd, pos, SEEK_SET);
	}
	CHECK(fsync(fd) == 0, "fsync: %s", strerror(errno));
	CHECK(fdatasync(fd) == 0, "fdatasync: %s", strerror(errno));
	CHECK(close(fd) == 0, "close");
	if (!failed)
		printf("PASS write\n");
	return failed;
}

static int do_read(const char *dev, unsigned seed)
{
	int fd = open(dev, O_RDONLY);
	CHECK(fd >= 0, "open %s: %s", dev, strerror(errno));
	if (fd < 0)
		return 1;
	off_t size = disk_size(fd);
	lseek(fd, 0, SEEK_SET);
	unsigned char *buf = malloc((size_t)size + 3);
	unsigned char *p = buf + 3;
	memset(buf, 0xee, (size_t)size + 3);
	off_t pos = 0;
	for (unsigned k = 0; pos < size; k++) {
		size_t n = pieces[(k + 5) % (sizeof(pieces) / sizeof(pieces[0]))];
		ssize_t r;
		if (k % 4 == 2) { /* readv into two pieces */
			/* The disk ends the read: the buffer has room for what it holds. */
			if ((off_t)n > size - pos)
				n = (size_t)(size - pos);
			struct iovec v[2] = { { p + pos, n / 2 }, { p + pos + n / 2, n - n / 2 } };
			r = readv(fd, v, 2);
		} else {
			if ((off_t)n > size - pos)
				n = (size_t)(size - pos);
			r = read(fd, p + pos, n);
		}
		CHECK(r > 0, "read %zu at %lld: %zd (%s)", n, (long long)pos, r, strerror(errno));
		if (r <= 0)
			return 1;
		pos += r;
	}
	CHECK(read(fd, p, 10) == 0, "a read at the end is not 0");
	for (off_t i = 0; i < size; i++)
		if (p[i] != pat((uint64_t)i, seed)) {
			CHECK(0, "byte %lld is 0x%02x, expected 0x%02x", (long long)i, p[i], pat((uint64_t)i, seed));
			break;
		}
	CHECK(buf[0] == 0xee && buf[1] == 0xee && buf[2] == 0xee, "bytes before the buffer written");
	if (!failed)
		printf("PASS read %lld bytes\n", (long long)size);
	return failed;
}

static int do_ro(const char *dev)
{
	/* Linux opens a read-only disk for writing; the writes fail (blkdev_write_iter: EPERM). */
	int fd = open(dev, O_RDWR);
	CHECK(fd >= 0, "open O_RDWR: %s", strerror(errno));
	if (fd < 0)
		return 1;
	char b[4096] = { 1 };
	errno = 0;
	CHECK(write(fd, b, 512) == -1 && errno == EPERM, "write: errno %d (%s)", errno, strerror(errno));
	errno = 0;
	CHECK(pwrite(fd, b, 100, 1000) == -1 && errno == EPERM, "pwrite: errno %d", errno);
	uint64_t range[2] = { 0, 4096 };
	errno = 0;
	CHECK(ioctl(fd, BLKDISCARD, range) == -1 && errno == EPERM, "BLKDISCARD: errno %d", errno);
	CHECK(read(fd, b, sizeof(b)) == sizeof(b), "read: %s", strerror(errno));
	CHECK(fsync(fd) == 0, "fsync: %s", strerror(errno));
	if (!failed)
		printf("PASS ro\n");
	return failed;
}

static int do_info(const char *dev)
{
	int fd = open(dev, O_RDWR);
	CHECK(fd >= 0, "open: %s", strerror(errno));
	if (fd < 0)
		return 1;
	struct stat st;
	CHECK(fstat(fd, &st) == 0, "fstat");
	printf("S_ISBLK %d st_size %lld rdev %u:%u\n", S_ISBLK(st.st_mode), (long long)st.st_size,
	       major(st.st_rdev), minor(st.st_rdev));
	off_t size = lseek(fd, 0, SEEK_END);
	uint64_t sz64 = 0;
	int ssz = 0;
	CHECK(ioctl(fd, BLKGETSIZE64, &sz64) == 0, "BLKGETSIZE64: %s", strerror(errno));
	CHECK(ioctl(fd, BLKSSZGET, &ssz) == 0, "BLKSSZGET: %s", strerror(errno));
	printf("size %lld getsize64 %llu ssz %d\n", (long long)size, (unsigned long long)sz64, ssz);
	CHECK(lseek(fd, -100, SEEK_END) == size - 100, "SEEK_END -100");
	CHECK(lseek(fd, 50, SEEK_CUR) == size - 50, "SEEK_CUR +50");
	char b[1024];
	printf("read across the end: %zd\n", read(fd, b, sizeof(b)));
	printf("read at the end: %zd\n", read(fd, b, sizeof(b)));
	printf("pread across the end: %zd\n", pread(fd, b, sizeof(b), size - 700));
	printf("pread past the end: %zd\n", pread(fd, b, sizeof(b), size + 4096));
	errno = 0;
	ssize_t w = pwrite(fd, b, 10, size);
	printf("pwrite at the end: %zd %s\n", w, w < 0 ? strerror(errno) : "");
	memset(b, 'E', sizeof(b));
	printf("pwrite across the end: %zd\n", pwrite(fd, b, sizeof(b), size - 24));
	CHECK(pread(fd, b, 24, size - 24) == 24 && !memcmp(b, "EEEEEEEEEEEEEEEEEEEEEEEE", 24), "tail bytes");
	void *volatile bad = (void *)8; /* hidden from the compiler's buffer checks */
	errno = 0;
	ssize_t r = pread(fd, bad, 512, 0);
	printf("read into a bad pointer: %zd %s\n", r, r < 0 ? strerror(errno) : "");
	errno = 0;
	r = pwrite(fd, bad, 512, 0);
	printf("write from a bad pointer: %zd %s\n", r, r < 0 ? strerror(errno) : "");
	errno = 0;
	r = pread(fd, bad, 100, 3);
	printf("unaligned read into a bad pointer: %zd %s\n", r, r < 0 ? strerror(errno) : "");
	if (!failed)
		printf("PASS info\n");
	return failed;
}

static int do_discard(const char *dev)
{
	int fd = open(dev, O_RDWR);
	CHECK(fd >= 0, "open: %s", strerror(errno));
	if (fd < 0)
		return 1;
	off_t size = lseek(fd, 0, SEEK_END);
	static char b[65536];
	memset(b, 0x77, sizeof(b));
	CHECK(pwrite(fd, b, sizeof(b), 8192) == sizeof(b), "pwrite");
	uint64_t range[2] = { 8192 + 4096, 16384 };
	CHECK(ioctl(fd, BLKDISCARD, range) == 0, "BLKDISCARD: %s", strerror(errno));
	CHECK(pread(fd, b, sizeof(b), 8192) == sizeof(b), "pread");
	int ok = 1;
	for (size_t i = 0; i < sizeof(b); i++) {
		char want = (i >= 4096 && i < 4096 + 16384) ? 0 : 0x77;
		if (b[i] != want) {
			CHECK(0, "byte %zu after the discard is 0x%02x, expected 0x%02x", i, b[i], want);
			ok = 0;
			break;
		}
	}
	uint64_t bad[][2] = { { 100, 512 }, { 0, 100 }, { 0, 0 }, { (uint64_t)size, 512 },
			      { (uint64_t)size - 512, 1024 }, { UINT64_MAX - 511, 1024 } };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECK(ioctl(fd, BLKDISCARD, bad[i]) == -1 && errno == EINVAL, "BLKDISCARD %llu+%llu: errno %d",
		      (unsigned long long)bad[i][0], (unsigned long long)bad[i][1], errno);
	}
	int rd = open(dev, O_RDONLY);
	errno = 0;
	CHECK(ioctl(rd, BLKDISCARD, range) == -1 && errno == EBADF, "BLKDISCARD on O_RDONLY: errno %d", errno);
	if (!failed && ok)
		printf("PASS discard\n");
	return failed;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 4 && !strcmp(argv[1], "gen")) {
		unsigned seed = (unsigned)atoi(argv[2]);
		long long size = atoll(argv[3]);
		static unsigned char out[65536];
		for (long long i = 0; i < size;) {
			size_t n = 0;
			for (; n < sizeof(out) && i < size; n++, i++)
				out[n] = pat((uint64_t)i, seed);
			fwrite(out, 1, n, stdout);
		}
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "write"))
		return do_write(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "read"))
		return do_read(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "ro"))
		return do_ro(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "info"))
		return do_info(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "discard"))
		return do_discard(argv[2]);
	fprintf(stderr, "usage: blk_io gen SEED SIZE | write DEV SEED | read DEV SEED | ro DEV | info DEV | discard DEV\n");
	return 2;
}
