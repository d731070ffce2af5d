/* Minimal FDT property lookup by node path (devicetree spec v0.4, chapter 5). */
#include "fdt_prop.h"

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

/* Big-endian cells (devicetree spec 2.2.4): one load and a bswap, not four byte loads (CPL0 is costly). */
static inline __attribute__((always_inline)) uint32_t rd32(const void *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, sizeof(v));
	return __builtin_bswap32(v);
}

uint32_t fdt_read_u32(const void *p)
{
	return rd32(p);
}

uint64_t fdt_read_u64(const void *p)
{
	return (uint64_t)rd32(p) << 32 | rd32((const uint8_t *)p + 4);
}

/*
 * strnlen, eight bytes a step once aligned (the first zero byte of a word w
 * is the lowest set bit of (w - 0x01..01) & ~w & 0x80..80); never reads at
 * or past s + max.
 */
static inline __attribute__((always_inline)) size_t cstrlen(const char *s, size_t max)
{
	size_t n = 0;
	for (; n < max && ((uintptr_t)(s + n) & 7); n++)
		if (!s[n])
			return n;
	for (; n + 8 <= max; n += 8) {
		uint64_t w;
		__builtin_memcpy(&w, s + n, sizeof(w));
		uint64_t z = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
		if (z)
			return n + ((size_t)__builtin_ctzll(z) >> 3);
	}
	while (n < max && s[n])
		n++;
	return n;
}

/* Does path component [c, c+clen) equal node name n (exactly, or n's part before '@')? */
static int name_eq(const char *c, size_t clen, const char *n, size_t nlen)
{
	if (nlen < clen)
		return 0;
	for (size_t i = 0; i < clen; i++)
		if (c[i] != n[i])
			return 0;
	for (size_t i = 0; i < clen; i++)
		if (c[i] == '@')
			return nlen == clen;
	return nlen == clen || n[clen] == '@';
}

const void *fdt_prop_find(const void *fdt, size_t size, const char *path, const char *prop,
			  uint32_t *len)
{
	const uint8_t *b = fdt;
	if (size < 40 || rd32(b) != FDT_MAGIC)
		return NULL;
	uint32_t totalsize = rd32(b + 4), off_struct = rd32(b + 8);
	uint32_t off_strings = rd32(b + 12), size_strings = rd32(b + 32);
	uint32_t size_struct = rd32(b + 36);
	if (totalsize > size || off_struct > totalsize || size_struct > totalsize - off_struct ||
	    off_strings > totalsize || size_strings > totalsize - off_strings)
		return NULL;
	const uint8_t *s = b + off_struct, *end = s + size_struct;
	const char *strings = (const char *)b + off_strings;
	size_t proplen = cstrlen(prop, 256);

	/* Walk the path: matched = number of components matched at the current depth. */
	int depth = 0, matched = 0;
	const char *comp = path + (path[0] == '/');
	const char *comps[16];
	size_t clens[16];
	int ncomp = 0;
	while (*comp && ncomp < 16) {
		const char *slash = comp;
		while (*slash && *slash != '/')
			slash++;
		comps[ncomp] = comp;
		clens[ncomp++] = (size_t)(slash - comp);
		comp = *slash ? slash + 1 : slash;
	}
	while (s + 4 <= end) {
		uint32_t tok = rd32(s);
		s += 4;
		if (tok == FDT_BEGIN_NODE) {
			size_t nlen = cstrlen((const char *)s, (size_t)(end - s));
			if (s + nlen >= end)
				return NULL;
			if (depth >= 1 && matched == depth - 1 && depth - 1 < ncomp &&
			    name_eq(comps[depth - 1], clens[depth - 1], (const char *)s, nlen))
				matched = depth;
			depth++;
			s += (nlen + 1 + 3) & ~(size_t)3;
		} else if (tok == FDT_END_NODE) {
			if (depth == 0)
				return NULL;
			depth--;
			if (matched >= depth)
				matched = depth > 0 ? depth - 1 : 0;
		} else if (tok == FDT_PROP) {
			if (s + 8 > end)
				return NULL;
			uint32_t vlen = rd32(s), nameoff = rd32(s + 4);
			s += 8;
			if (vlen > (size_t)(end - s) || nameoff >= size_strings)
				return NULL;
			if (depth == ncomp + 1 && matched == ncomp) {
				const char *pn = strings + nameoff;
				size_t pl = cstrlen(pn, size_strings - nameoff);
				int same = pl == proplen;
				for (size_t i = 0; same && i < pl; i++)
					same = pn[i] == prop[i];
				if (same) {
					*len = vlen;
					return s;
				}
			}
			s += (vlen + 3) & ~(size_t)3;
		} else if (tok == FDT_NOP) {
			continue;
		} else {
			return NULL; /* FDT_END or garbage */
		}
	}
	return NULL;
}

/* The structure block and strings of a valid blob, or 0. */
struct fdt_blob {
	const uint8_t *s, *end;
	const char *strings;
	uint32_t size_strings;
};

