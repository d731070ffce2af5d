/* The saved user register frame, as the guest kernel stores it and the VMM reads it. */
#ifndef KVMBOX_REGS_H
#define KVMBOX_REGS_H

#include "abi.h"

/*
 * Same order as Linux's struct user_regs_struct (arch/x86/include/asm/user_64.h),
 * the layout ptrace(PTRACE_GETREGS) and core files use. The first 21 fields
 * are also the guest kernel's trap frame: its entry code pushes r15..rdi and
 * orig_rax on top of the hardware interrupt frame (rip, cs, rflags, rsp, ss;
 * Intel SDM vol. 3A 6.14.2), so a frame is exposed without copying.
 */
struct kvmbox_user_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi;
	uint64_t orig_rax;      /* syscall number at entry; -1 for traps */
	uint64_t rip, cs, rflags, rsp, ss;
	uint64_t fs_base, gs_base;
	uint64_t ds, es, fs, gs;
};
KVMBOX_ASSERT_SIZE(struct kvmbox_user_regs, 27 * 8);
KVMBOX_ASSERT_OFFSET(struct kvmbox_user_regs, orig_rax, 15 * 8);
KVMBOX_ASSERT_OFFSET(struct kvmbox_user_regs, rip, 16 * 8);
KVMBOX_ASSERT_OFFSET(struct kvmbox_user_regs, fs_base, 21 * 8);

/* Number of leading fields that form the in-kernel trap frame. */
#define KVMBOX_TRAP_FRAME_WORDS 21

/* Segment selectors of the guest kernel's GDT (user ones have RPL 3). */
#define KVMBOX_SEL_KCODE 0x08
#define KVMBOX_SEL_KDATA 0x10
#define KVMBOX_SEL_UDATA 0x1b /* SYSRET takes SS = STAR[63:48] + 8 */
#define KVMBOX_SEL_UCODE 0x23 /* and CS = STAR[63:48] + 16 (SDM vol. 2B SYSRET) */
#define KVMBOX_SEL_TSS   0x28 /* 16-byte system descriptor, slots 5 and 6 */
#define KVMBOX_GDT_ENTRIES 7

#endif
