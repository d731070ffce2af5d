/* The initramfs: cpio(5) newc members written straight into guest memory (no host-side copy). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "guest/lib/pure/cpio.h"
#include "guest_mem.h"
#include "initramfs.h"
#include "log.h"

int guest_path_resolve(const char *base, const char *path, char *out, size_t out_size)
{
	char buf[4096];
	int n = path[0] == '/' ? snprintf(buf, sizeof(buf), "%s", path)
			       : snprintf(buf, sizeof(buf), "%s/%s", base, path);
	if (n < 0 || (size_t)n >= sizeof(buf) || out_size < 2)
		return -1;
	size_t len = 0;
	out[0] = 0;
	for (char *save, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			out[len] = 0;
			continue;
		}
		size_t cl = strlen(c);
		if (len + 1 + cl + 1 > out_size)
			return -1;
		out[len++] = '/';
		memcpy(out + len, c, cl + 1);
		len += cl;
	}
	if (len == 0)
		strcpy(out, "/");
	return 0;
}

int guest_program_path(const char *user_path, char *out, size_t out_size)
{
	if (user_path[0] == '/')
		return guest_path_resolve("/", user_path, out, out_size);
	/* "../x" would leave /work: put it beside the others by its basename. */
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "/%s/", user_path);
	if (strstr(tmp, "/../")) {
		const char *slash = strrchr(user_path, '/');
		return guest_path_resolve("/work", slash ? slash + 1 : user_path, out, out_size);
	}
	return guest_path_resolve("/work", user_path, out, out_size);
}

/* Host pointer for [pos, pos + len) or die: the archive has outgrown guest memory. */
static uint8_t *room(struct initramfs *ir, uint64_t len)
{
	uint8_t *p = GUEST_PTR(ir->vm, ir->pos, len);
	if (!p)
		die(EXIT_VMM_ERROR, "guest memory (%llu MiB) is too small for the initramfs: raise --mem",
		    (unsigned long long)(ir->vm->mem_size >> 20));
	return p;
}

/* Member header + name at pos; data (size bytes) follows at the returned gpa. */
static uint64_t put_header(struct initramfs *ir, const char *guest_path, uint32_t mode,
			   uint32_t nlink, uint32_t mtime, uint64_t size)
{
	const char *name = guest_path[0] == '/' ? guest_path + 1 : guest_path;
	size_t nl = strlen(name);
	if (size > UINT32_MAX)
		die(EXIT_VMM_ERROR, "%s: too large for a cpio newc archive (4 GiB)", guest_path);
	size_t hs = cpio_header_size(nl);
	cpio_write_header(room(ir, hs), name, nl, ++ir->ino, mode, nlink, mtime, size);
	ir->pos += hs;
	uint64_t data = ir->pos;
	room(ir, align_up(size, 4));
	ir->pos += align_up(size, 4);  /* padding is zero: fresh guest memory */
	return data;
}

static bool have_dir(struct initramfs *ir, const char *path)
{
	for (size_t i = 0; i < ir->nr_dirs; i++)
		if (!strcmp(ir->dirs[i], path))
			return true;
	return false;
}

void initramfs_add_dir(struct initramfs *ir, const char *guest_path, uint32_t mode)
{
	char path[4096];
	if (guest_path_resolve("/", guest_path, path, sizeof(path)))
		die(EXIT_VMM_ERROR, "guest path too long: %s", guest_path);
	if (!strcmp(path, "/") || have_dir(ir, path))
		return;
	/* Parents first: the guest's unpacker creates members in archive order. */
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", path);
	*strrchr(parent, '/') = 0;
	if (parent[0])
		initramfs_add_dir(ir, parent, 040755);
	put_header(ir, path, S_IFDIR | (mode & 07777), 2, 0, 0);
	if (ir->nr_dirs == ir->cap_dirs) {
		ir->cap_dirs = ir->cap_dirs ? 2 * ir->cap_dirs : 16;
		ir->dirs = realloc(ir->dirs, ir->cap_dirs * sizeof(*ir->dirs));
		if (!ir->dirs)
			die(EXIT_VMM_ERROR, "out of memory");
	}
	ir->dirs[ir->nr_dirs++] = strdup(path);
}

static void add_parents(struct initramfs *ir, const char *path)
{
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		initramfs_add_dir(ir, parent, 040755);
	}
}

void initramfs_begin(struct initramfs *ir, struct vm *vm)
{
	memset(ir, 0, sizeof(*ir));
	ir->vm = vm;
	ir->start = ir->pos = align_up(vm->alloc_next, KVMBOX_PAGE_SIZE);
}

