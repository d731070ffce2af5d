/* /dev: null, zero, random/urandom, tty and console, and the stdio links. */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <platform.h>
#include <syscalls.h>
#include <uaccess.h>
#include "../lib/pure/fsutil.h"

static void add(struct inode *dir, const char *name, struct inode *ip)
{
	size_t len = strlen(name);
	if (!ip || dir_find(dir, name, len, fs_hash_name(name, len)))
		return;
	dir_link(dir, name, len, ip, true);
}

static struct inode *chr(uint8_t kind, uint32_t major, uint32_t minor)
{
	struct inode *ip = inode_alloc_static(kind, S_IFCHR | 0666);
	if (ip)
		ip->rdev = (uint32_t)linux_makedev(major, minor);
	return ip;
}

static struct inode *symlink(const char *target)
{
	struct inode *ip = inode_alloc_static(I_SYMLINK, S_IFLNK | 0777);
	if (ip) {
		ip->u.link.target = target;
		ip->size = strlen(target);
	}
	return ip;
}

void devfs_populate(struct inode *root)
{
	struct dentry *d = dir_find(root, "dev", 3, fs_hash_name("dev", 3));
	struct inode *dev;
	if (d) {
		dev = d->inode;
		if (!S_ISDIR(dev->mode))
			return;
	} else {
		dev = inode_alloc_static(I_DIR, S_IFDIR | 0755);
		if (!dev || dir_link(root, "dev", 3, dev, true))
			return;
	}
	add(dev, "null", chr(I_NULL, 1, 3));
	add(dev, "zero", chr(I_ZERO, 1, 5));
	add(dev, "random", chr(I_RANDOM, 1, 8));
	add(dev, "urandom", chr(I_RANDOM, 1, 9));
	add(dev, "tty", &console_inode);
	add(dev, "console", &console_inode);   /* last: its name for /proc/self/fd */
	add(dev, "stdin", symlink("/proc/self/fd/0"));
	add(dev, "stdout", symlink("/proc/self/fd/1"));
	add(dev, "stderr", symlink("/proc/self/fd/2"));
	add(dev, "fd", symlink("/proc/self/fd"));
	struct inode *shm = inode_alloc_static(I_DIR, S_IFDIR | 01777);
	add(dev, "shm", shm);
	if (boot_flags & KVMBOX_BOOT_DISKS)
		virtio_blk_populate(dev);
}

/* Reads and writes of /dev/null, /dev/zero and /dev/[u]random. */
ssize_t dev_rw(struct file *f, const struct kiovec *iov, int cnt, bool write)
{
	uint8_t kind = f->inode->kind;
	ssize_t total = 0;
	if (write) {
		for (int i = 0; i < cnt; i++)
			total += (ssize_t)iov[i].len;
		return total;
	}
	if (kind == I_NULL)
		return 0;
	for (int i = 0; i < cnt; i++) {
		uint64_t addr = iov[i].base, rem = iov[i].len;
		while (rem) {
			long n;
			if (kind == I_RANDOM) {
				n = sys_getrandom(addr, rem, 0);
			} else {
				struct kvmbox_seg segs[8];
				unsigned nr = 0;
				n = user_segs(addr, rem, true, segs, 8, &nr);
				for (unsigned s = 0; n > 0 && s < nr; s++)
					inode_zero_phys(segs[s].gpa, segs[s].len);
			}
			if (n <= 0)
				return total ? total : (n ? n : -EFAULT);
			total += n;
			addr += (uint64_t)n;
			rem -= (uint64_t)n;
		}
	}
	return total;
}
