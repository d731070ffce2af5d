/*
 * Where do random bytes come from? getrandom(2) and /dev/urandom reads of
 * several sizes (within a page, across pages, 1 MiB), from several threads.
 *   rng_check pattern 0x5a   every byte must be 0x5a (the VMM's test-only rng mode)
 *   rng_check entropy [small] bytes must not be constant; prints one 16-byte sample in hex
 *                            (small: no 1 MiB request, no threads: for the CPL0 fallback generator)
 *   rng_check efault         bad and half-bad buffers (compared with a native run)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static long grnd(void *buf, size_t len, unsigned flags)
{
	return syscall(SYS_getrandom, buf, len, flags);
}

static int want = -1; /* the pattern byte, or -1 for entropy */
static int small;

/* Check buf[0, len): all equal to the pattern, or (entropy) not all equal to buf[0]. */
static int check(const char *what, const unsigned char *buf, size_t len)
{
	size_t same = 0;
	for (size_t i = 0; i < len; i++)
		same += buf[i] == (want >= 0 ? want : buf[0]);
	if (want >= 0 && same != len) {
		printf("FAIL %s: %zu of %zu bytes are 0x%02x\n", what, same, len, want);
		return 1;
	}
	if (want < 0 && len >= 16 && same == len) {
		printf("FAIL %s: %zu bytes all 0x%02x\n", what, len, buf[0]);
		return 1;
	}
	return 0;
}

static void *thread_main(void *arg)
{
	static __thread unsigned char buf[65536];
	long bad = 0;
	for (int i = 0; i < 20; i++) {
		memset(buf, 0, sizeof(buf));
		if (grnd(buf, sizeof(buf), 0) != (long)sizeof(buf) || check("thread", buf, sizeof(buf)))
			bad++;
	}
	return (void *)bad;
}

static int sizes(void)
{
	static const size_t lens[] = { 1, 16, 256, 4096, 5000, 1 << 20 };
	int bad = 0;
	unsigned char *buf = malloc((1 << 20) + 64);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]) - small; k++) {
		char what[64];
		memset(buf, 0, (1 << 20) + 64);
		/* Odd offset: the buffer straddles pages differently each time. */
		long n = grnd(buf + 7, lens[k], 0);
		snprintf(what, sizeof(what), "getrandom(%zu)", lens[k]);
		if (n != (long)lens[k]) {
			printf("FAIL %s returned %ld (errno %d)\n", what, n, errno);
			bad++;
		} else {
			bad += check(what, buf + 7, lens[k]);
		}
		if (buf[7 + lens[k]] != 0) {
			printf("FAIL %s wrote past the end\n", what);
			bad++;
		}
	}
	/* /dev/urandom goes the same way. */
	int fd = open("/dev/urandom", O_RDONLY);
	memset(buf, 0, 70000);
	long want_len = small ? 7000 : 70000;
	long n = read(fd, buf, want_len);
	if (n != want_len) {
		printf("FAIL read(/dev/urandom, %ld) = %ld\n", want_len, n);
		bad++;
	} else {
		bad += check("/dev/urandom", buf, want_len);
	}
	close(fd);
	if (want < 0) {
		grnd(buf, 16, 0);
		for (int i = 0; i < 16; i++)
			printf("%02x", buf[i]);
		printf("\n");
	}
	free(buf);
	return bad;
}

static int threads(void)
{
	pthread_t t[4];
	long bad = 0;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_main, NULL);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	if (bad)
		printf("FAIL threads: %ld bad requests\n", bad);
	return bad != 0;
}

static int efault(void)
{
	long n = grnd(NULL, 16, 0);
	printf("getrandom(NULL, 16) = %ld %s\n", n, n < 0 ? strerror(errno) : "");
	n = grnd((void *)1, 0, 0);
	printf("getrandom(1, 0) = %ld\n", n);
	n = grnd(NULL, 16, 0x80);
	printf("getrandom(flags 0x80) = %ld %s\n", n, n < 0 ? strerror(errno) : "");
	/* The second page unmapped: the bytes before it. */
	unsigned char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p + 4096, 4096);
	n = grnd(p + 4096 - 100, 200, 0);
	printf("getrandom(100 good + 100 unmapped) = %ld\n", n);
	/* A read-only page cannot be filled. */
	mprotect(p, 4096, PROT_READ);
	n = grnd(p, 16, 0);
	printf("getrandom(read-only page) = %ld %s\n", n, n < 0 ? strerror(errno) : "");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "efault"))
		return efault();
	if (!strcmp(argv[1], "pattern") && argc > 2)
		want = (int)strtol(argv[2], NULL, 0);
	else if (strcmp(argv[1], "entropy"))
		return 2;
	small = argc > 2 && !strcmp(argv[2], "small");
	int bad = sizes() + (small ? 0 : threads());
	if (!bad)
		printf("PASS rng_check %s\n", argv[1]);
	return bad ? 1 : 0;
}
