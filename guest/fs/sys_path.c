/*
 * The path syscalls: open*, stat family, statx, getcwd, chdir, access,
 * readlink, mkdir, unlink, rmdir, rename, truncate, umask, chmod.
 * Everyone runs as root: permission bits only matter for X_OK.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <mm.h>
#include <platform.h>
#include <syscalls.h>
#include <uaccess.h>
#include "../lib/pure/fsutil.h"

/* The start directory for a path: the root for absolute paths, else dirfd. */
static int path_start(int dirfd, struct kpath *kp, struct inode **start)
{
	if (kp->len && kp->s[0] == '/') {
		*start = fs_root();
		return 0;
	}
	return dirfd_inode(dirfd, start);
}

/* getname + path_start + path_parent, for the calls that create or remove names. */
static int user_parent(int dirfd, uint64_t upath, struct kpath *kp, struct nameidata *nd)
{
	int r = getname(upath, kp);
	if (r)
		return r;
	struct inode *start;
	if (!(r = path_start(dirfd, kp, &start))) {
		if (kp->len == 0)
			r = -ENOENT;
		else {
			nd->nlinks = nd->depth = 0;
			r = path_parent(start, kp->s, kp->len, nd);
		}
	}
	if (r)
		putname(kp);
	return r;
}

static inline uint32_t cur_umask(void) { return current_proc()->umask; }

/* ---- open ------------------------------------------------------------------ */

static int open_inode(struct inode *start, const char *path, size_t len, int flags,
		      mode_t mode, struct inode **out)
{
	struct nameidata nd = { .nlinks = 0 };
	bool must_dir = false;
	if (len == 0)
		return -ENOENT;
	for (;;) {
		int r = path_parent(start, path, len, &nd);
		if (r)
			return r;
		struct inode *ip;
		lookup_last(&nd, &ip);
		must_dir |= nd.slash;
		if (!ip) {
			if (!(flags & O_CREAT))
				return -ENOENT;
			if (must_dir)
				return -EISDIR;
			if (nd.dir->kind != I_DIR)
				return -EACCES;
			if (nd.dir->nlink == 0)
				return -ENOENT;     /* a removed directory */
			ip = inode_alloc(I_REG, S_IFREG | (mode & ~cur_umask() & 07777));
			if (!ip)
				return -ENOMEM;
			r = dir_link_hashed(nd.dir, nd.last, nd.lastlen, nd.hash, ip, false);
			if (r) {
				kfree(ip);
				return r;
			}
			*out = ip;
			return 1;            /* created */
		}
		if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			return -EEXIST;
		if (S_ISLNK(ip->mode)) {
			if (flags & O_NOFOLLOW) {
				if (!(flags & O_PATH))
					return -ELOOP;
			} else if (ip->kind != I_SYMLINK) {
				r = procfs_follow(ip, &nd.nlinks, &ip);
				if (r)
					return r;
			} else {
				/* Follow by looping, so O_CREAT through a dangling link creates its target. */
				if (++nd.nlinks > SYMLOOP_MAX)
					return -ELOOP;
				if (ip->size == 0)
					return -ENOENT;
				path = ip->u.link.target;
				len = ip->size;
				start = path[0] == '/' ? fs_root() : nd.dir;
				continue;
			}
		}
		if (must_dir && !S_ISDIR(ip->mode))
			return -ENOTDIR;
		*out = ip;
		return 0;
	}
}

