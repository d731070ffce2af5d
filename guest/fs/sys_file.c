/*
 * The fd syscalls: read/write and their vector and positioned forms, lseek,
 * close, dup*, fcntl, ioctl, fstat, getdents64, ftruncate, fsync.
 * Regular-file data moves between the file's physical pages and the user's
 * (user_segs) with pmem_copy: one copy per contiguous run, no byte loops.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <syscalls.h>
#include <uaccess.h>
#include "../lib/pure/fsutil.h"

#define MAX_RW_COUNT 0x7ffff000ull   /* Linux: INT_MAX & PAGE_MASK */
#define IOV_MAX 1024
#define FD_CLOEXEC 1

/* ---- the data path --------------------------------------------------------- */

static ssize_t reg_rw(struct inode *ip, const struct kiovec *iov, int cnt, bool write,
		      uint64_t *posp)
{
	uint64_t pos = *posp;
	ssize_t total = 0;
	for (int i = 0; i < cnt; i++) {
		uint64_t addr = iov[i].base, rem = iov[i].len;
		if (!write)
			rem = pos < ip->size ? MIN(rem, ip->size - pos) : 0;
		while (rem) {
			struct kvmbox_seg segs[8];
			unsigned nr = 0;
			long r = user_segs(addr, rem, !write, segs, 8, &nr);
			if (r < 0)
				goto out_fault;
			for (unsigned s = 0; s < nr; s++) {
				ssize_t n = write ? inode_write_phys(ip, pos, segs[s].len, segs[s].gpa)
						  : inode_read_phys(ip, pos, segs[s].len, segs[s].gpa);
				if (n < 0) {
					if (!total)
						total = n;
					goto out;
				}
				pos += (uint64_t)n;
				total += n;
				if ((uint64_t)n < segs[s].len)
					goto out;
			}
			addr += (uint64_t)r;
			rem -= (uint64_t)r;
		}
	}
	goto out;
out_fault:
	if (!total)
		total = -EFAULT;
out:
	if (write && total > 0)
		ip->mtime_ns = ip->ctime_ns = fs_now();
	*posp = pos;
	return total;
}

/* Read or write iov on f at *posp (the file position unless pread/pwrite). */
static ssize_t file_rw(struct file *f, const struct kiovec *iov, int cnt, bool write,
		       uint64_t *posp)
{
	uint32_t acc = f->flags & O_ACCMODE;
	if ((f->flags & O_PATH) || (write ? acc == O_RDONLY : acc == O_WRONLY))
		return -EBADF;
	if (f->ops)
		return f->ops->rw ? f->ops->rw(f, iov, cnt, write) : -EINVAL;
	struct inode *ip = f->inode;
	switch (ip->kind) {
	case I_REG:
		if (write && (f->flags & O_APPEND))
			*posp = ip->size;
		return reg_rw(ip, iov, cnt, write, posp);
	case I_CONSOLE:
		return console_rw(f, iov, cnt, write);
	case I_NULL:
	case I_ZERO:
	case I_RANDOM:
		return dev_rw(f, iov, cnt, write);
	case I_BLOCK:
		return blk_rw(f, iov, cnt, write, posp);
	case I_PROC_MAPS:
		return write ? -EINVAL : procfs_maps_read(iov, cnt, posp);
	case I_DIR:
	case I_PROC_FDDIR:
		return -EISDIR;
	}
	return -EINVAL;
}

static inline bool seekable(struct file *f)
{
	return f->inode->kind != I_CONSOLE && !f->ops && f->inode->kind != I_FIFO;
}

static long do_rw(int fd, uint64_t buf, size_t count, bool write)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (f->ops && f->ops->rw1) {
		/* Files with ops never have O_PATH; only the direction is left to check. */
		uint32_t acc = f->flags & O_ACCMODE;
		if (write ? acc == O_RDONLY : acc == O_WRONLY)
			return -EBADF;
		return f->ops->rw1(f, buf, MIN(count, MAX_RW_COUNT), write);
	}
	struct kiovec v = { buf, MIN(count, MAX_RW_COUNT) };
	uint64_t pos = (uint64_t)f->pos;
	ssize_t r = file_rw(f, &v, 1, write, &pos);
	f->pos = (off_t)pos;
	return r;
}

