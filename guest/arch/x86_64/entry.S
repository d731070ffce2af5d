/*
 * Kernel entry points: boot, exception/interrupt stubs, SYSCALL, and the
 * return to user mode. The frame layout is struct trap_frame (proc.h), i.e.
 * the first 21 fields of struct kvmbox_user_regs (shared/regs.h).
 *
 * On hosts that interpret CPL0 every instruction here costs ~0.5 us, so the
 * syscall fast path saves only what C does not preserve and leaves the
 * callee-saved slots (rbx, rbp, r12-r15) to the slow paths, which fill them
 * from the still-live registers before anything reads the frame.
 */

/* trap_frame offsets */
#define F_R15 0
#define F_R14 8
#define F_R13 16
#define F_R12 24
#define F_RBP 32
#define F_RBX 40
#define F_R11 48
#define F_R10 56
#define F_R9 64
#define F_R8 72
#define F_RAX 80
#define F_RCX 88
#define F_RDX 96
#define F_RSI 104
#define F_RDI 112
#define F_ORIG_RAX 120
#define F_RIP 128
#define F_CS 136
#define F_RFLAGS 144
#define F_RSP 152
#define F_SS 160
#define F_SIZE 168

/* proc.h */
#define PERCPU_KSTACK_TOP 8
#define PERCPU_USER_RSP 16
#define PERCPU_WORK 36
#define PERCPU_TSS_RSP0 60
#define PERCPU_SHARED_ENABLED (4096 + 8)
#define ENABLED_SLOW 1                  /* KVMBOX_ENABLED_SLOW */

#define SYSCALL_FAULT_VA 0x00007ffffffff000 /* KVMBOX_SYSCALL_FAULT_VA */
#define SYSCALL_FAULT_VA_LO 0xfffff000
#define SYSCALL_FAULT_VA_HI 0x00007fff
#define USER_CS 0x23
#define USER_DS 0x1b
#define NR_SYSCALLS 512
#define ENOSYS 38

	.section .text.entry, "ax"
	.globl _start
_start:
	/* The VMM entered us in 64-bit mode with GDT, IDT, TSS, GS.base and the
	 * SYSCALL MSRs loaded; rsp = boot stack, rdi = FDT, rsi = boot info. */
	xor %ebp, %ebp
	call kmain
1:	hlt
	jmp 1b

	.text
/* ---- exceptions and interrupts ------------------------------------------ */
/* Vectors where the CPU pushes an error code (SDM vol. 3A 6.15). */
#define HAS_ERR(v) ((v) == 8 || (v) == 10 || (v) == 11 || (v) == 12 || (v) == 13 || \
		    (v) == 14 || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

.macro isr v
	.balign 32
	.if \v == 14
	jmp page_fault_entry
	.exitm
	.endif
	.if !HAS_ERR(\v)
	pushq $0                /* the orig_rax slot holds the error code */
	.endif
	sub $(F_ORIG_RAX), %rsp
	mov %rax, F_RAX(%rsp)
	mov $\v, %eax
	jmp trap_common
.endm

	.balign 32
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	isr vec
	.set vec, vec + 1
	.endr
	.globl isr_stubs_end
isr_stubs_end:

/*
 * #PF: first, is it a SYSCALL on a host where SYSCALL stays at CPL3
 * (KVMBOX_SYSCALL_FAULT_VA in shared/boot.h)? Then the CPU pushed
 * [error code, rip = the fault VA, cs, rflags (masked), rsp, ss] on the
 * thread's kernel stack; rcx/r11 hold the real return rip and rflags.
 */
page_fault_entry:
	/* rip == SYSCALL_FAULT_VA, low half first: an ordinary fault pays two instructions. */
	cmpl $SYSCALL_FAULT_VA_LO, 8(%rsp)
	jne pf_not_syscall
	cmpl $SYSCALL_FAULT_VA_HI, 12(%rsp)
	je pf_syscall
