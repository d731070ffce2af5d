/* The debug path: stop records, the commands the VMM answers a stop with, the shared page. */
#ifndef KVMBOX_DEBUG_H
#define KVMBOX_DEBUG_H

#include "abi.h"
#include "regs.h"

/*
 * Events the guest kernel can stop at. The VMM asks for them by setting bits
 * in kvmbox_shared_page.stop_events; the guest checks the mask (one load)
 * at the point of the event and, if set, makes an HC_STOP hypercall.
 */
enum kvmbox_stop_event {
	KVMBOX_EV_START        = 0,  /* about to run the first user instruction */
	KVMBOX_EV_BREAKPOINT   = 1,  /* #BP from user mode */
	KVMBOX_EV_SINGLESTEP   = 2,  /* #DB after a step */
	KVMBOX_EV_WATCHPOINT   = 3,  /* hardware or page-protection watchpoint */
	KVMBOX_EV_SIGNAL       = 4,  /* a signal is about to be delivered */
	KVMBOX_EV_SYSCALL_ENTRY = 5,
	KVMBOX_EV_SYSCALL_EXIT = 6,
	KVMBOX_EV_CLONE        = 7,  /* new thread; aux = new tid */
	KVMBOX_EV_FORK         = 8,  /* new process; aux = child pid */
	KVMBOX_EV_VFORK        = 9,
	KVMBOX_EV_EXEC         = 10, /* execve succeeded: the frame is the new program's first */
	KVMBOX_EV_EXIT         = 11, /* thread group exits (any process); aux = wait status */
	KVMBOX_EV_KERNEL_BREAKPOINT = 12, /* int3 in the guest kernel (kernel mode) */
	KVMBOX_EV_VFORK_DONE   = 13, /* a vfork parent is released (the child exec'd or exited); aux = child pid */
	KVMBOX_EV_COUNT
};

struct kvmbox_stop_record {
	uint32_t event;           /* enum kvmbox_stop_event */
	uint32_t cpu;
	uint32_t pid, tid;
	int32_t signo, si_code;   /* for SIGNAL, BREAKPOINT, SINGLESTEP, WATCHPOINT */
	uint64_t fault_addr;       /* si_addr (named so: glibc makes si_addr a macro) */
	uint64_t syscall_nr;      /* for SYSCALL_ENTRY/EXIT */
	uint64_t args[6];
	int64_t retval;           /* for SYSCALL_EXIT */
	uint64_t aux;             /* event specific, see above */
	uint64_t watch_addr;      /* for WATCHPOINT */
	uint32_t watch_kind;      /* enum kvmbox_bp_kind */
	uint32_t flags;           /* KVMBOX_STOPF_* */
	uint64_t cr3;             /* the stopped process's address space */
	/*
	 * The stopped thread's saved frame (guest-physical; the first
	 * KVMBOX_TRAP_FRAME_WORDS fields of struct kvmbox_user_regs, complete
	 * at every stop): the VMM reads registers natively, without a command.
	 */
	uint64_t frame_gpa;
	uint64_t fs_base, gs_base;
};
KVMBOX_ASSERT_SIZE(struct kvmbox_stop_record, 152);

/* kvmbox_stop_record.flags: what the guest kernel's start-up probes found (EV_START). */
#define KVMBOX_STOPF_DR_WORK      (1u << 0) /* debug registers fire for ring-3 code */
#define KVMBOX_STOPF_STEP_TRAMP   (1u << 1) /* iretq+TF skips a trap: steps go through a trampoline */
#define KVMBOX_STOPF_STEP_BROKEN  (1u << 2) /* TF single-step of ring 3 does not trap at all */

enum kvmbox_bp_kind {
	KVMBOX_BP_EXEC  = 0,
	KVMBOX_BP_WRITE = 1,
	KVMBOX_BP_READ  = 2,  /* x86 has no read-only watchpoint: access, filtered */
	KVMBOX_BP_ACCESS = 3,
};

/* What the VMM tells a stopped guest to do next. */
enum kvmbox_cmd_op {
	KVMBOX_CMD_RESUME      = 0,  /* continue; arg0 = signal to deliver (0: none) */
	KVMBOX_CMD_STEP        = 1,  /* tid (0: the stopped thread) steps one instruction; arg0 = signal */
	KVMBOX_CMD_KILL        = 2,  /* kill the stopped process (SIGKILL) */
	KVMBOX_CMD_GET_REGS    = 3,  /* tid -> regs, data = 512-byte FXSAVE image; result 512 */
	KVMBOX_CMD_SET_REGS    = 4,  /* tid <- regs (user-changeable rflags bits only) */
	KVMBOX_CMD_READ_MEM    = 5,  /* pid, addr, len <= DATA_MAX -> data */
	KVMBOX_CMD_WRITE_MEM   = 6,  /* pid, addr, len, data; breaks copy-on-write */
	KVMBOX_CMD_SET_BP      = 7,  /* pid, arg0 = slot 0..3, addr, len, arg1 = kind (watchpoints: page protection) */
	KVMBOX_CMD_CLEAR_BP    = 8,  /* pid, arg0 = slot */
	KVMBOX_CMD_LIST_THREADS = 9, /* -> data: array of {pid, tid} uint32 pairs; result = count */
	KVMBOX_CMD_READ_AUXV   = 10, /* pid, addr = offset -> data */
	KVMBOX_CMD_FILE        = 11, /* data = NUL-terminated path, pid (0: the stopped process) for
					/proc/self, arg1 = enum kvmbox_file_op, addr = offset, len = max
					-> result and data per op (vFile, read only) */
	KVMBOX_CMD_DETACH      = 12, /* stop reporting, run on */
	KVMBOX_CMD_COUNT
};