long sys_read(int fd, uint64_t buf, size_t count) { return do_rw(fd, buf, count, false); }
long sys_write(int fd, uint64_t buf, size_t count) { return do_rw(fd, buf, count, true); }

static long do_pio(int fd, uint64_t buf, size_t count, off_t off, bool write)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	if (!seekable(f))
		return -ESPIPE;
	struct kiovec v = { buf, MIN(count, MAX_RW_COUNT) };
	uint64_t pos = (uint64_t)off;
	/* Linux appends on pwrite to an O_APPEND file too; pos is local either way. */
	return file_rw(f, &v, 1, write, &pos);
}

long sys_pread64(int fd, uint64_t buf, size_t count, off_t off)
{
	return do_pio(fd, buf, count, off, false);
}

long sys_pwrite64(int fd, uint64_t buf, size_t count, off_t off)
{
	return do_pio(fd, buf, count, off, true);
}

/* readv/writev: the iovec array comes in in chunks; the console gets a whole
 * chunk per hypercall (musl's stdio writes with writev of two). */
static long do_rwv(int fd, uint64_t uiov, int iovcnt, bool write)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	struct kiovec kv[32];
	uint64_t pos = (uint64_t)f->pos, sum = 0;
	ssize_t total = 0;
	for (int i = 0; i < iovcnt;) {
		int n = MIN(iovcnt - i, (int)ARRAY_SIZE(kv));
		if (copy_from_user(kv, uiov + (uint64_t)i * sizeof(struct kiovec), n * sizeof(struct kiovec))) {
			total = total ? total : -EFAULT;
			break;
		}
		uint64_t want = 0;
		for (int k = 0; k < n; k++) {
			if ((int64_t)kv[k].len < 0 || (sum += kv[k].len) > (uint64_t)INT64_MAX)
				return total ? total : -EINVAL;
			want += kv[k].len;
		}
		ssize_t r = file_rw(f, kv, n, write, &pos);
		if (r < 0) {
			total = total ? total : r;
			break;
		}
		total += r;
		if ((uint64_t)r < want || (!write && r > 0 && (f->inode->kind == I_CONSOLE || f->ops)))
			break;
		i += n;
	}
	f->pos = (off_t)pos;
	return total;
}

long sys_readv(int fd, uint64_t iov, int iovcnt) { return do_rwv(fd, iov, iovcnt, false); }
long sys_writev(int fd, uint64_t iov, int iovcnt) { return do_rwv(fd, iov, iovcnt, true); }

/* ---- positions, descriptors ---------------------------------------------- */

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define SEEK_DATA 3
#define SEEK_HOLE 4

long sys_lseek(int fd, off_t off, int whence)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	struct inode *ip = f->inode;
	if (!seekable(f))
		return -ESPIPE;
	if (ip->kind == I_NULL || ip->kind == I_ZERO || ip->kind == I_RANDOM) {
		f->pos = 0;
		return 0;
	}
	int64_t base;
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = f->pos;
		break;
	case SEEK_END:
		if (S_ISDIR(ip->mode))
			return -EINVAL;
		base = (int64_t)ip->size;
		if (ip->kind == I_BLOCK && (base = blk_size(ip)) < 0)
			return base; /* a disk's size is the device's, not the inode's (0, as on Linux) */
		break;
	case SEEK_DATA:
	case SEEK_HOLE:
		if (S_ISDIR(ip->mode))
			return -EINVAL;
		if (off < 0 || (uint64_t)off >= ip->size)
			return -ENXIO;
		if (whence == SEEK_HOLE)
			off = (off_t)ip->size;
		base = 0;
		break;
	default:
		return -EINVAL;
	}
	int64_t np;
	if (__builtin_add_overflow(base, off, &np) || np < 0)
		return -EINVAL;
	f->pos = np;
	return np;
}

long sys_close(int fd) { return fd_close(fd); }

