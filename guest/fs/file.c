/*
 * Open files and fd tables: the lowest free fd, close-on-exec bits,
 * reference counts (dup'ed fds and forked tables share a struct file), and
 * the process hooks the rest of the kernel calls (init, fork, exec, exit).
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <mm.h>

/* The first process's table and console files: static, so boot allocates nothing. */
static struct fdtable init_fdtable;
static struct file console_files[3];

struct file *file_alloc(struct inode *ip, uint32_t flags)
{
	struct file *f = kmalloc(sizeof(*f));
	if (!f)
		return NULL;
	f->refs = 1;
	f->flags = flags;
	f->inode = ip;
	f->console_fd = 1;
	f->console_tty = 1;      /* /dev/console, /dev/tty: as stdout */
	inode_get(ip);
	return f;
}

struct file *anon_file_alloc(uint32_t mode, uint32_t flags, const struct file_ops *ops, void *priv)
{
	struct inode *ip = inode_alloc(I_ANON, mode);
	if (!ip)
		return NULL;
	struct file *f = file_alloc(ip, flags);
	if (!f) {
		inode_release(ip);
		return NULL;
	}
	f->ops = ops;
	f->priv = priv;
	return f;
}

void file_get(struct file *f) { f->refs++; }

void file_put(struct file *f)
{
	BUG_ON(f->refs == 0);
	if (--f->refs)
		return;
	if (f->epitems)
		eventpoll_release_file(f);
	if (f->ops && f->ops->release)
		f->ops->release(f);
	inode_put(f->inode);
	if (!f->is_static)
		kfree(f);
}

static inline struct fdtable *cur_files(void) { return current_proc()->files; }

struct file *fd_get(int fd)
{
	if ((unsigned)fd >= NR_OPEN)
		return NULL;
	return cur_files()->fd[fd];
}

void fd_set_cloexec(struct fdtable *t, int fd, bool on)
{
	uint64_t bit = 1ull << (fd % 64);
	if (on)
		t->cloexec[fd / 64] |= bit;
	else
		t->cloexec[fd / 64] &= ~bit;
}

bool fd_is_cloexec(struct fdtable *t, int fd)
{
	return (t->cloexec[fd / 64] >> (fd % 64)) & 1;
}

int fd_install(struct file *f, int minfd, bool cloexec)
{
	struct fdtable *t = cur_files();
	for (int fd = minfd; fd < NR_OPEN; fd++) {
		if (!t->fd[fd]) {
			t->fd[fd] = f;
			fd_set_cloexec(t, fd, cloexec);
			return fd;
		}
	}
	return -EMFILE;
}

int fd_install_new(struct file *f, bool cloexec)
{
	int fd = fd_install(f, 0, cloexec);
	if (fd < 0)
		file_put(f);
	return fd;
}

int fd_close(int fd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	struct fdtable *t = cur_files();
	t->fd[fd] = NULL;
	fd_set_cloexec(t, fd, false);
	file_put(f);
	return 0;
}

/* ---- process hooks --------------------------------------------------------- */

int fs_init_process(struct proc *p, const char *cwd)
{
	struct fdtable *t = &init_fdtable;
	t->refs = 1;
	t->is_static = 1;
	for (int i = 0; i < 3; i++) {
		struct file *f = &console_files[i];
		f->refs = 1;
		f->flags = O_RDWR | O_LARGEFILE;
		f->inode = &console_inode;
		f->console_fd = i == 2 ? 2 : 1;
		f->console_tty = (uint8_t)i;
		f->is_static = 1;
		console_inode.refs++;
		t->fd[i] = f;
	}
	p->files = t;
	p->cwd = NULL;              /* resolved on first use: no unpacking at boot */
	fs_set_boot_cwd(cwd);
	return 0;
}

