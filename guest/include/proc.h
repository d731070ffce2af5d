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
	/* Absolute guest path of the executable (NUL-terminated, at most KVMBOX_PATH_MAX). */
	const char *exe_path;
};

/* The executable's base name, as a crash report names the program. */
const char *proc_comm(const struct proc *p);

struct thread {
	/* Signals raised for this thread (bit sig-1), acted on before it returns to user mode. */
	uint64_t pending;
	/* Kernel stack: [kstack_top - KSTACK_SIZE, kstack_top); the trap frame sits at its top. */
	uint64_t kstack_top;
	struct proc *proc;
	pid_t tid;
	uint64_t fs_base, gs_base;
	uint64_t clear_child_tid;
	uint64_t sigmask;
	uint64_t robust_list, robust_list_len;
};

/* The 64-bit TSS (SDM vol. 3A 8.7); packed: rsp0 sits at offset 4. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS");

/*
 * Per-CPU block at GS.base while in the kernel (SWAPGS on every entry from
 * user mode; SDM vol. 2B SWAPGS). Entry code addresses fields by the fixed
 * PERCPU_* offsets below (checked in arch/x86_64/percpu.c). The vCPU's
 * shared page with the VMM is the second page of the block, so the syscall
 * entry tests its `enabled` word with one gs-relative compare.
 */
struct percpu {
	uint64_t self;           /* 0: this block's own address */
	uint64_t kstack_top;     /* 8: the current thread's kernel stack top (syscall entry) */
	uint64_t user_rsp;       /* 16: scratch: user rsp at syscall entry */
	struct thread *current;  /* 24 */
	uint32_t cpu;            /* 32 */
	uint32_t work;           /* 36: nonzero: take the slow path back to user mode */
	struct mm *mm;           /* 40: the current thread's address space */
	uint64_t reserved;       /* 48 */
	struct tss tss;          /* 56: rsp0 at 60 */
	uint8_t pad0[8];
	uint64_t gdt[KVMBOX_GDT_ENTRIES]; /* 168 */
	uint8_t pad1[4096 - 224];
	struct kvmbox_shared_page shared __attribute__((aligned(4096))); /* 4096 */
	uint8_t shared_pad[4096 - sizeof(struct kvmbox_shared_page)];
	uint8_t ist1_stack[4096] __attribute__((aligned(16)));
	uint8_t boot_stack[KSTACK_SIZE] __attribute__((aligned(16)));
} __attribute__((aligned(4096)));
#define PERCPU_KSTACK_TOP 8
#define PERCPU_USER_RSP 16
#define PERCPU_WORK 36
#define PERCPU_TSS_RSP0 60
#define PERCPU_SHARED_ENABLED (4096 + 8)
#define MAX_CPUS 2

/* percpu.work bits */
#define WORK_FATAL_SIGNAL (1u << 0)

extern struct percpu percpu_blocks[MAX_CPUS];
void percpu_init(unsigned cpu);

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
/* The current thread's frame (at the top of its kernel stack). */
struct trap_frame *current_frame(void);
/* Queue a signal for the current thread (acted on on the way back to user mode). */
void signal_self(int signo);
/* Return to user mode with this frame (never returns). */
noreturn void return_to_user(struct trap_frame *tf);
#endif
