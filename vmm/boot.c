/* The setup path: one straight line of checked steps from /dev/kvm to the first KVM_RUN (shared/boot.h). */
#include <elf.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "boot.h"
#include "cpu_x86_64.h"
#include "fdt.h"
#include "fpu_x86_64.h"
#include "gdb_cli.h"
#include "boot_alloc.h"
#include "guest_mem.h"
#include "hypercall.h"
#include "initramfs.h"
#include "irqchip_x86_64.h"
#include "kernel_loader.h"
#include "kvm.h"
#include "pagetable_x86_64.h"
#include "process_image.h"
#include "vcpu.h"
#include "virtio_bus.h"

static struct vm the_vm;
static struct vcpu boot_vcpu;

/* --kernel, else $KVMBOX_KERNEL, else guest/kernel.elf beside the kvmbox binary (build/). */
static const char *kernel_path(const struct options *o)
{
	static char path[4096];
	if (o->kernel)
		return o->kernel;
	const char *env = getenv("KVMBOX_KERNEL");
	if (env && env[0])
		return env;
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die(EXIT_VMM_ERROR, "cannot find the guest kernel: readlink /proc/self/exe failed; use --kernel PATH");
	self[n] = 0;
	snprintf(path, sizeof(path), "%s/guest/kernel.elf", dirname(self));
	return path;
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The guest path of a --file/--dir: GUEST as given (relative to /work), else /work/<basename>. */
static void file_guest_path(const struct file_option *f, char *out, size_t n)
{
	char rel[4096];
	if (f->guest)
		snprintf(rel, sizeof(rel), "%s", f->guest);
	else {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s", f->host);
		size_t l = strlen(tmp);
		while (l > 1 && tmp[l - 1] == '/')
			tmp[--l] = 0;
		snprintf(rel, sizeof(rel), "%s", basename_of(tmp));
	}
	if (guest_path_resolve("/work", rel, out, n))
		die(EXIT_VMM_ERROR, "%s: guest path too long", f->host);
}

static uint64_t build_initramfs(struct vm *vm, const struct options *o, struct program *prog)
{
	struct initramfs ir;
	uint64_t file_gpa;
	initramfs_begin(&ir, vm);
	if (prog->from_initrd) {
		/* The user's image as it is, minus its trailer, so --file/--dir members can follow. */
		initramfs_copy_image(&ir, prog->fd, prog->image_len, o->initrd);
		file_gpa = ir.start + prog->data_offset;
	} else {
		struct stat st;
		if (fstat(prog->fd, &st) < 0)
			die(EXIT_VMM_ERROR, "%s: %s", prog->host_path, strerror(errno));
		initramfs_add_dir(&ir, "/work", 0755);
		file_gpa = initramfs_add_file(&ir, prog->exe_path, prog->fd, prog->size, st.st_mode,
					      (uint32_t)st.st_mtime);
	}
	for (int i = 0; i < o->nr_files; i++) {
		char guest[4096];
		file_guest_path(&o->files[i], guest, sizeof(guest));
		initramfs_add_host(&ir, o->files[i].host, guest);
	}
	initramfs_end(&ir);
	return file_gpa;
}

void boot_and_run(const struct options *o, struct program *prog)
{
	struct vm *vm = &the_vm;
	struct vcpu *vcpu = &boot_vcpu;
	vm->verbose = o->verbose;
	vm->kernel_path = kernel_path(o);

	int gdb_fd = gdb_cli_listen(o);
	kvm_open_vm(vm, o->count_cpl0 || o->gdb);
	if (guest_mem_create(vm, o->mem_size))
		die(EXIT_VMM_ERROR, "cannot create %llu MiB of guest memory: %s",
		    (unsigned long long)(o->mem_size >> 20), strerror(errno));
	vm_set_memory(vm);
	cpu_probe(vm);
	irqchip_create(vm);
	if (vm->lapic)
		virtio_bus_place(vm);
	kernel_load(vm);

	/* Boot allocations, in order, from the end of the kernel image (shared/boot.h boot_info). */
	vm->alloc_next = align_up(vm->kernel_end, KVMBOX_PAGE_SIZE);
	vm->boot_info = boot_alloc(vm, KVMBOX_PAGE_SIZE, "boot info");
	vm->fdt = boot_alloc(vm, FDT_MAX_SIZE, "device tree");
	vm->kernel_pml4 = pt_build_kernel(vm);
	vm->frame_table = boot_alloc(vm, vm->mem_size / KVMBOX_PAGE_SIZE * sizeof(uint32_t), "frame table");
	uint64_t file_gpa = build_initramfs(vm, o, prog);

	/* Everything allocated from here on is the first process's own (frame table: use count 1). */
	vm->process_start = vm->alloc_next = align_up(vm->alloc_next, KVMBOX_PAGE_SIZE);
	struct kvmbox_boot_info *bi = GUEST_PTR(vm, vm->boot_info, sizeof(*bi));
	struct process_params pp = {
		.img = &prog->img, .file_gpa = file_gpa, .file_size = prog->size,
		.argc = o->argc, .argv = o->argv, .envc = o->nr_env, .envp = o->env,
		.execfn = prog->execfn, .exe_path = prog->exe_path, .cwd = prog->cwd,
	};
	process_build(vm, &pp, &bi->init);
	vm->free_start = align_up(vm->alloc_next, KVMBOX_PAGE_SIZE);
	uint32_t *frames = GUEST_PTR(vm, vm->frame_table, vm->mem_size / KVMBOX_PAGE_SIZE * 4);
	for (uint64_t pa = vm->process_start; pa < vm->free_start; pa += KVMBOX_PAGE_SIZE)
		frames[pa / KVMBOX_PAGE_SIZE] = 1;
	close(prog->fd);

	/* For crash reports: which program, and where to re-read its symbols. */
	snprintf(vm->prog_path, sizeof(vm->prog_path), "%s", prog->exe_path);
	snprintf(vm->prog_comm, sizeof(vm->prog_comm), "%.15s", basename_of(prog->exe_path));
	snprintf(vm->prog_host_path, sizeof(vm->prog_host_path), "%s", prog->host_path);
	vm->prog_host_offset = prog->from_initrd ? prog->data_offset : 0;
	vm->prog_size = prog->size;
	vm->prog_bias = prog->img.type == ET_DYN ? KVMBOX_PIE_BASE : 0;
	vm->prog_lo = prog->img.min_vaddr;
	vm->prog_hi = prog->img.max_vaddr;

	kernel_apply_header(vm);
	vcpu_create(vm, vcpu, 0);
	cpu_setup_boot(vcpu, bi->init.pml4, vm->kernel_entry, vm->khdr.boot_stack_top,
		       vm->fdt, vm->boot_info);

	vm->boot_flags = (cpu_cpl0_emulated() ? KVMBOX_BOOT_CPL0_EMULATED : 0) |
			 (o->verbose ? KVMBOX_BOOT_VERBOSE : 0) | (vm->pdpe1gb ? KVMBOX_BOOT_1G_PAGES : 0) |
			 (getenv("KVMBOX_TEST_KERNEL_FAULT") ? KVMBOX_BOOT_TEST_FAULT : 0) |
			 (vm->lapic ? KVMBOX_BOOT_LAPIC : 0) |
			 (vm->lapic && o->nr_disks ? KVMBOX_BOOT_DISKS : 0);
	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd))
			vm->boot_flags |= KVMBOX_BOOT_TTY(fd);
	int khz = vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, (void *)0);
	/* The guest clock: one (TSC, CLOCK_REALTIME) pair taken back to back. */
	uint64_t tsc = cpu_read_tsc(vcpu);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t realtime_ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;

	struct fdt_params fp = {
		.mem_size = vm->mem_size, .nr_cpus = 1, .bootargs = "console=hvc",
		.initrd_start = vm->initrd_start, .initrd_end = vm->initrd_start + vm->initrd_size,
		.tsc_khz = khz, .boot_tsc = tsc, .boot_realtime_ns = realtime_ns,
		.cpl0_emulated = vm->boot_flags & KVMBOX_BOOT_CPL0_EMULATED,
		.lapic = vm->lapic,
	};
	virtio_bus_create(vm, o, &fp);
	if (getrandom(fp.rng_seed, sizeof(fp.rng_seed), 0) != sizeof(fp.rng_seed))
		die(EXIT_VMM_ERROR, "getrandom failed");
	char err[256];
	int fdt_size = fdt_build(GUEST_PTR(vm, vm->fdt, FDT_MAX_SIZE), FDT_MAX_SIZE, &fp, err, sizeof(err));
	if (fdt_size < 0)
		die(EXIT_VMM_ERROR, "building the device tree failed: %s", err);
	vm->fdt_size = fdt_size;

	bi->magic = KVMBOX_BOOT_INFO_MAGIC;
	bi->abi_version = KVMBOX_ABI_VERSION;
	bi->flags = vm->boot_flags;
	bi->mem_size = vm->mem_size;
	bi->free_start = vm->free_start;
	bi->frame_table = vm->frame_table;
	bi->kernel_pml4 = vm->kernel_pml4;
	bi->fdt = vm->fdt;
	bi->fdt_size = vm->fdt_size;
	bi->initrd_start = vm->initrd_start;
	bi->initrd_size = vm->initrd_size;
	bi->tsc_khz = khz;
	bi->boot_tsc = tsc;
	bi->boot_realtime_ns = realtime_ns;
	bi->nr_cpus = 1;

	info("memory %llu MiB, kernel end 0x%llx, initrd 0x%llx+0x%llx, process 0x%llx..0x%llx, entry 0x%llx",
	     (unsigned long long)(vm->mem_size >> 20), (unsigned long long)vm->kernel_end,
	     (unsigned long long)vm->initrd_start, (unsigned long long)vm->initrd_size,
	     (unsigned long long)vm->process_start, (unsigned long long)vm->free_start,
	     (unsigned long long)bi->init.entry);

	hc_register_core();
	fpu_hc_register();
	virtio_bus_start(vm);
	gdb_cli_wait(o, gdb_fd, vm, vcpu);
	struct run_options ro = { .timeout = o->timeout, .count_cpl0 = o->count_cpl0 };
	vcpu_run(vcpu, &ro);
}