static struct fdtable *fdtable_copy(struct fdtable *old)
{
	struct fdtable *t = kmalloc(sizeof(*t));
	if (!t)
		return NULL;
	t->refs = 1;
	/* Eight slots at a time: most of the 256 are empty (fork's CPL0 budget). */
	for (int i = 0; i < NR_OPEN; i += 8) {
		struct file *const *s = &old->fd[i];
		if (!((uintptr_t)s[0] | (uintptr_t)s[1] | (uintptr_t)s[2] | (uintptr_t)s[3] |
		      (uintptr_t)s[4] | (uintptr_t)s[5] | (uintptr_t)s[6] | (uintptr_t)s[7]))
			continue;
		for (int j = i; j < i + 8; j++) {
			if (old->fd[j]) {
				t->fd[j] = old->fd[j];
				file_get(t->fd[j]);
			}
		}
	}
	for (int i = 0; i < NR_OPEN / 64; i++)
		t->cloexec[i] = old->cloexec[i];
	return t;
}

static void fdtable_put(struct fdtable *t)
{
	if (--t->refs)
		return;
	for (int i = 0; i < NR_OPEN; i++) {
		if (t->fd[i]) {
			file_put(t->fd[i]);
			t->fd[i] = NULL;
		}
	}
	if (!t->is_static)
		kfree(t);
}

int fs_fork(struct proc *child, struct proc *parent, bool share_files)
{
	if (share_files) {
		child->files = parent->files;
		child->files->refs++;
	} else {
		child->files = fdtable_copy(parent->files);
		if (!child->files)
			return -ENOMEM;
	}
	child->cwd = parent->cwd;
	if (child->cwd)
		inode_get(child->cwd);
	return 0;
}

int fs_exec(struct proc *p)
{
	struct fdtable *t = p->files;
	if (t->refs > 1) {
		struct fdtable *n = fdtable_copy(t);
		if (!n)
			return -ENOMEM;
		fdtable_put(t);
		p->files = t = n;
	}
	for (int w = 0; w < NR_OPEN / 64; w++) {
		while (t->cloexec[w]) {
			int fd = w * 64 + __builtin_ctzll(t->cloexec[w]);
			t->cloexec[w] &= t->cloexec[w] - 1;
			if (t->fd[fd]) {
				file_put(t->fd[fd]);
				t->fd[fd] = NULL;
			}
		}
	}
	return 0;
}

void fs_exit(struct proc *p)
{
	if (p->files)
		fdtable_put(p->files);
	p->files = NULL;
	if (p->cwd)
		inode_put(p->cwd);
	p->cwd = NULL;
}

/* ---- kernel-side file access (mm/, execve) ------------------------------- */

ssize_t file_read_phys(struct file *f, uint64_t pa, size_t len, off_t off)
{
	if (!f)
		return -EBADF;
	if ((f->flags & O_ACCMODE) == O_WRONLY || (f->flags & O_PATH))
		return -EACCES;
	if (f->inode->kind != I_REG)
		return -ENODEV;
	if (off < 0)
		return -EINVAL;
	return inode_read_phys(f->inode, (uint64_t)off, len, pa);
}

int kernel_open(const char *path, struct file **out)
{
	size_t len = strnlen(path, PATH_MAX);
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	struct inode *start = path[0] == '/' ? fs_root() : proc_cwd(current_proc());
	struct inode *ip;
	int r = path_lookup_at(start, path, len, LOOKUP_FOLLOW, &ip);
	if (r)
		return r;
	if (ip->kind != I_REG)
		return -EACCES;
	struct file *f = file_alloc(ip, O_RDONLY | O_LARGEFILE);
	if (!f)
		return -ENOMEM;
	*out = f;
	return 0;
}

ssize_t kernel_read(struct file *f, void *buf, size_t len, off_t off)
{
	return file_read_phys(f, V2P(buf), len, off);
}

long file_path(struct file *f, char *buf, size_t size)
{
	return inode_path(f->inode, buf, size);
}