static int blob_open(const void *fdt, size_t size, struct fdt_blob *b)
{
	const uint8_t *p = fdt;
	if (size < 40 || rd32(p) != FDT_MAGIC)
		return 0;
	uint32_t totalsize = rd32(p + 4), off_struct = rd32(p + 8);
	uint32_t off_strings = rd32(p + 12), size_strings = rd32(p + 32);
	uint32_t size_struct = rd32(p + 36);
	if (totalsize > size || off_struct > totalsize || size_struct > totalsize - off_struct ||
	    off_strings > totalsize || size_strings > totalsize - off_strings)
		return 0;
	b->s = p + off_struct;
	b->end = b->s + size_struct;
	b->strings = (const char *)p + off_strings;
	b->size_strings = size_strings;
	return 1;
}

/* Is the NUL-terminated string at s (at most max bytes available) exactly want? Stops at the first difference. */
static inline __attribute__((always_inline)) int name_is(const char *s, size_t max, const char *want)
{
	size_t i = 0;
	for (; want[i]; i++)
		if (i >= max || s[i] != want[i])
			return 0;
	return i < max && s[i] == 0;
}

const void *fdt_node_prop(const void *fdt, size_t size, long node, const char *prop, uint32_t *len)
{
	struct fdt_blob b;
	if (!blob_open(fdt, size, &b) || node < 0 || (size_t)node + 4 > (size_t)(b.end - b.s) || (node & 3))
		return NULL;
	const uint8_t *s = b.s + node;
	if (rd32(s) != FDT_BEGIN_NODE)
		return NULL;
	s += 4;
	size_t nlen = cstrlen((const char *)s, (size_t)(b.end - s));
	if (s + nlen >= b.end)
		return NULL;
	s += (nlen + 1 + 3) & ~(size_t)3;
	/* A node's properties precede its subnodes (devicetree spec 5.4.1). */
	while (s + 4 <= b.end) {
		uint32_t tok = rd32(s);
		s += 4;
		if (tok == FDT_NOP)
			continue;
		if (tok != FDT_PROP || s + 8 > b.end)
			return NULL;
		uint32_t vlen = rd32(s), nameoff = rd32(s + 4);
		s += 8;
		if (vlen > (size_t)(b.end - s) || nameoff >= b.size_strings)
			return NULL;
		if (name_is(b.strings + nameoff, b.size_strings - nameoff, prop)) {
			*len = vlen;
			return s;
		}
		s += (vlen + 3) & ~(size_t)3;
	}
	return NULL;
}

/*
 * One linear walk from the node at `after` (exclusive): the CPL0 cost of
 * device discovery is one pass over the tree in all, not one per device.
 */
long fdt_next_compatible(const void *fdt, size_t size, long after, const char *compat)
{
	struct fdt_blob b;
	if (!blob_open(fdt, size, &b) || (after >= 0 && ((after & 3) || (size_t)after >= (size_t)(b.end - b.s))))
		return -1;
	const uint8_t *s = b.s + (after >= 0 ? after : 0);
	long node = -1;        /* the node whose own properties the walk is in */
	long skip = after;     /* ... but not this one */
	uint32_t compat_off = ~0u; /* "compatible"'s name offset, once seen (libfdt shares names) */
	while (s + 4 <= b.end) {
		long off = (long)(s - b.s);
		uint32_t tok = rd32(s);
		s += 4;
		if (tok == FDT_BEGIN_NODE) {
			size_t nlen = cstrlen((const char *)s, (size_t)(b.end - s));
			if (s + nlen >= b.end)
				return -1;
			s += (nlen + 1 + 3) & ~(size_t)3;
			node = off == skip ? -1 : off;
		} else if (tok == FDT_PROP) {
			if (s + 8 > b.end)
				return -1;
			uint32_t vlen = rd32(s), nameoff = rd32(s + 4);
			s += 8;
			if (vlen > (size_t)(b.end - s) || nameoff >= b.size_strings)
				return -1;
			/* Most properties are rejected on their name's offset or first byte. */
			if (node >= 0 && (nameoff == compat_off ||
					  (b.strings[nameoff] == 'c' &&
					   name_is(b.strings + nameoff, b.size_strings - nameoff, "compatible")))) {
				compat_off = nameoff;
				/* A list of NUL-terminated strings (devicetree spec 2.3.1). */
				const char *c = (const char *)s;
				for (uint32_t i = 0; i < vlen;) {
					if (name_is(c + i, vlen - i, compat))
						return node;
					i += (uint32_t)cstrlen(c + i, vlen - i) + 1;
				}
			}
			s += (vlen + 3) & ~(size_t)3;
		} else if (tok == FDT_END_NODE) {
			node = -1; /* a node's properties precede its subnodes (5.4.1) */
		} else if (tok != FDT_NOP) {
			return -1;
		}
	}
	return -1;
}
