/* The first process, built natively: ELF image pages, page tables, initial stack, auxv, VMAs. */
#ifndef VMM_PROCESS_IMAGE_H
#define VMM_PROCESS_IMAGE_H
#include <stdint.h>
#include "elf.h"
#include "vm.h"

struct process_params {
	const struct elf_image *img;
	uint64_t file_gpa, file_size; /* the executable's bytes, already in guest memory */
	int argc;
	char *const *argv;
	int envc;
	char *const *envp;
	const char *execfn;           /* AT_EXECFN: the name exec was given */
	const char *exe_path, *cwd;   /* absolute guest paths */
};

/*
 * Build the process from the boot allocator (every frame it allocates is the
 * process's: data, stack and its page tables) and describe it in *out.
 * Dies with 125 if memory runs out, 126 if the image does not fit the ABI.
 */
void process_build(struct vm *vm, const struct process_params *p, struct kvmbox_boot_process *out);
#endif
