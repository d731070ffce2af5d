/*
 * Write a file in the working directory, read it back, append, truncate,
 * rename, unlink; through system calls and through stdio. Self-checking:
 * PASS/FAIL lines, exit 0 only if all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", what);
	if (!ok)
		printf("     errno: %s\n", strerror(errno));
	failed |= !ok;
}

#define BIG (100 * 1024 + 7)

int main(void)
{
	static unsigned char big[BIG], back[BIG + 100];
	for (size_t i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 7 + (i >> 9));

	unlink("wr-test.bin");
	unlink("wr-renamed.bin");
	int fd = open("wr-test.bin", O_RDWR | O_CREAT | O_EXCL, 0644);
	check(fd >= 0, "open(O_CREAT|O_EXCL) a new file in the working directory");
	check(write(fd, "header\n", 7) == 7, "write 7 bytes");
	check(write(fd, big, BIG) == BIG, "write 100 KiB + 7 in one call");
	struct stat st;
	check(fstat(fd, &st) == 0 && st.st_size == 7 + BIG, "fstat size == bytes written");
	check(lseek(fd, 0, SEEK_SET) == 0, "lseek to 0");
	ssize_t n = 0, r;
	while ((r = read(fd, back + n, sizeof(back) - (size_t)n)) > 0)
		n += r;
	check(n == 7 + BIG, "read everything back");
	check(!memcmp(back, "header\n", 7) && !memcmp(back + 7, big, BIG), "contents identical");
	check(pwrite(fd, "HEAD", 4, 0) == 4, "pwrite at 0");
	check(pread(fd, back, 7, 0) == 7 && !memcmp(back, "HEADer\n", 7), "pread sees the pwrite");
	check(ftruncate(fd, 3) == 0 && fstat(fd, &st) == 0 && st.st_size == 3, "ftruncate to 3");
	check(lseek(fd, 10, SEEK_SET) == 10 && write(fd, "x", 1) == 1, "write past the end leaves a hole");
	check(pread(fd, back, 20, 0) == 11 && !memcmp(back, "HEA\0\0\0\0\0\0\0x", 11), "the hole reads as zeros");
	check(close(fd) == 0, "close");

	fd = open("wr-test.bin", O_WRONLY | O_APPEND);
	check(fd >= 0 && write(fd, "yz", 2) == 2 && close(fd) == 0, "O_APPEND write");
	check(stat("wr-test.bin", &st) == 0 && st.st_size == 13 && S_ISREG(st.st_mode), "stat after append");
	check(rename("wr-test.bin", "wr-renamed.bin") == 0, "rename");
	errno = 0;
	check(open("wr-test.bin", O_RDONLY) == -1 && errno == ENOENT, "old name is gone (ENOENT)");

	FILE *f = fopen("wr-renamed.bin", "a+");
	check(f != NULL, "fopen a+");
	if (f) {
		for (int i = 0; i < 1000; i++)
			fprintf(f, "\nline %d", i);
		rewind(f);
		char line[64];
		int lines = 0;
		while (fgets(line, sizeof(line), f))
			lines++;
		check(lines == 1001, "stdio: 1000 appended lines read back");
		check(fclose(f) == 0, "fclose");
	}
	check(unlink("wr-renamed.bin") == 0, "unlink");
	errno = 0;
	check(stat("wr-renamed.bin", &st) == -1 && errno == ENOENT, "unlinked file is gone");
	printf("%s writeread\n", failed ? "FAIL" : "PASS");
	return failed;
}