pf_not_syscall:
	/*
	 * A user page fault that mm resolves (demand zero) is the common case:
	 * save only what C clobbers, resolve, and return. Signals and kernel
	 * faults complete the frame and take the general trap path.
	 */
	sub $(F_ORIG_RAX), %rsp
	mov %rax, F_RAX(%rsp)
	mov %rcx, F_RCX(%rsp)
	mov %rdx, F_RDX(%rsp)
	mov %rsi, F_RSI(%rsp)
	mov %rdi, F_RDI(%rsp)
	mov %r8, F_R8(%rsp)
	mov %r9, F_R9(%rsp)
	mov %r10, F_R10(%rsp)
	mov %r11, F_R11(%rsp)
	testb $3, F_CS(%rsp)
	jz 2f
	swapgs
	mov %cr2, %rdi
	mov F_ORIG_RAX(%rsp), %rsi
	call user_page_fault            /* 0: mapped, retry the access */
	test %eax, %eax
	jnz 3f
	testb $1, (F_RFLAGS + 1)(%rsp)  /* TF: a stepped instruction runs again, see return_to_user_full */
	jnz 4f
	/*
	 * Same thread, no switch: the per-CPU stack top and TSS.RSP0 already
	 * hold this thread's kernel stack top (the entry pushed the frame there).
	 */
	mov F_R11(%rsp), %r11
	mov F_R10(%rsp), %r10
	mov F_R9(%rsp), %r9
	mov F_R8(%rsp), %r8
	mov F_RDI(%rsp), %rdi
	mov F_RSI(%rsp), %rsi
	mov F_RDX(%rsp), %rdx
	mov F_RCX(%rsp), %rcx
	mov F_RAX(%rsp), %rax
	add $F_RIP, %rsp
	swapgs
	iretq
3:	/* Not resolvable: a signal. The callee-saved registers still hold the user's values. */
	mov %r15, F_R15(%rsp)
	mov %r14, F_R14(%rsp)
	mov %r13, F_R13(%rsp)
	mov %r12, F_R12(%rsp)
	mov %rbp, F_RBP(%rsp)
	mov %rbx, F_RBX(%rsp)
	mov %rsp, %rdi
	mov $14, %esi
	cld
	call trap
	jmp return_to_user_full
2:	/* In the kernel: the general path, which panics with the frame. */
	mov $14, %eax
	jmp trap_common
4:	/* Resolved, but the faulting instruction is being single-stepped: the full return. */
	mov %r15, F_R15(%rsp)
	mov %r14, F_R14(%rsp)
	mov %r13, F_R13(%rsp)
	mov %r12, F_R12(%rsp)
	mov %rbp, F_RBP(%rsp)
	mov %rbx, F_RBX(%rsp)
	movq $-1, F_ORIG_RAX(%rsp)      /* not a syscall: nothing to restart */
	jmp return_to_user_full

trap_common:
	mov %r15, F_R15(%rsp)
	mov %r14, F_R14(%rsp)
	mov %r13, F_R13(%rsp)
	mov %r12, F_R12(%rsp)
	mov %rbp, F_RBP(%rsp)
	mov %rbx, F_RBX(%rsp)
	mov %r11, F_R11(%rsp)
	mov %r10, F_R10(%rsp)
	mov %r9, F_R9(%rsp)
	mov %r8, F_R8(%rsp)
	mov %rcx, F_RCX(%rsp)
	mov %rdx, F_RDX(%rsp)
	mov %rsi, F_RSI(%rsp)
	mov %rdi, F_RDI(%rsp)
	testb $3, F_CS(%rsp)
	jz 1f
	swapgs                  /* from user mode: GS.base = this CPU's block */
1:	mov %rsp, %rdi
	mov %eax, %esi
	cld
	call trap               /* trap(frame, vector) */
	testb $3, F_CS(%rsp)
	jnz return_to_user_full
	/* back to kernel mode */
	mov F_R15(%rsp), %r15
	mov F_R14(%rsp), %r14
	mov F_R13(%rsp), %r13
	mov F_R12(%rsp), %r12
	mov F_RBP(%rsp), %rbp
	mov F_RBX(%rsp), %rbx
	mov F_R11(%rsp), %r11
	mov F_R10(%rsp), %r10
	mov F_R9(%rsp), %r9
	mov F_R8(%rsp), %r8
	mov F_RAX(%rsp), %rax
	mov F_RCX(%rsp), %rcx
	mov F_RDX(%rsp), %rdx
	mov F_RSI(%rsp), %rsi
	mov F_RDI(%rsp), %rdi
	add $F_RIP, %rsp
	iretq

