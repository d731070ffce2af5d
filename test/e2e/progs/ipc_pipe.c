/*
 * Pipes: data between parent and child, EOF, SIGPIPE/EPIPE, O_NONBLOCK and
 * EAGAIN, capacity, PIPE_BUF atomicity with two writers, 1 MiB with a
 * checksum, FIONREAD, fstat, ESPIPE, EBADF, EFAULT, EINVAL, fd counting
 * across dup/fork/close, pipe2 flags, F_GETPIPE_SZ/F_SETPIPE_SZ.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "ipc.h"

/* Through a volatile, so the compiler does not warn about (or drop) the bad calls. */
static void *volatile bad_ptr = (void *)16;
#define BAD_PTR bad_ptr

static void basics(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe()");
	struct stat st;
	CHECK(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "fstat of the read end is S_IFIFO");
	CHECK(fstat(p[1], &st) == 0 && S_ISFIFO(st.st_mode), "fstat of the write end is S_IFIFO");
	CHECK(fcntl(p[0], F_GETFL) == O_RDONLY, "read end is O_RDONLY");
	CHECK(fcntl(p[1], F_GETFL) == O_WRONLY, "write end is O_WRONLY");
	CHECK(write(p[1], "hello", 5) == 5, "write 5 bytes");
	int n = -1;
	CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 5, "FIONREAD says 5");
	char buf[16] = { 0 };
	CHECK(read(p[0], buf, 3) == 3 && !memcmp(buf, "hel", 3), "read 3 of them");
	CHECK(read(p[0], buf, 16) == 2 && !memcmp(buf, "lo", 2), "a read returns what is there (2)");
	EXPECT_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe");
	EXPECT_ERR(pread(p[0], buf, 1, 0), ESPIPE, "pread on a pipe");
	EXPECT_ERR(pwrite(p[1], buf, 1, 0), ESPIPE, "pwrite on a pipe");
	EXPECT_ERR(write(p[0], "x", 1), EBADF, "write to the read end");
	EXPECT_ERR(read(p[1], buf, 1), EBADF, "read from the write end");
	EXPECT_ERR(write(p[1], BAD_PTR, 10), EFAULT, "write from a bad buffer");
	CHECK(write(p[1], "abc", 3) == 3, "write 3 more");
	EXPECT_ERR(read(p[0], BAD_PTR, 3), EFAULT, "read into a bad buffer");
	CHECK(write(p[1], "", 0) == 0, "a zero-length write returns 0");
	struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
	CHECK(writev(p[1], iov, 3) == 5, "writev of three pieces");
	char v1[4] = { 0 }, v2[8] = { 0 };
	struct iovec riov[2] = { { v1, 4 }, { v2, 8 } };
	ssize_t got = readv(p[0], riov, 2);
	/* The bad read consumed nothing (or the abc is still there) on both kernels. */
	CHECK(got == 8 && !memcmp(v1, "abca", 4) && !memcmp(v2, "bcde", 4), "readv across two buffers (%zd)", got);
	close(p[1]);
	CHECK(read(p[0], buf, 1) == 0, "EOF once the only writer closed");
	close(p[0]);

	EXPECT_ERR(pipe(BAD_PTR), EFAULT, "pipe(bad pointer)");
	EXPECT_ERR(pipe2(p, 0x1), EINVAL, "pipe2 with an unknown flag");
	CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2(O_CLOEXEC|O_NONBLOCK)");
	CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC, "both ends close-on-exec");
	CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) && (fcntl(p[1], F_GETFL) & O_NONBLOCK), "both ends non-blocking");
	EXPECT_ERR(read(p[0], buf, 1), EAGAIN, "non-blocking read of an empty pipe");
	close(p[0]);
	close(p[1]);
	EXPECT_ERR(read(p[0], buf, 1), EBADF, "read from a closed fd");
}

