/*
 * execve tests: one scenario per run (argv[1]), self-checking where the
 * result is an errno, and printing what exec_target reports otherwise, so the
 * output can be compared with a native run. exec_target must be beside it.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TARGET "./exec_target"

static int failures;

static const char *ename(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case ENOEXEC: return "ENOEXEC";
	case EFAULT: return "EFAULT";
	case E2BIG: return "E2BIG";
	case ENOTDIR: return "ENOTDIR";
	case ELOOP: return "ELOOP";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	default: return strerror(e);
	}
}

static void expect_fail(const char *what, int want, const char *path, char *const argv[], char *const envp[])
{
	errno = 0;
	long r = syscall(SYS_execve, path, argv, envp);
	int e = errno;
	if (r == -1 && e == want) {
		printf("PASS %s: %s\n", what, ename(want));
	} else {
		printf("FAIL %s: returned %ld errno %s, expected %s\n", what, r, ename(e), ename(want));
		failures++;
	}
}

/* A bad address the compiler cannot see through. */
static __attribute__((noinline)) void *bad(long v)
{
	__asm__ volatile("" : "+r"(v));
	return (void *)v;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd)) {
		perror(path);
		exit(2);
	}
	chmod(path, mode);
}

/* An ELF executable asking for an interpreter that does not exist. */
static void write_dynamic(const char *path)
{
	static const char interp[] = "/nonexistent/ld-kvmbox.so.2";
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[2];
		char interp[sizeof(interp)];
	} f;
	memset(&f, 0, sizeof(f));
	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = ELFCLASS64;
	f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f.eh.e_ident[EI_VERSION] = EV_CURRENT;
	f.eh.e_type = ET_EXEC;
	f.eh.e_machine = EM_X86_64;
	f.eh.e_version = EV_CURRENT;
	f.eh.e_entry = 0x400000 + sizeof(f.eh);
	f.eh.e_phoff = sizeof(f.eh);
	f.eh.e_ehsize = sizeof(f.eh);
	f.eh.e_phentsize = sizeof(Elf64_Phdr);
	f.eh.e_phnum = 2;
	f.ph[0].p_type = PT_INTERP;
	f.ph[0].p_offset = offsetof(__typeof__(f), interp);
	f.ph[0].p_vaddr = 0x400000 + f.ph[0].p_offset;
	f.ph[0].p_filesz = f.ph[0].p_memsz = sizeof(interp);
	f.ph[0].p_flags = PF_R;
	f.ph[1].p_type = PT_LOAD;
	f.ph[1].p_vaddr = 0x400000;
	f.ph[1].p_filesz = f.ph[1].p_memsz = sizeof(f);
	f.ph[1].p_flags = PF_R | PF_X;
	f.ph[1].p_align = 4096;
	memcpy(f.interp, interp, sizeof(interp));
	write_file(path, &f, sizeof(f), 0755);
}

