/* Pure helpers of the guest file layer (see fsutil.h). */
#include "fsutil.h"

typedef uint64_t __attribute__((may_alias, aligned(1))) u64_unaligned;

uint32_t fs_hash_name(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

static inline __attribute__((always_inline)) uint32_t hex8(const void *p)
{
	uint64_t x = *(const u64_unaligned *)p;   /* digit 0 in the low byte */
	/* Per byte: '0'-'9' -> c & 15; 'a'-'f' / 'A'-'F' -> (c & 15) + 9 (bit 6 set). */
	uint64_t v = (x & 0x0f0f0f0f0f0f0f0full) + ((x >> 6) & 0x0101010101010101ull) * 9;
	/* Merge neighbours: nibbles into bytes, bytes into 16-bit, 16-bit into 32-bit. */
	v = ((v & 0x000f000f000f000full) << 4) | ((v >> 8) & 0x000f000f000f000full);
	v = ((v & 0x000000ff000000ffull) << 8) | ((v >> 16) & 0x000000ff000000ffull);
	v = ((v & 0xffffull) << 16) | ((v >> 32) & 0xffffull);
	return (uint32_t)v;
}

uint32_t hex8_swar(const void *p) { return hex8(p); }

#define NEWC_HDR 110
static size_t align4(size_t x) { return (x + 3) & ~(size_t)3; }

int cpio_next_fast(const void *buf, size_t len, size_t *off, struct cpio_entry *e)
{
	const uint8_t *b = buf;
	size_t o = *off;

	if (o == len)
		return 0;
	if (o > len || len - o < NEWC_HDR)
		return -1;
	const uint8_t *h = b + o;
	if (h[0] != '0' || h[1] != '7' || h[2] != '0' || h[3] != '7' || h[4] != '0' ||
	    (h[5] != '1' && h[5] != '2'))
		return -1;
	/* Field i is at h + 6 + 8 * i: ino mode uid gid nlink mtime filesize
	 * devmajor devminor rdevmajor rdevminor namesize check. */
	size_t namesize = hex8(h + 6 + 8 * 11);
	if (namesize == 0 || namesize > len - o - NEWC_HDR)
		return -1;
	if (h[NEWC_HDR + namesize - 1] != '\0')
		return -1;
	size_t data_off = align4(o + NEWC_HDR + namesize);
	size_t size = hex8(h + 6 + 8 * 6);
	if (data_off > len || size > len - data_off)
		return -1;
	e->name = (const char *)h + NEWC_HDR;
	e->namelen = namesize - 1;
	e->ino = 0;
	e->mode = hex8(h + 6 + 8 * 1);
	e->uid = 0;
	e->gid = 0;
	e->nlink = 1;
	e->mtime = hex8(h + 6 + 8 * 5);
	e->rdevmajor = e->rdevminor = 0;
	uint32_t type = e->mode & 0170000;
	if (type == 0020000 || type == 0060000) {     /* device nodes only */
		e->rdevmajor = hex8(h + 6 + 8 * 9);
		e->rdevminor = hex8(h + 6 + 8 * 10);
	}
	e->data = b + data_off;
	e->size = size;
	e->data_offset = data_off;
	if (e->namelen == 10 && e->name[0] == 'T' && e->name[9] == '!') {
		const char *t = "TRAILER!!!";
		int same = 1;
		for (int i = 1; i < 9; i++)
			same &= e->name[i] == t[i];
		if (same)
			return 0;
	}
	size_t next = align4(data_off + size);
	*off = next < len ? next : len;
	return 1;
}

size_t dirent64_pack(void *buf, size_t room, uint64_t ino, int64_t off, uint8_t type,
		     const char *name, size_t namelen)
{
	size_t reclen = dirent64_reclen(namelen);
	if (reclen > room)
		return 0;
	struct linux_dirent64 *d = buf;
	d->d_ino = ino;
	d->d_off = off;
	d->d_reclen = (uint16_t)reclen;
	d->d_type = type;
	size_t i = 0;
	for (; i < namelen; i++)
		d->d_name[i] = name[i];
	/* NUL and padding: the record's tail must not leak kernel bytes. */
	for (; 19 + i < reclen; i++)
		d->d_name[i] = 0;
	return reclen;
}
