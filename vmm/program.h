/* Finding and checking the program to run: a host file, or a member of an --initrd image. */
#ifndef VMM_PROGRAM_H
#define VMM_PROGRAM_H
#include <stdbool.h>
#include <stdint.h>
#include "elf.h"
#include "options.h"
#include "vm.h"

struct program {
	struct elf_image img;
	char exe_path[KVMBOX_PATH_MAX];   /* absolute guest path */
	char cwd[KVMBOX_PATH_MAX];
	const char *execfn;               /* AT_EXECFN: argv[0] as given */
	char host_path[4096];             /* the file, or the --initrd image */
	int fd;                           /* open on host_path */
	uint64_t size;                    /* program bytes */
	bool from_initrd;
	uint64_t image_len;               /* --initrd: bytes before the trailer */
	uint64_t data_offset;             /* --initrd: offset of the program's bytes in the image */
	bool image_has_work;
};

/*
 * Find the program and check it is a runnable static x86-64 ELF, before
 * KVM is touched: exits 127 (not found), 126 (cannot run) or 125 (bad
 * --initrd image) with the reason.
 */
void program_resolve(const struct options *o, struct program *p);
#endif
