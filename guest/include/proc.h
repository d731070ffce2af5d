/* Processes, threads, the per-CPU block and the trap frame. */
#ifndef GUEST_PROC_H
#define GUEST_PROC_H
#include "types.h"
#include "mm.h"
#include <kvmbox.h>

/*
 * The trap frame: exactly the first KVMBOX_TRAP_FRAME_WORDS fields of
 * struct kvmbox_user_regs, built on the kernel stack by the syscall entry
 * and by every exception stub (arch/x86_64/entry.S). For exceptions,
 * orig_rax holds the hardware error code on entry (0 where the vector has
 * none); trap() replaces it with -1 as Linux does.
 */
struct trap_frame {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi;
	uint64_t orig_rax;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == KVMBOX_TRAP_FRAME_WORDS * 8, "trap frame");

#define KSTACK_SIZE (16 * 1024)
#define NR_OPEN 256
#define NSIG 64

struct fdtable;   /* fs.h */
struct inode;     /* fs.h */

struct k_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

struct proc {
	pid_t pid, ppid, pgid, sid;
	struct mm *mm;
	struct fdtable *files;
	struct inode *cwd;
	uint32_t umask;
	struct k_sigaction sigactions[NSIG];
	char exe_path[KVMBOX_PATH_MAX];
	char comm[16];
};

struct thread {
	/* Kernel stack: [kstack_top - KSTACK_SIZE, kstack_top); the trap frame sits at its top. */
	uint64_t kstack_top;
	struct proc *proc;
	pid_t tid;
	uint64_t fs_base, gs_base;
	uint64_t clear_child_tid;
	uint64_t sigmask;
	uint64_t robust_list, robust_list_len;
};

/*
 * Per-CPU block at GS.base while in the kernel (SWAPGS on every entry from
 * user mode; SDM vol. 2B SWAPGS). The entry code addresses the first fields
 * by fixed offset (PERCPU_* below, checked by _Static_assert in percpu.c).
 */
struct percpu {
	uint64_t self;           /* 0: this block's own address */
	uint64_t kstack_top;     /* 8: the current thread's kernel stack top (syscall entry) */
	uint64_t user_rsp;       /* 16: scratch: user rsp at syscall entry */
	struct thread *current;  /* 24 */
	uint32_t cpu;            /* 32 */
	uint32_t pad;
	struct kvmbox_shared_page *shared; /* 40: this vCPU's shared page */
};
#define PERCPU_KSTACK_TOP 8
#define PERCPU_USER_RSP 16

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}
static inline struct thread *current_thread(void) { return this_cpu()->current; }
static inline struct proc *current_proc(void) { return this_cpu()->current->proc; }

/* Fatal signal from a trap or a syscall: report (HC_CRASH) and end the process. */
noreturn void proc_exit(int wait_status);
noreturn void force_fatal_signal(struct trap_frame *tf, int signo, int si_code, uint64_t addr,
				 uint64_t vector, uint64_t error_code);
/* Return to user mode with this frame (never returns). */
noreturn void return_to_user(struct trap_frame *tf);
#endif