/* Put f at exactly newfd (dup2/dup3), closing what was there. */
static long fd_replace(int newfd, struct file *f, bool cloexec)
{
	struct fdtable *t = current_proc()->files;
	struct file *old = t->fd[newfd];
	file_get(f);
	t->fd[newfd] = f;
	fd_set_cloexec(t, newfd, cloexec);
	if (old)
		file_put(old);
	return newfd;
}

static long dup_from(int fd, int minfd, bool cloexec)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (minfd < 0 || minfd >= NR_OPEN)
		return -EINVAL;
	int r = fd_install(f, minfd, cloexec);
	if (r >= 0)
		file_get(f);
	return r;
}

long sys_dup(int fd) { return dup_from(fd, 0, false); }

long sys_dup2(int oldfd, int newfd)
{
	struct file *f = fd_get(oldfd);
	if (!f)
		return -EBADF;
	if ((unsigned)newfd >= NR_OPEN)
		return -EBADF;
	if (oldfd == newfd)
		return newfd;
	return fd_replace(newfd, f, false);
}

long sys_dup3(int oldfd, int newfd, int flags)
{
	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	if (oldfd == newfd)
		return -EINVAL;
	struct file *f = fd_get(oldfd);
	if (!f)
		return -EBADF;
	if ((unsigned)newfd >= NR_OPEN)
		return -EBADF;
	return fd_replace(newfd, f, flags & O_CLOEXEC);
}

#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)

long sys_fcntl(int fd, int cmd, uint64_t arg)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	struct fdtable *t = current_proc()->files;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (arg >= NR_OPEN)
			return -EINVAL;
		return dup_from(fd, (int)arg, cmd == F_DUPFD_CLOEXEC);
	case F_GETFD:
		return fd_is_cloexec(t, fd) ? FD_CLOEXEC : 0;
	case F_SETFD:
		fd_set_cloexec(t, fd, arg & FD_CLOEXEC);
		return 0;
	case F_GETFL:
		return f->flags;
	case F_SETFL:
		if (f->flags & O_PATH)
			return -EBADF;
		f->flags = (f->flags & ~SETFL_MASK) | ((uint32_t)arg & SETFL_MASK);
		return 0;
	case F_SETPIPE_SZ:
	case F_GETPIPE_SZ:
		return pipe_fcntl_size(f, cmd == F_SETPIPE_SZ, arg);
	}
	return -EINVAL;
}

#define FIONBIO  0x5421
#define FIONCLEX 0x5450
#define FIOCLEX  0x5451

long sys_ioctl(int fd, unsigned long cmd, uint64_t arg)
{
	struct file *f = fd_get(fd);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	switch (cmd) {
	case FIOCLEX:
	case FIONCLEX:
		fd_set_cloexec(current_proc()->files, fd, cmd == FIOCLEX);
		return 0;
	case FIONBIO: {
		int32_t on;
		if (copy_from_user(&on, arg, sizeof(on)))
			return -EFAULT;
		if (on)
			f->flags |= O_NONBLOCK;
		else
			f->flags &= ~O_NONBLOCK;
		return 0;
	}
	}
	if (f->ops)
		return f->ops->ioctl ? f->ops->ioctl(f, cmd, arg) : -ENOTTY;
	if (f->inode->kind == I_CONSOLE)
		return console_ioctl(f, cmd, arg);
	if (f->inode->kind == I_BLOCK)
		return blk_ioctl(f, cmd, arg);
	return -ENOTTY;
}

/* ---- stat ------------------------------------------------------------------ */

#define RAMFS_DEV 0x16   /* an anonymous-fs style st_dev, as tmpfs has */

