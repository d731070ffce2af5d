/*
 * Unpack the initramfs (cpio newc at boot_info->initrd_start) into ramfs on
 * first path lookup. Nothing is copied: names, symlink targets and file data
 * point into the archive; inodes and dentries come from the fs arena.
 * Members are usually grouped by directory, so the last parent is cached.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <mm.h>
#include <platform.h>
#include "../lib/pure/fsutil.h"

/* The directory for path[0, len) (relative to root), created as needed. */
static struct inode *parent_dir(struct inode *root, const char *path, size_t len, uint64_t mtime_ns)
{
	struct inode *dir = root;
	size_t i = 0;
	while (i < len) {
		size_t s = i;
		while (i < len && path[i] != '/')
			i++;
		size_t clen = i - s;
		while (i < len && path[i] == '/')
			i++;
		if (clen == 0 || (clen == 1 && path[s] == '.'))
			continue;
		if (clen > NAME_MAX)
			return NULL;
		struct inode *next;
		if (clen == 2 && path[s] == '.' && path[s + 1] == '.') {
			next = dir->u.dir.parent;
		} else {
			struct dentry *d = dir_find(dir, path + s, clen, fs_hash_name(path + s, clen));
			if (d) {
				next = d->inode;
				if (S_ISLNK(next->mode) &&
				    path_lookup_at(dir, path + s, clen, LOOKUP_FOLLOW, &next))
					return NULL;
			} else {
				next = inode_alloc_static(I_DIR, S_IFDIR | 0755);
				if (!next || dir_link(dir, path + s, clen, next, true))
					return NULL;
				next->mtime_ns = next->ctime_ns = next->atime_ns = mtime_ns;
			}
		}
		if (next->kind != I_DIR)
			return NULL;
		dir = next;
	}
	return dir;
}

/* Device nodes we implement ourselves, by Linux major:minor. */
static struct inode *special_node(uint32_t major, uint32_t minor, uint32_t mode)
{
	uint8_t kind = (mode & S_IFMT) == S_IFIFO ? I_FIFO : I_DEVICE;
	if ((mode & S_IFMT) == S_IFCHR) {
		if (major == 5 && minor <= 1)
			return &console_inode;
		if (major == 1 && minor == 3)
			kind = I_NULL;
		else if (major == 1 && minor == 5)
			kind = I_ZERO;
		else if (major == 1 && (minor == 8 || minor == 9))
			kind = I_RANDOM;
	}
	struct inode *ip = inode_alloc_static(kind, mode);
	if (ip)
		ip->rdev = (uint32_t)linux_makedev(major, minor);
	return ip;
}

void initramfs_unpack(struct inode *root)
{
	if (!boot_info || !boot_info->initrd_size)
		return;
	const uint8_t *base = P2V(boot_info->initrd_start);
	size_t len = boot_info->initrd_size, off = 0;
	struct cpio_entry e;
	const char *cached = NULL;        /* the last parent path and its inode */
	size_t cached_len = 0;
	struct inode *cached_dir = root;

	while (cpio_next_fast(base, len, &off, &e) == 1) {
		const char *name = e.name;
		size_t n = e.namelen;
		uint64_t mtime = (uint64_t)e.mtime * 1000000000ull;
		for (;;) {                    /* strip "/" and "./" prefixes */
			if (n && name[0] == '/') {
				name++, n--;
			} else if (n >= 2 && name[0] == '.' && name[1] == '/') {
				name += 2, n -= 2;
			} else {
				break;
			}
		}
		while (n && name[n - 1] == '/')
			n--;
		uint32_t type = e.mode & S_IFMT;
		if (n == 0 || (n == 1 && name[0] == '.')) {
			if (type == S_IFDIR) {
				root->mode = S_IFDIR | (e.mode & 07777);
				root->mtime_ns = root->ctime_ns = mtime;
			}
			continue;
		}
		size_t slash = n;
		while (slash && name[slash - 1] != '/')
			slash--;
		const char *bname = name + slash;
		size_t blen = n - slash;
		if (blen > NAME_MAX || (blen == 1 && bname[0] == '.') ||
		    (blen == 2 && bname[0] == '.' && bname[1] == '.'))
			continue;
		size_t plen = slash ? slash - 1 : 0;
		struct inode *dir = root;
		if (plen) {
			if (cached && plen == cached_len && memcmp(cached, name, plen) == 0) {
				dir = cached_dir;
			} else {
				dir = parent_dir(root, name, plen, mtime);
				if (!dir)
					continue;
				cached = name;
				cached_len = plen;
				cached_dir = dir;
			}
		}

		uint32_t hash = fs_hash_name(bname, blen);
		struct dentry *old = dir_find(dir, bname, blen, hash);
		if (old) {
			struct inode *oi = old->inode;
			if (type == S_IFDIR && S_ISDIR(oi->mode)) {
				oi->mode = S_IFDIR | (e.mode & 07777);
				oi->mtime_ns = oi->ctime_ns = oi->atime_ns = mtime;
				continue;
			}
			if (S_ISDIR(oi->mode) && !dir_empty(oi))
				continue;             /* never orphan a populated directory */
			dir_unlink(old);
			inode_release(oi);
			cached = NULL;
		}

		struct inode *ip;
		switch (type) {
		case S_IFREG:
			ip = inode_alloc_static(I_REG, e.mode);
			if (ip) {
				ip->size = e.size;
				ip->u.reg.arch_pa = boot_info->initrd_start + e.data_offset;
				ip->u.reg.arch_len = e.size;
			}
			break;
		case S_IFDIR:
			ip = inode_alloc_static(I_DIR, e.mode);
			break;
		case S_IFLNK:
			ip = inode_alloc_static(I_SYMLINK, e.mode);
			if (ip) {
				ip->size = e.size;
				ip->u.link.target = (const char *)e.data;
			}
			break;
		default:
			ip = special_node(e.rdevmajor, e.rdevminor, e.mode);
			break;
		}
		if (!ip)
			break;                    /* out of memory: stop here */
		if (ip != &console_inode)
			ip->mtime_ns = ip->ctime_ns = ip->atime_ns = mtime;
		dir_link_hashed(dir, bname, blen, hash, ip, true);
	}
}
