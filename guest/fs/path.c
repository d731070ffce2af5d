/*
 * Path lookup: absolute and relative paths, dirfds, "." and "..", symlinks
 * (at most SYMLOOP_MAX followed per lookup: ELOOP), trailing slashes,
 * ENAMETOOLONG, ENOTDIR. A final symlink is followed by looping, not by
 * recursion; only a symlink in the middle of a path recurses (bounded).
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <mm.h>
#include <uaccess.h>
#include "../lib/pure/fsutil.h"

#define NEST_MAX 8   /* symlinks inside symlink targets, nested */

/* PATH_MAX buffers are whole pages (kmalloc stops short of a page); not zeroed. */
char *pathbuf_alloc(void)
{
	uint64_t pa = page_alloc();
	return pa ? P2V(pa) : NULL;
}

void pathbuf_free(char *buf)
{
	if (buf)
		page_put(V2P(buf));
}

int getname(uint64_t upath, struct kpath *kp)
{
	kp->heap = false;
	kp->s = kp->small;
	long r = strncpy_from_user(kp->small, upath, sizeof(kp->small));
	if (r == -ENAMETOOLONG) {
		kp->s = pathbuf_alloc();
		if (!kp->s)
			return -ENOMEM;
		kp->heap = true;
		r = strncpy_from_user(kp->s, upath, PATH_MAX);
	}
	if (r < 0) {
		putname(kp);
		return (int)r;
	}
	kp->len = (size_t)r;
	return 0;
}

void putname(struct kpath *kp)
{
	if (kp->heap)
		pathbuf_free(kp->s);
	kp->heap = false;
}

/* The boot working directory, resolved on first use (fs_init_process). */
static char boot_cwd[KVMBOX_PATH_MAX] = "/";

void fs_set_boot_cwd(const char *cwd)
{
	if (!cwd || cwd[0] != '/')
		return;
	strlcpy(boot_cwd, cwd, sizeof(boot_cwd));
}

/* mkdir -p of an absolute path; the deepest directory, or the root on failure. */
static struct inode *make_dirs(const char *path)
{
	struct inode *dir = fs_root();
	size_t i = 0, len = strlen(path);
	while (i < len) {
		while (i < len && path[i] == '/')
			i++;
		size_t st = i;
		while (i < len && path[i] != '/')
			i++;
		if (i == st)
			break;
		struct inode *next;
		if (path_lookup_at(dir, path + st, i - st, LOOKUP_FOLLOW, &next) == 0) {
			if (!S_ISDIR(next->mode))
				return fs_root();
		} else {
			next = inode_alloc(I_DIR, S_IFDIR | 0755);
			if (!next)
				return fs_root();
			if (dir_link(dir, path + st, i - st, next, false)) {
				kfree(next);
				return fs_root();
			}
		}
		dir = next;
	}
	return dir;
}

struct inode *proc_cwd(struct proc *p)
{
	if (likely(p->cwd))
		return p->cwd;
	struct inode *ip = make_dirs(boot_cwd);
	inode_get(ip);
	p->cwd = ip;
	return ip;
}

int dirfd_inode(int dirfd, struct inode **out)
{
	if (dirfd == AT_FDCWD) {
		*out = proc_cwd(current_proc());
		return 0;
	}
	struct file *f = fd_get(dirfd);
	if (!f)
		return -EBADF;
	if (!S_ISDIR(f->inode->mode))
		return -ENOTDIR;
	*out = f->inode;
	return 0;
}

/* One name in a directory (not "." or ".."), or NULL. */
static struct inode *lookup_one(struct inode *dir, const char *name, size_t len, uint32_t hash)
{
	if (unlikely(dir->kind == I_PROC_FDDIR))
		return procfs_lookup(dir, name, len);
	struct dentry *d = dir_find(dir, name, len, hash);
	return d ? d->inode : NULL;
}

int lookup_last(struct nameidata *nd, struct inode **out)
{
	switch (nd->last_type) {
	case LAST_ROOT:
	case LAST_DOT:
		*out = nd->dir;
		return 0;
	case LAST_DOTDOT:
		*out = nd->dir->u.dir.parent;
		return 0;
	}
	*out = lookup_one(nd->dir, nd->last, nd->lastlen, nd->hash);
	return 0;
}

static int walk(struct inode *start, const char *path, size_t len, int flags,
		struct nameidata *st, struct inode **out);

/* Follow symlink `link` found in `dir`; st carries the link count and nesting. */
static int follow(struct inode *dir, struct inode *link, struct nameidata *st, struct inode **out)
{
	if (++st->nlinks > SYMLOOP_MAX)
		return -ELOOP;
	if (link->kind != I_SYMLINK)
		return procfs_follow(link, &st->nlinks, out);
	if (link->size == 0)
		return -ENOENT;
	if (st->depth >= NEST_MAX)
		return -ELOOP;
	st->depth++;
	const char *t = link->u.link.target;
	int r = walk(t[0] == '/' ? fs_root() : dir, t, link->size, LOOKUP_FOLLOW, st, out);
	st->depth--;
	return r;
}

int follow_link(struct inode *dir, struct inode *link, int *nlinks, struct inode **out)
{
	struct nameidata st = { .nlinks = *nlinks };
	int r = follow(dir, link, &st, out);
	*nlinks = st.nlinks;
	return r;
}

/*
 * Resolve every component but the last: nd->dir is the directory that holds
 * the last one. nd->nlinks and nd->depth are counters the caller set.
 */