/* Read exactly len bytes of fd into guest memory at gpa (straight in: no host buffer). */
static void read_into_guest(struct initramfs *ir, int fd, uint64_t gpa, uint64_t len, const char *what)
{
	uint8_t *dst = GUEST_PTR(ir->vm, gpa, len);
	uint64_t done = 0;
	while (done < len) {
		size_t chunk = len - done > (1u << 30) ? (1u << 30) : len - done;
		ssize_t n = pread(fd, dst + done, chunk, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(EXIT_VMM_ERROR, "cannot read %s: %s", what, n < 0 ? strerror(errno) : "file shrank");
		done += n;
	}
}

uint64_t initramfs_add_file(struct initramfs *ir, const char *guest_path, int fd,
			    uint64_t size, uint32_t mode, uint32_t mtime)
{
	char path[4096];
	if (guest_path_resolve("/", guest_path, path, sizeof(path)))
		die(EXIT_VMM_ERROR, "guest path too long: %s", guest_path);
	add_parents(ir, path);
	uint64_t data = put_header(ir, path, S_IFREG | (mode & 07777), 1, mtime, size);
	read_into_guest(ir, fd, data, size, guest_path);
	return data;
}

static void add_host_entry(struct initramfs *ir, const char *host, const char *guest, bool top)
{
	struct stat st;
	/* The named path itself follows symlinks (like cp); entries inside a tree are copied as they are. */
	if ((top ? stat(host, &st) : lstat(host, &st)) < 0)
		die(EXIT_VMM_ERROR, "%s: %s", host, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		int fd = open(host, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(EXIT_VMM_ERROR, "%s: %s", host, strerror(errno));
		initramfs_add_file(ir, guest, fd, st.st_size, st.st_mode, (uint32_t)st.st_mtime);
		close(fd);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(host, target, sizeof(target) - 1);
		if (n < 0)
			die(EXIT_VMM_ERROR, "%s: %s", host, strerror(errno));
		add_parents(ir, guest);
		uint64_t data = put_header(ir, guest, S_IFLNK | 0777, 1, (uint32_t)st.st_mtime, n);
		memcpy(GUEST_PTR(ir->vm, data, n), target, n);
	} else if (S_ISDIR(st.st_mode)) {
		initramfs_add_dir(ir, guest, st.st_mode);
		struct dirent **names;
		int n = scandir(host, &names, NULL, alphasort);
		if (n < 0)
			die(EXIT_VMM_ERROR, "%s: %s", host, strerror(errno));
		for (int i = 0; i < n; i++) {
			const char *d = names[i]->d_name;
			if (strcmp(d, ".") && strcmp(d, "..")) {
				char h[4096], g[4096];
				if (snprintf(h, sizeof(h), "%s/%s", host, d) >= (int)sizeof(h) ||
				    snprintf(g, sizeof(g), "%s/%s", guest, d) >= (int)sizeof(g))
					die(EXIT_VMM_ERROR, "%s/%s: path too long", host, d);
				add_host_entry(ir, h, g, false);
			}
			free(names[i]);
		}
		free(names);
	} else if (top) {
		die(EXIT_VMM_ERROR, "%s: not a regular file, directory or symlink", host);
	}
	/* Devices, fifos and sockets inside a tree are skipped: the guest has nothing to back them. */
}

void initramfs_add_host(struct initramfs *ir, const char *host_path, const char *guest_path)
{
	char path[4096];
	if (guest_path_resolve("/", guest_path, path, sizeof(path)))
		die(EXIT_VMM_ERROR, "guest path too long: %s", guest_path);
	add_host_entry(ir, host_path, path, true);
}

void initramfs_copy_image(struct initramfs *ir, int fd, uint64_t len, const char *what)
{
	room(ir, len);
	read_into_guest(ir, fd, ir->pos, len, what);
	ir->pos += len;
}

void initramfs_end(struct initramfs *ir)
{
	put_header(ir, "TRAILER!!!", 0, 1, 0, 0);
	ir->vm->initrd_start = ir->start;
	ir->vm->initrd_size = ir->pos - ir->start;
	ir->vm->alloc_next = align_up(ir->pos, KVMBOX_PAGE_SIZE);
	for (size_t i = 0; i < ir->nr_dirs; i++)
		free(ir->dirs[i]);
	free(ir->dirs);
	ir->dirs = NULL;
}
