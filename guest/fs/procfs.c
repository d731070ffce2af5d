/*
 * /proc, minimal: /proc/self/exe (busybox re-executes itself through it),
 * /proc/self/cwd, /proc/self/maps and /proc/self/fd/N. The links are computed from the
 * current process when read or followed; /proc/self/fd/N follows to the
 * open file's inode (a "magic" link, as on Linux).
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <mm.h>
#include <proc.h>
#include <uaccess.h>
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
	struct inode *maps = inode_alloc_static(I_PROC_MAPS, S_IFREG | 0444);
	if (maps)
		dir_link(self, "maps", 4, maps, true);
}

/* ---- /proc/PID/maps ---- */

/*
 * Linux's show_map_vma (fs/proc/task_mmu.c): "start-end perms offset
 * major:minor inode", the name padded to column 73 (25 + 6 * sizeof(void *)
 * - 1 characters, then a space); a nameless line keeps the space after the
 * inode. The offset and the device/inode are the file's (0 for anonymous
 * memory). Shared anonymous memory is a shmem file there: "/dev/zero
 * (deleted)" on device 00:01.
 */
#define MAPS_NAME_COL 73

size_t procfs_maps_text_from(struct proc *p, char *buf, size_t size, uint64_t from)
{
	struct mm *mm = p->mm;
	struct inode *exe = NULL;
	size_t len = 0;
	for (struct vma *v = mm ? mm->vmas : NULL; v; v = v->next) {
		const char *name = NULL;
		unsigned major = 0, minor = 0;
		uint64_t ino = 0, off = 0;
		if (v->flags & KVMBOX_VMA_IMAGE) {
			if (!exe && path_lookup_at(fs_root(), p->exe_path, strnlen(p->exe_path, KVMBOX_PATH_MAX),
						   LOOKUP_FOLLOW, &exe))
				exe = NULL;
			name = p->exe_path;
			ino = exe ? exe->ino : 0;
			off = (uint64_t)v->pgoff * PAGE_SIZE;
		} else if (v->flags & KVMBOX_VMA_HEAP) {
			name = "[heap]";
		} else if (v->flags & KVMBOX_VMA_GROWSDOWN) {
			name = "[stack]";
		} else if (v->flags & KVMBOX_VMA_SHARED) {
			name = "/dev/zero (deleted)";
			minor = 1;
			ino = 1 + v->start / PAGE_SIZE; /* one shmem inode per mapping */
		}
		char line[MAPS_NAME_COL + KVMBOX_PATH_MAX + 2];
		int n = snprintf(line, sizeof(line), "%08lx-%08lx %c%c%c%c %08lx %02x:%02x %lu ", v->start, v->end,
				 v->flags & KVMBOX_VMA_READ ? 'r' : '-', v->flags & KVMBOX_VMA_WRITE ? 'w' : '-',
				 v->flags & KVMBOX_VMA_EXEC ? 'x' : '-', v->flags & KVMBOX_VMA_SHARED ? 's' : 'p',
				 off, major, minor, ino);
		if (name) {
			while (n < MAPS_NAME_COL)
				line[n++] = ' ';
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%s", name);
		}
		line[n++] = '\n';
		for (int i = 0; i < n; i++, len++)
			if (len >= from && len - from + 1 < size)
				buf[len - from] = line[i];
	}
	if (size)
		buf[len > from ? MIN(len - from, size - 1) : 0] = 0;
	return len;
}

size_t procfs_maps_text(struct proc *p, char *buf, size_t size)
{
	return procfs_maps_text_from(p, buf, size, 0);
}

ssize_t procfs_maps_read(const struct kiovec *iov, int cnt, uint64_t *posp)
{
	static char text[65536];   /* one vCPU: a window of the text from *posp, made at each read */
	ssize_t done = 0;
	for (int i = 0; i < cnt; i++) {
		for (uint64_t off = 0; off < iov[i].len;) {
			size_t total = procfs_maps_text_from(current_proc(), text, sizeof(text), *posp);
			if (*posp >= total)
				return done;
			size_t n = MIN(MIN(iov[i].len - off, total - *posp), sizeof(text) - 1);
			if (copy_to_user(iov[i].base + off, text, n))
				return done ? done : -EFAULT;
			*posp += n;
			off += n;
			done += (ssize_t)n;
		}
	}
	return done;
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
