/*
 * ramfs: the in-memory file system. Inodes, directories (a global hash of
 * dentries plus a per-directory list in creation order) and file data.
 *
 * File data of an initramfs file stays in the archive (zero copy); the first
 * write to a page of it makes that page private (copy on write, page by
 * page). Bulk data only ever moves through pmem_copy/pmem_zero: CPL0 code is
 * interpreted on some hosts, so no byte loops over file data here.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <mm.h>
#include <platform.h>
#include "../lib/pure/fsutil.h"

struct inode *root_inode;
static struct inode root_storage;
static uint64_t next_ino = 16;   /* 1 is the root; low numbers for fixed inodes */

#define DHASH_SIZE 4096
static struct dentry *dhash[DHASH_SIZE];

uint64_t fs_next_ino(void) { return next_ino++; }
/* While unpacking, every new object gets the same time: one clock read, not two per member. */
static uint64_t frozen_now;
uint64_t fs_now(void) { return frozen_now ? frozen_now : clock_realtime_ns(); }

/* ---- allocation ------------------------------------------------------------ */

/* Boot-time objects (archive inodes and dentries) come from a bump arena:
 * one page allocation per ~30 objects instead of a kmalloc each. */
static uint8_t *arena_cur;
static size_t arena_left;

void *fs_arena_alloc(size_t size)
{
	size = ALIGN_UP(size, 8);
	if (size > PAGE_SIZE)
		return NULL;
	if (size > arena_left) {
		uint64_t pa = page_alloc_zeroed();
		if (!pa)
			return NULL;
		arena_cur = P2V(pa);
		arena_left = PAGE_SIZE;
	}
	void *p = arena_cur;
	arena_cur += size;
	arena_left -= size;
	return p;
}

static void inode_init(struct inode *ip, uint8_t kind, uint32_t mode)
{
	uint64_t now = fs_now();
	ip->ino = fs_next_ino();
	ip->mode = mode;
	ip->kind = kind;
	ip->atime_ns = ip->mtime_ns = ip->ctime_ns = now;
	if (kind == I_DIR)
		ip->u.dir.next_seq = 2;
}

struct inode *inode_alloc(uint8_t kind, uint32_t mode)
{
	struct inode *ip = kmalloc(sizeof(*ip));
	if (ip)
		inode_init(ip, kind, mode);
	return ip;
}

struct inode *inode_alloc_static(uint8_t kind, uint32_t mode)
{
	struct inode *ip = fs_arena_alloc(sizeof(*ip));
	if (ip) {
		inode_init(ip, kind, mode);
		ip->flags = INODE_STATIC;
	}
	return ip;
}

void inode_get(struct inode *ip) { ip->refs++; }

void inode_put(struct inode *ip)
{
	BUG_ON(ip->refs == 0);
	ip->refs--;
	inode_release(ip);
}

void inode_release(struct inode *ip)
{
	if (ip->nlink || ip->refs)
		return;
	inode_free_data(ip);
	if (!(ip->flags & INODE_STATIC))
		kfree(ip);
}

/* ---- the root -------------------------------------------------------------- */

static struct inode *mkdir_static(struct inode *dir, const char *name, uint32_t mode)
{
	size_t len = strlen(name);
	struct dentry *d = dir_find(dir, name, len, fs_hash_name(name, len));
	if (d)
		return S_ISDIR(d->inode->mode) ? d->inode : NULL;
	struct inode *ip = inode_alloc_static(I_DIR, S_IFDIR | mode);
	if (!ip || dir_link(dir, name, len, ip, true))
		return NULL;
	return ip;
}

struct inode *fs_root(void)
{
	if (likely(root_inode))
		return root_inode;
	struct inode *r = &root_storage;
	inode_init(r, I_DIR, S_IFDIR | 0755);
	r->ino = 1;
	r->flags = INODE_STATIC;
	r->nlink = 2;
	r->u.dir.parent = r;
	root_inode = r;
	frozen_now = r->mtime_ns;
	initramfs_unpack(r);
	devfs_populate(r);
	procfs_populate(r);
	mkdir_static(r, "tmp", 01777);
	frozen_now = 0;
	return r;
}

/* ---- directories ----------------------------------------------------------- */

static inline uint32_t bucket(struct inode *dir, uint32_t hash)
{
	return (hash ^ (uint32_t)(dir->ino * 0x9e3779b1u)) & (DHASH_SIZE - 1);
}

