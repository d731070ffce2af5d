/*
 * virtio-blk driver (virtio spec v1.2, 5.2) and the block device files
 * /dev/vda, /dev/vdb, ... (one per disk, in device-tree order).
 *
 * Zero copy: a request's data descriptors are the program's own pages
 * (user_segs), the header and status byte live on the caller's kernel
 * stack. Bytes that are not whole sectors never go through a CPL0 copy:
 * a read pads the partial sectors with descriptors into a scratch area the
 * device overwrites and nobody reads; a write first reads the partial
 * sector into a per-disk buffer and then sends [buffer head][user
 * bytes][buffer tail] (read-modify-write, serialized per disk).
 * Requests sleep (uninterruptibly) until the interrupt completes them.
 */
#include "virtio_drv.h"
#include "errno.h"
#include "fs.h"
#include "lib.h"
#include "mm.h"
#include "platform.h"
#include "proc.h"
#include "uaccess.h"
#include "../lib/pure/fsutil.h"

#define BLK_QUEUE_SIZE 128
#define SECTOR 512u
#define MAX_DISKS 26            /* vda .. vdz */
#define MAX_CHAINS 8            /* requests one call keeps in flight */
#define VD_MAJOR 254            /* Linux gives virtblk a dynamic major; 254 is the usual one */

struct blkdisk {
	struct virtio_dev *vd;
	unsigned index;
	enum { DISK_UNPROBED, DISK_READY, DISK_BROKEN } state;
	bool ro, flush, discard;
	uint64_t capacity;          /* sectors */
	uint32_t seg_max;           /* data segments per request */
	uint32_t max_discard_sectors, max_discard_seg;
	uint64_t scratch;           /* a page: [0, 512) RMW sector, [512, 1024) read padding */
	bool rmw_busy;              /* a partial-sector write owns scratch[0, 512) */
};

/* One request: header out, status in; on the kernel stack (the direct map: V2P works). */
struct blk_req {
	struct vq_req c;          /* its completion: the token posted */
	struct virtio_blk_outhdr hdr;
	uint8_t status;
};

static struct blkdisk disks[MAX_DISKS];

