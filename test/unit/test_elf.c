/*
 * Unit tests of elf_parse (vmm/elf.c): real binaries whose paths the runner
 * passes as KIND:PATH arguments (KIND is static, pie or dynamic), hostile
 * inputs built here, and random corruptions of the real binaries. Every
 * input sits against an inaccessible page on both sides, so a read outside
 * the buffer crashes the test instead of passing unnoticed.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/elf.h"
#include <kvmbox.h>

#define PAGE 4096ul
#define ERR_SIZE 160

/* ---- guarded buffers -------------------------------------------------------- */

struct guarded {
	uint8_t *map;
	size_t map_len;
	uint8_t *at_end;   /* the data, ending where an inaccessible page begins */
	uint8_t *at_start; /* the data, starting where an inaccessible page ends */
};

static struct guarded guard(const void *data, size_t len)
{
	struct guarded g;
	size_t pages = (len + PAGE - 1) / PAGE;
	/* [guard][data pages][guard][data pages][guard] */
	g.map_len = (2 * pages + 3) * PAGE;
	g.map = mmap(NULL, g.map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.map == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	uint8_t *r1 = g.map + PAGE, *r2 = g.map + (pages + 2) * PAGE;
	if (pages) {
		mprotect(r1, pages * PAGE, PROT_READ | PROT_WRITE);
		mprotect(r2, pages * PAGE, PROT_READ | PROT_WRITE);
	}
	g.at_end = r1 + pages * PAGE - len;
	g.at_start = r2;
	if (len) {
		memcpy(g.at_end, data, len);
		memcpy(g.at_start, data, len);
	}
	return g;
}

static void unguard(struct guarded *g) { munmap(g->map, g->map_len); }

/*
 * Parse data[0, len) placed against the guard pages on each side, with an
 * error buffer that must stay NUL-terminated within err_size. Returns the
 * result of the end-aligned parse (both must agree).
 */
static int parse(const void *data, size_t len, struct elf_image *img, char *err)
{
	struct guarded g = guard(data, len);
	char errbuf[ERR_SIZE + 32], small[16 + 32];
	struct elf_image img2;
	memset(errbuf, 'X', sizeof(errbuf));
	memset(small, 'X', sizeof(small));
	int r1 = elf_parse(g.at_end, len, img, errbuf, ERR_SIZE);
	int r2 = elf_parse(g.at_start, len, &img2, small, 16);
	if (r1 != r2) {
		printf("# elf_parse disagrees with itself: %d vs %d\n", r1, r2);
		r1 = -2;
	}
	if (r1 == -1 && (!memchr(errbuf, 0, ERR_SIZE) || !memchr(small, 0, 16))) {
		printf("# error message not NUL-terminated within err_size\n");
		r1 = -2;
	}
	for (size_t i = ERR_SIZE; i < sizeof(errbuf); i++)
		if (errbuf[i] != 'X') {
			printf("# error message written past err_size\n");
			r1 = -2;
			break;
		}
	for (size_t i = 16; i < sizeof(small); i++)
		if (small[i] != 'X') {
			printf("# error message written past a small err_size (16)\n");
			r1 = -2;
			break;
		}
	if (r1 == -1 && !memchr(errbuf, 0, ERR_SIZE))
		errbuf[ERR_SIZE - 1] = 0;
	memcpy(err, errbuf, ERR_SIZE);
	err[ERR_SIZE - 1] = 0;
	unguard(&g);
	return r1;
}

/* ---- a minimal valid executable, built in memory ---------------------------- */

#define MIN_LEN 0x1100

struct mini {
	uint8_t b[MIN_LEN];
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph; /* [0] R text-less header page, [1] R+X code, [2] GNU_STACK */
};

static void mini_init(struct mini *m)
{
	memset(m->b, 0, sizeof(m->b));
	m->eh = (Elf64_Ehdr *)m->b;
	m->ph = (Elf64_Phdr *)(m->b + sizeof(Elf64_Ehdr));
	Elf64_Ehdr *e = m->eh;
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = 0x401000;
	e->e_phoff = sizeof(Elf64_Ehdr);
	e->e_ehsize = sizeof(Elf64_Ehdr);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = 3;
	m->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = 0,
				 .p_vaddr = 0x400000, .p_paddr = 0x400000, .p_filesz = 0x1000,
				 .p_memsz = 0x1000, .p_align = PAGE };
	m->ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000,
				 .p_vaddr = 0x401000, .p_paddr = 0x401000, .p_filesz = 0x100,
				 .p_memsz = 0x2000, .p_align = PAGE };
	m->ph[2] = (Elf64_Phdr){ .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W };
	m->b[0x1000] = 0xf4; /* hlt: it is never run */
}

