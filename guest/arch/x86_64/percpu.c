/* Per-CPU blocks, the IDT, and the kernel header the VMM reads to set them up natively. */
#include "proc.h"
#include "lib.h"

struct percpu percpu_blocks[MAX_CPUS];

/* 256 16-byte gates, written by the VMM from isr_stubs (shared/boot.h). */
uint64_t idt[512] __attribute__((aligned(16)));

extern char isr_stubs[], isr_stubs_end[], syscall_entry[];

_Static_assert(__builtin_offsetof(struct percpu, kstack_top) == PERCPU_KSTACK_TOP, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, user_rsp) == PERCPU_USER_RSP, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, current) == PERCPU_CURRENT, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, work) == PERCPU_WORK, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, mm) == PERCPU_MM, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, tss) + 4 == PERCPU_TSS_RSP0, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, shared) + __builtin_offsetof(struct kvmbox_shared_page, enabled) ==
	       PERCPU_SHARED_ENABLED, "percpu");
_Static_assert(__builtin_offsetof(struct percpu, gdt) == 168, "percpu");
_Static_assert(KVMBOX_ENABLED_SLOW == 1, "entry.S ENABLED_SLOW");

/* RFLAGS bits SYSCALL clears: TF, IF, DF, IOPL, NT, AC (as Linux). */
#define SYSCALL_MASK 0x47700

__attribute__((section(KVMBOX_HEADER_SECTION), used))
const struct kvmbox_kernel_header kvmbox_kernel_header = {
	.magic = KVMBOX_HEADER_MAGIC,
	.abi_version = KVMBOX_ABI_VERSION,
	.max_cpus = MAX_CPUS,
	.percpu_stride = sizeof(struct percpu),
	.gdt = (uint64_t)&percpu_blocks[0].gdt,
	.tss = (uint64_t)&percpu_blocks[0].tss,
	.percpu = (uint64_t)&percpu_blocks[0],
	.boot_stack_top = (uint64_t)&percpu_blocks[0].boot_stack[KSTACK_SIZE],
	.ist1_stack_top = (uint64_t)&percpu_blocks[0].ist1_stack[4096],
	.idt = (uint64_t)idt,
	.isr_stubs = (uint64_t)isr_stubs,
	.isr_stub_size = 32,
	.syscall_entry = (uint64_t)syscall_entry,
	.syscall_mask = SYSCALL_MASK,
};

/*
 * The flat descriptors (SDM vol. 3A 3.4.5, 5.2.1): the VMM loaded their
 * cached forms with KVM_SET_SREGS, but the CPU reads the table itself on
 * the first interrupt or iretq, so they must be in memory before user mode.
 */
void percpu_init(unsigned cpu)
{
	struct percpu *pc = &percpu_blocks[cpu];
	pc->self = (uint64_t)pc;
	pc->cpu = cpu;
	pc->gdt[1] = 0x00af9a000000ffffull; /* 0x08 kernel code, 64-bit */
	pc->gdt[2] = 0x00cf92000000ffffull; /* 0x10 kernel data */
	pc->gdt[3] = 0x00cff2000000ffffull; /* 0x1b user data (SYSRET: STAR[63:48] + 8) */
	pc->gdt[4] = 0x00affa000000ffffull; /* 0x23 user code, 64-bit (STAR[63:48] + 16) */
}