static long do_open(int dirfd, uint64_t upath, int flags, mode_t mode)
{
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return -EOPNOTSUPP;
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct kpath kp;
	int r = getname(upath, &kp);
	if (r)
		return r;
	struct inode *start, *ip = NULL;
	r = path_start(dirfd, &kp, &start);
	if (!r)
		r = open_inode(start, kp.s, kp.len, flags, mode, &ip);
	putname(&kp);
	if (r < 0)
		return r;
	bool created = r == 1;
	uint32_t acc = flags & O_ACCMODE;
	if (!(flags & O_PATH)) {
		if ((flags & O_DIRECTORY) && !S_ISDIR(ip->mode))
			return -ENOTDIR;
		if (S_ISDIR(ip->mode) && (acc != O_RDONLY || (flags & (O_CREAT | O_TRUNC))))
			return -EISDIR;
		if (ip->kind == I_DEVICE)
			return -ENXIO;
		if (acc == 3)
			return -EINVAL;
		if ((flags & O_TRUNC) && ip->kind == I_REG && !created && ip->size)
			inode_truncate(ip, 0);
	} else if ((flags & O_DIRECTORY) && !S_ISDIR(ip->mode)) {
		return -ENOTDIR;
	}
	uint32_t fflags = (uint32_t)flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
	struct file *f = file_alloc(ip, fflags | O_LARGEFILE);
	if (!f) {
		inode_release(ip);
		return -ENOMEM;
	}
	if (ip->kind == I_FIFO && !(flags & O_PATH)) {
		r = fifo_open(f);       /* may wait for the other end */
		if (r) {
			file_put(f);
			return r;
		}
	}
	int fd = fd_install(f, 0, flags & O_CLOEXEC);
	if (fd < 0)
		file_put(f);
	return fd;
}

long sys_open(uint64_t path, int flags, mode_t mode) { return do_open(AT_FDCWD, path, flags, mode); }
long sys_openat(int dirfd, uint64_t path, int flags, mode_t mode) { return do_open(dirfd, path, flags, mode); }
long sys_creat(uint64_t path, mode_t mode) { return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

/* ---- stat ------------------------------------------------------------------ */

long sys_newfstatat(int dirfd, uint64_t path, uint64_t st, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	struct inode *ip;
	int lf = (flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW) | (flags & AT_EMPTY_PATH ? LOOKUP_EMPTY : 0);
	int r = user_path_at(dirfd, path, lf, &ip);
	if (r)
		return r;
	return stat_to_user(ip, st);
}

long sys_stat(uint64_t path, uint64_t st) { return sys_newfstatat(AT_FDCWD, path, st, 0); }
long sys_lstat(uint64_t path, uint64_t st) { return sys_newfstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW); }

static void ts(struct statx_timestamp *t, uint64_t ns)
{
	t->tv_sec = (int64_t)(ns / 1000000000);
	t->tv_nsec = (uint32_t)(ns % 1000000000);
	t->reserved = 0;
}

long sys_statx(int dirfd, uint64_t path, int flags, unsigned mask, uint64_t ustx)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE || (mask & 0x80000000u))
		return -EINVAL;
	struct inode *ip;
	int lf = (flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW) | (flags & AT_EMPTY_PATH ? LOOKUP_EMPTY : 0);
	int r = user_path_at(dirfd, path, lf, &ip);
	if (r)
		return r;
	struct linux_statx sx;
	uint64_t *w = (uint64_t *)&sx;
	for (size_t i = 0; i < sizeof(sx) / 8; i++)
		w[i] = 0;
	sx.stx_mask = STATX_BASIC_STATS;
	sx.stx_blksize = 4096;
	sx.stx_nlink = ip->nlink ? ip->nlink : ip->kind == I_CONSOLE;
	sx.stx_mode = (uint16_t)ip->mode;
	sx.stx_ino = ip->ino;
	sx.stx_size = ip->size;
	sx.stx_blocks = S_ISREG(ip->mode) ? ALIGN_UP(ip->size, 4096) / 512 : 0;
	ts(&sx.stx_atime, ip->atime_ns);
	ts(&sx.stx_ctime, ip->ctime_ns);
	ts(&sx.stx_mtime, ip->mtime_ns);
	sx.stx_rdev_major = (ip->rdev >> 8) & 0xfff;
	sx.stx_rdev_minor = (ip->rdev & 0xff) | ((ip->rdev >> 12) & ~0xffu);
	sx.stx_dev_major = 0;
	sx.stx_dev_minor = 0x16;
	return copy_to_user(ustx, &sx, sizeof(sx));
}

