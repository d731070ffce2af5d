/* The boot contract: how the VMM lays out the guest and enters the guest kernel. */
#ifndef KVMBOX_BOOT_H
#define KVMBOX_BOOT_H

#include "abi.h"

/*
 * Guest virtual layout (x86-64, 4-level paging):
 *   0 .. 0x00007fffffffffff   user half, one address space per process
 *   KVMBOX_DIRECT_MAP_BASE    all guest-physical memory, RW, NX, global
 *   KVMBOX_KERNEL_BASE        the kernel image: physical [0, 1 GiB) again,
 *                             so the kernel links with -mcmodel=kernel
 * The kernel half (PML4 entries 256..511) is the same in every address space:
 * a process's PML4 copies those 256 entries from the kernel's.
 */
#define KVMBOX_DIRECT_MAP_BASE 0xffff888000000000ull
#define KVMBOX_KERNEL_BASE     0xffffffff80000000ull
#define KVMBOX_KERNEL_PHYS     0x100000ull          /* kernel loads at 1 MiB */
#define KVMBOX_USER_TOP        0x0000800000000000ull /* first non-user address */
#define KVMBOX_STACK_TOP       0x00007ffffffff000ull /* initial user stack top */
#define KVMBOX_STACK_MAX       (8ull << 20)          /* RLIMIT_STACK default */
#define KVMBOX_PIE_BASE        0x0000555555554000ull /* load bias of static PIE */
#define KVMBOX_USER_MAP_TOP    0x00007ffffffff000ull /* mappings end here (Linux TASK_SIZE_MAX) */

/*
 * Where SYSCALL does not reach CPL0. On emulated-CPL0 (kvm_pvm) hosts a
 * SYSCALL from user mode loads rip = IA32_LSTAR and masks rflags but stays
 * at CPL3 (measured: the handler's first fetch faults as a user access).
 * There the VMM sets IA32_LSTAR to this never-mapped user address instead of
 * the kernel header's syscall_entry: the SYSCALL then raises an
 * instruction-fetch #PF at exactly this rip, delivered through the IDT at
 * CPL0, and the kernel's #PF entry turns it into the syscall (rcx and r11
 * hold the return rip and rflags as SYSCALL left them). On hardware hosts
 * LSTAR is syscall_entry and this page is simply never mapped.
 */
#define KVMBOX_SYSCALL_FAULT_VA KVMBOX_USER_MAP_TOP

/*
 * The kernel header: the kernel ELF carries exactly one of these in a section
 * named KVMBOX_HEADER_SECTION. The VMM reads it and, natively, fills the IDT
 * gates, each CPU's TSS descriptor and TSS stacks, and loads GDTR, IDTR, TR,
 * the SYSCALL MSRs and GS.base before the first instruction runs; the kernel
 * then has nothing to build at boot. All addresses are kernel virtual.
 */
#define KVMBOX_HEADER_SECTION ".kvmbox_header"
#define KVMBOX_HEADER_MAGIC   0x584f424dU /* "MBOX" */

/* IDT convention: vectors 3 (#BP) and 4 (#OF) are DPL 3 so int3/into work
 * from user mode; #DF, NMI and #MC run on IST1; all gates are interrupt gates
 * (IF cleared on entry; SDM vol. 3A 6.12.1.2). */
#define KVMBOX_IST_VECTORS_MASK ((1u << 2) | (1u << 8) | (1u << 18))

struct kvmbox_kernel_header {
	uint32_t magic;
	uint32_t abi_version;
	uint32_t max_cpus;
	uint32_t percpu_stride;   /* CPU n's gdt/tss/percpu/stacks: cpu0's + n * stride */
	uint64_t gdt;             /* KVMBOX_GDT_ENTRIES descriptors, code/data filled by the kernel */
	uint64_t tss;             /* 104-byte x86-64 TSS (SDM vol. 3A 8.7) */
	uint64_t percpu;          /* loaded into GS.base */
	uint64_t boot_stack_top;  /* rsp at entry */
	uint64_t ist1_stack_top;  /* TSS.IST1 */
	uint64_t idt;             /* 256 16-byte gates, shared by all CPUs */
	uint64_t isr_stubs;       /* vector v's entry stub at isr_stubs + v * isr_stub_size */
	uint64_t isr_stub_size;
	uint64_t syscall_entry;   /* IA32_LSTAR */
	uint64_t syscall_mask;    /* IA32_FMASK */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_kernel_header, 96);

/*
 * Entry state of the boot vCPU (and, through HC_START_CPU, of others):
 *   64-bit mode, CR0.PG/PE/WP/NE/MP, CR4.PAE/PGE/OSFXSR/OSXMMEXCPT/OSXSAVE
 *   (and FSGSBASE where offered), EFER.LME/LMA/SCE/NXE, interrupts off;
 *   CS = KVMBOX_SEL_KCODE, other segments KVMBOX_SEL_KDATA;
 *   CR3 = the first process's PML4 (whose kernel half is complete);
 *   rip = the ELF entry point, rsp = boot_stack_top,
 *   rdi = guest-physical address of the flattened device tree,
 *   rsi = guest-physical address of struct kvmbox_boot_info.
 */

