/*
 * /proc/self/maps: every line in Linux's exact format (fs/proc/task_mmu.c:
 * range, perms with p/s, offset, dev, inode, the name at column 73), the
 * program's text named by its path, [stack], [heap], a private anonymous
 * mapping split by mprotect and removed by munmap,
 * small reads, and the error cases.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;
#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s\n", __LINE__, #c); failures++; } } while (0)

static char text[1 << 16];

static size_t read_maps(size_t chunk)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return 0;
	size_t len = 0;
	ssize_t r;
	while (len < sizeof(text) - 1 && (r = read(fd, text + len, chunk)) > 0)
		len += (size_t)r;
	close(fd);
	text[len] = 0;
	return len;
}

struct line {
	unsigned long start, end, off, ino;
	unsigned major, minor;
	char perms[5];
	const char *name;   /* "" for none */
};

/* Parse one line and check it is exactly what Linux's format makes of its fields. */
static int parse(const char *s, size_t n, struct line *l)
{
	char buf[512];
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = 0;
	int pos = 0;
	if (sscanf(buf, "%lx-%lx %4s %lx %x:%x %lu %n", &l->start, &l->end, l->perms, &l->off, &l->major,
		   &l->minor, &l->ino, &pos) != 7)
		return 0;
	l->name = s + pos;
	char want[512];
	int w = snprintf(want, sizeof(want), "%08lx-%08lx %s %08lx %02x:%02x %lu ", l->start, l->end, l->perms,
			 l->off, l->major, l->minor, l->ino);
	if (pos < (int)n) {
		while (w < 73)
			want[w++] = ' ';
		w += snprintf(want + w, sizeof(want) - w, "%s", buf + pos);
	}
	return w == (int)n && memcmp(want, buf, n) == 0;
}

/* The line whose range holds addr (0: none); its name is copied to name. */
static int find(uintptr_t addr, struct line *out, char *name, size_t size)
{
	for (char *p = text; *p;) {
		char *e = strchr(p, '\n');
		if (!e)
			break;
		struct line l;
		if (parse(p, (size_t)(e - p), &l) && addr >= l.start && addr < l.end) {
			*out = l;
			size_t k = (size_t)(e - l.name);
			snprintf(name, size, "%.*s", (int)k, l.name);
			return 1;
		}
		p = e + 1;
	}
	return 0;
}

int main(void)
{
	char exe[256] = "";
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(el > 0);
	/* A heap that exists for sure: brk moved up by a page (musl's sbrk only reads it). */
	char *brk0 = (char *)syscall(SYS_brk, 0);
	CHECK((char *)syscall(SYS_brk, brk0 + 4096) == brk0 + 4096);
	brk0[0] = 1;

	size_t len = read_maps(sizeof(text));
	CHECK(len > 0 && text[len - 1] == '\n');
	int lines = 0, good = 0;
	for (char *p = text; *p;) {
		char *e = strchr(p, '\n');
		if (!e)
			break;
		struct line l;
		lines++;
		if (parse(p, (size_t)(e - p), &l) && l.start < l.end && l.start % 4096 == 0 && l.end % 4096 == 0 &&
		    strchr("r-", l.perms[0]) && strchr("w-", l.perms[1]) && strchr("x-", l.perms[2]) &&
		    strchr("ps", l.perms[3]))
			good++;
		else
			printf("bad line: %.*s\n", (int)(e - p), p);
		p = e + 1;
	}
	printf("format: every line=%d\n", lines > 0 && good == lines);

	struct line l;
	char name[300];
	int found = find((uintptr_t)main, &l, name, sizeof(name));
	printf("text: found=%d perms=%s named by exe=%d offset page aligned=%d\n", found, found ? l.perms : "",
	       found && strcmp(name, exe) == 0, found && l.off % 4096 == 0);
	int local;
	found = find((uintptr_t)&local, &l, name, sizeof(name));
	printf("stack: found=%d perms=%s name=%s\n", found, found ? l.perms : "", found ? name : "");
	found = find((uintptr_t)brk0, &l, name, sizeof(name));
	printf("heap: found=%d perms=%s name=%s\n", found, found ? l.perms : "", found ? name : "");

	/* A private anonymous mapping at a fixed place, split by mprotect, then gone. */
	char *m = mmap((void *)0x500000000000ul, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);
	CHECK(m == (void *)0x500000000000ul);
	read_maps(sizeof(text));
	found = find((uintptr_t)m, &l, name, sizeof(name));
	printf("anon: found=%d range=%lx-%lx perms=%s off=%lx dev=%x:%x ino=%lu name='%s'\n", found, l.start, l.end,
	       l.perms, l.off, l.major, l.minor, l.ino, name);
	CHECK(mprotect(m + 4096, 4096, PROT_READ | PROT_WRITE) == 0);
	read_maps(sizeof(text));
	for (int i = 0; i < 3; i++) {
		found = find((uintptr_t)m + i * 4096, &l, name, sizeof(name));
		printf("split %d: found=%d range=%lx-%lx perms=%s\n", i, found, l.start, l.end, l.perms);
	}
	munmap(m, 3 * 4096);
	read_maps(sizeof(text));
	printf("after munmap: found=%d\n", find((uintptr_t)m + 4096, &l, name, sizeof(name)));

	/* Read in small pieces: the same text. */
	static char whole[sizeof(text)];
	size_t a = read_maps(sizeof(text));
	memcpy(whole, text, a + 1);
	size_t b = read_maps(7);
	printf("small reads: same=%d\n", a == b && memcmp(whole, text, a) == 0);

	/* Errors. */
	int fd = open("/proc/self/maps", O_RDONLY);
	CHECK(fd >= 0);
	void *volatile bad = (void *)8;
	ssize_t r = read(fd, bad, 100);
	printf("read into a bad pointer: %zd %s\n", r, strerror(errno));
	r = write(fd, "x", 1);
	printf("write: %zd %s\n", r, strerror(errno));
	close(fd);
	int e = open("/proc/self/maps/x", O_RDONLY);
	printf("open maps/x: %d %s\n", e, strerror(errno));
	e = open("/proc/self/maps", O_RDONLY | O_DIRECTORY);
	printf("open with O_DIRECTORY: %d %s\n", e, strerror(errno));
	if (failures)
		printf("%d checks failed\n", failures);
	return failures != 0;
}