/*
 * ---- SYSCALL (SDM vol. 2B: rcx = user rip, r11 = user rflags; FMASK cleared IF) ----
 * Two ways in, one body (syscall_body): the real SYSCALL entry (hardware
 * hosts), and the #PF at SYSCALL_FAULT_VA (kvm_pvm, page_fault_entry).
 * The body starts with the hardware part of the frame and orig_rax pushed.
 */
/* The fast return: argument registers, rip, rflags and rsp from the frame; rax holds the result. */
.macro sysret_from_frame
	mov F_R10(%rsp), %r10
	mov F_R9(%rsp), %r9
	mov F_R8(%rsp), %r8
	mov F_RDX(%rsp), %rdx
	mov F_RSI(%rsp), %rsi
	mov F_RDI(%rsp), %rdi
	mov F_RIP(%rsp), %rcx
	mov F_RFLAGS(%rsp), %r11
	mov F_RSP(%rsp), %rsp
	swapgs
	sysretq
.endm

.macro syscall_body
	sub $F_ORIG_RAX, %rsp
	mov %rdi, F_RDI(%rsp)
	mov %rsi, F_RSI(%rsp)
	mov %rdx, F_RDX(%rsp)
	mov %r8, F_R8(%rsp)
	mov %r9, F_R9(%rsp)
	mov %r10, F_R10(%rsp)           /* rcx, rax, r11, rbx, rbp, r12-r15: slow paths */
	cmp $NR_SYSCALLS, %rax
	jae syscall_slow_entry
	cmpq $0, %gs:PERCPU_SHARED_ENABLED
	jne syscall_debug_entry         /* a debugger or a trace (shared/debug.h) */
	mov %r10, %rcx                  /* 4th argument (SysV passes it in rcx) */
	/* Full-frame syscalls (fork, execve, sigreturn...) are syscall_full_frame_entry in the table. */
	call *syscall_table(, %rax, 8)
	/*
	 * Back to user mode. rax holds the result; callee-saved registers still
	 * hold the user's values (C preserved them). The per-CPU stack top and
	 * TSS.RSP0 hold this thread's kernel stack top: it entered there, and a
	 * switch away and back (switch_to) stores them again.
	 */
	cmpl $0, %gs:PERCPU_WORK
	jne syscall_slow_exit
	sysret_from_frame
.endm

	.globl syscall_entry
syscall_entry:
	swapgs
	mov %rsp, %gs:PERCPU_USER_RSP
	mov %gs:PERCPU_KSTACK_TOP, %rsp
	pushq $USER_DS                  /* ss */
	pushq %gs:PERCPU_USER_RSP       /* rsp */
	pushq %r11                      /* rflags */
	pushq $USER_CS                  /* cs */
	pushq %rcx                      /* rip */
	pushq %rax                      /* orig_rax */
	syscall_body

/*
 * kvm_pvm: the CPU pushed [error code, rip = the fault VA, cs, rflags
 * (masked), rsp, ss] on the thread's kernel stack; rcx/r11 hold the real
 * return rip and rflags. The error-code slot is where orig_rax goes.
 */
	.globl syscall_after_hw_frame      /* vmm/cpl0_count.c names the entry here, by rax */
syscall_after_hw_frame:
pf_syscall:
	mov %rax, (%rsp)                /* orig_rax */
	mov %rcx, 8(%rsp)               /* rip: where SYSCALL would return */
	mov %r11, 24(%rsp)              /* rflags: as SYSCALL saved them */
	swapgs
	syscall_body

/* A full-frame syscall reached through the table: drop the return address, take the slow entry. */
	.globl syscall_full_frame_entry
syscall_full_frame_entry:
	add $8, %rsp
	jmp syscall_slow_entry

/* Fill the slots the fast path skipped; the registers still hold user values. */
.macro fill_syscall_frame
	mov %r15, F_R15(%rsp)
	mov %r14, F_R14(%rsp)
	mov %r13, F_R13(%rsp)
	mov %r12, F_R12(%rsp)
	mov %rbp, F_RBP(%rsp)
	mov %rbx, F_RBX(%rsp)
	mov F_RFLAGS(%rsp), %r11
	mov %r11, F_R11(%rsp)
	mov F_RIP(%rsp), %r11
	mov %r11, F_RCX(%rsp)
