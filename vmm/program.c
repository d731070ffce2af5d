/* The program to run: found on the host or in an --initrd image, checked with elf_parse before KVM starts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "guest/lib/pure/cpio.h"
#include "initramfs.h"
#include "log.h"
#include "program.h"

/* Parse the ELF through a read-only mapping: only its header pages are touched (peak RSS). */
static void check_elf(struct program *p, const char *name, int fd, uint64_t offset, uint64_t size)
{
	char err[512];
	if (size == 0)
		die(EXIT_CANNOT_RUN, "%s: cannot run: not an ELF file (empty)", name);
	uint64_t map_off = offset & ~4095ull;
	size_t map_len = size + (offset - map_off);
	uint8_t *m = mmap(NULL, map_len, PROT_READ, MAP_PRIVATE, fd, map_off);
	if (m == MAP_FAILED)
		die(EXIT_CANNOT_RUN, "%s: cannot run: %s", name, strerror(errno));
	int r = elf_parse(m + (offset - map_off), size, &p->img, err, sizeof(err));
	munmap(m, map_len);
	if (r)
		die(EXIT_CANNOT_RUN, "%s: cannot run: %s", name, err);
}

static void resolve_host(const struct options *o, struct program *p)
{
	const char *path = o->program;
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			die(EXIT_NOT_FOUND, "%s: no such file or directory", path);
		die(EXIT_CANNOT_RUN, "%s: cannot run: %s", path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode))
		die(EXIT_CANNOT_RUN, "%s: cannot run: is a directory", path);
	if (!S_ISREG(st.st_mode))
		die(EXIT_CANNOT_RUN, "%s: cannot run: not a regular file", path);
	p->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p->fd < 0)
		die(EXIT_CANNOT_RUN, "%s: cannot run: %s", path, strerror(errno));
	p->size = st.st_size;
	check_elf(p, path, p->fd, 0, p->size);
	snprintf(p->host_path, sizeof(p->host_path), "%s", path);
	if (guest_program_path(path, p->exe_path, sizeof(p->exe_path)))
		die(EXIT_VMM_ERROR, "%s: path too long for the guest", path);
	snprintf(p->cwd, sizeof(p->cwd), "/work");
	p->execfn = o->argv[0];
}

/* Archive member names carry no leading "/" (or "./" when made with find . | cpio). */
static bool name_is(const struct cpio_entry *e, const char *rel)
{
	const char *n = e->name;
	size_t l = e->namelen;
	while (l && (n[0] == '/' || (l >= 2 && n[0] == '.' && n[1] == '/'))) {
		size_t skip = n[0] == '/' ? 1 : 2;
		n += skip;
		l -= skip;
	}
	return l == strlen(rel) && !memcmp(n, rel, l);
}

static void resolve_initrd(const struct options *o, struct program *p)
{
	const char *image = o->initrd;
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die(EXIT_VMM_ERROR, "--initrd %s: %s", image, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		die(EXIT_VMM_ERROR, "bad initramfs %s: not a non-empty regular file", image);
	size_t len = st.st_size;
	const uint8_t *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		die(EXIT_VMM_ERROR, "--initrd %s: %s", image, strerror(errno));

	char want[KVMBOX_PATH_MAX];
	if (guest_path_resolve("/", o->init, want, sizeof(want)))
		die(EXIT_VMM_ERROR, "--init %s: path too long", o->init);
	snprintf(p->exe_path, sizeof(p->exe_path), "%s", want);
	/* Walk the whole archive once: it must parse up to its trailer; symlinks to the init are followed. */
	struct cpio_entry e, found = { 0 };
	bool have = false;
	for (int hops = 0; hops < 8; hops++) {
		size_t off = 0;
		int r;
		have = false;
		while ((r = cpio_next(m, len, &off, &e)) == 1) {
			if (name_is(&e, p->exe_path + 1)) {
				found = e;
				have = true;
			}
			if (name_is(&e, "work") && S_ISDIR(e.mode))
				p->image_has_work = true;
		}
		if (r < 0)
			die(EXIT_VMM_ERROR, "bad initramfs %s: malformed cpio member at offset %zu", image, off);
		/* cpio_next stops at the trailer without passing it; reaching the end means none. */
		if (off == len)
			die(EXIT_VMM_ERROR, "bad initramfs %s: no TRAILER!!! member", image);
		p->image_len = off;
		if (!have || !S_ISLNK(found.mode))
			break;
		/* A symlink: resolve its target relative to its directory, like execve would. */
		char target[KVMBOX_PATH_MAX], dir[KVMBOX_PATH_MAX];
		snprintf(target, sizeof(target), "%.*s", (int)found.size, (const char *)found.data);
		snprintf(dir, sizeof(dir), "%s", p->exe_path);
		*strrchr(dir, '/') = 0;
		if (guest_path_resolve(dir[0] ? dir : "/", target, p->exe_path, sizeof(p->exe_path)))
			die(EXIT_VMM_ERROR, "--init %s: symlink target too long", o->init);
	}
	if (!have)
		die(EXIT_NOT_FOUND, "%s: not found in %s", o->init, image);
	if (S_ISDIR(found.mode))
		die(EXIT_CANNOT_RUN, "%s: cannot run: is a directory", o->init);
	if (!S_ISREG(found.mode))
		die(EXIT_CANNOT_RUN, "%s: cannot run: not a regular file", o->init);
	p->from_initrd = true;
	p->fd = fd;
	p->size = found.size;
	p->data_offset = found.data_offset;
	munmap((void *)m, len);
	check_elf(p, o->init, fd, p->data_offset, p->size);
	snprintf(p->host_path, sizeof(p->host_path), "%s", image);
	snprintf(p->cwd, sizeof(p->cwd), "%s", p->image_has_work ? "/work" : "/");
	p->execfn = o->argv[0];
}

void program_resolve(const struct options *o, struct program *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (o->initrd)
		resolve_initrd(o, p);
	else
		resolve_host(o, p);
}
