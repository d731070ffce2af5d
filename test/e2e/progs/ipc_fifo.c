/*
 * FIFOs: mkfifo/mknod/mknodat, EEXIST/ENOENT, stat, the open rendezvous
 * (a blocking open waits for the other side), O_NONBLOCK rules (read-only
 * succeeds, write-only without a reader is ENXIO), O_RDWR never waits,
 * data and EOF through a FIFO between processes, poll's hangup rule.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "ipc.h"

int main(void)
{
	unlink("fifo-a");
	unlink("fifo-b");
	unlink("fifo-c");
	CHECK(mkfifo("fifo-a", 0640) == 0, "mkfifo");
	EXPECT_ERR(mkfifo("fifo-a", 0640), EEXIST, "mkfifo of an existing name");
	EXPECT_ERR(mkfifo("no-such-dir/f", 0640), ENOENT, "mkfifo in a missing directory");
	struct stat st;
	CHECK(stat("fifo-a", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == (0640 & ~umask(022)),
	      "stat: S_IFIFO with the mode asked for (minus umask)");
	CHECK(mknod("fifo-b", S_IFIFO | 0600, 0) == 0, "mknod(S_IFIFO)");
	CHECK(mknodat(AT_FDCWD, "fifo-c", S_IFIFO | 0600, 0) == 0, "mknodat(S_IFIFO)");
	EXPECT_ERR(mknod("fifo-d", S_IFDIR | 0600, 0), EPERM, "mknod(S_IFDIR)");
	EXPECT_ERR(mknod("fifo-d", 0170000 | 0600, 0), EINVAL, "mknod with a bad type");
	CHECK(mknod("plain-file", 0600, 0) == 0 && stat("plain-file", &st) == 0 && S_ISREG(st.st_mode),
	      "mknod with type 0 makes a regular file");
	unlink("plain-file");

	EXPECT_ERR(open("fifo-a", O_WRONLY | O_NONBLOCK), ENXIO, "O_WRONLY|O_NONBLOCK with no reader: ENXIO");
	int r = open("fifo-a", O_RDONLY | O_NONBLOCK);
	CHECK(r >= 0, "O_RDONLY|O_NONBLOCK opens at once");
	char buf[64];
	CHECK(read(r, buf, sizeof(buf)) == 0, "no writer yet: read says EOF");
	struct pollfd pf = { r, POLLIN, 0 };
	CHECK(poll(&pf, 1, 0) == 0, "and poll reports no hangup before any writer came");
	int w = open("fifo-a", O_WRONLY | O_NONBLOCK);
	CHECK(w >= 0, "with a reader, O_WRONLY|O_NONBLOCK opens");
	EXPECT_ERR(read(r, buf, sizeof(buf)), EAGAIN, "a writer, no data: EAGAIN");
	CHECK(write(w, "hello", 5) == 5 && read(r, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5), "data through");
	EXPECT_ERR(lseek(r, 0, SEEK_SET), ESPIPE, "lseek on a FIFO");
	close(w);
	CHECK(poll(&pf, 1, 0) == 1 && pf.revents == POLLHUP, "the writer gone: POLLHUP");
	CHECK(read(r, buf, sizeof(buf)) == 0, "and EOF");
	close(r);

	int rw = open("fifo-a", O_RDWR);
	CHECK(rw >= 0, "O_RDWR opens without waiting");
	CHECK(write(rw, "x", 1) == 1 && read(rw, buf, 1) == 1, "and works both ways");
	close(rw);

	/* The rendezvous: the child's blocking open for writing waits for our reader. */
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("fifo-b", O_WRONLY);
		if (fd < 0)
			_exit(1);
		for (int i = 0; i < 100; i++)
			write(fd, "0123456789", 10);
		_exit(0);
	}
	sleep_ms(40);
	r = open("fifo-b", O_RDONLY);
	CHECK(r >= 0, "blocking O_RDONLY meets the child's blocking O_WRONLY");
	long total = 0;
	ssize_t n;
	while ((n = read(r, buf, sizeof(buf))) > 0)
		total += n;
	CHECK(n == 0 && total == 1000, "1000 bytes from the child, then EOF");
	CHECK(child_ok(pid), "child done");
	close(r);

	/* The other order: our blocking reader open waits for the child's writer. */
	long long t0 = now_ms();	/* before fork: the child's 40 ms sleep ends no earlier */
	pid = fork();
	if (pid == 0) {
		sleep_ms(40);
		int fd = open("fifo-c", O_WRONLY);
		write(fd, "late", 4);
		_exit(fd >= 0 ? 0 : 1);
	}
	r = open("fifo-c", O_RDONLY);
	CHECK(r >= 0 && now_ms() - t0 >= 39, "a blocking O_RDONLY waits for a writer");
	CHECK(read(r, buf, sizeof(buf)) == 4, "and reads what it wrote");
	CHECK(child_ok(pid), "child done");
	close(r);
	CHECK(unlink("fifo-a") == 0 && unlink("fifo-b") == 0 && unlink("fifo-c") == 0, "unlink the FIFOs");
	return finish("ipc_fifo");
}
