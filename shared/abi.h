/* kvmbox guest/VMM ABI: the version and the conventions every header here follows. */
#ifndef KVMBOX_ABI_H
#define KVMBOX_ABI_H

#include <stdint.h>

/*
 * Bumped whenever a layout in shared/ changes. The guest kernel records the
 * version it was built with in its kernel header (boot.h); the VMM refuses a
 * kernel built against another version.
 */
#define KVMBOX_ABI_VERSION 6

/*
 * A guest pointer. Inside the guest it is a plain pointer-sized integer too:
 * every pointer that crosses the boundary is a guest-physical (gpa) or
 * guest-virtual (gva) address stored in a uint64_t, so the host never
 * dereferences one by accident. The host translates it with its one checked
 * helper (vmm/guest_mem.h).
 */
typedef uint64_t kvmbox_gpa_t;
typedef uint64_t kvmbox_gva_t;

#define KVMBOX_PAGE_SIZE 4096u

#define KVMBOX_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), "ABI layout of " #type " changed")
#define KVMBOX_ASSERT_OFFSET(type, field, off) \
	_Static_assert(__builtin_offsetof(type, field) == (off), \
		       "ABI offset of " #type "." #field " changed")

#endif
