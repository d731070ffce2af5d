/* Checked access to user memory: every pointer a program passes goes through here. */
#ifndef GUEST_UACCESS_H
#define GUEST_UACCESS_H
#include "types.h"
#include <kvmbox.h>

/*
 * These walk the current process's page tables in software (xv6's copyin
 * model), fault pages in through handle_user_fault, and never let the kernel
 * take a fault on a user address. All return 0 or -EFAULT.
 */
int copy_from_user(void *dst, uint64_t usrc, size_t n);
int copy_to_user(uint64_t udst, const void *src, size_t n);
int clear_user(uint64_t udst, size_t n);
/* Copy a NUL-terminated string of at most max bytes including the NUL:
 * returns its length, -EFAULT, or -ENAMETOOLONG. */
long strncpy_from_user(char *dst, uint64_t usrc, size_t max);

/*
 * Zero copy: describe user range [uaddr, uaddr+len) as guest-physical
 * segments (coalescing contiguous pages), faulting pages in; for `write` the
 * pages must be writable (the device writes into them). Fills at most
 * max_segs segments and returns the number of bytes covered (> 0), which may
 * be less than len; -EFAULT if the first byte is bad.
 */
long user_segs(uint64_t uaddr, size_t len, bool write, struct kvmbox_seg *segs,
	       unsigned max_segs, unsigned *nr_segs);
#endif