/* Lazily, at the first use: the spec's initialization (3.1.1) and the configuration (5.2.4). */
static int disk_ready(struct blkdisk *k)
{
	if (likely(k->state == DISK_READY))
		return k->vd->broken ? -EIO : 0;
	if (k->state == DISK_BROKEN)
		return -EIO;
	k->state = DISK_BROKEN;
	struct virtio_dev *d = k->vd;
	uint64_t want = (1ull << VIRTIO_BLK_F_RO) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
			(1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
			(1ull << VIRTIO_BLK_F_DISCARD);
	if (!(k->scratch = page_alloc_zeroed()))
		return -ENOMEM;
	d->priv = k;
	if (virtio_init(d, want, 1, BLK_QUEUE_SIZE, vq_used_wake))
		return -EIO;
	/* 2.5.1: a 64-bit field is read in halves until the generation holds still. */
	uint32_t gen, lo, hi;
	do {
		gen = *(volatile uint32_t *)(d->regs + VIRTIO_MMIO_CONFIG_GENERATION);
		lo = virtio_config_read32(d, 0);
		hi = virtio_config_read32(d, 4);
	} while (gen != *(volatile uint32_t *)(d->regs + VIRTIO_MMIO_CONFIG_GENERATION));
	k->capacity = (uint64_t)hi << 32 | lo;
	k->ro = d->features & (1ull << VIRTIO_BLK_F_RO);
	k->flush = d->features & (1ull << VIRTIO_BLK_F_FLUSH);
	unsigned room = d->vqs[0].num - 2; /* header and status */
	k->seg_max = room;
	if (d->features & (1ull << VIRTIO_BLK_F_SEG_MAX))
		k->seg_max = MIN(room, MAX(1u, virtio_config_read32(d, 12)));
	if (d->features & (1ull << VIRTIO_BLK_F_DISCARD)) {
		k->max_discard_sectors = virtio_config_read32(d, 36);
		k->max_discard_seg = virtio_config_read32(d, 40);
		k->discard = k->max_discard_sectors && k->max_discard_seg;
	}
	k->state = DISK_READY;
	return 0;
}

/* Sleep until every request in r[0, n) is done (or the device broke). */
static void wait_all(struct blkdisk *k, struct blk_req *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vq_wait(k->vd, &r[i].c);
}

/*
 * Post one request. segs[1, 1 + n) is its data; segs[0] and segs[n + 1]
 * are filled here with the header and the status byte, so the chain is
 * one array: header + data device-readable for a write, data + status
 * device-writable for a read. Waits for free descriptors while other
 * threads' requests hold them, unless `mine` (the caller has requests in
 * flight and waits for them first): -ENOSPC.
 */
static int post(struct blkdisk *k, struct blk_req *r, uint32_t type, uint64_t sector,
		struct kvmbox_seg *segs, unsigned n, bool device_writes, bool mine)
{
	r->hdr = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	r->status = 0xff;
	r->c.done = false;
	segs[0] = (struct kvmbox_seg){ V2P(&r->hdr), sizeof(r->hdr) };
	segs[n + 1] = (struct kvmbox_seg){ V2P(&r->status), 1 };
	unsigned n_out = device_writes ? 1 : n + 1;
	struct vq *q = &k->vd->vqs[0];
	while (vq_add(q, segs, n_out, segs + n_out, n + 2 - n_out, &r->c) == -ENOSPC) {
		if (k->vd->broken)
			return -EIO;
		if (mine)
			return -ENOSPC;
		sleep_on(k->vd, false, 0); /* another thread's requests hold the descriptors */
	}
	return 0;
}

/* One request (data in segs[1, 1 + n), see post), kicked and waited for: 0, or -EIO. */
static int request(struct blkdisk *k, uint32_t type, uint64_t sector, struct kvmbox_seg *segs,
		   unsigned n, bool device_writes)
{
	struct blk_req r;
	if (post(k, &r, type, sector, segs, n, device_writes, false))
		return -EIO;
	vq_kick(&k->vd->vqs[0]);
	wait_all(k, &r, 1);
	return r.c.done && r.status == VIRTIO_BLK_S_OK ? 0 : -EIO;
}

/* Drop segments from the end of segs[0, *n) until they cover `keep` bytes. */
static void trim_segs(struct kvmbox_seg *segs, unsigned *n, uint64_t covered, uint64_t keep)
{
	while (*n && covered > keep) {
		uint64_t cut = MIN(covered - keep, segs[*n - 1].len);
		segs[*n - 1].len -= cut;
		covered -= cut;
		if (!segs[*n - 1].len)
			(*n)--;
	}
}

/*
 * Whole sectors: len (a multiple of 512) bytes at sector-aligned pos,
 * straight between the disk and the user's pages, up to MAX_CHAINS
 * requests in flight. Bytes done (whole sectors), or -EFAULT/-EIO.
 */
static long rw_sectors(struct blkdisk *k, uint64_t uaddr, uint64_t len, uint64_t pos, bool write)
{
	struct blk_req r[MAX_CHAINS];
	uint64_t bytes[MAX_CHAINS];
	unsigned posted = 0;
	uint64_t covered = 0;
	bool fault = false;
	while (covered < len && posted < MAX_CHAINS) {
		struct kvmbox_seg segs[BLK_QUEUE_SIZE];
		unsigned n;
		/* A read makes the device write the user's pages: fault them in writable. */
		long got = user_segs(uaddr + covered, len - covered, !write, segs + 1, k->seg_max, &n);
		if (got > 0 && (uint64_t)got % SECTOR) {
			trim_segs(segs + 1, &n, (uint64_t)got, (uint64_t)got & ~(uint64_t)(SECTOR - 1));
			got &= ~(long)(SECTOR - 1);
		}
		if (got <= 0) {
			/* A bad page (or the first sector straddles one): stop at the last good sector. */
			fault = true;
			break;
		}
		if (post(k, &r[posted], write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
			 (pos + covered) / SECTOR, segs, n, !write, posted > 0))
			break;
		bytes[posted++] = (uint64_t)got;
		covered += (uint64_t)got;
	}
	if (posted)
		vq_kick(&k->vd->vqs[0]);
	wait_all(k, r, posted);
	uint64_t done = 0;
	for (unsigned i = 0; i < posted; i++) {
		if (!r[i].c.done || r[i].status != VIRTIO_BLK_S_OK)
			return done ? (long)done : -EIO;
		done += bytes[i];
	}
	if (!done && fault)
		return -EFAULT;
	return (long)done;
}

/*
 * Part of one sector: bytes [off, off + n) of sector `sector` (off + n <=
 * 512) to or from user memory, without a CPL0 copy (see the top of the
 * file). Returns n, or -EFAULT/-EIO/-ENOMEM.
 */
static long rw_partial(struct blkdisk *k, uint64_t uaddr, uint32_t off, uint32_t n, uint64_t sector,
		       bool write)
{
	struct kvmbox_seg user[2], segs[6];
	unsigned nu;
	long got = user_segs(uaddr, n, !write, user, 2, &nu);
	if (got < 0)
		return got;
	if ((uint32_t)got < n)
		return -EFAULT; /* part of the range is bad: do nothing rather than half a sector */
	/* The sector as [head][user bytes][tail] in segs[1, 1 + ns). */
	uint64_t around = write ? k->scratch : k->scratch + SECTOR;
	unsigned ns = 0;
	if (off)
		segs[1 + ns++] = (struct kvmbox_seg){ around, off };
	for (unsigned i = 0; i < nu; i++)
		segs[1 + ns++] = user[i];
	if (off + n < SECTOR)
		segs[1 + ns++] = (struct kvmbox_seg){ around + off + n, SECTOR - off - n };
	if (!write) /* the device writes the padding too; nobody reads it */
		return request(k, VIRTIO_BLK_T_IN, sector, segs, ns, true) ? -EIO : (long)n;
	/* Read-modify-write: the sector's current bytes around the user's, one writer per disk. */
	while (k->rmw_busy)
		sleep_on(&k->rmw_busy, false, 0);
	k->rmw_busy = true;
	struct kvmbox_seg whole[3] = { [1] = { k->scratch, SECTOR } };
	long r = request(k, VIRTIO_BLK_T_IN, sector, whole, 1, true);
	if (!r)
		r = request(k, VIRTIO_BLK_T_OUT, sector, segs, ns, false);
	k->rmw_busy = false;
	wakeup(&k->rmw_busy);
	return r ? r : (long)n;
}

ssize_t blk_rw(struct file *f, const struct kiovec *iov, int cnt, bool write, uint64_t *posp)
{
	struct blkdisk *k = f->inode->u.blk;
	int e = disk_ready(k);
	if (e)
		return e;
	/* Linux's blkdev_write_iter: a read-only disk refuses writes with EPERM. */
	if (write && k->ro)
		return -EPERM;
	uint64_t size = k->capacity * SECTOR, pos = *posp;
	ssize_t total = 0;
	for (int i = 0; i < cnt; i++) {
		uint64_t addr = iov[i].base, rem = iov[i].len;
		if (!rem)
			continue;
		/* As Linux: reads stop at the end of the disk, writes there fail with ENOSPC. */
		if (pos >= size) {
			if (write && !total)
				total = -ENOSPC;
			break;
		}
		rem = MIN(rem, size - pos);
		while (rem) {
			uint32_t off = pos % SECTOR;
			long n;
			if (off || rem < SECTOR)
				n = rw_partial(k, addr, off, (uint32_t)MIN(rem, (uint64_t)(SECTOR - off)),
					       pos / SECTOR, write);
			else
				n = rw_sectors(k, addr, rem & ~(uint64_t)(SECTOR - 1), pos, write);
			if (n <= 0) {
				if (!total)
					total = n ? n : -EIO;
				goto out;
			}
			pos += (uint64_t)n;
			addr += (uint64_t)n;
			rem -= (uint64_t)n;
			total += n;
		}
	}
out:
	*posp = pos;
	return total;
}

long blk_size(struct inode *ip)
{
	struct blkdisk *k = ip->u.blk;
	int e = disk_ready(k);
	return e ? e : (long)(k->capacity * SECTOR);
}

long blk_fsync(struct file *f)
{
	struct blkdisk *k = f->inode->u.blk;
	int e = disk_ready(k);
	if (e)
		return e;
	if (!k->flush)
		return 0; /* 5.2.6.3: without VIRTIO_BLK_F_FLUSH the device writes through */
	struct kvmbox_seg segs[2];
	return request(k, VIRTIO_BLK_T_FLUSH, 0, segs, 0, false);
}

/* BLKDISCARD: Linux's blk_ioctl_discard checks, then one request per max_discard_sectors. */
static long discard(struct file *f, struct blkdisk *k, uint64_t arg)
{
	uint64_t range[2];
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (!k->discard)
		return -EOPNOTSUPP;
	if (k->ro)
		return -EPERM;
	if (copy_from_user(range, arg, sizeof(range)))
		return -EFAULT;
	uint64_t start = range[0], len = range[1], end;
	if (!len || (start | len) % SECTOR)
		return -EINVAL;
	if (__builtin_add_overflow(start, len, &end) || end > k->capacity * SECTOR)
		return -EINVAL;
	for (uint64_t s = start / SECTOR; s < end / SECTOR;) {
		struct virtio_blk_discard seg = {
			.sector = s, .num_sectors = (uint32_t)MIN(end / SECTOR - s, (uint64_t)k->max_discard_sectors),
		};
		struct kvmbox_seg data[3] = { [1] = { V2P(&seg), sizeof(seg) } };
		if (request(k, VIRTIO_BLK_T_DISCARD, 0, data, 1, false))
			return -EIO;
		s += seg.num_sectors;
	}
	return 0;
}

/* The block ioctls of <linux/fs.h> that programs use to size a disk. */
#define BLKROGET     0x125e
#define BLKGETSIZE   0x1260
#define BLKFLSBUF    0x1261
#define BLKSSZGET    0x1268
#define BLKDISCARD   0x1277
#define BLKPBSZGET   0x127b
#define BLKGETSIZE64 0x80081272

long blk_ioctl(struct file *f, unsigned long cmd, uint64_t arg)
{
	struct blkdisk *k = f->inode->u.blk;
	int e = disk_ready(k);
	if (e)
		return e;
	uint64_t v64;
	int32_t v32;
	switch ((uint32_t)cmd) { /* Linux's cmd is an unsigned int: musl passes it sign-extended */
	case BLKGETSIZE64:
		v64 = k->capacity * SECTOR;
		return copy_to_user(arg, &v64, 8) ? -EFAULT : 0;
	case BLKGETSIZE: /* unsigned long, in sectors */
		v64 = k->capacity;
		return copy_to_user(arg, &v64, 8) ? -EFAULT : 0;
	case BLKSSZGET:
	case BLKPBSZGET:
		v32 = SECTOR;
		return copy_to_user(arg, &v32, 4) ? -EFAULT : 0;
	case BLKROGET:
		v32 = k->ro;
		return copy_to_user(arg, &v32, 4) ? -EFAULT : 0;
	case BLKFLSBUF:
		return 0; /* no page cache to drop */
	case BLKDISCARD:
		return discard(f, k, arg);
	}
	return -ENOTTY;
}

void virtio_blk_populate(struct inode *dev)
{
	for (unsigned i = 0; i < MAX_DISKS; i++) {
		struct virtio_dev *d = virtio_find_nth(VIRTIO_ID_BLOCK, i);
		if (!d)
			break;
		struct inode *ip = inode_alloc_static(I_BLOCK, S_IFBLK | 0660);
		if (!ip)
			break;
		disks[i] = (struct blkdisk){ .vd = d, .index = i };
		ip->u.blk = &disks[i];
		ip->rdev = (uint32_t)linux_makedev(VD_MAJOR, 16 * i); /* 16 minors each: partitions */
		/* The name must outlive this call (dir_link keeps static names). */
		static char names[MAX_DISKS][3];
		names[i][0] = 'v';
		names[i][1] = 'd';
		names[i][2] = (char)('a' + i);
		if (!dir_find(dev, names[i], 3, fs_hash_name(names[i], 3)))
			dir_link(dev, names[i], 3, ip, true);
	}
}