#define KVMBOX_BOOT_INFO_MAGIC 0x544f4f42U /* "BOOT" */

/* boot_info.flags */
#define KVMBOX_BOOT_CPL0_EMULATED (1ull << 0) /* bulk memory ops go to HC_MEMOP */
#define KVMBOX_BOOT_VERBOSE       (1ull << 1) /* report unknown syscalls (HC_NOTICE) */
#define KVMBOX_BOOT_1G_PAGES      (1ull << 2) /* direct map uses 1 GiB pages */
#define KVMBOX_BOOT_TEST_FAULT    (1ull << 3) /* tests only: the kernel faults at boot (panic path) */
/*
 * The vCPU has KVM's in-kernel local APIC, with x2APIC and the TSC-deadline
 * timer in its CPUID (also the FDT node compatible "kvmbox,x2apic"): the
 * kernel's tickless timer. Without it the kernel has no interrupt source.
 */
#define KVMBOX_BOOT_LAPIC         (1ull << 4)
/*
 * The device tree has virtio-blk nodes: /dev gets vda, vdb, ... Only a
 * hint that a scan is worth its cost (every run would otherwise pay for
 * walking the tree); the disks themselves are found in the device tree.
 */
#define KVMBOX_BOOT_DISKS         (1ull << 5)
/*
 * kvmbox's own fd 0, 1 or 2 is a terminal (isatty(3) on the host): the
 * program's fd of the same number answers the terminal ioctls, else ENOTTY
 * as on Linux for a file or pipe (so libc buffers a redirected stdout fully,
 * as natively). KVMBOX_BOOT_TTY(fd) for fd 0..2.
 */
#define KVMBOX_BOOT_TTY(fd)       (1ull << (6 + (fd)))

/* kvmbox_boot_vma.flags */
#define KVMBOX_VMA_READ     (1u << 0)
#define KVMBOX_VMA_WRITE    (1u << 1)
#define KVMBOX_VMA_EXEC     (1u << 2)
#define KVMBOX_VMA_GROWSDOWN (1u << 3) /* the stack: faults below it extend it */
#define KVMBOX_VMA_HEAP     (1u << 4)  /* the brk area */
#define KVMBOX_VMA_IMAGE    (1u << 5)  /* loaded from the executable */
#define KVMBOX_VMA_SHARED   (1u << 6)  /* MAP_SHARED: frames shared across fork, not copied */

struct kvmbox_boot_vma {
	uint64_t start, end;      /* page aligned, [start, end) */
	uint32_t flags;
	uint32_t pgoff;           /* KVMBOX_VMA_IMAGE: the file page at start (/proc/PID/maps) */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_boot_vma, 24);

#define KVMBOX_BOOT_MAX_VMAS 16
#define KVMBOX_PATH_MAX 256

/* The first process, built natively by the VMM: image, page tables, stack. */
struct kvmbox_boot_process {
	uint64_t pml4;            /* gpa of its PML4 */
	uint64_t entry;           /* rip of the first user instruction */
	uint64_t stack_pointer;   /* rsp: points at argc (SysV ABI 3.4.1) */
	uint64_t brk_start;       /* page-aligned end of the image */
	uint64_t auxv;            /* gva of auxv on the initial stack */
	uint32_t auxv_bytes;
	uint32_t nr_vmas;
	struct kvmbox_boot_vma vmas[KVMBOX_BOOT_MAX_VMAS];
	char exe_path[KVMBOX_PATH_MAX]; /* absolute guest path of the executable */
	char cwd[KVMBOX_PATH_MAX];      /* absolute guest path of the working directory */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_boot_process, 48 + 16 * 24 + 512);

struct kvmbox_boot_info {
	uint32_t magic;
	uint32_t abi_version;
	uint64_t flags;           /* KVMBOX_BOOT_* */
	uint64_t mem_size;        /* guest-physical memory is [0, mem_size) */
	uint64_t free_start;      /* frames from here up were never touched: they read as zero */
	/*
	 * One uint32_t use count per 4 KiB frame, mem_size / 4096 entries, set by
	 * the VMM for the frames it gave the first process (1 each); 0 elsewhere.
	 */
	uint64_t frame_table;     /* gpa */
	uint64_t kernel_pml4;     /* gpa of the kernel-only PML4 (user half empty) */
	uint64_t fdt, fdt_size;   /* gpa, bytes */
	uint64_t initrd_start, initrd_size; /* gpa, bytes: the cpio newc archive */
	uint64_t tsc_khz;         /* TSC frequency (also in the FDT) */
	uint64_t boot_tsc;        /* guest TSC value at boot_realtime_ns */
	uint64_t boot_realtime_ns;/* CLOCK_REALTIME at boot, ns since the epoch */
	uint32_t nr_cpus;
	uint32_t reserved;
	struct kvmbox_boot_process init;
};
KVMBOX_ASSERT_SIZE(struct kvmbox_boot_info, 112 + 48 + 16 * 24 + 512);
_Static_assert(sizeof(struct kvmbox_boot_info) <= KVMBOX_PAGE_SIZE, "boot info fits a page");

#endif