/* ---- working directory ----------------------------------------------------- */

long sys_getcwd(uint64_t buf, size_t size)
{
	struct inode *ip = proc_cwd(current_proc());
	char small[256];
	char *k = small;
	long r = inode_path(ip, small, sizeof(small));
	if (r == -ERANGE) {
		k = pathbuf_alloc();
		if (!k)
			return -ENOMEM;
		r = inode_path(ip, k, PATH_MAX);
		if (r == -ERANGE)
			r = -ENAMETOOLONG;
	}
	if (r >= 0) {
		if ((size_t)r + 1 > size)
			r = -ERANGE;
		else if (copy_to_user(buf, k, (size_t)r + 1))
			r = -EFAULT;
		else
			r += 1;
	}
	if (k != small)
		pathbuf_free(k);
	return r;
}

static long set_cwd(struct inode *ip)
{
	if (!S_ISDIR(ip->mode))
		return -ENOTDIR;
	struct proc *p = current_proc();
	struct inode *old = p->cwd;
	inode_get(ip);
	p->cwd = ip;
	if (old)
		inode_put(old);
	return 0;
}

long sys_chdir(uint64_t path)
{
	struct inode *ip;
	int r = user_path_at(AT_FDCWD, path, LOOKUP_FOLLOW, &ip);
	return r ? r : set_cwd(ip);
}

long sys_fchdir(int fd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	return set_cwd(f->inode);
}

/* ---- access, readlink ------------------------------------------------------ */

#define X_OK 1
#define W_OK 2
#define R_OK 4

long sys_faccessat2(int dirfd, uint64_t path, int mode, int flags)
{
	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct inode *ip;
	int lf = (flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW) | (flags & AT_EMPTY_PATH ? LOOKUP_EMPTY : 0);
	int r = user_path_at(dirfd, path, lf, &ip);
	if (r)
		return r;
	/* Root may read and write anything; executing needs some x bit (dirs: search). */
	if ((mode & X_OK) && !S_ISDIR(ip->mode) && !(ip->mode & 0111))
		return -EACCES;
	return 0;
}

long sys_faccessat(int dirfd, uint64_t path, int mode) { return sys_faccessat2(dirfd, path, mode, 0); }
long sys_access(uint64_t path, int mode) { return sys_faccessat2(AT_FDCWD, path, mode, 0); }

long sys_readlinkat(int dirfd, uint64_t path, uint64_t buf, size_t size)
{
	if ((int64_t)size <= 0)
		return -EINVAL;
	struct inode *ip;
	int r = user_path_at(dirfd, path, LOOKUP_EMPTY, &ip);
	if (r)
		return r;
	if (!S_ISLNK(ip->mode))
		return -EINVAL;
	if (ip->kind == I_SYMLINK) {
		size_t n = MIN(size, ip->size);
		return copy_to_user(buf, ip->u.link.target, n) ? -EFAULT : (long)n;
	}
	/* /proc/self/exe needs no buffer; cwd and fd links are built in one. */
	char *k = NULL;
	if (ip->kind != I_PROC_EXE && !(k = pathbuf_alloc()))
		return -ENOMEM;
	const char *t;
	long len = procfs_readlink(ip, k, PATH_MAX, &t);
	if (len >= 0) {
		size_t n = MIN(size, (size_t)len);
		len = copy_to_user(buf, t, n) ? -EFAULT : (long)n;
	}
	pathbuf_free(k);
	return len;
}

long sys_readlink(uint64_t path, uint64_t buf, size_t size)
{
	return sys_readlinkat(AT_FDCWD, path, buf, size);
}

/* ---- creating and removing names ------------------------------------------ */

