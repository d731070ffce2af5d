/*
 * MAP_SHARED | MAP_ANONYMOUS across fork: one object for every process that
 * maps it (pages touched before or after the fork, by either side, through
 * fork chains), while MAP_PRIVATE stays copy-on-write; mprotect, PROT_NONE,
 * MADV_DONTNEED and partial munmap keep the sharing. Self-checking, compared
 * with a native run.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include "ipc.h"

#define PG 4096
#define NPAGES 8

static char *map(int flags)
{
	char *p = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Run fn in a forked child; its exit status (0: it did everything). */
static int in_child(int (*fn)(char *), char *p)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(p));
	int st = wait_status(pid);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

static int write_pages(char *p)
{
	for (int i = 0; i < NPAGES; i++)
		p[i * PG + 7] = (char)(0x40 + i);
	return 0;
}

static int pages_are(char *p, int base)
{
	for (int i = 0; i < NPAGES; i++)
		if (p[i * PG + 7] != (char)(base + i))
			return 0;
	return 1;
}

/* A grandchild writes; the child waits for it and exits. */
static int chain_write(char *p)
{
	return in_child(write_pages, p);
}

static int write_pages_after_first(char *p)
{
	for (int i = 1; i < NPAGES; i++)
		p[i * PG + 7] = (char)(0x40 + i);
	return 0;
}

static int munmap_then_fork_write(char *p)
{
	/* This child drops its mapping of page 0 only; its own child still shares the rest. */
	if (munmap(p, PG))
		return 1;
	p[PG + 100] = 'c';
	return in_child(write_pages_after_first, p) == 0 ? 0 : 2;
}

static int expect_untouched_zero(char *p)
{
	/* The child sees the parent's pre-fork write, and a never-touched page as zero. */
	return p[0] == 'P' && p[3 * PG] == 0 ? 0 : 1;
}

static int read_after_parent(char *p)
{
	/* Wait (bounded) for the parent's write after the fork. */
	for (int i = 0; i < 5000; i++) {
		if (atomic_load((_Atomic char *)&p[5 * PG]) == 'Q')
			return 0;
		sleep_ms(1);
	}
	return 1;
}

static atomic_long *counter;

static int add_many(char *p)
{
	(void)p;
	for (int i = 0; i < 1000; i++)
		atomic_fetch_add(counter, 1);
	return 0;
}

int main(void)
{
	char *s = map(MAP_SHARED), *q = map(MAP_PRIVATE);
	CHECK(s && q, "mmap MAP_SHARED and MAP_PRIVATE anonymous");
	if (!s || !q)
		return finish("ipc_shm_fork");

	/* Pages first touched in the child (never before the fork) reach the parent. */
	CHECK(in_child(write_pages, s) == 0 && pages_are(s, 0x40), "child's writes to untouched shared pages seen by the parent");
	CHECK(in_child(write_pages, q) == 0 && q[7] == 0 && q[3 * PG + 7] == 0, "MAP_PRIVATE: the child's writes stay in the child");

	/* Before-fork contents are seen by the child; an untouched page reads zero. */
	s[0] = 'P';
	CHECK(in_child(expect_untouched_zero, s) == 0, "child sees the parent's pre-fork write, untouched page zero");

	/* A write the parent makes after the fork reaches a child already running. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(read_after_parent(s));
	sleep_ms(5);
	atomic_store((_Atomic char *)&s[5 * PG], 'Q');
	CHECK(child_ok(pid), "parent's write after fork seen by the running child");

	/* Shared counters: four children add 1000 each with atomics. */
	counter = (atomic_long *)(s + 6 * PG);
	atomic_store(counter, 0);
	pid_t kids[4];
	fflush(stdout);
	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(add_many(s));
	}
	int all = 1;
	for (int i = 0; i < 4; i++)
		all &= child_ok(kids[i]);
	CHECK(all && atomic_load(counter) == 4000, "4 children x 1000 atomic increments: %ld", (long)atomic_load(counter));

	/* Fork chains: a grandchild's writes reach the first process. */
	memset(s, 0, NPAGES * PG);
	CHECK(in_child(chain_write, s) == 0 && pages_are(s, 0x40), "grandchild's writes seen two forks up");

	/* munmap in a child does not unmap the parent; the child's child still shares what is left. */
	memset(s, 0, NPAGES * PG);
	s[0] = 'k';
	CHECK(in_child(munmap_then_fork_write, s) == 0, "child: munmap one page, then fork a writer");
	int rest = 1;
	for (int i = 1; i < NPAGES; i++)
		rest &= s[i * PG + 7] == (char)(0x40 + i);
	CHECK(s[0] == 'k' && s[PG + 100] == 'c' && rest,
	      "parent keeps the page the child unmapped, sees the child's and grandchild's writes");

	/* mprotect read-only and back, then fork: still shared. */
	CHECK(mprotect(s, NPAGES * PG, PROT_READ) == 0 && mprotect(s, NPAGES * PG, PROT_READ | PROT_WRITE) == 0,
	      "mprotect PROT_READ, then PROT_READ|PROT_WRITE");
	memset(s, 0, NPAGES * PG);
	CHECK(in_child(write_pages, s) == 0 && pages_are(s, 0x40), "shared after an mprotect round trip");

	/* PROT_NONE across the fork, writable again in both afterwards. */
	memset(s, 0, NPAGES * PG);
	CHECK(mprotect(s, NPAGES * PG, PROT_NONE) == 0, "mprotect PROT_NONE before fork");
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(mprotect(s, NPAGES * PG, PROT_READ | PROT_WRITE) || write_pages(s));
	int st = wait_status(pid);
	CHECK(mprotect(s, NPAGES * PG, PROT_READ | PROT_WRITE) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	      pages_are(s, 0x40), "shared through PROT_NONE across the fork");

	/* MADV_DONTNEED: shared contents stay (and stay shared), private pages read zero. */
	q[0] = 'x';
	CHECK(madvise(s, NPAGES * PG, MADV_DONTNEED) == 0 && madvise(q, NPAGES * PG, MADV_DONTNEED) == 0,
	      "madvise MADV_DONTNEED on both");
	CHECK(pages_are(s, 0x40) && q[0] == 0, "after MADV_DONTNEED: shared kept, private zero");
	memset(s, 0, NPAGES * PG);
	CHECK(in_child(write_pages, s) == 0 && pages_are(s, 0x40), "shared after MADV_DONTNEED");

	/* Partial munmap in the parent: the rest stays shared with later children. */
	CHECK(munmap(s + 2 * PG, 2 * PG) == 0, "munmap two pages in the middle");
	memset(s, 0, 2 * PG);
	memset(s + 4 * PG, 0, 4 * PG);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		s[7] = 'a';
		s[4 * PG + 7] = 'b';
		_exit(0);
	}
	CHECK(child_ok(pid) && s[7] == 'a' && s[4 * PG + 7] == 'b', "the pieces left after a partial munmap are still shared");

	/* The unmapped middle is gone in the parent: mapping it again with MAP_FIXED gives fresh zero memory. */
	char *m = mmap(s + 2 * PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(m == s + 2 * PG && m[7] == 0 && m[PG + 7] == 0, "MAP_FIXED over the hole: zero");
	return finish("ipc_shm_fork");
}
