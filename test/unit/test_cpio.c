/*
 * Unit tests of the cpio "newc" reader and header writer (guest/lib/pure/cpio.c):
 * archives built with cpio_write_header, hostile variants of them, random
 * corruption, and a real archive made by `cpio -o -H newc` (the runner passes
 * ARCHIVE ROOTDIR FILE... : every FILE, relative to ROOTDIR, must be in the
 * archive with the same contents). Inputs sit against inaccessible pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "cpio.h"

#define PAGE 4096ul
#define HDR 110

/* ---- guarded buffers: data ends where an inaccessible page begins ------------ */

struct guarded {
	uint8_t *map, *data;
	size_t map_len;
};

static struct guarded guard_end(const void *data, size_t len)
{
	struct guarded g;
	size_t pages = (len + PAGE - 1) / PAGE;
	g.map_len = (pages + 2) * PAGE;
	g.map = mmap(NULL, g.map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.map == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	if (pages)
		mprotect(g.map + PAGE, pages * PAGE, PROT_READ | PROT_WRITE);
	g.data = g.map + PAGE + pages * PAGE - len;
	if (len)
		memcpy(g.data, data, len);
	return g;
}

static void unguard(struct guarded *g) { munmap(g->map, g->map_len); }

/* ---- building archives -------------------------------------------------------- */

struct arc {
	uint8_t b[1 << 16];
	size_t len;
};

static size_t add(struct arc *a, const char *name, uint32_t mode, const void *data, size_t size)
{
	size_t at = a->len;
	a->len += cpio_write_header(a->b + a->len, name, strlen(name), (uint32_t)(at + 1), mode, 1,
				    1700000000u, size);
	memcpy(a->b + a->len, data, size);
	a->len += size;
	while (a->len % 4)
		a->b[a->len++] = 0;
	return at;
}

static void trailer(struct arc *a) { add(a, "TRAILER!!!", 0, "", 0); }

/* A well-formed archive: a file, a directory, a file whose data needs padding, trailer. */
static void sample(struct arc *a, size_t *offsets)
{
	memset(a, 0, sizeof(*a));
	offsets[0] = add(a, "hello.txt", 0100644, "hello, world\n", 13);
	offsets[1] = add(a, "bin", 040755, "", 0);
	offsets[2] = add(a, "bin/prog", 0100755, "\177ELF\2", 5);
	offsets[3] = a->len;
	trailer(a);
}

/* Walk an archive from `off` (guarded copy): the result of the first failing or final call. */
static int walk(const uint8_t *buf, size_t len, size_t off, int *members)
{
	struct guarded g = guard_end(buf, len);
	struct cpio_entry e;
	int r, n = 0;
	while ((r = cpio_next(g.data, len, &off, &e)) == 1 && n < 100000)
		n++;
	unguard(&g);
	if (members)
		*members = n;
	return r;
}

/* Overwrite header field i (0 = ino .. 11 = namesize, 12 = check) of the member at hdr. */
static void set_field(uint8_t *hdr, int i, const char *eight)
{
	memcpy(hdr + 6 + 8 * i, eight, 8);
}

#define F_FILESIZE 6
#define F_NAMESIZE 11

static void test_well_formed(void)
{
	struct arc a;
	size_t off[4];
	sample(&a, off);
	CHECK_MSG(cpio_header_size(9) == 120 && cpio_header_size(10) == 124 && cpio_header_size(1) == 112,
		  "cpio_header_size pads header + name + NUL to 4 (9 -> %zu)", cpio_header_size(9));
	CHECK(!memcmp(a.b, "070701", 6));

	struct guarded g = guard_end(a.b, a.len);
	struct cpio_entry e;
	size_t o = 0;
	int r = cpio_next(g.data, a.len, &o, &e);
	CHECK_MSG(r == 1 && e.namelen == 9 && !memcmp(e.name, "hello.txt", 9), "first member: hello.txt");
	CHECK(e.size == 13 && !memcmp(e.data, "hello, world\n", 13));
	CHECK(e.mode == 0100644 && e.ino == 1 && e.nlink == 1 && e.mtime == 1700000000u && e.uid == 0);
	CHECK(e.data == g.data + e.data_offset && e.data_offset % 4 == 0);
	CHECK_MSG(o == off[1], "offset advanced to the next member (%zu == %zu)", o, off[1]);
	r = cpio_next(g.data, a.len, &o, &e);
	CHECK_MSG(r == 1 && e.namelen == 3 && !memcmp(e.name, "bin", 3) && e.mode == 040755 && e.size == 0,
		  "second member: directory bin");
	r = cpio_next(g.data, a.len, &o, &e);
	CHECK_MSG(r == 1 && e.namelen == 8 && !memcmp(e.name, "bin/prog", 8) && e.size == 5 &&
			  !memcmp(e.data, "\177ELF\2", 5),
		  "third member: bin/prog, 5 bytes");
	CHECK_MSG(o == off[3] && o % 4 == 0, "offset past the padded data (%zu)", o);
	r = cpio_next(g.data, a.len, &o, &e);
	CHECK_MSG(r == 0, "TRAILER!!! ends the archive (%d)", r);
	unguard(&g);

	/* Without a trailer, exactly at the end is the end. */
	struct arc b;
	memset(&b, 0, sizeof(b));
	add(&b, "only", 0100644, "abc", 3);
	int n;
	CHECK_MSG(walk(b.b, b.len, 0, &n) == 0 && n == 1, "no trailer: one member, then 0 at the end");

	/* A member named like the trailer but longer is a member. */
	memset(&b, 0, sizeof(b));
	add(&b, "TRAILER!!!x", 0100644, "", 0);
	trailer(&b);
	CHECK_MSG(walk(b.b, b.len, 0, &n) == 0 && n == 1, "\"TRAILER!!!x\" is an ordinary member");

	/* Offsets at len and past len. */
	CHECK_MSG(walk(a.b, a.len, a.len, NULL) == 0, "offset == len: 0 (end)");
	CHECK_MSG(walk(a.b, a.len, a.len + 1, NULL) == -1, "offset == len + 1: -1");
	CHECK_MSG(walk(a.b, a.len, SIZE_MAX, NULL) == -1, "offset SIZE_MAX: -1");
	CHECK_MSG(walk(a.b, a.len, SIZE_MAX - 50, NULL) == -1, "offset SIZE_MAX - 50: -1");
	CHECK_MSG(walk(a.b, a.len, 2, NULL) == -1, "offset in the middle of a header: -1");
	CHECK_MSG(walk(a.b, 0, 0, NULL) == 0, "empty archive: 0");

	/* 070702 (newc with checksums) is read too; uppercase hex is hex. */
	sample(&a, off);
	a.b[5] = '2';
	CHECK_MSG(walk(a.b, a.len, 0, &n) == 0 && n == 3, "070702 magic accepted");
	sample(&a, off);
	set_field(a.b, F_FILESIZE, "0000000D");
	CHECK_MSG(walk(a.b, a.len, 0, &n) == 0 && n == 3, "uppercase hex accepted");

	/* Header writer: the name and size land where the reader finds them. */
	uint8_t h[256];
	size_t hs = cpio_write_header(h, "abcde", 5, 7, 0100600, 2, 42, 0x12345);
	CHECK(hs == cpio_header_size(5) && !memcmp(h, "070701", 6) && !memcmp(h + HDR, "abcde", 6));
	CHECK(!memcmp(h + 6 + 8 * F_FILESIZE, "00012345", 8) && !memcmp(h + 6 + 8 * F_NAMESIZE, "00000006", 8));
}

static void test_hostile(void)
{
	struct arc a;
	size_t off[4];
	int n;

	sample(&a, off);
	for (size_t cut = 1; cut < HDR; cut += 13)
		if (walk(a.b, cut, 0, NULL) != -1) {
			CHECK_MSG(0, "truncated header (%zu bytes): -1", cut);
			break;
		}
	CHECK_MSG(walk(a.b, HDR - 1, 0, NULL) == -1, "truncated header (109 bytes): -1");
	CHECK_MSG(walk(a.b, HDR + 4, 0, NULL) == -1, "truncated name (header + 4 of 10 bytes): -1");
	CHECK_MSG(walk(a.b, HDR + 9, 0, NULL) == -1, "name without its NUL (cut before it): -1");
	CHECK_MSG(walk(a.b, off[1] - 4, 0, NULL) == -1, "data cut short by one byte: -1");
	CHECK_MSG(walk(a.b, off[1] + HDR, 0, &n) == -1 && n == 1, "second member's name cut off: 1 member, then -1");

	sample(&a, off);
	a.b[0] = '1';
	CHECK_MSG(walk(a.b, a.len, 0, NULL) == -1, "bad magic: -1");
	sample(&a, off);
	a.b[5] = '7'; /* 070707: the old binary/odc format */
	CHECK_MSG(walk(a.b, a.len, 0, NULL) == -1, "odc magic 070707: -1");

	sample(&a, off);
	set_field(a.b, F_NAMESIZE, "00000000");
	CHECK_MSG(walk(a.b, a.len, 0, NULL) == -1, "namesize 0: -1");

	sample(&a, off);
	set_field(a.b, F_NAMESIZE, "00000009"); /* the NUL is not where namesize says */
	CHECK_MSG(walk(a.b, a.len, 0, NULL) == -1, "namesize one short (no NUL at the end of the name): -1");

	static const char *nonhex[] = { "0000000g", " 0000001", "0x000001", "-0000001", "0000000\0" };
	for (unsigned i = 0; i < sizeof(nonhex) / sizeof(nonhex[0]); i++)
		for (int f = 0; f < 13; f++) {
			sample(&a, off);
			set_field(a.b, f, nonhex[i]);
			if (walk(a.b, a.len, 0, NULL) != -1) {
				CHECK_MSG(0, "non-hex field %d (\"%.8s\"): -1", f, nonhex[i]);
				goto nonhex_done;
			}
		}
	CHECK_MSG(1, "non-hex characters in any of the 13 fields: -1");
nonhex_done:

	sample(&a, off);
	set_field(a.b, F_FILESIZE, "00010000");
	CHECK_MSG(walk(a.b, a.len, 0, NULL) == -1, "filesize past the end: -1");
	sample(&a, off);
	set_field(a.b, F_FILESIZE, "ffffffff");
	CHECK_MSG(walk(a.b, a.len, 0, NULL) == -1, "filesize 0xffffffff: -1");
	sample(&a, off);
	set_field(a.b, F_NAMESIZE, "ffffffff");
	CHECK_MSG(walk(a.b, a.len, 0, NULL) == -1, "namesize 0xffffffff: -1");
	sample(&a, off);
	set_field(a.b, F_NAMESIZE, "fffffff0");
	set_field(a.b, F_FILESIZE, "fffffff0");
	CHECK_MSG(walk(a.b, a.len, 0, NULL) == -1, "namesize and filesize 0xfffffff0: -1");

	/* Data exactly to the end, with no room for padding: still fine. */
	struct arc b;
	memset(&b, 0, sizeof(b));
	add(&b, "x", 0100644, "abc", 3);
	CHECK_MSG(walk(b.b, b.len - 1, 0, &n) == 0 && n == 1, "last member's data ends at len (padding missing): 1, then 0");

	/* Random corruption: never an over-read, never stuck; each member advances the offset. */
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	int broken = 0;
	for (int it = 0; it < 20000 && !broken; it++) {
		sample(&a, off);
		int flips = 1 + (int)(rng % 4);
		for (int k = 0; k < flips; k++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			size_t at = (size_t)(rng % a.len);
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			static const char pick[] = "0123456789abcdefF\0 7!";
			a.b[at] = (rng & 1) ? (uint8_t)pick[(rng >> 8) % (sizeof(pick) - 1)] : (uint8_t)(rng >> 8);
		}
		size_t len = a.len;
		if (it % 3 == 0) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			len = (size_t)(rng % (a.len + 1));
		}
		struct guarded g = guard_end(a.b, len);
		struct cpio_entry e;
		size_t o = 0, prev = 0;
		int r, steps = 0;
		while ((r = cpio_next(g.data, len, &o, &e)) == 1) {
			if (o <= prev || o > len || e.data + e.size > g.data + len || (const uint8_t *)e.name + e.namelen > g.data + len ||
			    (const uint8_t *)e.name < g.data || e.namelen >= len) {
				printf("# corruption %d: member past the buffer or offset not advancing (%zu -> %zu)\n",
				       it, prev, o);
				broken = 1;
				break;
			}
			prev = o;
			if (++steps > 1000) {
				broken = 1;
				break;
			}
		}
		if (r != 0 && r != -1 && r != 1) {
			printf("# corruption %d: result %d\n", it, r);
			broken = 1;
		}
		unguard(&g);
	}
	CHECK_MSG(!broken, "20000 random corruptions/truncations: no over-read, offsets advance");
}

