/* cpio "newc" archive reader and header writer (cpio(5)); pure C for guest and host. */
#include "cpio.h"

#define NEWC_HDR 110 /* "070701" + 13 fields of 8 hex digits */

static int hex8(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = (v << 4) | d;
	}
	*out = v;
	return 0;
}

static size_t align4(size_t x) { return (x + 3) & ~(size_t)3; }

int cpio_next(const void *buf, size_t len, size_t *off, struct cpio_entry *e)
{
	const uint8_t *b = buf;
	size_t o = *off;
	uint32_t f[13];

	if (o == len)
		return 0;
	/* Both checks: o may be past len, and len - o may be short. */
	if (o > len || len - o < NEWC_HDR)
		return -1;
	const uint8_t *h = b + o;
	if (h[0] != '0' || h[1] != '7' || h[2] != '0' || h[3] != '7' || h[4] != '0' ||
	    (h[5] != '1' && h[5] != '2'))
		return -1;
	for (int i = 0; i < 13; i++)
		if (hex8(h + 6 + 8 * i, &f[i]))
			return -1;
	/* fields: ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj rdevmin namesize check */
	size_t namesize = f[11];
	if (namesize == 0 || namesize > len - o - NEWC_HDR)
		return -1;
	if (h[NEWC_HDR + namesize - 1] != '\0')
		return -1;
	size_t data_off = align4(o + NEWC_HDR + namesize);
	size_t size = f[6];
	if (data_off > len || size > len - data_off)
		return -1;
	e->name = (const char *)h + NEWC_HDR;
	e->namelen = namesize - 1;
	e->ino = f[0];
	e->mode = f[1];
	e->uid = f[2];
	e->gid = f[3];
	e->nlink = f[4];
	e->mtime = f[5];
	e->rdevmajor = f[9];
	e->rdevminor = f[10];
	e->data = b + data_off;
	e->size = size;
	e->data_offset = data_off;
	if (e->namelen == 10) {
		const char *t = "TRAILER!!!";
		int same = 1;
		for (int i = 0; i < 10; i++)
			same &= e->name[i] == t[i];
		if (same)
			return 0;
	}
	size_t next = align4(data_off + size);
	*off = next < len ? next : len;
	return 1;
}

size_t cpio_header_size(size_t namelen)
{
	return align4(NEWC_HDR + namelen + 1);
}

static void put_hex8(uint8_t *p, uint32_t v)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)digits[v & 15];
		v >>= 4;
	}
}

size_t cpio_write_header(void *out, const char *name, size_t namelen, uint32_t ino,
			 uint32_t mode, uint32_t nlink, uint32_t mtime, size_t size)
{
	uint8_t *p = out;
	uint32_t f[13] = { ino, mode, 0, 0, nlink, mtime, (uint32_t)size, 0, 0, 0, 0,
			   (uint32_t)(namelen + 1), 0 };
	const char *magic = "070701";
	for (int i = 0; i < 6; i++)
		p[i] = (uint8_t)magic[i];
	for (int i = 0; i < 13; i++)
		put_hex8(p + 6 + 8 * i, f[i]);
	for (size_t i = 0; i < namelen; i++)
		p[NEWC_HDR + i] = (uint8_t)name[i];
	size_t end = cpio_header_size(namelen);
	for (size_t i = NEWC_HDR + namelen; i < end; i++)
		p[i] = 0;
	return end;
}