.endm

/*
 * A debugger is attached (KVMBOX_ENABLED_FRAMES): the fast dispatch, but
 * every register goes into the frame first and comes back from it (gdb
 * reads and writes a thread blocked in a syscall there). SLOW as well:
 * the slow path's stops, traces and step handling.
 */
syscall_debug_entry:
	testq $ENABLED_SLOW, %gs:PERCPU_SHARED_ENABLED
	jnz syscall_slow_entry
	fill_syscall_frame
	mov %r10, %rcx                  /* 4th argument */
	call *syscall_table(, %rax, 8)  /* full-frame syscalls leave for syscall_slow_entry */
	cmpl $0, %gs:PERCPU_WORK
	jne 1f
	mov F_R15(%rsp), %r15           /* what gdb may have written while the thread slept */
	mov F_R14(%rsp), %r14
	mov F_R13(%rsp), %r13
	mov F_R12(%rsp), %r12
	mov F_RBP(%rsp), %rbp
	mov F_RBX(%rsp), %rbx
	sysret_from_frame
1:	mov %rax, F_RAX(%rsp)
	jmp return_to_user_full         /* the frame is complete: no refill (gdb's writes stay) */

syscall_slow_entry:
	fill_syscall_frame
	movq $-ENOSYS, F_RAX(%rsp)
	mov %rsp, %rdi
	call syscall_slow               /* dispatch with stops/traces; sets frame rax */
	jmp return_to_user_full

syscall_slow_exit:
	fill_syscall_frame
	mov %rax, F_RAX(%rsp)
	jmp return_to_user_full

/* ---- the full return path: pending work, then every register from the frame ---- */
	.globl return_to_user
return_to_user:                         /* noreturn void return_to_user(struct trap_frame *) */
	mov %rdi, %rsp
	.globl return_to_user_full
return_to_user_full:
	cli
	cmpl $0, %gs:PERCPU_WORK
	je 1f
	mov %rsp, %rdi
	call exit_to_user_work          /* signals, stops: may rewrite the frame */
	jmp return_to_user_full
1:	testb $1, (F_RFLAGS + 1)(%rsp)  /* TF: one instruction is to be stepped (kernel/debug_step.c) */
	jz 5f
	mov %rsp, %rdi
	call debug_tf_return            /* may send the return through the step trampoline */
5:	lea F_SIZE(%rsp), %rax
	mov %rax, %gs:PERCPU_KSTACK_TOP
	mov %rax, %gs:PERCPU_TSS_RSP0
	mov F_R15(%rsp), %r15
	mov F_R14(%rsp), %r14
	mov F_R13(%rsp), %r13
	mov F_R12(%rsp), %r12
	mov F_RBP(%rsp), %rbp
	mov F_RBX(%rsp), %rbx
	mov F_R10(%rsp), %r10
	mov F_R9(%rsp), %r9
	mov F_R8(%rsp), %r8
	mov F_RDX(%rsp), %rdx
	mov F_RSI(%rsp), %rsi
	mov F_RDI(%rsp), %rdi
	/*
	 * SYSRET only when it restores exactly the frame: rcx == rip, r11 ==
	 * rflags, no TF/RF (a step must trap on the next instruction), and a
	 * canonical user rip (SYSRET to a non-canonical rip faults in ring 0).
	 */
	mov F_RIP(%rsp), %rcx
	cmp F_RCX(%rsp), %rcx
	jne 2f
	mov F_RFLAGS(%rsp), %r11
	cmp F_R11(%rsp), %r11
	jne 2f
	test $0x10100, %r11
	jnz 2f
	mov $0x00007ffffffff000, %rax
	cmp %rax, %rcx
	jae 2f
	mov F_RAX(%rsp), %rax
	mov F_RSP(%rsp), %rsp
	swapgs
	sysretq
2:	mov F_R11(%rsp), %r11
	mov F_RAX(%rsp), %rax
	mov F_RCX(%rsp), %rcx
	add $F_RIP, %rsp
	swapgs
	iretq

	.section .note.GNU-stack, "", @progbits
