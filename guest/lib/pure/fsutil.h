/* Pure helpers of the guest file layer: name hashing, the fast initramfs
 * scanner, Linux dirent64/stat/statx layouts. Host-testable (no kernel calls). */
#ifndef KVMBOX_FSUTIL_H
#define KVMBOX_FSUTIL_H
#include <stddef.h>
#include <stdint.h>
#include "cpio.h"

/* FNV-1a over name[0, len): the directory hash. */
uint32_t fs_hash_name(const char *name, size_t len);

/*
 * cpio_next() with the same contract and the same bounds checks, but it
 * decodes the hex fields eight digits at a time (SWAR) and skips fields the
 * file layer does not use (ino, uid, gid, check are 0, nlink 1; rdevmajor/minor
 * are read for device nodes only).
 * Digits are not validated one by one: a non-hex digit yields a wrong but
 * bounded number that the bounds checks then judge. It costs ~15x fewer
 * instructions per member than cpio_next, which matters where CPL0 code is
 * interpreted.
 */
int cpio_next_fast(const void *buf, size_t len, size_t *off, struct cpio_entry *e);
/* Eight ASCII hex digits (most significant first) to a number. */
uint32_t hex8_swar(const void *p);

/* struct linux_dirent64 (getdents64(2)). */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};
#define DT_UNKNOWN 0
#define DT_FIFO 1
#define DT_CHR 2
#define DT_DIR 4
#define DT_BLK 6
#define DT_REG 8
#define DT_LNK 10
#define DT_SOCK 12

/* Record length of a dirent64 with a name of namelen bytes (NUL, 8-aligned). */
static inline size_t dirent64_reclen(size_t namelen)
{
	return (19 + namelen + 1 + 7) & ~(size_t)7;
}
/* Pack one record at buf if room allows: returns its length, or 0 if it does not fit. */
size_t dirent64_pack(void *buf, size_t room, uint64_t ino, int64_t off, uint8_t type,
		     const char *name, size_t namelen);
/* DT_* of a st_mode. */
static inline uint8_t mode_to_dtype(uint32_t mode) { return (uint8_t)((mode >> 12) & 15); }

/* struct stat of Linux x86-64 (arch/x86/include/uapi/asm/stat.h). */
struct linux_stat {
	uint64_t st_dev;
	uint64_t st_ino;
	uint64_t st_nlink;
	uint32_t st_mode;
	uint32_t st_uid;
	uint32_t st_gid;
	uint32_t pad0;
	uint64_t st_rdev;
	int64_t st_size;
	int64_t st_blksize;
	int64_t st_blocks;
	int64_t st_atime_sec, st_atime_nsec;
	int64_t st_mtime_sec, st_mtime_nsec;
	int64_t st_ctime_sec, st_ctime_nsec;
	int64_t reserved[3];
};
_Static_assert(sizeof(struct linux_stat) == 144, "struct stat");

struct statx_timestamp {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
/* struct statx (include/uapi/linux/stat.h). */
struct linux_statx {
	uint32_t stx_mask;
	uint32_t stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink;
	uint32_t stx_uid;
	uint32_t stx_gid;
	uint16_t stx_mode;
	uint16_t spare0;
	uint64_t stx_ino;
	uint64_t stx_size;
	uint64_t stx_blocks;
	uint64_t stx_attributes_mask;
	struct statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor;
	uint32_t stx_dev_major, stx_dev_minor;
	uint64_t stx_mnt_id;
	uint32_t stx_dio_mem_align, stx_dio_offset_align;
	uint64_t spare3[12];
};
_Static_assert(sizeof(struct linux_statx) == 256, "struct statx");
_Static_assert(__builtin_offsetof(struct linux_statx, stx_mtime) == 112, "statx mtime");
_Static_assert(__builtin_offsetof(struct linux_statx, stx_rdev_major) == 128, "statx rdev");
#define STATX_BASIC_STATS 0x7ffu

/* Linux's dev_t encoding (new_encode_dev, include/linux/kdev_t.h). */
static inline uint64_t linux_makedev(uint32_t major, uint32_t minor)
{
	return (minor & 0xffu) | ((uint64_t)major << 8) | ((uint64_t)(minor & ~0xffu) << 12);
}
#endif