static int mini_parse(struct mini *m, size_t len, struct elf_image *img, char *err)
{
	return parse(m->b, len, img, err);
}

/* A hostile variant must be refused, with a reason containing `want` (if given). */
static void expect_reject(const char *name, const void *buf, size_t len, const char *want)
{
	struct elf_image img;
	char err[ERR_SIZE];
	int r = parse(buf, len, &img, err);
	if (want)
		CHECK_MSG(r == -1 && strcasestr(err, want), "%s: refused, reason mentions \"%s\" (got %d: %s)",
			  name, want, r, r == -1 ? err : "accepted");
	else
		CHECK_MSG(r == -1 && err[0], "%s: refused with a reason (got %d: %s)", name, r,
			  r == -1 ? err : "accepted");
}

static void test_mini_valid(void)
{
	struct mini m;
	struct elf_image img;
	char err[ERR_SIZE];
	mini_init(&m);
	int r = mini_parse(&m, MIN_LEN, &img, err);
	CHECK_MSG(r == 0, "minimal executable accepted (%s)", r ? err : "ok");
	CHECK(img.type == ET_EXEC && img.entry == 0x401000 && img.nr_segments == 2);
	CHECK(img.phnum == 3 && img.phentsize == sizeof(Elf64_Phdr));
	CHECK_MSG(img.phdr_vaddr == 0x400040, "phdr_vaddr from the segment holding e_phoff (0x%llx)",
		  (unsigned long long)img.phdr_vaddr);
	CHECK(img.segments[1].vaddr == 0x401000 && img.segments[1].memsz == 0x2000 &&
	      img.segments[1].offset == 0x1000 && img.segments[1].filesz == 0x100 &&
	      img.segments[1].flags == (PF_R | PF_X));
	CHECK(img.min_vaddr == 0x400000 && img.max_vaddr == 0x403000);
	CHECK(!img.exec_stack && !img.has_interp);

	mini_init(&m);
	m.ph[2].p_flags |= PF_X;
	r = mini_parse(&m, MIN_LEN, &img, err);
	CHECK_MSG(r == 0 && img.exec_stack, "PT_GNU_STACK with PF_X sets exec_stack");

	mini_init(&m);
	m.eh->e_type = ET_DYN;
	m.ph[0].p_vaddr = m.ph[0].p_paddr = 0;
	m.ph[1].p_vaddr = m.ph[1].p_paddr = 0x1000;
	m.eh->e_entry = 0x1000;
	r = mini_parse(&m, MIN_LEN, &img, err);
	CHECK_MSG(r == 0 && img.type == ET_DYN && img.min_vaddr == 0, "static-PIE shape (ET_DYN at 0) accepted (%s)",
		  r ? err : "ok");

	/* A zero-size bss-only segment after the code is fine. */
	mini_init(&m);
	m.eh->e_phnum = 4;
	m.ph[3] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 0x1100,
				.p_vaddr = 0x404100, .p_filesz = 0, .p_memsz = 0x5000, .p_align = PAGE };
	r = mini_parse(&m, MIN_LEN, &img, err);
	CHECK_MSG(r == 0 && img.nr_segments == 3 && img.max_vaddr == 0x40a000,
		  "bss-only segment (filesz 0, offset at the end of the file) accepted (%s)", r ? err : "ok");
}