static void nonblock_capacity(void)
{
	int p[2];
	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2(O_NONBLOCK)");
	CHECK(fcntl(p[1], F_GETPIPE_SZ) == 65536, "F_GETPIPE_SZ is 64 KiB");
	static char block[1000], page[4096];
	memset(block, 'z', sizeof(block));
	long total = 0;
	for (;;) {
		ssize_t r = write(p[1], page, sizeof(page));
		if (r < 0)
			break;
		total += r;
	}
	CHECK(errno == EAGAIN, "a full non-blocking pipe says EAGAIN");
	CHECK(total == 65536, "capacity is 65536 bytes (%ld)", total);
	char buf[4096];
	CHECK(read(p[0], buf, 100) == 100, "read 100 bytes");
	EXPECT_ERR(write(p[1], buf, 200), EAGAIN, "an atomic write (200 <= PIPE_BUF) that does not fit");
	CHECK(read(p[0], buf, 3996) == 3996, "read the rest of the first 4096");
	static char big[8192];
	CHECK(write(p[1], big, sizeof(big)) == 4096, "a big write that does not fit is partial (4096)");
	/* Drain and check the non-blocking read of an empty pipe with a writer. */
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	CHECK(errno == EAGAIN, "drained: EAGAIN");
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 4096) == 4096, "F_SETPIPE_SZ 4096");
	CHECK(fcntl(p[0], F_GETPIPE_SZ) == 4096, "the read end sees 4096");
	total = 0;
	while (write(p[1], block, sizeof(block)) > 0)
		total += sizeof(block);
	CHECK(total == 4000, "a 4 KiB pipe takes four 1000-byte writes (%ld)", total);
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 65536 * 2) == 131072, "F_SETPIPE_SZ 128 KiB with data in it");
	char got[4000];
	CHECK(read(p[0], got, sizeof(got)) == 4000 && got[0] == 'z' && got[3999] == 'z', "the data survived the resize");
	EXPECT_ERR(fcntl(0, F_GETPIPE_SZ), EBADF, "F_GETPIPE_SZ on a non-pipe");
	int n = fcntl(p[1], F_GETFL);
	CHECK(fcntl(p[1], F_SETFL, n & ~O_NONBLOCK) == 0 && !(fcntl(p[1], F_GETFL) & O_NONBLOCK),
	      "F_SETFL clears O_NONBLOCK");
	close(p[0]);
	close(p[1]);
}

static void parent_child(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe for parent -> child");
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		char buf[64];
		size_t got = 0;
		ssize_t r;
		while ((r = read(p[0], buf + got, sizeof(buf) - got)) > 0)
			got += (size_t)r;
		_exit(r == 0 && got == 26 && !memcmp(buf, "abcdefghijklmnopqrstuvwxyz", 26) ? 0 : 1);
	}
	close(p[0]);
	sleep_ms(20);                /* the child is blocked in read by now */
	CHECK(write(p[1], "abcdefghijklm", 13) == 13, "parent writes the first half");
	sleep_ms(5);
	CHECK(write(p[1], "nopqrstuvwxyz", 13) == 13, "parent writes the second half");
	close(p[1]);
	CHECK(child_ok(pid), "the child read 26 bytes and then EOF");

	/* A dup'ed write end and a forked copy keep the pipe open. */
	CHECK(pipe(p) == 0, "pipe for counting writers");
	int d = dup(p[1]);
	pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		write(p[1], "c", 1);
		_exit(0);            /* exit closes the child's two write ends */
	}
	close(p[1]);
	char c = 0;
	CHECK(read(p[0], &c, 1) == 1 && c == 'c', "read what the child wrote while the dup'ed end stays open");
	close(d);
	CHECK(child_ok(pid), "the child exited");
	CHECK(read(p[0], &c, 1) == 0, "EOF after the last of dup, fork copy and original closed");
	close(p[0]);
}

static void epipe(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe for EPIPE");
	close(p[0]);
	pid_t pid = fork();
	if (pid == 0) {
		write(p[1], "x", 1);     /* SIGPIPE's default action ends us */
		_exit(0);
	}
	int st = wait_status(pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "write with no reader kills with SIGPIPE");
	signal(SIGPIPE, SIG_IGN);
	EXPECT_ERR(write(p[1], "x", 1), EPIPE, "with SIGPIPE ignored: EPIPE");
	signal(SIGPIPE, SIG_DFL);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, &old);
	EXPECT_ERR(write(p[1], "x", 1), EPIPE, "with SIGPIPE blocked: EPIPE");
	sigset_t pend;
	sigpending(&pend);
	CHECK(sigismember(&pend, SIGPIPE), "and SIGPIPE is pending");
	signal(SIGPIPE, SIG_IGN);    /* discards the pending one */
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);

	/* A writer blocked on a full pipe gets EPIPE when the reader goes. */
	CHECK(pipe(p) == 0, "pipe for a blocked writer");
	pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		close(p[0]);
		static char big[100000];
		ssize_t r = write(p[1], big, sizeof(big));
		/* Partial: the pipe was full (64 KiB) before the reader left. */
		_exit(r >= 65536 && r < (ssize_t)sizeof(big) ? 0 : 1);
	}
	close(p[1]);
	/* Our blocking read lets the child fill the pipe; then the reader goes. */
	static char some[1000];
	CHECK(read(p[0], some, sizeof(some)) == sizeof(some), "read 1000 bytes of the writer's 100000");
	close(p[0]);
	CHECK(child_ok(pid), "a blocked writer returns the partial count when the reader closes");
}