void stat_fill(struct inode *ip, struct linux_stat *st)
{
	st->st_dev = RAMFS_DEV;
	st->st_ino = ip->ino;
	st->st_nlink = ip->nlink ? ip->nlink : ip->kind == I_CONSOLE || ip->kind == I_ANON;
	st->st_mode = ip->mode;
	st->st_uid = 0;
	st->st_gid = 0;
	st->pad0 = 0;
	st->st_rdev = ip->rdev;
	st->st_size = (int64_t)ip->size;
	st->st_blksize = 4096;
	st->st_blocks = S_ISREG(ip->mode) ? (int64_t)(ALIGN_UP(ip->size, 4096) / 512) : 0;
	st->st_atime_sec = (int64_t)(ip->atime_ns / 1000000000);
	st->st_atime_nsec = (int64_t)(ip->atime_ns % 1000000000);
	st->st_mtime_sec = (int64_t)(ip->mtime_ns / 1000000000);
	st->st_mtime_nsec = (int64_t)(ip->mtime_ns % 1000000000);
	st->st_ctime_sec = (int64_t)(ip->ctime_ns / 1000000000);
	st->st_ctime_nsec = (int64_t)(ip->ctime_ns % 1000000000);
	st->reserved[0] = st->reserved[1] = st->reserved[2] = 0;
}

long stat_to_user(struct inode *ip, uint64_t ust)
{
	struct linux_stat st;
	stat_fill(ip, &st);
	return copy_to_user(ust, &st, sizeof(st));
}

long sys_fstat(int fd, uint64_t st)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	return stat_to_user(f->inode, st);
}

/* ---- directories ----------------------------------------------------------- */

void dirbuf_init(struct dirbuf *db, uint64_t udst, size_t count)
{
	db->udst = udst;
	db->count = count;
	db->done = db->fill = 0;
	db->err = 0;
	db->full = false;
}

static bool dirbuf_flush(struct dirbuf *db)
{
	if (db->fill && copy_to_user(db->udst + db->done, db->kbuf, db->fill)) {
		db->err = -EFAULT;
		return false;
	}
	db->done += db->fill;
	db->fill = 0;
	return true;
}

bool dirbuf_emit(struct dirbuf *db, uint64_t ino, int64_t off, uint8_t type,
		 const char *name, size_t len)
{
	size_t reclen = dirent64_reclen(len);
	if (db->err || db->done + db->fill + reclen > db->count) {
		db->full = true;
		return false;
	}
	if (db->fill + reclen > sizeof(db->kbuf) && !dirbuf_flush(db)) {
		db->full = true;
		return false;
	}
	db->fill += dirent64_pack(db->kbuf + db->fill, sizeof(db->kbuf) - db->fill, ino, off,
				  type, name, len);
	return true;
}

long dirbuf_finish(struct dirbuf *db)
{
	dirbuf_flush(db);
	if (db->err)
		return db->err;
	if (db->done == 0 && db->full)
		return -EINVAL;
	return (long)db->done;
}

long sys_getdents64(int fd, uint64_t dirp, size_t count)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	struct inode *dir = f->inode;
	if (dir->kind == I_PROC_FDDIR)
		return procfs_getdents(f, dirp, count);
	if (dir->kind != I_DIR)
		return -ENOTDIR;
	struct dirbuf db;
	dirbuf_init(&db, dirp, count);
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
	/* Entries are in seq order; the cookie is the next seq to return. */
	for (struct dentry *d = dir->u.dir.head; d; d = d->next) {
		if ((int64_t)d->seq < pos)
			continue;
		if (!dirbuf_emit(&db, d->inode->ino, (int64_t)d->seq + 1,
				 mode_to_dtype(d->inode->mode), d->name, d->len))
			break;
		pos = (int64_t)d->seq + 1;
	}
out:
	f->pos = pos;
	return dirbuf_finish(&db);
}

/* ---- size and sync --------------------------------------------------------- */