static void test_hostile(void)
{
	struct mini m;
	char name[128];

	mini_init(&m);
	expect_reject("empty input", m.b, 0, "not an ELF");
	expect_reject("3 bytes of the magic", m.b, 3, NULL);
	expect_reject("4 bytes: the magic only", m.b, 4, NULL);
	expect_reject("ELF header cut at 63 bytes", m.b, 63, "truncated");
	expect_reject("text", "#!/bin/sh\necho hello\n", 21, "not an ELF");

	mini_init(&m);
	m.b[1] = 'X';
	expect_reject("bad magic", m.b, MIN_LEN, "not an ELF");

	mini_init(&m);
	m.eh->e_ident[EI_CLASS] = ELFCLASS32;
	expect_reject("32-bit class", m.b, MIN_LEN, "32-bit");

	mini_init(&m);
	m.eh->e_ident[EI_CLASS] = 7;
	expect_reject("unknown class 7", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_reject("big-endian", m.b, MIN_LEN, "big-endian");

	mini_init(&m);
	m.eh->e_machine = EM_AARCH64;
	expect_reject("e_machine AArch64", m.b, MIN_LEN, "AArch64");

	mini_init(&m);
	m.eh->e_machine = EM_386;
	expect_reject("e_machine i386", m.b, MIN_LEN, "x86-64");

	mini_init(&m);
	m.eh->e_machine = 0xbeef;
	expect_reject("e_machine 0xbeef", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_type = ET_REL;
	expect_reject("ET_REL", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_type = ET_CORE;
	expect_reject("ET_CORE", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_type = 0xfe00;
	expect_reject("e_type 0xfe00", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_phoff = MIN_LEN + 8;
	expect_reject("e_phoff past the end", m.b, MIN_LEN, "truncated");

	mini_init(&m);
	m.eh->e_phoff = MIN_LEN - 56;
	expect_reject("program headers straddle the end", m.b, MIN_LEN, "truncated");

	mini_init(&m);
	m.eh->e_phoff = UINT64_MAX - 16;
	expect_reject("e_phoff near 2^64 (phoff + phnum*phentsize overflows)", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_phnum = 0xffff;
	expect_reject("e_phnum 0xffff", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_phnum = 0xfff0;
	m.eh->e_phentsize = 0xffff;
	expect_reject("e_phnum * e_phentsize huge", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_phentsize = 32;
	expect_reject("e_phentsize 32", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_phentsize = 0;
	expect_reject("e_phentsize 0", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_phnum = 0;
	expect_reject("no program headers", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[0].p_type = PT_NOTE;
	m.ph[1].p_type = PT_NOTE;
	expect_reject("no PT_LOAD", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[1].p_filesz = 0x200; /* file is 0x1100 long: 0x1000 + 0x200 is past it */
	expect_reject("segment offset + filesz past the end", m.b, MIN_LEN, "truncated");

	mini_init(&m);
	m.ph[1].p_offset = 0x3000;
	m.ph[1].p_vaddr = 0x403000; /* keep congruence */
	m.eh->e_entry = m.ph[1].p_vaddr;
	expect_reject("segment offset past the end", m.b, MIN_LEN, "truncated");

	mini_init(&m);
	m.ph[1].p_offset = 0x1000 + PAGE * 0x10000000000ull;
	m.ph[1].p_filesz = UINT64_MAX - PAGE * 0x10000000000ull;
	expect_reject("segment offset + filesz overflows", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[1].p_filesz = 0x100;
	m.ph[1].p_memsz = 0x80;
	expect_reject("filesz > memsz", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[1].p_vaddr = 0xfffffffffffff000ull;
	m.ph[1].p_memsz = 0x2000;
	m.eh->e_entry = m.ph[1].p_vaddr;
	expect_reject("vaddr + memsz overflows", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[1].p_vaddr = 0xffff800000000000ull;
	m.eh->e_entry = m.ph[1].p_vaddr;
	expect_reject("segment in the kernel half", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[1].p_vaddr = KVMBOX_USER_TOP - 0x1000;
	m.eh->e_entry = m.ph[1].p_vaddr;
	expect_reject("segment crossing the top of the user half", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[1].p_memsz = UINT64_MAX;
	expect_reject("memsz 2^64-1", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[1].p_vaddr = 0x401010;
	m.eh->e_entry = 0x401010;
	expect_reject("vaddr not congruent with offset (misaligned vaddr)", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[1].p_offset = 0x1008;
	m.ph[1].p_filesz = 0x80;
	expect_reject("offset not congruent with vaddr (misaligned offset)", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[1].p_vaddr = 0x400800;
	m.ph[1].p_offset = 0x800;
	m.eh->e_entry = 0x400800;
	expect_reject("overlapping PT_LOAD segments", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.ph[0].p_vaddr = 0x500000;
	m.ph[0].p_paddr = 0x500000;
	expect_reject("PT_LOAD segments out of order", m.b, MIN_LEN, NULL);

	mini_init(&m);
	m.eh->e_entry = 0x400010; /* in the R-only segment */
	expect_reject("entry point outside any executable segment", m.b, MIN_LEN, NULL);

	/* More PT_LOADs than ELF_MAX_SEGMENTS: refused, and nothing written past segments[]. */
	{
		static uint8_t b[PAGE + 0x100];
		memset(b, 0, sizeof(b));
		mini_init(&m);
		memcpy(b, m.b, sizeof(Elf64_Ehdr));
		Elf64_Ehdr *e = (Elf64_Ehdr *)b;
		Elf64_Phdr *ph = (Elf64_Phdr *)(b + 64);
		unsigned n = ELF_MAX_SEGMENTS + 4;
		e->e_phnum = (uint16_t)n;
		for (unsigned i = 0; i < n; i++)
			ph[i] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
					      .p_vaddr = 0x400000 + i * 0x10000ull, .p_filesz = 0x100,
					      .p_memsz = 0x100, .p_align = PAGE };
		e->e_entry = 0x400000;
		expect_reject("more PT_LOAD segments than ELF_MAX_SEGMENTS", b, sizeof(b), NULL);
	}

	/* PT_INTERP: a dynamically linked program names its interpreter. */
	{
		static uint8_t b[MIN_LEN];
		const char *interp = "/lib64/ld-linux-x86-64.so.2";
		mini_init(&m);
		m.eh->e_phnum = 4;
		m.ph[3] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_flags = PF_R, .p_offset = 0x200,
					.p_vaddr = 0x400200, .p_filesz = strlen(interp) + 1,
					.p_memsz = strlen(interp) + 1, .p_align = 1 };
		memcpy(m.b + 0x200, interp, strlen(interp) + 1);
		memcpy(b, m.b, MIN_LEN);
		struct elf_image img;
		char err[ERR_SIZE];
		int r = parse(b, MIN_LEN, &img, err);
		CHECK_MSG(img.has_interp && !strcmp(img.interp, interp), "PT_INTERP: has_interp with the path (%s)",
			  img.interp);
		CHECK_MSG(r == 0 || (r == -1 && strstr(err, interp)),
			  "PT_INTERP: accepted as dynamic, or refused naming the interpreter (%d: %s)", r,
			  r ? err : "ok");

		/* Not NUL-terminated, longer than interp[]: stays within the file and interp[]. */
		mini_init(&m);
		m.eh->e_phnum = 4;
		m.ph[3] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_flags = PF_R, .p_offset = 0x200,
					.p_vaddr = 0x400200, .p_filesz = 0x400, .p_memsz = 0x400 };
		memset(m.b + 0x200, 'A', 0x400);
		r = mini_parse(&m, MIN_LEN, &img, err);
		CHECK_MSG(r == -1 || (img.has_interp && memchr(img.interp, 0, sizeof(img.interp))),
			  "PT_INTERP not NUL-terminated (0x400 bytes): refused or truncated with a NUL");
		CHECK_MSG(!img.has_interp || strlen(img.interp) < sizeof(img.interp),
			  "PT_INTERP not NUL-terminated: interp[] stays terminated");

		/* Not terminated, running to the very end of the buffer. */
		mini_init(&m);
		m.eh->e_phnum = 4;
		m.ph[3] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_flags = PF_R, .p_offset = MIN_LEN - 10,
					.p_vaddr = 0x400000 + MIN_LEN - 10, .p_filesz = 10, .p_memsz = 10 };
		memset(m.b + MIN_LEN - 10, 'B', 10);
		r = mini_parse(&m, MIN_LEN, &img, err);
		CHECK_MSG(r == -1 || img.has_interp,
			  "PT_INTERP unterminated at the end of the file: no over-read (guard page), result %d", r);

		mini_init(&m);
		m.eh->e_phnum = 4;
		m.ph[3] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_flags = PF_R, .p_offset = MIN_LEN + 100,
					.p_vaddr = 0x400200, .p_filesz = 28, .p_memsz = 28 };
		expect_reject("PT_INTERP past the end of the file", m.b, MIN_LEN, NULL);

		mini_init(&m);
		m.eh->e_phnum = 4;
		m.ph[3] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_flags = PF_R, .p_offset = 0x200,
					.p_vaddr = 0x400200, .p_filesz = UINT64_MAX - 0x100, .p_memsz = 28 };
		expect_reject("PT_INTERP size overflowing", m.b, MIN_LEN, NULL);
	}

	/* Every truncation of the minimal executable short of its end is refused. */
	mini_init(&m);
	int all = 1;
	for (size_t len = 0; len < MIN_LEN; len += (len < 0x200 ? 1 : 0x40)) {
		struct elf_image img;
		char err[ERR_SIZE];
		if (mini_parse(&m, len, &img, err) != -1) {
			all = 0;
			snprintf(name, sizeof(name), "%zu", len);
			printf("# truncated at %s bytes: not refused\n", name);
			break;
		}
	}
	CHECK_MSG(all, "every truncation of the minimal executable is refused");
}

/* ---- real binaries ---------------------------------------------------------- */

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

/* What a successful parse must promise, checked against the file itself. */
static const char *invariants(const uint8_t *b, size_t len, const struct elf_image *img)
{
	const struct elf_segment *s = img->segments;
	int entry_in_x = 0;
	if (img->nr_segments == 0 || img->nr_segments > ELF_MAX_SEGMENTS)
		return "nr_segments out of range";
	if (img->min_vaddr % PAGE || img->max_vaddr % PAGE || img->min_vaddr >= img->max_vaddr)
		return "min/max_vaddr not page-aligned or empty";
	for (unsigned i = 0; i < img->nr_segments; i++) {
		if (s[i].filesz > s[i].memsz)
			return "a segment has filesz > memsz";
		if (s[i].offset > len || s[i].filesz > len - s[i].offset)
			return "a segment's file data is outside the file";
		if (s[i].vaddr >= KVMBOX_USER_TOP || s[i].memsz > KVMBOX_USER_TOP - s[i].vaddr)
			return "a segment is outside the user half";
		if ((s[i].vaddr - s[i].offset) % PAGE)
			return "a segment's vaddr and offset are not page-congruent";
		if (s[i].vaddr < img->min_vaddr || s[i].vaddr + s[i].memsz > img->max_vaddr)
			return "a segment is outside [min_vaddr, max_vaddr)";
		if (i && s[i].vaddr < s[i - 1].vaddr + s[i - 1].memsz)
			return "segments overlap or are out of order";
		if ((s[i].flags & PF_X) && img->entry >= s[i].vaddr && img->entry - s[i].vaddr < s[i].memsz)
			entry_in_x = 1;
	}
	if (!entry_in_x)
		return "entry point is not inside an executable segment";
	if (img->has_interp)
		return "accepted a program with PT_INTERP";
	(void)b;
	return NULL;
}

static void test_real(const char *kind, const char *path)
{
	size_t len;
	uint8_t *b = slurp(path, &len);
	CHECK_MSG(b != NULL && len > 64, "%s: read %s", kind, path);
	if (!b)
		return;
	struct elf_image img;
	char err[ERR_SIZE];
	int r = parse(b, len, &img, err);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(b + eh->e_phoff);

	if (!strcmp(kind, "dynamic")) {
		CHECK_MSG(r == -1 && img.has_interp && !strcmp(img.interp, "/lib64/ld-linux-x86-64.so.2") &&
				  strstr(err, "/lib64/ld-linux-x86-64.so.2"),
			  "dynamic %s: refused, naming /lib64/ld-linux-x86-64.so.2 (%d: %s)", path, r, err);
		free(b);
		return;
	}
	CHECK_MSG(r == 0, "%s %s: accepted (%s)", kind, path, r ? err : "ok");
	if (r) {
		free(b);
		return;
	}
	unsigned loads = 0, exec_stack = 0;
	uint64_t phdr = 0;
	int have_phdr = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			if (!have_phdr && eh->e_phoff >= ph[i].p_offset &&
			    eh->e_phoff < ph[i].p_offset + ph[i].p_filesz) {
				phdr = ph[i].p_vaddr + eh->e_phoff - ph[i].p_offset;
				have_phdr = 1;
			}
			loads++;
		}
		if (ph[i].p_type == PT_GNU_STACK)
			exec_stack = !!(ph[i].p_flags & PF_X);
	}
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			phdr = ph[i].p_vaddr;
	CHECK_MSG(img.type == (!strcmp(kind, "pie") ? ET_DYN : ET_EXEC), "%s: type %u", kind, img.type);
	CHECK_MSG(img.entry == eh->e_entry, "%s: entry 0x%llx == e_entry", kind, (unsigned long long)img.entry);
	CHECK_MSG(img.nr_segments == loads, "%s: %u PT_LOAD segments (file has %u)", kind, img.nr_segments, loads);
	CHECK_MSG(img.phnum == eh->e_phnum && img.phentsize == 56, "%s: phnum %u phentsize %u", kind, img.phnum,
		  img.phentsize);
	CHECK_MSG(img.phdr_vaddr == phdr, "%s: phdr_vaddr 0x%llx (expected 0x%llx)", kind,
		  (unsigned long long)img.phdr_vaddr, (unsigned long long)phdr);
	CHECK_MSG(img.exec_stack == exec_stack && !img.has_interp, "%s: exec_stack %d, no interpreter", kind,
		  img.exec_stack);
	const char *bad = invariants(b, len, &img);
	CHECK_MSG(!bad, "%s: invariants hold (%s)", kind, bad ? bad : "ok");
	unsigned j = 0;
	int same = 1;
	for (unsigned i = 0; i < eh->e_phnum && j < img.nr_segments; i++)
		if (ph[i].p_type == PT_LOAD) {
			const struct elf_segment *s = &img.segments[j++];
			same &= s->vaddr == ph[i].p_vaddr && s->memsz == ph[i].p_memsz &&
				s->offset == ph[i].p_offset && s->filesz == ph[i].p_filesz &&
				s->flags == (ph[i].p_flags & (PF_R | PF_W | PF_X));
		}
	CHECK_MSG(same, "%s: segments match the program headers, in file order", kind);

	/*
	 * Random corruption of the headers, and random truncation: never a
	 * crash or an over-read, and whatever is accepted keeps the promises.
	 */
	uint64_t rng = 0x2545f4914f6cdd1dull ^ len;
	size_t hdr = eh->e_phoff + (size_t)eh->e_phnum * 56;
	if (hdr > len)
		hdr = len;
	uint8_t *c = malloc(len);
	struct guarded g = guard(b, len);
	int broken = 0, accepted = 0;
	for (int it = 0; it < 3000 && !broken; it++) {
		memcpy(g.at_end, b, len);
		int flips = 1 + (int)(rng % 6);
		for (int k = 0; k < flips; k++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			size_t at = (size_t)(rng % hdr);
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			g.at_end[at] = (rng & 1) ? (uint8_t)(rng >> 8) : g.at_end[at] ^ (uint8_t)(1u << (rng >> 8 & 7));
		}
		size_t l = len;
		if (it % 5 == 0) { /* also cut it short: parse a suffix-less view ending at the guard */
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			l = (size_t)(rng % len);
		}
		const uint8_t *p = g.at_end + (len - l);
		memmove((uint8_t *)p, g.at_end, l); /* keep the start, end at the guard */
		char e2[ERR_SIZE];
		int rr = elf_parse(p, l, &img, e2, sizeof(e2));
		if (rr == 0) {
			accepted++;
			memcpy(c, p, l);
			const char *why = invariants(c, l, &img);
			if (why) {
				printf("# corruption %d accepted but %s\n", it, why);
				broken = 1;
			}
		} else if (rr != -1 || !memchr(e2, 0, sizeof(e2))) {
			printf("# corruption %d: result %d, error not terminated\n", it, rr);
			broken = 1;
		}
	}
	unguard(&g);
	free(c);
	CHECK_MSG(!broken, "%s: 3000 random header corruptions/truncations: no over-read, promises kept "
		  "(%d accepted)", kind, accepted);
	free(b);
}

int main(int argc, char **argv)
{
	test_mini_valid();
	test_hostile();
	for (int i = 1; i < argc; i++) {
		char *colon = strchr(argv[i], ':');
		if (!colon) {
			fprintf(stderr, "usage: test_elf [static|pie|dynamic:PATH]...\n");
			return 2;
		}
		*colon = 0;
		test_real(argv[i], colon + 1);
	}
	if (argc == 1)
		printf("# no real binaries given (the runner passes them)\n");
	UNIT_DONE();
}