/* Two writers of PIPE_BUF-sized blocks: no block is ever split. */
static void atomicity(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe for atomicity");
	enum { BLOCKS = 64 };
	pid_t w[2];
	for (int k = 0; k < 2; k++) {
		w[k] = fork();
		if (w[k] == 0) {
			close(p[0]);
			static char blk[4096];
			memset(blk, 'A' + k, sizeof(blk));
			for (int i = 0; i < BLOCKS; i++)
				if (write(p[1], blk, sizeof(blk)) != sizeof(blk))
					_exit(1);
			_exit(0);
		}
	}
	close(p[1]);
	static char all[2 * BLOCKS * 4096];
	size_t got = 0;
	ssize_t r;
	size_t sizes[] = { 1, 1000, 4096, 7000, 333 };
	int s = 0;
	while (got < sizeof(all) && (r = read(p[0], all + got, MIN(sizes[s++ % 5], sizeof(all) - got))) > 0)
		got += (size_t)r;
	CHECK(got == sizeof(all), "read all %d blocks of both writers", 2 * BLOCKS);
	int split = 0, a = 0, b = 0;
	for (size_t i = 0; i < got; i += 4096) {
		for (size_t j = 1; j < 4096; j++)
			if (all[i + j] != all[i])
				split = 1;
		a += all[i] == 'A';
		b += all[i] == 'B';
	}
	CHECK(!split && a == BLOCKS && b == BLOCKS, "no 4096-byte write was interleaved");
	CHECK(child_ok(w[0]) && child_ok(w[1]), "both writers wrote every block whole");
	CHECK(read(p[0], all, 1) == 0, "EOF after both writers exited");
	close(p[0]);
}

/* 1 MiB through a pipe in odd chunk sizes, checksummed on both sides. */
static void mebibyte(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe for 1 MiB");
	enum { TOTAL = 1 << 20 };
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		static unsigned char buf[70000];
		unsigned long off = 0;
		size_t sizes[] = { 65536, 1, 4095, 70000, 12345, 4096, 100 };
		int s = 0;
		while (off < TOTAL) {
			size_t n = sizes[s++ % 7];
			if (n > TOTAL - off)
				n = TOTAL - off;
			for (size_t i = 0; i < n; i++)
				buf[i] = stream_byte(off + i);
			size_t done = 0;
			while (done < n) {
				ssize_t r = write(p[1], buf + done, n - done);
				if (r <= 0)
					_exit(1);
				done += (size_t)r;
			}
			off += n;
		}
		_exit(0);
	}
	close(p[1]);
	static unsigned char buf[100000];
	unsigned long off = 0, bad = 0;
	size_t sizes[] = { 100000, 17, 65536, 4096, 3 };
	int s = 0;
	ssize_t r;
	while ((r = read(p[0], buf, sizes[s++ % 5])) > 0) {
		for (ssize_t i = 0; i < r; i++)
			bad += buf[i] != stream_byte(off + (unsigned long)i);
		off += (unsigned long)r;
	}
	CHECK(r == 0 && off == TOTAL, "received exactly 1 MiB then EOF (%lu)", off);
	CHECK(bad == 0, "every byte as sent (%lu wrong)", bad);
	CHECK(child_ok(pid), "the writer saw every write complete");
	close(p[0]);
}

int main(void)
{
	basics();
	nonblock_capacity();
	parent_child();
	epipe();
	atomicity();
	mebibyte();
	return finish("ipc_pipe");
}