long sys_mkdirat(int dirfd, uint64_t path, mode_t mode)
{
	struct kpath kp;
	struct nameidata nd;
	int r = user_parent(dirfd, path, &kp, &nd);
	if (r)
		return r;
	struct inode *ip;
	if (nd.last_type != LAST_NORM) {
		r = -EEXIST;
	} else if (lookup_last(&nd, &ip), ip) {
		r = -EEXIST;
	} else if (nd.dir->kind != I_DIR) {
		r = -EACCES;
	} else if (nd.dir->nlink == 0) {
		r = -ENOENT;
	} else if (!(ip = inode_alloc(I_DIR, S_IFDIR | (mode & ~cur_umask() & 01777)))) {
		r = -ENOMEM;
	} else if ((r = dir_link_hashed(nd.dir, nd.last, nd.lastlen, nd.hash, ip, false))) {
		kfree(ip);
	}
	putname(&kp);
	return r;
}

long sys_mkdir(uint64_t path, mode_t mode) { return sys_mkdirat(AT_FDCWD, path, mode); }

/* mknod(2): FIFOs, regular files, and device nodes (which open with ENXIO, as archive ones). */
long sys_mknodat(int dirfd, uint64_t path, mode_t mode, unsigned dev)
{
	uint32_t type = mode & S_IFMT;
	uint8_t kind;
	switch (type) {
	case 0:
	case S_IFREG:
		type = S_IFREG;
		kind = I_REG;
		break;
	case S_IFIFO:
		kind = I_FIFO;
		break;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFSOCK:
		kind = I_DEVICE;
		break;
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}
	struct kpath kp;
	struct nameidata nd;
	int r = user_parent(dirfd, path, &kp, &nd);
	if (r)
		return r;
	struct inode *ip;
	if (nd.last_type != LAST_NORM) {
		r = -EEXIST;
	} else if (lookup_last(&nd, &ip), ip) {
		r = -EEXIST;
	} else if (nd.slash) {
		r = -ENOENT;
	} else if (nd.dir->kind != I_DIR) {
		r = -EACCES;
	} else if (nd.dir->nlink == 0) {
		r = -ENOENT;
	} else if (!(ip = inode_alloc(kind, type | (mode & ~cur_umask() & 07777)))) {
		r = -ENOMEM;
	} else {
		if (kind == I_DEVICE)
			ip->rdev = dev;
		if ((r = dir_link_hashed(nd.dir, nd.last, nd.lastlen, nd.hash, ip, false)))
			kfree(ip);
	}
	putname(&kp);
	return r;
}

long sys_mknod(uint64_t path, mode_t mode, unsigned dev) { return sys_mknodat(AT_FDCWD, path, mode, dev); }

static long do_unlink(int dirfd, uint64_t path, bool rmdir)
{
	struct kpath kp;
	struct nameidata nd;
	int r = user_parent(dirfd, path, &kp, &nd);
	if (r)
		return r;
	struct dentry *d = NULL;
	if (nd.last_type != LAST_NORM) {
		if (!rmdir)
			r = -EISDIR;
		else
			r = nd.last_type == LAST_DOT ? -EINVAL
			  : nd.last_type == LAST_DOTDOT ? -ENOTEMPTY : -EBUSY;
	} else if (nd.dir->kind != I_DIR) {
		r = nd.dir->kind == I_PROC_FDDIR ? -EACCES : -ENOENT;
	} else if (!(d = dir_find(nd.dir, nd.last, nd.lastlen, nd.hash))) {
		r = -ENOENT;
	} else if (rmdir) {
		if (!S_ISDIR(d->inode->mode))
			r = -ENOTDIR;
		else if (d->inode->kind != I_DIR || !dir_empty(d->inode))
			r = -ENOTEMPTY;
	} else {
		if (S_ISDIR(d->inode->mode))
			r = -EISDIR;
		else if (nd.slash)
			r = -ENOTDIR;
	}
	if (!r) {
		struct inode *ip = d->inode;
		dir_unlink(d);
		inode_release(ip);
	}
	putname(&kp);
	return r;
}

long sys_unlinkat(int dirfd, uint64_t path, int flags)
{
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	return do_unlink(dirfd, path, flags & AT_REMOVEDIR);
}

