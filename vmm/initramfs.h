/* The initramfs: a cpio newc archive written straight into guest memory, or a user's image copied in. */
#ifndef VMM_INITRAMFS_H
#define VMM_INITRAMFS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vm.h"

struct initramfs {
	struct vm *vm;
	uint64_t start, pos;      /* gpa of the archive and of the next member */
	uint32_t ino;
	char **dirs;              /* directories already in the archive (no leading '/') */
	size_t nr_dirs, cap_dirs;
};

/* Start an archive at the boot allocator's position. */
void initramfs_begin(struct initramfs *ir, struct vm *vm);
/* A directory and its missing parents (040755), unless already there. */
void initramfs_add_dir(struct initramfs *ir, const char *guest_path, uint32_t mode);
/*
 * Regular file guest_path (absolute) of size bytes read from fd, parents
 * added first. Returns the gpa of its data in guest memory.
 */
uint64_t initramfs_add_file(struct initramfs *ir, const char *guest_path, int fd,
			    uint64_t size, uint32_t mode, uint32_t mtime);
/* Add a host file, symlink or (recursively) directory at guest_path; dies (125) if missing. */
void initramfs_add_host(struct initramfs *ir, const char *host_path, const char *guest_path);
/* Copy len bytes of an existing archive (its members up to, not including, the trailer) from fd. */
void initramfs_copy_image(struct initramfs *ir, int fd, uint64_t len, const char *what);
/* Append TRAILER!!! and record the range in vm->initrd_start/size; advances the boot allocator. */
void initramfs_end(struct initramfs *ir);

/*
 * Normalize path (absolute, or relative to base) lexically into out:
 * collapses "//" and ".", ".." pops a component (never above "/").
 * Returns 0, or -1 if out is too small.
 */
int guest_path_resolve(const char *base, const char *path, char *out, size_t out_size);

/*
 * Where the program the user named goes in the guest (see main.c): an
 * absolute path stays; a relative one goes under /work (its basename if it
 * has ".." components).
 */
int guest_program_path(const char *user_path, char *out, size_t out_size);
#endif