long sys_ftruncate(int fd, off_t len)
{
	struct file *f = fd_get(fd);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	if (len < 0)
		return -EINVAL;
	if (f->inode->kind != I_REG || (f->flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	return inode_truncate(f->inode, (uint64_t)len);
}

/* ramfs data is always "on disk"; a disk's write cache is flushed (VIRTIO_BLK_T_FLUSH). */
long sys_fsync(int fd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	return f->inode->kind == I_BLOCK ? blk_fsync(f) : 0;
}

long sys_fdatasync(int fd) { return sys_fsync(fd); }

/* ---- sendfile and the small ones ------------------------------------------ */

/*
 * sendfile: the source file's physical pages (archive or private) go to
 * the console as hypercall segments, or into the destination file with
 * pmem_copy: no bounce buffer either way.
 */
long sys_sendfile(int out_fd, int in_fd, uint64_t offp, size_t count)
{
	struct file *in = fd_get(in_fd), *out = fd_get(out_fd);
	if (!in || !out || (in->flags & O_PATH) || (out->flags & O_PATH))
		return -EBADF;
	if ((in->flags & O_ACCMODE) == O_WRONLY || (out->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (in->inode->kind != I_REG || (out->flags & O_APPEND))
		return -EINVAL;
	uint8_t ok = out->inode->kind;
	if (ok != I_REG && ok != I_CONSOLE && ok != I_NULL && ok != I_ZERO && ok != I_RANDOM)
		return -EINVAL;
	int64_t off = in->pos;
	if (offp) {
		if (copy_from_user(&off, offp, sizeof(off)))
			return -EFAULT;
		if (off < 0)
			return -EINVAL;
	}
	count = MIN(count, MAX_RW_COUNT);
	ssize_t total = 0;
	while ((size_t)total < count) {
		struct kvmbox_seg segs[KVMBOX_CONSOLE_MAX_SEGS];
		unsigned nr;
		uint64_t want = inode_phys_segs(in->inode, (uint64_t)off, count - (size_t)total,
						segs, ARRAY_SIZE(segs), &nr);
		if (want == 0)
			break;
		ssize_t done = 0;
		if (ok == I_CONSOLE) {
			done = console_write_segs(out, segs, nr);
		} else if (ok == I_REG) {
			uint64_t pos = (uint64_t)out->pos;
			for (unsigned s = 0; s < nr; s++) {
				ssize_t n = inode_write_phys(out->inode, pos, segs[s].len, segs[s].gpa);
				if (n < 0) {
					if (!done)
						done = n;
					break;
				}
				pos += (uint64_t)n;
				done += n;
				if ((uint64_t)n < segs[s].len)
					break;
			}
			out->pos = (off_t)pos;
			if (done > 0)
				out->inode->mtime_ns = out->inode->ctime_ns = fs_now();
		} else {
			done = (ssize_t)want;    /* /dev/null and friends swallow it */
		}
		if (done < 0) {
			if (!total)
				total = done;
			break;
		}
		total += done;
		off += done;
		if ((uint64_t)done < want)
			break;
	}
	if (total >= 0 || offp) {
		if (offp) {
			if (copy_to_user(offp, &off, sizeof(off)))
				return -EFAULT;
		} else {
			in->pos = off;
		}
	}
	return total;
}

#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4
#define LOCK_UN 8

/* One process at a time: every lock is granted. */
long sys_flock(int fd, int op)
{
	if (!fd_get(fd))
		return -EBADF;
	int kind = op & ~LOCK_NB;
	if (kind != LOCK_SH && kind != LOCK_EX && kind != LOCK_UN)
		return -EINVAL;
	return 0;
}

long sys_fadvise64(int fd, off_t off, off_t len, int advice)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (!seekable(f))
		return -ESPIPE;
	if (advice < 0 || advice > 5 || len < 0)
		return -EINVAL;
	return 0;
}

long sys_fallocate(int fd, int mode, off_t off, off_t len)
{
	struct file *f = fd_get(fd);
	if (!f || (f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~1)               /* only FALLOC_FL_KEEP_SIZE */
		return -EOPNOTSUPP;
	if (!seekable(f))
		return -ESPIPE;
	if (f->inode->kind != I_REG)
		return S_ISDIR(f->inode->mode) ? -EISDIR : -ENODEV;
	uint64_t end;
	if (__builtin_add_overflow((uint64_t)off, (uint64_t)len, &end) || end > FILE_SIZE_MAX)
		return -EFBIG;
	if (!(mode & 1) && end > f->inode->size)
		return inode_truncate(f->inode, end);
	return 0;
}

long sys_sync(void) { return 0; }
long sys_syncfs(int fd) { return fd_get(fd) ? 0 : -EBADF; }
