/*
 * mremap(2): growing in place, shrinking, moving (MREMAP_MAYMOVE,
 * MREMAP_FIXED, MREMAP_DONTUNMAP) with the pages' contents, and the errors
 * as Linux gives them; then realloc of big blocks (both libcs use mremap
 * for them). The layout is made deterministic inside a PROT_NONE
 * reservation, so the output is the same natively and in the microVM; no
 * address is printed, only how results relate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define P 4096ul

static int failures;
static sigjmp_buf probe_env;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(probe_env, 1);
}

/* "rw", "r-" or "--": what a read and a write of one byte at p do. */
static const char *probe(volatile char *p)
{
	if (sigsetjmp(probe_env, 1))
		return "--";
	char c = *p;
	if (sigsetjmp(probe_env, 1))
		return "r-";
	*p = c;
	return "rw";
}

static const char *ename(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENOMEM: return "ENOMEM";
	case EAGAIN: return "EAGAIN";
	case EPERM: return "EPERM";
	default: return "other";
	}
}

/* The raw syscall: no libc argument handling in the way. */
static long mrem(void *a, unsigned long ol, unsigned long nl, unsigned long fl, void *na)
{
	return syscall(SYS_mremap, a, ol, nl, fl, na);
}

static void fill(char *p, unsigned long len, int seed)
{
	for (unsigned long i = 0; i < len; i += 512)
		p[i] = (char)(seed + i / 512);
}

static int check(const char *p, unsigned long len, int seed)
{
	for (unsigned long i = 0; i < len; i += 512)
		if (p[i] != (char)(seed + i / 512))
			return 0;
	return 1;
}