long sys_unlink(uint64_t path) { return do_unlink(AT_FDCWD, path, false); }
long sys_rmdir(uint64_t path) { return do_unlink(AT_FDCWD, path, true); }

#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE  2

/* Is dir ip, or is it below it? */
static bool is_under(struct inode *dir, struct inode *ip)
{
	struct inode *root = fs_root();
	for (struct inode *p = dir;; p = p->u.dir.parent) {
		if (p == ip)
			return true;
		if (p == root || !p->dentry)
			return false;
	}
}

long sys_renameat2(int olddirfd, uint64_t oldpath, int newdirfd, uint64_t newpath, unsigned flags)
{
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	struct kpath ok, nk;
	struct nameidata on, nn;
	int r = user_parent(olddirfd, oldpath, &ok, &on);
	if (r)
		return r;
	r = user_parent(newdirfd, newpath, &nk, &nn);
	if (r) {
		putname(&ok);
		return r;
	}
	struct dentry *od = NULL, *vd = NULL;
	if (on.last_type != LAST_NORM || nn.last_type != LAST_NORM) {
		r = (flags & RENAME_NOREPLACE) && nn.last_type != LAST_NORM ? -EEXIST : -EBUSY;
		goto out;
	}
	if (on.dir->kind != I_DIR || nn.dir->kind != I_DIR) {
		r = -EACCES;
		goto out;
	}
	od = dir_find(on.dir, on.last, on.lastlen, on.hash);
	if (!od) {
		r = -ENOENT;
		goto out;
	}
	struct inode *oi = od->inode;
	vd = dir_find(nn.dir, nn.last, nn.lastlen, nn.hash);
	struct inode *vi = vd ? vd->inode : NULL;
	if (flags & RENAME_EXCHANGE) {
		if (!vd) {
			r = -ENOENT;
		} else if ((S_ISDIR(oi->mode) && is_under(nn.dir, oi)) ||
			   (S_ISDIR(vi->mode) && is_under(on.dir, vi))) {
			r = -EINVAL;
		} else if (oi != vi) {
			dir_exchange(od, vd);
		}
		goto out;
	}
	if (!S_ISDIR(oi->mode) && (on.slash || nn.slash)) {
		r = -ENOTDIR;
		goto out;
	}
	if (vi == oi)
		goto out;                     /* the same file: nothing to do */
	if (vd && (flags & RENAME_NOREPLACE)) {
		r = -EEXIST;
		goto out;
	}
	if (S_ISDIR(oi->mode) && is_under(nn.dir, oi)) {
		r = -EINVAL;
		goto out;
	}
	if (vi) {
		if (S_ISDIR(oi->mode) && !S_ISDIR(vi->mode))
			r = -ENOTDIR;
		else if (!S_ISDIR(oi->mode) && S_ISDIR(vi->mode))
			r = -EISDIR;
		else if (S_ISDIR(vi->mode) && (vi->kind != I_DIR || !dir_empty(vi)))
			r = -ENOTEMPTY;
		if (r)
			goto out;
	}
	if (nn.dir->nlink == 0) {
		r = -ENOENT;
		goto out;
	}
	r = dir_rename(od, nn.dir, nn.last, nn.lastlen, vd);
out:
	putname(&nk);
	putname(&ok);
	return r;
}

long sys_renameat(int olddirfd, uint64_t oldpath, int newdirfd, uint64_t newpath)
{
	return sys_renameat2(olddirfd, oldpath, newdirfd, newpath, 0);
}