static int run_errors(void)
{
	char *argv[] = { "x", NULL };
	char *env[] = { NULL };
	expect_fail("missing file", ENOENT, "./no-such-program", argv, env);
	expect_fail("missing directory", ENOENT, "/no-such-dir/prog", argv, env);
	expect_fail("empty path", ENOENT, "", argv, env);
	expect_fail("file as a directory", ENOTDIR, TARGET "/x", argv, env);
	expect_fail("a directory", EACCES, ".", argv, env);
	expect_fail("/dev/null", EACCES, "/dev/null", argv, env);
	write_file("noexec", "#!/bin/sh\n", 10, 0644);
	expect_fail("no x bit", EACCES, "./noexec", argv, env);
	write_file("garbage", "\x01\x02garbage, not a program\n", 25, 0755);
	expect_fail("garbage", ENOEXEC, "./garbage", argv, env);
	write_file("empty", "", 0, 0755);
	expect_fail("empty file", ENOEXEC, "./empty", argv, env);
	write_file("truncated", "\177ELF\2\1\1", 7, 0755);
	expect_fail("truncated ELF", ENOEXEC, "./truncated", argv, env);
	write_dynamic("dynamic");
	expect_fail("missing interpreter", ENOENT, "./dynamic", argv, env);
	write_file("badscript", "#!/no/such/interpreter\n", 23, 0755);
	expect_fail("script with missing interpreter", ENOENT, "./badscript", argv, env);
	write_file("blankscript", "#!   \n", 6, 0755);
	expect_fail("script without interpreter", ENOEXEC, "./blankscript", argv, env);
	expect_fail("bad path pointer", EFAULT, bad(8), argv, env);
	expect_fail("bad argv pointer", EFAULT, TARGET, bad(8), env);
	expect_fail("bad envp pointer", EFAULT, TARGET, argv, bad(16));
	char *bad_arg[] = { "x", bad(24), NULL };
	expect_fail("bad string in argv", EFAULT, TARGET, bad_arg, env);
	char *bad_env[] = { "A=1", bad(-4096L), NULL };
	expect_fail("bad string in envp", EFAULT, TARGET, argv, bad_env);
	/* MAX_ARG_STRLEN is 32 pages, NUL included. */
	char *huge = malloc(131072 + 1);
	memset(huge, 'a', 131072);
	huge[131072] = 0;
	char *one_huge[] = { "x", huge, NULL };
	expect_fail("a string over MAX_ARG_STRLEN", E2BIG, TARGET, one_huge, env);
	/* In total at most a quarter of the 8 MiB stack limit. */
	huge[131071] = 0;
	char *many[20];
	for (int i = 0; i < 19; i++)
		many[i] = huge;
	many[19] = NULL;
	expect_fail("arguments over a quarter of the stack limit", E2BIG, TARGET, many, env);
	/* Every error leaves the process as it was: it is still here to say so. */
	printf("%s: %d failures\n", failures ? "FAIL errors" : "PASS errors", failures);
	return failures != 0;
}

static void exec_target(char *const argv[], char *const envp[])
{
	fflush(stdout);
	execve(TARGET, argv, envp);
	printf("execve: %s\n", ename(errno));
	exit(3);
}

/* Held by main forever: the other threads sleep in the kernel (futex wait) when exec kills them. */
static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

static void *sleeper(void *arg)
{
	pthread_mutex_lock(&never);
	return arg;
}

static void *exec_from_thread(void *arg)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "pid=%d", getpid());
	char *argv[] = { "exec_target", "from-thread", pid, NULL };
	exec_target(argv, (char *[]){ NULL });
	return arg;
}

