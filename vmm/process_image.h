/* A process image built natively (the first process, and execve): ELF image pages, page tables, initial stack, auxv, VMAs. */
#ifndef VMM_PROCESS_IMAGE_H
#define VMM_PROCESS_IMAGE_H
#include <stdint.h>
#include "elf.h"
#include "pagetable_x86_64.h"
#include "vm.h"

struct process_params {
	const struct elf_image *img;
	uint64_t file_gpa, file_size; /* the executable's bytes, already in guest memory */
	const uint8_t *file;          /* process_build_in: the same bytes, host pointer */
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

/*
 * The same from any frame allocator (execve: the guest's free frames), for
 * p->file: 0, or -ENOMEM (fa ran out), -E2BIG (arguments and environment
 * over a quarter of the stack limit), -ENOEXEC (more segments than VMAs
 * fit). On error *out is garbage and the frames taken are the caller's to
 * give back. exe_path and cwd are copied only when not NULL.
 */
int process_build_in(struct vm *vm, struct frame_alloc *fa, const struct process_params *p,
		     struct kvmbox_boot_process *out);
#endif