static inline bool same_name(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

struct dentry *dir_find(struct inode *dir, const char *name, size_t len, uint32_t hash)
{
	for (struct dentry *d = dhash[bucket(dir, hash)]; d; d = d->hnext)
		if (d->hash == hash && d->dir == dir && d->len == len && same_name(d->name, name, len))
			return d;
	return NULL;
}

bool dir_empty(struct inode *dir)
{
	return dir->u.dir.head == NULL;
}

static struct dentry *dentry_alloc(const char *name, size_t len, uint32_t hash, bool static_name)
{
	struct dentry *d;
	if (static_name) {
		d = fs_arena_alloc(sizeof(*d));
		if (!d)
			return NULL;
		d->flags = DENTRY_STATIC;
		d->name = name;
	} else {
		d = kmalloc(sizeof(*d) + len);
		if (!d)
			return NULL;
		char *copy = (char *)(d + 1);
		for (size_t i = 0; i < len; i++)
			copy[i] = name[i];
		d->name = copy;
	}
	d->len = (uint16_t)len;
	d->hash = hash;
	return d;
}

static void dentry_free(struct dentry *d)
{
	if (!(d->flags & DENTRY_STATIC))
		kfree(d);
}

/* Put d (name set) into dir for inode ip: hash chain, list tail, link counts. */
static void dentry_attach(struct dentry *d, struct inode *dir, struct inode *ip)
{
	d->dir = dir;
	d->inode = ip;
	d->seq = dir->u.dir.next_seq++;
	d->next = NULL;
	d->prev = dir->u.dir.tail;
	if (dir->u.dir.tail)
		dir->u.dir.tail->next = d;
	else
		dir->u.dir.head = d;
	dir->u.dir.tail = d;
	dir->u.dir.nentries++;
	uint32_t b = bucket(dir, d->hash);
	d->hnext = dhash[b];
	dhash[b] = d;
	ip->dentry = d;
	dir->mtime_ns = dir->ctime_ns = fs_now();
}

static void dentry_detach(struct dentry *d)
{
	struct inode *dir = d->dir;
	struct dentry **pp = &dhash[bucket(dir, d->hash)];
	while (*pp != d)
		pp = &(*pp)->hnext;
	*pp = d->hnext;
	if (d->prev)
		d->prev->next = d->next;
	else
		dir->u.dir.head = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		dir->u.dir.tail = d->prev;
	dir->u.dir.nentries--;
	if (d->inode->dentry == d)
		d->inode->dentry = NULL;
	dir->mtime_ns = dir->ctime_ns = fs_now();
}

int dir_link(struct inode *dir, const char *name, size_t len, struct inode *ip, bool static_name)
{
	return dir_link_hashed(dir, name, len, fs_hash_name(name, len), ip, static_name);
}

int dir_link_hashed(struct inode *dir, const char *name, size_t len, uint32_t hash,
		    struct inode *ip, bool static_name)
{
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	struct dentry *d = dentry_alloc(name, len, hash, static_name);
	if (!d)
		return -ENOMEM;
	dentry_attach(d, dir, ip);
	if (S_ISDIR(ip->mode)) {
		ip->nlink = 2;
		ip->u.dir.parent = dir;
		dir->nlink++;
	} else {
		ip->nlink++;
	}
	ip->ctime_ns = dir->mtime_ns;
	return 0;
}

void dir_unlink(struct dentry *d)
{
	struct inode *ip = d->inode;
	dentry_detach(d);
	if (S_ISDIR(ip->mode)) {
		ip->nlink = 0;
		ip->u.dir.parent = ip;   /* its old parent may go away: ".." is itself now */
		d->dir->nlink--;
	} else {
		ip->nlink--;
	}
	ip->ctime_ns = d->dir->mtime_ns;
	dentry_free(d);
}

int dir_rename(struct dentry *d, struct inode *newdir, const char *name, size_t len,
	       struct dentry *victim)
{
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	struct dentry *nd = dentry_alloc(name, len, fs_hash_name(name, len), false);
	if (!nd)
		return -ENOMEM;
	if (victim) {
		struct inode *vi = victim->inode;
		dir_unlink(victim);
		inode_release(vi);
	}
	struct inode *ip = d->inode, *olddir = d->dir;
	dentry_detach(d);
	dentry_free(d);
	dentry_attach(nd, newdir, ip);
	if (S_ISDIR(ip->mode) && olddir != newdir) {
		olddir->nlink--;
		newdir->nlink++;
		ip->u.dir.parent = newdir;
	}
	ip->ctime_ns = newdir->mtime_ns;
	return 0;
}

void dir_exchange(struct dentry *a, struct dentry *b)
{
	struct inode *ai = a->inode, *bi = b->inode;
	a->inode = bi;
	b->inode = ai;
	ai->dentry = b;
	bi->dentry = a;
	if (a->dir != b->dir) {
		if (S_ISDIR(ai->mode)) {
			ai->u.dir.parent = b->dir;
			a->dir->nlink--;
			b->dir->nlink++;
		}
		if (S_ISDIR(bi->mode)) {
			bi->u.dir.parent = a->dir;
			b->dir->nlink--;
			a->dir->nlink++;
		}
	}
	uint64_t now = fs_now();
	ai->ctime_ns = bi->ctime_ns = a->dir->mtime_ns = b->dir->mtime_ns = now;
}

/* ---- file data ------------------------------------------------------------- */

#define IDX_PER_PAGE 512

/* The index slot of file page idx, creating index pages if asked; NULL if absent. */
static uint64_t *page_slot(struct inode *ip, uint64_t idx, bool create)
{
	if (idx >= (uint64_t)IDX_PER_PAGE * IDX_PER_PAGE)
		return NULL;
	uint64_t *top = ip->u.reg.top;
	if (!top) {
		if (!create)
			return NULL;
		uint64_t pa = page_alloc_zeroed();
		if (!pa)
			return NULL;
		top = ip->u.reg.top = P2V(pa);
	}
	uint64_t leaf = top[idx / IDX_PER_PAGE];
	if (!leaf) {
		if (!create)
			return NULL;
		leaf = top[idx / IDX_PER_PAGE] = page_alloc_zeroed();
		if (!leaf)
			return NULL;
	}
	return (uint64_t *)P2V(leaf) + idx % IDX_PER_PAGE;
}

static inline uint64_t page_of(struct inode *ip, uint64_t idx)
{
	uint64_t *s = page_slot(ip, idx, false);
	return s ? *s : 0;
}

ssize_t inode_zero_phys(uint64_t dst_pa, uint64_t len)
{
	if (len)
		pmem_zero(dst_pa, len);
	return (ssize_t)len;
}

/* Bytes [off, off+len) of the file as it is without private pages: archive, then zeros. */
static void read_shared(struct inode *ip, uint64_t off, uint64_t len, uint64_t dst_pa)
{
	uint64_t a = 0;
	if (off < ip->u.reg.arch_len)
		a = MIN(len, ip->u.reg.arch_len - off);
	if (a)
		pmem_copy(dst_pa, ip->u.reg.arch_pa + off, a);
	if (len > a)
		pmem_zero(dst_pa + a, len - a);
}

ssize_t inode_read_phys(struct inode *ip, uint64_t off, uint64_t len, uint64_t dst_pa)
{
	if (off >= ip->size)
		return 0;
	len = MIN(len, ip->size - off);
	if (!ip->u.reg.top) {             /* never written: one copy from the archive */
		read_shared(ip, off, len, dst_pa);
		return (ssize_t)len;
	}
	uint64_t done = 0;
	while (done < len) {
		uint64_t pos = off + done;
		uint64_t in = pos % PAGE_SIZE;
		uint64_t n = MIN(PAGE_SIZE - in, len - done);
		uint64_t pa = page_of(ip, pos / PAGE_SIZE);
		if (pa)
			pmem_copy(dst_pa + done, pa + in, n);
		else
			read_shared(ip, pos, n, dst_pa + done);
		done += n;
	}
	return (ssize_t)len;
}

ssize_t inode_write_phys(struct inode *ip, uint64_t off, uint64_t len, uint64_t src_pa)
{
	if (off >= FILE_SIZE_MAX || len > FILE_SIZE_MAX - off)
		return -EFBIG;
	uint64_t done = 0;
	while (done < len) {
		uint64_t pos = off + done;
		uint64_t idx = pos / PAGE_SIZE, in = pos % PAGE_SIZE;
		uint64_t n = MIN(PAGE_SIZE - in, len - done);
		uint64_t *slot = page_slot(ip, idx, true);
		if (!slot)
			break;
		if (!*slot) {
			/* Copy on first write: the rest of the page keeps its old bytes. */
			uint64_t pa = page_alloc();
			if (!pa)
				break;
			uint64_t base = idx * PAGE_SIZE;
			if (in)
				read_shared(ip, base, in, pa);
			/* (arch_len <= size, so bytes past EOF come out zero.) */
			if (in + n < PAGE_SIZE)
				read_shared(ip, base + in + n, PAGE_SIZE - in - n, pa + in + n);
			*slot = pa;
		}
		pmem_copy(*slot + in, src_pa + done, n);
		done += n;
	}
	if (done == 0 && len)
		return -ENOMEM;
	if (off + done > ip->size)
		ip->size = off + done;
	return (ssize_t)done;
}

/* A page of zeros to stand for holes in segment lists (never written). */
static uint64_t zero_page;

uint64_t inode_phys_segs(struct inode *ip, uint64_t off, uint64_t len, struct kvmbox_seg *segs,
			 unsigned max, unsigned *nr)
{
	unsigned k = 0;
	uint64_t done = 0;
	if (off >= ip->size)
		len = 0;
	len = MIN(len, ip->size - MIN(off, ip->size));
	while (done < len && k < max) {
		uint64_t pos = off + done, n, pa;
		uint64_t page = ip->u.reg.top ? page_of(ip, pos / PAGE_SIZE) : 0;
		if (page) {
			n = MIN(PAGE_SIZE - pos % PAGE_SIZE, len - done);
			pa = page + pos % PAGE_SIZE;
		} else if (pos < ip->u.reg.arch_len) {
			/* Archive bytes are contiguous: up to the next private page. */
			n = MIN(ip->u.reg.arch_len - pos, len - done);
			if (ip->u.reg.top)
				n = MIN(n, PAGE_SIZE - pos % PAGE_SIZE);
			pa = ip->u.reg.arch_pa + pos;
		} else {
			if (!zero_page && !(zero_page = page_alloc_zeroed()))
				break;
			n = MIN(PAGE_SIZE - pos % PAGE_SIZE, len - done);
			pa = zero_page;
		}
		if (k && segs[k - 1].gpa + segs[k - 1].len == pa && pa != zero_page) {
			segs[k - 1].len += n;
		} else {
			segs[k].gpa = pa;
			segs[k].len = n;
			k++;
		}
		done += n;
	}
	*nr = k;
	return done;
}

void inode_free_data(struct inode *ip)
{
	if (ip->kind == I_SYMLINK) {
		if (ip->u.link.owned)
			pathbuf_free((char *)ip->u.link.target);
		ip->u.link.target = NULL;
		ip->u.link.owned = false;
		return;
	}
	if (ip->kind != I_REG || !ip->u.reg.top)
		return;
	uint64_t *top = ip->u.reg.top;
	for (int i = 0; i < IDX_PER_PAGE; i++) {
		if (!top[i])
			continue;
		uint64_t *leaf = P2V(top[i]);
		for (int j = 0; j < IDX_PER_PAGE; j++)
			if (leaf[j])
				page_put(leaf[j]);
		page_put(top[i]);
	}
	page_put(V2P(top));
	ip->u.reg.top = NULL;
}

int inode_truncate(struct inode *ip, uint64_t size)
{
	if (size > FILE_SIZE_MAX)
		return -EFBIG;
	uint64_t old = ip->size;
	if (size < old) {
		if (ip->u.reg.arch_len > size)
			ip->u.reg.arch_len = size;
		if (size == 0) {
			inode_free_data(ip);
		} else if (ip->u.reg.top) {
			/* Keep "bytes past EOF in a private page are zero". */
			uint64_t tail = size % PAGE_SIZE;
			uint64_t pa = page_of(ip, size / PAGE_SIZE);
			if (tail && pa)
				pmem_zero(pa + tail, PAGE_SIZE - tail);
			uint64_t first = ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE;
			uint64_t end = ALIGN_UP(old, PAGE_SIZE) / PAGE_SIZE;
			for (uint64_t i = first; i < end; i++) {
				uint64_t *s = page_slot(ip, i, false);
				if (s && *s) {
					page_put(*s);
					*s = 0;
				}
			}
		}
	}
	/* Growing needs nothing: pages past the old end are absent (zeros). */
	ip->size = size;
	ip->mtime_ns = ip->ctime_ns = fs_now();
	return 0;
}
