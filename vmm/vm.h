/* The VM and vCPU state shared by the VMM's files (one struct per KVM fd level). */
#ifndef VMM_VM_H
#define VMM_VM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <kvmbox.h>

struct kvm_run;
struct kvm_cpuid2;

struct vm {
	int kvm_fd;               /* /dev/kvm */
	int vm_fd;                /* KVM_CREATE_VM */
	int mem_fd;               /* memfd backing guest memory (shareable with vhost-user peers) */
	uint8_t *mem;             /* host mapping of guest-physical [0, mem_size) */
	uint64_t mem_size;
	uint64_t alloc_next;      /* boot allocator: next free page-aligned gpa */
	bool verbose;             /* GUEST_PTR failures name the caller's file:line */

	/* The guest kernel (kernel_loader.c). */
	const char *kernel_path;
	struct kvmbox_kernel_header khdr;
	uint64_t kernel_entry;    /* e_entry, kernel virtual */
	uint64_t kernel_end;      /* physical end of the loaded image */

	/* Host CPU features (cpu_x86_64.c), from KVM_GET_SUPPORTED_CPUID. */
	struct kvm_cpuid2 *cpuid;
	bool pdpe1gb, fsgsbase;
	uint32_t hwcap;           /* CPUID.1:EDX, the auxv AT_HWCAP */
	uint64_t xcr0;

	/* The interrupt controller (irqchip_x86_64.c). */
	bool lapic;               /* in-kernel local APIC with the TSC-deadline timer */
	bool split_irqchip;       /* ... from KVM_CAP_SPLIT_IRQCHIP: no in-kernel IOAPIC/PIC */
	bool x2apic_api;          /* KVM_CAP_X2APIC_API enabled (32-bit APIC IDs in MSI routes) */

	/* Boot layout (all gpa). */
	uint64_t boot_info, fdt, fdt_size, kernel_pml4, frame_table;
	uint64_t initrd_start, initrd_size;
	uint64_t process_start;   /* first frame of the first process */
	uint64_t free_start;
	uint64_t boot_flags;      /* KVMBOX_BOOT_* */
	uint64_t virtio_base;     /* virtio-mmio register windows (virtio_bus.c), 0 if none */

	/* The first program, for crash reports. */
	char prog_comm[16];       /* as the guest reports it: basename, truncated to 15 */
	char prog_path[KVMBOX_PATH_MAX]; /* its guest path */
	char prog_host_path[4096];/* re-read for symbols at crash time: the file, or the --initrd image */
	uint64_t prog_host_offset, prog_size;
	uint64_t prog_bias;       /* load bias (static PIE) */
	uint64_t prog_lo, prog_hi;/* its PT_LOAD span, before the bias */
};

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	uint64_t shared_page;     /* gpa registered with HC_SHARED_PAGE, 0 if none */
};
#endif