static int zero(const char *p, unsigned long len)
{
	for (unsigned long i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static void expect_err(const char *what, long r, int want)
{
	int e = errno;
	if (r != -1 || e != want) {
		printf("FAIL %s: %ld (%s), expected %s\n", what, r, r == -1 ? ename(e) : "success", ename(want));
		failures++;
	} else {
		printf("%s: %s\n", what, ename(e));
	}
}

static void say(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "ok" : "FAIL");
	if (!ok)
		failures++;
}

/* A page-aligned block of the reservation, mapped read-write with MAP_FIXED. */
static char *rw_at(char *at, unsigned long len)
{
	char *p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p != at) {
		printf("mmap fixed failed\n");
		exit(2);
	}
	return p;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_NODEFER };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	char *R = mmap(NULL, 256 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (R == MAP_FAILED)
		return 2;

	/* Grow in place: the range after the mapping is free. */
	char *a = rw_at(R, 2 * P);
	fill(a, 2 * P, 1);
	munmap(R + 2 * P, 6 * P);
	long r = mrem(a, 2 * P, 4 * P, 0, NULL);
	say("grow in place", r == (long)a && check(a, 2 * P, 1) && zero(a + 2 * P, 2 * P) &&
				     !strcmp(probe(a + 3 * P), "rw"));
	/* Grow with MAYMOVE where there is room: in place too. */
	r = mrem(a, 4 * P, 6 * P, MREMAP_MAYMOVE, NULL);
	say("grow in place with MAYMOVE", r == (long)a && check(a, 2 * P, 1));
	/* The reservation follows at R + 8 pages: no room, no MAYMOVE. */
	r = mrem(a, 6 * P, 10 * P, 0, NULL);
	expect_err("grow without room or MAYMOVE", r, ENOMEM);
	say("unchanged after ENOMEM", check(a, 2 * P, 1) && !strcmp(probe(a + 5 * P), "rw") &&
					      !strcmp(probe(a + 6 * P), "--"));
	/* Same size: nothing to do. */
	say("same size", mrem(a, 6 * P, 6 * P, 0, NULL) == (long)a);
	/* Shrink: the tail goes away. */
	r = mrem(a, 6 * P, 3 * P, 0, NULL);
	say("shrink", r == (long)a && check(a, 2 * P, 1) && !strcmp(probe(a + 2 * P), "rw") &&
			      !strcmp(probe(a + 3 * P), "--"));
	/* Grow with MAYMOVE and no room: it moves, with the pages. */
	rw_at(R + 3 * P, P); /* the next page is taken */
	fill(a + 2 * P, P, 7);
	r = mrem(a, 3 * P, 40 * P, MREMAP_MAYMOVE, NULL);
	char *m = (char *)r;
	say("grow by moving", r != -1 && m != a && check(m, 2 * P, 1) && check(m + 2 * P, P, 7) &&
				      zero(m + 3 * P, 37 * P) && !strcmp(probe(m + 39 * P), "rw"));
	say("old range unmapped after the move", !strcmp(probe(a), "--") && !strcmp(probe(a + 2 * P), "--") &&
							 !strcmp(probe(R + 3 * P), "rw"));

	/* MREMAP_FIXED: to a given address, replacing what was there. */
	char *dst = R + 100 * P;
	r = mrem(m, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	say("fixed move", r == (long)dst && check(dst, 2 * P, 1) && check(dst + 2 * P, P, 7) &&
				  !strcmp(probe(m), "--") && !strcmp(probe(m + 3 * P), "rw"));
	char *dst2 = R + 120 * P;
	r = mrem(dst, 3 * P, 5 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst2);
	say("fixed move, growing", r == (long)dst2 && check(dst2, 2 * P, 1) && zero(dst2 + 3 * P, 2 * P) &&
					   !strcmp(probe(dst2 + 4 * P), "rw") && !strcmp(probe(dst2 + 5 * P), "--"));
	char *dst3 = R + 140 * P;
	r = mrem(dst2, 5 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst3);
	say("fixed move, shrinking", r == (long)dst3 && check(dst3, 2 * P, 1) &&
					     !strcmp(probe(dst3 + 2 * P), "--") && !strcmp(probe(dst2), "--") &&
					     !strcmp(probe(dst2 + 4 * P), "--"));
	/* Read-only memory keeps its protection. */
	mprotect(dst3, 2 * P, PROT_READ);
	char *dst4 = R + 160 * P;
	r = mrem(dst3, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst4);
	say("fixed move keeps PROT_READ", r == (long)dst4 && check(dst4, 2 * P, 1) && !strcmp(probe(dst4), "r-"));
	mprotect(dst4, 2 * P, PROT_READ | PROT_WRITE);

	/* MREMAP_DONTUNMAP: the pages move, the old range stays mapped and reads zero. */
	char *dst5 = R + 180 * P;
	r = mrem(dst4, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, dst5);
	say("dontunmap fixed", r == (long)dst5 && check(dst5, 2 * P, 1) && !strcmp(probe(dst4), "rw") &&
				       zero(dst4, 2 * P));
	r = mrem(dst5, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	say("dontunmap anywhere", r != -1 && (char *)r != dst5 && check((char *)r, 2 * P, 1) && zero(dst5, 2 * P));
	char *moved = (char *)r;

	/* A MAP_SHARED mapping moves its shared pages. */
	char *sh = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fill(sh, 2 * P, 3);
	r = mrem(sh, 2 * P, 64 * P, MREMAP_MAYMOVE, NULL);
	say("shared grows", r != -1 && check((char *)r, 2 * P, 3));

	/*
	 * fork after the moves: the moved private pages are copy-on-write (the
	 * child's writes stay in the child), the moved shared ones stay shared.
	 * Only the shared object's first 2 pages: past them Linux gives SIGBUS.
	 */
	char *shm = (char *)r;
	pid_t pid = fork();
	if (pid == 0) {
		int ok = check(moved, 2 * P, 1) && check(shm, 2 * P, 3);
		fill(moved, 2 * P, 9);
		fill(shm, 2 * P, 5);
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	say("fork after mremap: the child saw the moved pages", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	say("fork after mremap: private pages copied on write, shared pages shared",
	    check(moved, 2 * P, 1) && check(shm, 2 * P, 5));
	fill(moved, P, 11);
	say("fork after mremap: the parent writes its own copy", check(moved, P, 11) && check(moved + P, P, 1 + 8));

	/* Errors, in Linux's order of checks. */
	char *e = rw_at(R + 200 * P, 4 * P);
	expect_err("unknown flag", mrem(e, P, P, 8, NULL), EINVAL);
	expect_err("unaligned address", mrem(e + 1, P, P, 0, NULL), EINVAL);
	expect_err("new length 0", mrem(e, P, 0, MREMAP_MAYMOVE, NULL), EINVAL);
	/* Linux 6.17+ checks the length against TASK_SIZE (EINVAL); 6.1 fails finding room (ENOMEM). */
	{
		long r = mrem(e, P, 1ul << 47, MREMAP_MAYMOVE, NULL);
		if (r == -1 && errno == ENOMEM)
			errno = EINVAL;
		expect_err("new length too big (EINVAL, or ENOMEM before Linux 6.17)", r, EINVAL);
	}
	expect_err("old length 0 (private)", mrem(e, 0, P, MREMAP_MAYMOVE, NULL), EINVAL);
	expect_err("FIXED without MAYMOVE", mrem(e, P, P, MREMAP_FIXED, R + 220 * P), EINVAL);
	expect_err("FIXED unaligned target", mrem(e, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, R + 220 * P + 8), EINVAL);
	expect_err("FIXED overlapping", mrem(e, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, e + P), EINVAL);
	expect_err("FIXED past the top", mrem(e, P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED,
					      (void *)(0x7ffffffff000ul - P)), EINVAL);
	expect_err("DONTUNMAP resizing", mrem(e, P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL), EINVAL);
	expect_err("DONTUNMAP without MAYMOVE", mrem(e, P, P, MREMAP_DONTUNMAP, NULL), EINVAL);
	munmap(R + 230 * P, 4 * P);
	expect_err("unmapped old range, growing", mrem(R + 230 * P, P, 2 * P, 0, NULL), EFAULT);
	expect_err("unmapped old range, moving", mrem(R + 230 * P, P, 2 * P, MREMAP_MAYMOVE, NULL), EFAULT);
	expect_err("unmapped old range, FIXED", mrem(R + 230 * P, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, R + 240 * P),
		   EFAULT);
	expect_err("old range past its mapping", mrem(e, 5 * P, 8 * P, MREMAP_MAYMOVE, NULL), EFAULT);
	say("errors left it alone", !strcmp(probe(e + 3 * P), "rw") && !strcmp(probe(R + 240 * P), "--"));

	/* realloc of big blocks: mmapped chunks that grow and shrink through mremap. */
	size_t sizes[] = { 300000, 3000000, 30000000, 200000, 5000000 };
	unsigned char *b = malloc(sizes[0]);
	size_t have = sizes[0];
	for (size_t i = 0; i < have; i++)
		b[i] = (unsigned char)(i * 7 + i / 4096);
	int ok = 1;
	for (unsigned k = 1; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		b = realloc(b, sizes[k]);
		if (!b) {
			ok = 0;
			break;
		}
		size_t keep = have < sizes[k] ? have : sizes[k];
		for (size_t i = 0; i < keep; i++)
			if (b[i] != (unsigned char)(i * 7 + i / 4096))
				ok = 0;
		for (size_t i = keep; i < sizes[k]; i++)
			b[i] = (unsigned char)(i * 7 + i / 4096);
		have = sizes[k];
	}
	free(b);
	say("realloc of big blocks keeps the data", ok);

	printf("%s: %d failures\n", failures ? "FAIL mremap" : "PASS mremap", failures);
	return failures != 0;
}