/* ---- a real archive -------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		printf("# %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	uint8_t *b = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	while (b && n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return b;
}

static void test_real(const char *archive, const char *root, int nfiles, char **files)
{
	size_t len;
	uint8_t *b = slurp(archive, &len);
	CHECK_MSG(b != NULL, "read the archive %s", archive);
	if (!b)
		return;
	struct guarded g = guard_end(b, len);
	int *found = calloc((size_t)nfiles + 1, sizeof(int));
	struct cpio_entry e;
	size_t o = 0;
	int r, members = 0, mismatch = 0;
	while ((r = cpio_next(g.data, len, &o, &e)) == 1) {
		members++;
		for (int i = 0; i < nfiles; i++) {
			const char *f = files[i];
			if (strlen(f) != e.namelen || memcmp(f, e.name, e.namelen))
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", root, f);
			size_t flen;
			uint8_t *want = slurp(path, &flen);
			struct stat st;
			if (!want || stat(path, &st) || flen != e.size || memcmp(want, e.data, flen) ||
			    (uint32_t)st.st_mode != e.mode) {
				printf("# %s: size %zu vs %zu, mode %o vs %o\n", f, e.size, flen, e.mode,
				       want ? (unsigned)st.st_mode : 0);
				mismatch++;
			}
			found[i]++;
			free(want);
		}
	}
	CHECK_MSG(r == 0, "real archive: read to the trailer (%d after %d members)", r, members);
	int all = 1;
	for (int i = 0; i < nfiles; i++)
		if (found[i] != 1) {
			printf("# %s found %d times\n", files[i], found[i]);
			all = 0;
		}
	CHECK_MSG(all && nfiles > 0, "real archive: each of the %d files found once", nfiles);
	CHECK_MSG(!mismatch, "real archive: contents and modes match the files on disk");
	unguard(&g);
	free(found);
	free(b);
}

int main(int argc, char **argv)
{
	test_well_formed();
	test_hostile();
	if (argc >= 3)
		test_real(argv[1], argv[2], argc - 3, argv + 3);
	else
		printf("# no real archive given (the runner passes ARCHIVE ROOTDIR FILE...)\n");
	UNIT_DONE();
}
