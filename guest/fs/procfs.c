/*
 * /proc, minimal: /proc/self/exe (busybox re-executes itself through it),
 * /proc/self/cwd and /proc/self/fd/N. The links are computed from the
 * current process when read or followed; /proc/self/fd/N follows to the
 * open file's inode (a "magic" link, as on Linux).
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include "../lib/pure/fsutil.h"

static struct inode *fd_links[NR_OPEN];   /* made on first lookup, never freed */

void procfs_populate(struct inode *root)
{
	struct dentry *d = dir_find(root, "proc", 4, fs_hash_name("proc", 4));
	struct inode *proc;
	if (d) {
		proc = d->inode;
		if (!S_ISDIR(proc->mode))
			return;
	} else {
		proc = inode_alloc_static(I_DIR, S_IFDIR | 0555);
		if (!proc || dir_link(root, "proc", 4, proc, true))
			return;
	}
	struct inode *self = inode_alloc_static(I_DIR, S_IFDIR | 0555);
	if (!self || dir_link(proc, "self", 4, self, true))
		return;
	struct inode *exe = inode_alloc_static(I_PROC_EXE, S_IFLNK | 0777);
	if (exe)
		dir_link(self, "exe", 3, exe, true);
	struct inode *cwd = inode_alloc_static(I_PROC_CWD, S_IFLNK | 0777);
	if (cwd)
		dir_link(self, "cwd", 3, cwd, true);
	struct inode *fd = inode_alloc_static(I_PROC_FDDIR, S_IFDIR | 0500);
	if (fd)
		dir_link(self, "fd", 2, fd, true);
}

/* "N" in /proc/self/fd for an open fd N. */
struct inode *procfs_lookup(struct inode *dir, const char *name, size_t len)
{
	if (len == 0 || len > 3 || (name[0] == '0' && len > 1))
		return NULL;
	int n = 0;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return NULL;
		n = n * 10 + (name[i] - '0');
	}
	if (n >= NR_OPEN || !fd_get(n))
		return NULL;
	if (!fd_links[n]) {
		struct inode *ip = inode_alloc_static(I_PROC_FDLINK, S_IFLNK | 0700);
		if (!ip)
			return NULL;
		ip->u.fd = n;
		ip->nlink = 1;
		ip->size = 64;
		fd_links[n] = ip;
	}
	return fd_links[n];
}

long procfs_readlink(struct inode *ip, char *buf, size_t size, const char **target)
{
	struct proc *p = current_proc();
	*target = buf;
	switch (ip->kind) {
	case I_PROC_EXE:
		*target = p->exe_path;
		return (long)strnlen(p->exe_path, KVMBOX_PATH_MAX);
	case I_PROC_CWD:
		return inode_path(proc_cwd(p), buf, size);
	case I_PROC_FDLINK: {
		struct file *f = fd_get(ip->u.fd);
		if (!f)
			return -ENOENT;
		long r = inode_path(f->inode, buf, size);
		if (r == -ENOENT)
			r = snprintf(buf, size, "anon_inode:[%llu]", (unsigned long long)f->inode->ino);
		return r;
	}
	}
	return -EINVAL;
}

int procfs_follow(struct inode *ip, int *nlinks, struct inode **out)
{
	struct proc *p = current_proc();
	switch (ip->kind) {
	case I_PROC_EXE: {
		size_t len = strnlen(p->exe_path, KVMBOX_PATH_MAX);
		return path_lookup_at(fs_root(), p->exe_path, len, LOOKUP_FOLLOW, out);
	}
	case I_PROC_CWD:
		*out = proc_cwd(p);
		return 0;
	case I_PROC_FDLINK: {
		struct file *f = fd_get(ip->u.fd);
		if (!f)
			return -ENOENT;
		*out = f->inode;
		return 0;
	}
	}
	return -ENOENT;
}

/* getdents64 of /proc/self/fd: ".", "..", then one entry per open fd (cookie 2 + fd). */
long procfs_getdents(struct file *f, uint64_t dirp, size_t count)
{
	struct dirbuf db;
	dirbuf_init(&db, dirp, count);
	struct inode *dir = f->inode;
	int64_t pos = f->pos;
	if (pos == 0) {
		if (!dirbuf_emit(&db, dir->ino, 1, DT_DIR, ".", 1))
			goto out;
		pos = 1;
	}
	if (pos == 1) {
		if (!dirbuf_emit(&db, dir->u.dir.parent->ino, 2, DT_DIR, "..", 2))
			goto out;
		pos = 2;
	}
	for (int fd = (int)(pos - 2); fd >= 0 && fd < NR_OPEN; fd++) {
		if (!fd_get(fd))
			continue;
		char name[4];
		int len = snprintf(name, sizeof(name), "%d", fd);
		if (!dirbuf_emit(&db, 0x10000u + (uint64_t)fd, fd + 3, DT_LNK, name, (size_t)len))
			break;
		pos = fd + 3;
	}
	if (pos < 2 + NR_OPEN && !db.full)
		pos = 2 + NR_OPEN;
out:
	f->pos = pos;
	return dirbuf_finish(&db);
}