#define KVMBOX_STOP_DATA_MAX 2048

/* KVMBOX_CMD_FILE: what gdb's vFile packets need of a guest path. */
enum kvmbox_file_op {
	KVMBOX_FILE_READ     = 0, /* -> data: up to len bytes from offset addr; result = count */
	KVMBOX_FILE_STAT     = 1, /* -> result 0, data: struct kvmbox_file_stat */
	KVMBOX_FILE_READLINK = 2, /* -> data: the link's target (no NUL); result = length */
};

struct kvmbox_file_stat {
	uint64_t size, ino;
	uint32_t mode, nlink;
};

/*
 * HC_STOP: the guest fills `stop` (whose frame_gpa locates the stopped
 * thread's registers) and makes the call; the VMM answers with `cmd`. The guest performs it,
 * writes `result` (>= 0 or -errno) and `data`/`regs` as the command says, and
 * makes the call again, until a RESUME, STEP, KILL or DETACH. `ret` < 0:
 * nobody is debugging, resume.
 */
struct kvmbox_hc_stop {
	int64_t ret;              /* OUT */
	struct kvmbox_stop_record stop; /* IN */
	struct kvmbox_user_regs regs;   /* IN/OUT: per command */
	int64_t result;           /* IN: result of the previous command */
	struct {
		uint32_t op;          /* enum kvmbox_cmd_op */
		uint32_t pid, tid;
		uint32_t len;
		uint64_t addr;
		uint64_t arg0, arg1;
	} cmd;                    /* OUT */
	uint8_t data[KVMBOX_STOP_DATA_MAX]; /* IN/OUT: per command */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_stop, 8 + 152 + 216 + 8 + 40 + 2048);

/*
 * The LAPIC vector (an MSI from the VMM) that asks the guest kernel to stop
 * the debugged program, for gdb's interrupt (0x03): the kernel sends it
 * SIGINT, whose delivery is then a SIGNAL stop, as gdbserver does it.
 */
#define KVMBOX_DEBUG_INTERRUPT_VECTOR 0xed

/* The per-vCPU shared page (HC_SHARED_PAGE). */
#define KVMBOX_SHARED_MAGIC 0x52414853U /* "SHAR" */
#define KVMBOX_MAX_SYSCALLS 512

struct kvmbox_trace_record {
	uint32_t pid, tid;
	uint32_t nr;              /* syscall number */
	uint32_t phase;           /* 0 entry, 1 exit */
	uint64_t args[6];
	int64_t retval;
	uint64_t time_ns;
};
KVMBOX_ASSERT_SIZE(struct kvmbox_trace_record, 80);

#define KVMBOX_TRACE_RING_ENTRIES 32

#define KVMBOX_ENABLED_SLOW   1ull  /* kvmbox_shared_page.enabled: syscalls take the slow path */
#define KVMBOX_ENABLED_FRAMES 2ull  /* ... or at least save and restore every register */

struct kvmbox_shared_page {
	uint32_t magic;           /* guest sets at registration */
	uint32_t cpu;
	/*
	 * Written by the VMM, read by the guest with plain loads. `enabled`
	 * (KVMBOX_ENABLED_*) is 0 without a debugger or trace: the syscall
	 * entry tests this one word. FRAMES: a debugger is attached, so every
	 * syscall saves all registers in the thread's frame (gdb reads and
	 * writes a blocked thread's) and returns from it. SLOW: syscalls take
	 * the slow path with its hooks: syscall stops, the trace, a single
	 * step (one over `syscall` ends at its exit). Other stops are raised
	 * where they happen, so an attached debugger without catchpoints costs
	 * a syscall only the frame.
	 */
	volatile uint64_t enabled;
	volatile uint64_t stop_events;   /* bit (1 << enum kvmbox_stop_event) */
	volatile uint64_t trace_enabled; /* record syscalls in the ring */
	volatile uint64_t syscall_filter[KVMBOX_MAX_SYSCALLS / 64]; /* stops/trace for these nrs; all ones = every */
	/* Trace ring: guest produces at head, VMM consumes at tail (both free-running). */
	volatile uint32_t ring_head;
	volatile uint32_t ring_tail;
	struct kvmbox_trace_record ring[KVMBOX_TRACE_RING_ENTRIES];
	/* Written by the VMM before KVMBOX_DEBUG_INTERRUPT_VECTOR: the process to
	   send SIGINT (gdb's, which after a fork may be the child); 0: the first. */
	volatile uint32_t interrupt_pid;
};
_Static_assert(sizeof(struct kvmbox_shared_page) <= KVMBOX_PAGE_SIZE, "shared page fits a page");


#endif
