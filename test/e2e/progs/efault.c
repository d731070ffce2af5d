/*
 * Bad pointers handed to the kernel must come back as -1/EFAULT, never a
 * crash and never a leak of kernel memory. Self-checking: one PASS/FAIL line
 * per case, exit 0 only if all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int failed;

static void expect_efault(const char *what, ssize_t r, int err)
{
	int ok = r == -1 && err == EFAULT;
	printf("%s %s: %s\n", ok ? "PASS" : "FAIL", what,
	       ok ? "EFAULT" : r == -1 ? strerror(err) : "succeeded");
	failed |= !ok;
}

static const char rodata[64] = "read-only data";

int main(int argc, char **argv)
{
	(void)argc;
	/* A file with data in it: the program itself (./prog lives in the working dir). */
	int fd = open(argv[0], O_RDONLY);
	if (fd < 0) {
		printf("FAIL open(argv[0]): %s\n", strerror(errno));
		return 1;
	}
	static const struct { const char *name; uintptr_t addr; } bad[] = {
		{ "address 0x1", 1 },
		{ "NULL", 0 },
		{ "non-canonical 0x0000800000000000", 0x0000800000000000ull },
		{ "kernel half 0xffff800000000000", 0xffff800000000000ull },
		{ "kernel direct map 0xffff888000000000", 0xffff888000000000ull },
		{ "kernel image 0xffffffff80000000", 0xffffffff80000000ull },
		{ "last page 0xfffffffffffff000", 0xfffffffffffff000ull },
	};
	char what[128];
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ssize_t r;
		errno = 0;
		r = read(fd, (void *)bad[i].addr, 10);
		snprintf(what, sizeof(what), "read(fd, %s, 10)", bad[i].name);
		expect_efault(what, r, errno);
		fflush(stdout);
		errno = 0;
		r = write(1, (const void *)bad[i].addr, 10);
		snprintf(what, sizeof(what), "write(1, %s, 10)", bad[i].name);
		expect_efault(what, r, errno);
		fflush(stdout);
	}
	/* The kernel must honour page protections when it writes for the program. */
	errno = 0;
	ssize_t r = read(fd, (void *)rodata, 10);
	expect_efault("read(fd, read-only .rodata, 10)", r, errno);
	errno = 0;
	r = read(fd, (void *)main, 10);
	expect_efault("read(fd, program text, 10)", r, errno);
	/*
	 * Every kind of pointer argument, through raw syscall() (libc wrappers
	 * and the vDSO would fault in user mode instead): input strings and
	 * structs, output structs (also into read-only memory), iovec arrays
	 * and the buffers they point at.
	 */
	static const struct { const char *name; uintptr_t addr; } ptrs[] = {
		{ "0x1", 1 },
		{ "kernel direct map", 0xffff888000000000ull },
		{ ".rodata", (uintptr_t)rodata },
	};
	for (unsigned i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		uintptr_t a = ptrs[i].addr;
		int out_only = a == (uintptr_t)rodata; /* readable: only output parameters must fail */
		char buf[64];
		struct iovec bad_iov[2] = { { (void *)a, 4 }, { (void *)a, 4 } };
#define TRY(label, call)                                                        \
	do {                                                                    \
		errno = 0;                                                      \
		long r_ = (call);                                               \
		snprintf(what, sizeof(what), "%s, %s", label, ptrs[i].name);    \
		expect_efault(what, r_, errno);                                 \
	} while (0)
		TRY("clock_gettime(REALTIME, p)", syscall(SYS_clock_gettime, CLOCK_REALTIME, a));
		TRY("gettimeofday(p, NULL)", syscall(SYS_gettimeofday, a, 0));
		TRY("uname(p)", syscall(SYS_uname, a));
		TRY("fstat(fd, p)", syscall(SYS_fstat, fd, a));
		TRY("getcwd(p, 64)", syscall(SYS_getcwd, a, 64));
		TRY("sysinfo(p)", syscall(SYS_sysinfo, a));
		TRY("getrandom(p, 16, 0)", syscall(SYS_getrandom, a, 16, 0));
		TRY("rt_sigprocmask(SIG_BLOCK, NULL, p, 8)", syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, a, 8));
		TRY("readv(fd, {p,4}x2, 2)", syscall(SYS_readv, fd, bad_iov, 2));
		if (!out_only) {
			TRY("open(p, O_RDONLY)", syscall(SYS_open, a, O_RDONLY));
			TRY("stat(p, buf)", syscall(SYS_stat, a, buf));
			TRY("nanosleep(p, NULL)", syscall(SYS_nanosleep, a, 0));
			TRY("rt_sigaction(SIGUSR1, p, NULL, 8)", syscall(SYS_rt_sigaction, SIGUSR1, a, 0, 8));
			TRY("writev(1, p, 1) (bad iovec array)", syscall(SYS_writev, 1, a, 1));
			TRY("writev(1, {p,4}x2, 2)", syscall(SYS_writev, 1, bad_iov, 2));
			TRY("readv(fd, p, 1) (bad iovec array)", syscall(SYS_readv, fd, a, 1));
		}
		fflush(stdout);
	}

	/* A good buffer still works afterwards. */
	char ok[4];
	r = pread(fd, ok, 4, 0);
	int good = r == 4 && !memcmp(ok, "\177ELF", 4);
	printf("%s pread(fd, good buffer, 4, 0) reads the ELF magic\n", good ? "PASS" : "FAIL");
	failed |= !good;
	printf("%s efault\n", failed ? "FAIL" : "PASS");
	return failed;
}