int path_parent(struct inode *start, const char *path, size_t len, struct nameidata *nd)
{
	struct inode *cur = start;
	size_t i = 0;
	if (len && path[0] == '/')
		cur = fs_root();
	for (;;) {
		while (i < len && path[i] == '/')
			i++;
		if (i == len) {
			nd->dir = cur;
			nd->last = path + i;
			nd->lastlen = 0;
			nd->hash = 0;
			nd->last_type = LAST_ROOT;
			nd->slash = false;
			return 0;
		}
		size_t s = i;
		uint32_t h = 2166136261u;     /* fs_hash_name, fused with the scan */
		while (i < len && path[i] != '/') {
			h = (h ^ (uint8_t)path[i]) * 16777619u;
			i++;
		}
		size_t clen = i - s;
		if (clen > NAME_MAX)
			return -ENAMETOOLONG;
		size_t j = i;
		while (j < len && path[j] == '/')
			j++;
		int type = LAST_NORM;
		if (path[s] == '.' && clen == 1)
			type = LAST_DOT;
		else if (path[s] == '.' && clen == 2 && path[s + 1] == '.')
			type = LAST_DOTDOT;
		if (j == len) {
			nd->dir = cur;
			nd->last = path + s;
			nd->lastlen = clen;
			nd->hash = h;
			nd->last_type = type;
			nd->slash = i < len;
			return 0;
		}
		struct inode *next;
		if (type == LAST_DOT) {
			next = cur;
		} else if (type == LAST_DOTDOT) {
			next = cur->u.dir.parent;
		} else {
			next = lookup_one(cur, path + s, clen, h);
			if (!next)
				return -ENOENT;
			if (S_ISLNK(next->mode)) {
				int r = follow(cur, next, nd, &next);
				if (r)
					return r;
			}
		}
		if (!S_ISDIR(next->mode))
			return -ENOTDIR;
		cur = next;
		i = j;
	}
}

static int walk(struct inode *start, const char *path, size_t len, int flags,
		struct nameidata *st, struct inode **out)
{
	bool must_dir = false;
	if (len == 0) {
		if (flags & LOOKUP_EMPTY) {
			*out = start;
			return 0;
		}
		return -ENOENT;
	}
	for (;;) {
		struct nameidata nd = { .nlinks = st->nlinks, .depth = st->depth };
		int r = path_parent(start, path, len, &nd);
		st->nlinks = nd.nlinks;
		if (r)
			return r;
		struct inode *ip;
		lookup_last(&nd, &ip);
		if (!ip)
			return -ENOENT;
		must_dir |= nd.slash;
		if (S_ISLNK(ip->mode) && ((flags & LOOKUP_FOLLOW) || must_dir)) {
			if (ip->kind != I_SYMLINK) {
				r = procfs_follow(ip, &st->nlinks, &ip);
				if (r)
					return r;
			} else {
				/* A final symlink: loop on its target instead of recursing. */
				if (++st->nlinks > SYMLOOP_MAX)
					return -ELOOP;
				if (ip->size == 0)
					return -ENOENT;
				path = ip->u.link.target;
				len = ip->size;
				start = path[0] == '/' ? fs_root() : nd.dir;
				flags |= LOOKUP_FOLLOW;
				continue;
			}
		}
		if (must_dir && !S_ISDIR(ip->mode))
			return -ENOTDIR;
		*out = ip;
		return 0;
	}
}

int path_lookup_at(struct inode *start, const char *path, size_t len, int flags,
		   struct inode **out)
{
	struct nameidata st = { .nlinks = 0 };
	return walk(start, path, len, flags, &st, out);
}

int user_path_at(int dirfd, uint64_t upath, int flags, struct inode **out)
{
	struct kpath kp;
	int r;
	if (upath == 0 && (flags & LOOKUP_EMPTY)) {
		kp.s = kp.small;
		kp.len = 0;
		kp.heap = false;
	} else if ((r = getname(upath, &kp))) {
		return r;
	}
	struct inode *start;
	if (kp.len && kp.s[0] == '/') {
		start = fs_root();
	} else if (kp.len == 0 && (flags & LOOKUP_EMPTY) && dirfd != AT_FDCWD) {
		struct file *f = fd_get(dirfd);   /* any kind of file, not only a directory */
		putname(&kp);
		if (!f)
			return -EBADF;
		*out = f->inode;
		return 0;
	} else if ((r = dirfd_inode(dirfd, &start))) {
		putname(&kp);
		return r;
	}
	r = path_lookup_at(start, kp.s, kp.len, flags, out);
	putname(&kp);
	return r;
}

long inode_path(struct inode *ip, char *buf, size_t size)
{
	struct inode *root = fs_root();
	size_t total = 0;
	int hops = 0;
	for (struct inode *p = ip; p != root; p = p->dentry->dir) {
		if (!p->dentry)
			return -ENOENT;
		total += 1 + p->dentry->len;
		if (++hops > PATH_MAX / 2)
			return -ENAMETOOLONG;
	}
	if (total == 0)
		total = 1;                   /* "/" */
	if (total + 1 > size)
		return -ERANGE;
	buf[total] = '\0';
	buf[0] = '/';
	size_t pos = total;
	for (struct inode *p = ip; p != root; p = p->dentry->dir) {
		struct dentry *d = p->dentry;
		pos -= d->len;
		for (size_t k = 0; k < d->len; k++)
			buf[pos + k] = d->name[k];
		buf[--pos] = '/';
	}
	return (long)total;
}
