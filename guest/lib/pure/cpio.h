/* cpio "newc" archive reader: pure C, used by the guest kernel (initramfs) and the VMM (--init). */
#ifndef KVMBOX_CPIO_H
#define KVMBOX_CPIO_H
#include <stddef.h>
#include <stdint.h>

/* One archive member (cpio(5), "New ASCII Format"). Pointers point into the archive. */
struct cpio_entry {
	const char *name;        /* not NUL-terminated past namelen */
	size_t namelen;          /* without the NUL */
	uint32_t ino, mode, uid, gid, nlink, mtime;
	uint32_t rdevmajor, rdevminor;
	const uint8_t *data;
	size_t size;
	size_t data_offset;      /* offset of data within the archive */
};

/*
 * Read the member at *off of archive buf[0, len). Returns 1 and advances *off
 * past it (4-byte aligned), 0 at the "TRAILER!!!" member or when exactly at
 * the end, -1 if the member is malformed or truncated (bad magic, non-hex
 * field, name or data past the end, missing NUL). Never reads outside buf.
 */
int cpio_next(const void *buf, size_t len, size_t *off, struct cpio_entry *e);

/* Size of the header + name (+ padding) for a name of namelen bytes (no NUL). */
size_t cpio_header_size(size_t namelen);
/*
 * Write a newc header and name for a member at out (room for
 * cpio_header_size(namelen) bytes); the caller appends size bytes of data
 * and pads to 4. Returns bytes written.
 */
size_t cpio_write_header(void *out, const char *name, size_t namelen, uint32_t ino,
			 uint32_t mode, uint32_t nlink, uint32_t mtime, size_t size);
#endif