static void on_signal(int sig) { (void)sig; }

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "args";
	char *env[] = { "HOME=/nowhere", "EMPTY=", "SPACED=a b  c", "X=1", NULL };
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(what, "args")) {
		char *a[] = { "exec_target", "one", "two words", "", "  lead", "ünï", "exit=7", NULL };
		exec_target(a, env);
	} else if (!strcmp(what, "noargs")) {
		/* argv = NULL and envp = NULL: argc 0 in Linux < 5.18, an empty argv[0] since. */
		fflush(stdout);
		syscall(SYS_execve, TARGET, NULL, NULL);
		printf("execve: %s\n", ename(errno));
		return 3;
	} else if (!strcmp(what, "many")) {
		/* 2000 arguments and a 100 KB environment variable. */
		static char *a[2002];
		a[0] = "exec_target";
		for (int i = 1; i <= 2000; i++) {
			a[i] = malloc(16);
			snprintf(a[i], 16, "arg-%d", i);
		}
		char *big = malloc(100002);
		memcpy(big, "B=", 2);
		memset(big + 2, 'b', 99999);
		big[100001] = 0;
		char *e[] = { big, "LAST=1", NULL };
		exec_target(a, e);
	} else if (!strcmp(what, "self")) {
		if (argc > 2) {
			printf("self: exec'd again with %s, argv[0] %s\n", argv[2], argv[0]);
			return 5;
		}
		printf("self: first run\n");
		fflush(stdout);
		execl("/proc/self/exe", "exec_main", "self", "second", (char *)NULL);
		printf("execl: %s\n", ename(errno));
		return 3;
	} else if (!strcmp(what, "vfork") || !strcmp(what, "fork")) {
		bool use_vfork = what[0] == 'v';
		for (int round = 0; round < 3; round++) {
			char code[16];
			snprintf(code, sizeof(code), "exit=%d", 40 + round);
			char *a[] = { "exec_target", use_vfork ? "via-vfork" : "via-fork", code, NULL };
			fflush(stdout);
			pid_t pid = use_vfork ? vfork() : fork();
			if (pid == 0) {
				execve(TARGET, a, env);
				_exit(127);
			}
			int st;
			if (waitpid(pid, &st, 0) != pid) {
				perror("waitpid");
				return 1;
			}
			printf("%s: child exited %d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
		}
		/* A child whose exec fails: the parent still gets its status. */
		pid_t pid = use_vfork ? vfork() : fork();
		if (pid == 0) {
			execve("./no-such-program", (char *[]){ "x", NULL }, env);
			_exit(errno == ENOENT ? 99 : 98);
		}
		int st;
		waitpid(pid, &st, 0);
		printf("%s: failed exec, child exited %d\n", what, WEXITSTATUS(st));
		return 0;
	} else if (!strcmp(what, "cloexec")) {
		for (int i = 3; i < 64; i++)
			close(i);               /* what the native run inherited */
		int a = open("exec_target", O_RDONLY);
		int b = open("exec_target", O_RDONLY | O_CLOEXEC);
		int c = dup(b);                                 /* dup clears close-on-exec */
		int d = fcntl(a, F_DUPFD_CLOEXEC, 10);
		int e = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fcntl(e, F_SETFD, 0);                           /* and F_SETFD clears it */
		printf("cloexec: fds %d %d %d %d %d\n", a, b, c, d, e);
		char fa[24], fb[24], fc[24], fd[24], fe[24];
		snprintf(fa, sizeof(fa), "fd=%d", a);
		snprintf(fb, sizeof(fb), "fd=%d", b);
		snprintf(fc, sizeof(fc), "fd=%d", c);
		snprintf(fd, sizeof(fd), "fd=%d", d);
		snprintf(fe, sizeof(fe), "fd=%d", e);
		char *av[] = { "exec_target", fa, fb, fc, fd, fe, "fd=0", "fd=1", "fd=2", "fd=20", NULL };
		exec_target(av, env);
	} else if (!strcmp(what, "signals")) {
		struct sigaction sa = { .sa_handler = on_signal };
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGUSR2, SIG_IGN);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, SIGQUIT);
		sigprocmask(SIG_BLOCK, &m, NULL);
		char *a[] = { "exec_target", "signals", NULL };
		exec_target(a, env);
	} else if (!strcmp(what, "fpu")) {
		unsigned mxcsr = 0x9fc0;      /* flush to zero, denormals are zero, round toward zero */
		unsigned short fcw = 0x0c7f;  /* round toward zero */
		__asm__ volatile("ldmxcsr %0; fldcw %1" : : "m"(mxcsr), "m"(fcw));
		char *a[] = { "exec_target", "fpu", NULL };
		exec_target(a, env);
	} else if (!strcmp(what, "threads")) {
		pthread_mutex_lock(&never);
		pthread_t t[3];
		for (int i = 0; i < 3; i++)
			if (pthread_create(&t[i], NULL, sleeper, NULL))
				return 4;
		sched_yield();          /* let them start sleeping */
		char pid[32];
		snprintf(pid, sizeof(pid), "pid=%d", getpid());
		char *a[] = { "exec_target", "from-main", pid, NULL };
		exec_target(a, env);
	} else if (!strcmp(what, "thread-exec")) {
		pthread_mutex_lock(&never);
		pthread_t t[3];
		for (int i = 0; i < 2; i++)
			if (pthread_create(&t[i], NULL, sleeper, NULL))
				return 4;
		if (pthread_create(&t[2], NULL, exec_from_thread, NULL))
			return 4;
		pthread_join(t[2], NULL);   /* never returns: the exec ends this thread */
		return 5;
	} else if (!strcmp(what, "script")) {
		/* The interpreter (busybox, beside us) gets: its name, the optional argument, the script path, argv[1..]. */
		static const char script[] = "#!./busybox  sh  \necho \"script: \\$0=$0 args=$# [$1] [$2]\"\nexit 6\n";
		write_file("script.sh", script, sizeof(script) - 1, 0755);
		fflush(stdout);
		execve("./script.sh", (char *[]){ "ignored-argv0", "one", "two three", NULL }, env);
		printf("execve: %s\n", ename(errno));
		return 3;
	} else if (!strcmp(what, "script-target")) {
		/* A "#!" line with an argument, naming a program that prints what it got. */
		static const char script[] = "#!" TARGET " the single  argument \n";
		write_file("script2", script, sizeof(script) - 1, 0755);
		fflush(stdout);
		execve("./script2", (char *[]){ "argv0", "exit=9", NULL }, env);
		printf("execve: %s\n", ename(errno));
		return 3;
	} else if (!strncmp(what, "chain", 5)) {
		/*
		 * "chainN": N "#!" scripts, each naming the one before with an
		 * argument (the first names exec_target): Linux runs 5 levels
		 * and fails with ELOOP from 6. "chain-missing": the middle one
		 * names an interpreter that does not exist.
		 */
		bool missing = !strcmp(what, "chain-missing");
		int n = missing ? 3 : atoi(what + 5);
		for (int i = 1; i <= n; i++) {
			char name[16], line[64];
			snprintf(name, sizeof(name), "s%d", i);
			int len;
			if (i == 1)
				len = snprintf(line, sizeof(line), "#!" TARGET " level%d\n", i);
			else if (missing && i == 2)
				len = snprintf(line, sizeof(line), "#!./nonexistent level%d\n", i);
			else if (i % 2)
				len = snprintf(line, sizeof(line), "#! ./s%d\tlevel %d \n", i - 1, i);
			else
				len = snprintf(line, sizeof(line), "#!./s%d\n", i - 1);
			write_file(name, line, (size_t)len, 0755);
		}
		char top[16];
		snprintf(top, sizeof(top), "./s%d", n);
		fflush(stdout);
		execve(top, (char *[]){ "argv0", "exit=4", "last", NULL }, env);
		printf("execve %s: %s\n", top, ename(errno));
		return 3;
	} else if (!strcmp(what, "execveat")) {
		int dir = open(".", O_RDONLY | O_DIRECTORY);
		fflush(stdout);
		long r = syscall(SYS_execveat, dir, "exec_target", (char *[]){ "exec_target", "at", NULL }, env, 0x100);
		printf("execveat: %ld %s\n", r, ename(errno));
		return 3;
	} else if (!strcmp(what, "bench") || !strcmp(what, "bench-fork")) {
		/* Not a test (timings vary): N rounds of [v]fork + execve + wait, microseconds per round. */
		int n = argc > 2 ? atoi(argv[2]) : 100;
		bool use_vfork = what[5] == 0;
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < n; i++) {
			pid_t pid = use_vfork ? vfork() : fork();
			if (pid == 0) {
				execve(TARGET, (char *[]){ "exec_target", "quiet", NULL }, env);
				_exit(127);
			}
			int st;
			if (waitpid(pid, &st, 0) != pid || st) {
				printf("round %d: status %#x\n", i, st);
				return 1;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n;
		printf("%s+execve+wait: %.1f us per round (%d rounds)\n", use_vfork ? "vfork" : "fork", us, n);
		return 0;
	} else if (!strcmp(what, "errors")) {
		return run_errors();
	}
	fprintf(stderr, "unknown scenario %s\n", what);
	return 2;
}