long sys_rename(uint64_t oldpath, uint64_t newpath)
{
	return sys_renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

/* ---- attributes ------------------------------------------------------------ */

long sys_truncate(uint64_t path, off_t len)
{
	if (len < 0)
		return -EINVAL;
	struct inode *ip;
	int r = user_path_at(AT_FDCWD, path, LOOKUP_FOLLOW, &ip);
	if (r)
		return r;
	if (S_ISDIR(ip->mode))
		return -EISDIR;
	if (ip->kind != I_REG)
		return -EINVAL;
	return inode_truncate(ip, (uint64_t)len);
}

long sys_umask(mode_t mask)
{
	struct proc *p = current_proc();
	long old = p->umask;
	p->umask = mask & 0777;
	return old;
}

static long set_mode(struct inode *ip, mode_t mode)
{
	ip->mode = (ip->mode & S_IFMT) | (mode & 07777);
	ip->ctime_ns = fs_now();
	return 0;
}

long sys_fchmodat(int dirfd, uint64_t path, mode_t mode)
{
	struct inode *ip;
	int r = user_path_at(dirfd, path, LOOKUP_FOLLOW, &ip);
	return r ? r : set_mode(ip, mode);
}

long sys_chmod(uint64_t path, mode_t mode) { return sys_fchmodat(AT_FDCWD, path, mode); }

long sys_fchmod(int fd, mode_t mode)
{
	struct file *f = fd_get(fd);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	return set_mode(f->inode, mode);
}

/* ---- links, times, owners, file system info -------------------------------- */

long sys_symlinkat(uint64_t utarget, int newdirfd, uint64_t linkpath)
{
	struct kpath tk, kp;
	struct nameidata nd;
	int r = getname(utarget, &tk);
	if (r)
		return r;
	if (tk.len == 0) {
		putname(&tk);
		return -ENOENT;
	}
	r = user_parent(newdirfd, linkpath, &kp, &nd);
	if (r) {
		putname(&tk);
		return r;
	}
	struct inode *ip;
	char *target = NULL;
	if (nd.last_type != LAST_NORM || (lookup_last(&nd, &ip), ip)) {
		r = -EEXIST;
	} else if (nd.dir->kind != I_DIR) {
		r = -EACCES;
	} else if (nd.dir->nlink == 0) {
		r = -ENOENT;
	} else if (!(target = pathbuf_alloc()) || !(ip = inode_alloc(I_SYMLINK, S_IFLNK | 0777))) {
		pathbuf_free(target);
		r = -ENOMEM;
	} else {
		kmem_copy(target, tk.s, tk.len);
		ip->u.link.target = target;
		ip->u.link.owned = true;
		ip->size = tk.len;
		if ((r = dir_link_hashed(nd.dir, nd.last, nd.lastlen, nd.hash, ip, false))) {
			inode_free_data(ip);
			kfree(ip);
		}
	}
	putname(&kp);
	putname(&tk);
	return r;
}

long sys_symlink(uint64_t target, uint64_t linkpath) { return sys_symlinkat(target, AT_FDCWD, linkpath); }

long sys_linkat(int olddirfd, uint64_t oldpath, int newdirfd, uint64_t newpath, int flags)
{
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct inode *ip;
	int lf = (flags & AT_SYMLINK_FOLLOW ? LOOKUP_FOLLOW : 0) | (flags & AT_EMPTY_PATH ? LOOKUP_EMPTY : 0);
	int r = user_path_at(olddirfd, oldpath, lf, &ip);
	if (r)
		return r;
	if (S_ISDIR(ip->mode))
		return -EPERM;
	if (ip->nlink == 0 || ip->kind >= I_PROC_EXE)
		return -ENOENT;
	struct kpath kp;
	struct nameidata nd;
	if ((r = user_parent(newdirfd, newpath, &kp, &nd)))
		return r;
	struct inode *cur;
	if (nd.last_type != LAST_NORM || (lookup_last(&nd, &cur), cur))
		r = -EEXIST;
	else if (nd.dir->kind != I_DIR)
		r = -EACCES;
	else if (nd.dir->nlink == 0)
		r = -ENOENT;
	else if (nd.slash)
		r = -ENOENT;
	else
		r = dir_link_hashed(nd.dir, nd.last, nd.lastlen, nd.hash, ip, false);
	putname(&kp);
	return r;
}

long sys_link(uint64_t oldpath, uint64_t newpath)
{
	return sys_linkat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

#define UTIME_NOW  ((1l << 30) - 1)
#define UTIME_OMIT ((1l << 30) - 2)

long sys_utimensat(int dirfd, uint64_t path, uint64_t utimes, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	int64_t ts[4];               /* atime {sec, nsec}, mtime {sec, nsec} */
	if (utimes) {
		if (copy_from_user(ts, utimes, sizeof(ts)))
			return -EFAULT;
		for (int i = 0; i < 2; i++)
			if (ts[2 * i + 1] != UTIME_NOW && ts[2 * i + 1] != UTIME_OMIT &&
			    (ts[2 * i + 1] < 0 || ts[2 * i + 1] >= 1000000000))
				return -EINVAL;
	}
	struct inode *ip;
	int r;
	if (path == 0) {             /* futimens: the dirfd itself */
		struct file *f = fd_get(dirfd);
		if (!f)
			return dirfd == AT_FDCWD ? -EFAULT : -EBADF;
		ip = f->inode;
	} else {
		int lf = (flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW) | (flags & AT_EMPTY_PATH ? LOOKUP_EMPTY : 0);
		if ((r = user_path_at(dirfd, path, lf, &ip)))
			return r;
	}
	uint64_t now = fs_now();
	for (int i = 0; i < 2; i++) {
		uint64_t *t = i ? &ip->mtime_ns : &ip->atime_ns;
		if (!utimes || ts[2 * i + 1] == UTIME_NOW)
			*t = now;
		else if (ts[2 * i + 1] != UTIME_OMIT)
			*t = (uint64_t)ts[2 * i] * 1000000000ull + (uint64_t)ts[2 * i + 1];
	}
	ip->ctime_ns = now;
	return 0;
}

/* Everyone is root and every file belongs to root: chown checks the path, changes nothing. */
long sys_fchownat(int dirfd, uint64_t path, uid_t uid, gid_t gid, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct inode *ip;
	int lf = (flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW) | (flags & AT_EMPTY_PATH ? LOOKUP_EMPTY : 0);
	return user_path_at(dirfd, path, lf, &ip);
}

long sys_chown(uint64_t path, uid_t uid, gid_t gid) { return sys_fchownat(AT_FDCWD, path, uid, gid, 0); }
long sys_lchown(uint64_t path, uid_t uid, gid_t gid) { return sys_fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW); }
long sys_fchown(int fd, uid_t uid, gid_t gid) { return fd_get(fd) ? 0 : -EBADF; }

/* struct statfs of Linux x86-64 (asm-generic/statfs.h, 64-bit fields). */
struct linux_statfs {
	int64_t f_type, f_bsize;
	uint64_t f_blocks, f_bfree, f_bavail, f_files, f_ffree;
	int32_t f_fsid[2];
	int64_t f_namelen, f_frsize, f_flags, f_spare[4];
};
_Static_assert(sizeof(struct linux_statfs) == 120, "struct statfs");

static long statfs_to_user(uint64_t ubuf)
{
	struct linux_statfs s;
	uint64_t *w = (uint64_t *)&s;
	for (size_t i = 0; i < sizeof(s) / 8; i++)
		w[i] = 0;
	uint64_t free = pages_free();
	s.f_type = 0x01021994;       /* TMPFS_MAGIC */
	s.f_bsize = s.f_frsize = 4096;
	s.f_blocks = free + (boot_info->mem_size >> 14);   /* a plausible total */
	s.f_bfree = s.f_bavail = free;
	s.f_files = s.f_blocks;
	s.f_ffree = free;
	s.f_namelen = NAME_MAX;
	return copy_to_user(ubuf, &s, sizeof(s));
}

long sys_statfs(uint64_t path, uint64_t buf)
{
	struct inode *ip;
	int r = user_path_at(AT_FDCWD, path, LOOKUP_FOLLOW, &ip);
	return r ? r : statfs_to_user(buf);
}

long sys_fstatfs(int fd, uint64_t buf)
{
	return fd_get(fd) ? statfs_to_user(buf) : -EBADF;
}
