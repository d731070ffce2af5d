/* The file layer: inodes (ramfs from the initramfs), open files, fd tables, the console. */
#ifndef GUEST_FS_H
#define GUEST_FS_H
#include "types.h"
#include "proc.h"

struct file;
struct inode;
struct fdtable;

/*
 * Give the first process its files: fds 0, 1 and 2 on the console and the
 * working directory `cwd` (created if missing). The initramfs is unpacked on
 * first use of a path (not at boot: the boot path stays short).
 */
int fs_init_process(struct proc *p, const char *cwd);

/* The open file behind fd in the current process (no reference taken), or NULL. */
struct file *fd_get(int fd);

/*
 * For private file mappings (mm/): copy up to len bytes of f at offset off
 * into guest-physical memory at pa (bytes past EOF are left untouched).
 * Returns bytes copied or -errno (-EACCES if f is not readable, -ENODEV if f
 * cannot be mapped).
 */
ssize_t file_read_phys(struct file *f, uint64_t pa, size_t len, off_t off);
#endif
