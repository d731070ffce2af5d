/*
 * The boundary between the gdb remote protocol (vmm/gdb_*.c) and what it
 * debugs. A target is a table of operations plus a context pointer; the
 * protocol layer calls them from its own thread (one gdb connection at a
 * time), never concurrently, and never from a vCPU thread.
 *
 * Two backends implement it: kernel mode (vmm/gdb_kernel.c: vCPUs are
 * threads, KVM guest debugging) and process mode (vmm/debug_process*.c:
 * guest processes and threads, through the HC_STOP hypercall of
 * shared/debug.h). Everything here is target-neutral: Linux numbering for
 * signals (the stub converts to gdb's own numbering, gdb/signals.def),
 * plain x86-64 registers, guest-virtual addresses.
 *
 * Conventions: functions returning int give 0 (or a count) on success and
 * -errno on failure. -EOPNOTSUPP means "this target does not do that" and
 * becomes the empty reply gdb reads as "not supported"; any other -errno
 * becomes an "E NN" error reply (NN = errno, hex) and the session goes on.
 * Optional operations may be NULL: the stub then answers as if they returned
 * -EOPNOTSUPP. The execution model is all-stop: when one thread stops, the
 * target stops all of them before wait() returns, and every operation other
 * than resume()/wait()/interrupt() is only called while everything is stopped.
 */
#ifndef VMM_GDB_TARGET_H
#define VMM_GDB_TARGET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A thread: pid and tid both > 0. Kernel mode: pid 1, tid = vCPU index + 1. */
struct gdb_tid {
	int64_t pid, tid;
};

/*
 * The register set the stub exchanges with gdb (the stub maps it to the
 * target description's numbering, see gdb_tdesc.c). x87/SSE state is the
 * 512-byte FXSAVE image (Intel SDM vol. 1 10.5.1, table 10-2: FCW at 0, FSW
 * at 2, abridged FTW at 4, FOP at 6, FIP at 8, FDP at 16, MXCSR at 24,
 * ST0..7 at 32 + 16 i (10 bytes each), XMM0..15 at 160 + 16 i), whatever
 * the target actually saved it with (KVM_GET_FPU, fxsave, xsave's legacy area).
 */
struct gdb_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, eflags;
	uint64_t cs, ss, ds, es, fs, gs;  /* selectors */
	uint64_t fs_base, gs_base;
	uint64_t orig_rax;                /* syscall number at a syscall stop, else -1 */
	uint8_t fxsave[512];
};

/* gdb breakpoint types, numbered as the Z packet numbers them (Z0..Z4). */
enum gdb_bp_type {
	GDB_BP_SW     = 0,  /* int3 written into memory (Z0) */
	GDB_BP_HW     = 1,  /* execution breakpoint in a debug register (Z1) */
	GDB_BP_WRITE  = 2,  /* watchpoints (Z2, Z3, Z4); len 1, 2, 4 or 8, aligned */
	GDB_BP_READ   = 3,
	GDB_BP_ACCESS = 4,
};

/* What one thread does on resume (vCont actions c, C, s, S, t). */
enum gdb_resume_kind {
	GDB_RESUME_STOPPED  = 0,  /* stays stopped (no action named it; `t`) */
	GDB_RESUME_CONTINUE = 1,
	GDB_RESUME_STEP     = 2,  /* exactly one instruction, then a SIGTRAP stop */
};

struct gdb_resume {
	struct gdb_tid tid;
	enum gdb_resume_kind kind;
	int signo;                /* Linux signal to deliver on resume, 0: none (and any
				     pending stop signal is discarded, as ptrace does) */
};

/* Why a thread stopped, beyond its signal (T packet "reason" fields). */
enum gdb_stop_reason {
	GDB_STOP_REASON_NONE = 0,      /* plain signal (incl. SIGTRAP after a step) */
	GDB_STOP_REASON_SWBREAK,       /* a Z0 breakpoint: rip is already back at its address */
	GDB_STOP_REASON_HWBREAK,       /* a Z1 breakpoint */
	GDB_STOP_REASON_WATCH,         /* Z2: addr = the watched address hit */
	GDB_STOP_REASON_RWATCH,        /* Z3 */
	GDB_STOP_REASON_AWATCH,        /* Z4 */
	GDB_STOP_REASON_SYSCALL_ENTRY, /* QCatchSyscalls: value = syscall number */
	GDB_STOP_REASON_SYSCALL_RETURN,/* value = syscall number */
	GDB_STOP_REASON_FORK,          /* child = the new process's thread (stopped) */
	GDB_STOP_REASON_VFORK,         /* ditto */
	GDB_STOP_REASON_VFORKDONE,
	GDB_STOP_REASON_EXEC,          /* path = the new program (guest path) */
};

enum gdb_stop_kind {
	GDB_STOP_SIGNAL = 0,  /* thread `tid` stopped with `signo` (T packet) */
	GDB_STOP_EXITED,      /* process `tid.pid` exited with `status` (W packet) */
	GDB_STOP_KILLED,      /* process `tid.pid` died of `signo` (X packet) */
};

struct gdb_stop {
	enum gdb_stop_kind kind;
	struct gdb_tid tid;
	int signo;                 /* Linux numbering; SIGTRAP for breaks/steps/watches,
				      SIGINT for a stop caused by interrupt() */
	int status;                /* GDB_STOP_EXITED: the exit status, 0..255 */
	enum gdb_stop_reason reason;
	uint64_t addr;             /* WATCH/RWATCH/AWATCH: data address */
	uint64_t value;            /* SYSCALL_*: syscall number */
	struct gdb_tid child;      /* FORK/VFORK */
	char path[256];            /* EXEC */
};

/* What vFile:fstat reports of a target file (gdb's struct fio_stat takes these). */
struct gdb_file_stat {
	uint64_t size, ino;
	uint32_t mode, nlink;     /* Linux S_IF* | permission bits */
};

/* Capability flags (caps()): what the stub may advertise and accept. */
enum {
	GDB_CAP_MULTIPROCESS  = 1u << 0,  /* pPID.TID thread ids, vKill;PID, D;PID */
	GDB_CAP_SW_BREAK      = 1u << 1,  /* Z0 */
	GDB_CAP_HW_BREAK      = 1u << 2,  /* Z1 */
	GDB_CAP_WATCH         = 1u << 3,  /* Z2, Z3, Z4 */
	GDB_CAP_CATCH_SYSCALL = 1u << 4,  /* QCatchSyscalls */
	GDB_CAP_FORK_EVENTS   = 1u << 5,  /* fork/vfork/vforkdone stops */
	GDB_CAP_EXEC_EVENTS   = 1u << 6,
	GDB_CAP_PASS_SIGNALS  = 1u << 7,  /* QPassSignals, QProgramSignals */
	GDB_CAP_PROCESS       = 1u << 8,  /* user processes: gdb's "linux" osabi, qAttached 0 */
};

struct gdb_target_ops {
	/* GDB_CAP_* bits; called once per connection, after start-up probing.
	   Until the first resume, `?` reports SIGTRAP on the first thread of
	   threads() (the target is stopped at its start when gdb_serve() runs). */
	unsigned (*caps)(void *ctx);

	/* Fill up to `max` live threads, in a stable order; return how many exist
	   (may exceed max: the stub then calls again with a bigger array). */
	int (*threads)(void *ctx, struct gdb_tid *out, int max);

	/* 0 if the thread exists, -ESRCH if not (the T packet). */
	int (*thread_alive)(void *ctx, struct gdb_tid tid);

	int (*get_regs)(void *ctx, struct gdb_tid tid, struct gdb_regs *r);
	/* Writes all of *r back (the stub does read-modify-write for P). */
	int (*set_regs)(void *ctx, struct gdb_tid tid, const struct gdb_regs *r);

	/* Guest-virtual memory of the thread's address space. Return the number
	   of bytes transferred from the start (a short count stops at the first
	   unmapped/unwritable byte), or -EFAULT if none could be. */
	ssize_t (*read_mem)(void *ctx, struct gdb_tid tid, uint64_t addr, void *buf, size_t len);
	ssize_t (*write_mem)(void *ctx, struct gdb_tid tid, uint64_t addr, const void *buf, size_t len);

	/*
	 * Z/z packets. `tid` is the current general thread (Hg): software
	 * breakpoints apply to its whole process, hardware ones and watchpoints
	 * to the process as well (the target loads them into every thread).
	 * `len` is gdb's kind (1 for an x86 int3) or the watched length.
	 * Errors: -ENOSPC no free debug register, -EFAULT the address is not
	 * mapped (or not writable for Z0), -EINVAL bad length/alignment,
	 * -EOPNOTSUPP the host cannot do this kind at all. remove_bp of a
	 * breakpoint that is not there returns -ENOENT. A target may answer
	 * GDB_BP_SW with -EOPNOTSUPP: gdb then writes the int3 itself through
	 * write_mem (and must see the original bytes through read_mem).
	 */
	int (*insert_bp)(void *ctx, struct gdb_tid tid, enum gdb_bp_type type, uint64_t addr, int len);
	int (*remove_bp)(void *ctx, struct gdb_tid tid, enum gdb_bp_type type, uint64_t addr, int len);

	/*
	 * Resume: one entry per live thread (the stub resolved vCont's
	 * leftmost-match rule and Hc/c/s/C/S into per-thread actions). Returns
	 * at once; the stop comes from wait(). -errno (e.g. -ESRCH) if nothing
	 * was resumed.
	 */
	int (*resume)(void *ctx, const struct gdb_resume *actions, int n);

	/*
	 * Block until a stop (return 1, *stop filled, everything stopped) or
	 * until `wake_fd` is readable (return 0 without reading it; the stub
	 * reads it: a 0x03 from gdb makes it call interrupt() and wait again).
	 * Implement it with poll() on your own notification fd (an eventfd
	 * written by the vCPU thread that stopped) plus wake_fd.
	 * A stop must be reported once only; a process exit is a stop too.
	 */
	int (*wait)(void *ctx, struct gdb_stop *stop, int wake_fd);

	/* Ask every running thread to stop; the next wait() reports one of them
	   with SIGINT. Called from the stub's thread; must not block long. */
	void (*interrupt)(void *ctx);

	/* k / vKill: kill the process (pid from the thread id; kernel mode: the VM).
	   After it the stub sends the OK reply and closes the connection; a
	   return of 1 (vKill;PID of one of several processes: the others are
	   still debugged) keeps the session. */
	int (*kill)(void *ctx, int64_t pid);
	/* D: remove every breakpoint and watchpoint, stop reporting, let it run.
	   D;PID of one of several processes (a fork child, or the parent when
	   gdb follows the child) lets only that one go and returns 1: the
	   session goes on. */
	int (*detach)(void *ctx, int64_t pid);

	/* The connection is over (after D, k, a W/X reply for the last process,
	   or gdb hung up, which the stub treats as D first). The stub's thread
	   exits after this returns; the target decides what the VM does next. */
	void (*session_end)(void *ctx);

	/* ---- optional (NULL: not supported) -------------------------------- */

	/*
	 * qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH for objects the stub does not
	 * serve itself ("features" is the stub's): "auxv" (raw auxv of the
	 * current thread's process), "exec-file" (annex: pid in hex, or empty:
	 * the current process; the guest path), "siginfo" (the Linux 128-byte
	 * siginfo_t of the current thread's last stop). Return bytes copied
	 * (0: end of object), or -errno; -EOPNOTSUPP for an unknown object.
	 */
	ssize_t (*xfer_read)(void *ctx, struct gdb_tid tid, const char *object, const char *annex,
			     uint64_t offset, void *buf, size_t len);

	/* QCatchSyscalls: enable = false turns catching off; n == 0 with
	   enable means every syscall; else the `n` numbers in nrs. */
	int (*catch_syscalls)(void *ctx, bool enable, const uint64_t *nrs, int n);

	/* QPassSignals / QProgramSignals: pass[s] for Linux signal s (1..64)
	   says whether the signal is delivered without a stop (pass) or may
	   be delivered to the program when gdb resumes with it (program). */
	int (*pass_signals)(void *ctx, const bool pass[65]);
	int (*program_signals)(void *ctx, const bool program[65]);

	/*
	 * vFile (GDB manual E.1 "Host I/O Packets"), read only, on the target's
	 * files: gdb reads /proc/PID/maps for `info proc mappings`, readlinks
	 * /proc/PID/exe and /proc/PID/cwd for `info proc`, and with its default
	 * sysroot ("target:") reads the program itself this way. `pid` is
	 * vFile:setfs's (0: the stub's own view of the files). -ENOENT and the
	 * like as open(2) would give them (the stub maps them to the protocol's
	 * errno values). file_read returns the bytes read (0 at the end).
	 */
	ssize_t (*file_read)(void *ctx, int64_t pid, const char *path, uint64_t offset, void *buf, size_t len);
	int (*file_stat)(void *ctx, int64_t pid, const char *path, struct gdb_file_stat *st);
	ssize_t (*file_readlink)(void *ctx, int64_t pid, const char *path, char *buf, size_t len);

	/* After qSupported: the fork/vfork/exec stops gdb asked for (and caps()
	   allowed). A target reports only those; the others it handles itself. */
	void (*events)(void *ctx, bool fork, bool vfork, bool exec);

	/* qRcmd (`monitor CMD`): write text for gdb's console into out (NUL
	   terminated, at most outsz bytes); -EOPNOTSUPP for an unknown command. */
	int (*monitor)(void *ctx, const char *cmd, char *out, size_t outsz);
};

struct gdb_target {
	const struct gdb_target_ops *ops;
	void *ctx;
};

/*
 * Serving a target (vmm/gdb_listen.c).
 *
 * gdb_listen() binds "tcp:HOST:PORT" or "unix:PATH" and returns the
 * listening fd, or -1 with a message in err; a HOST other than a loopback
 * address is refused unless allow_remote is set.
 *
 * gdb_serve() accepts one connection on it (blocking: the VM waits for gdb
 * before running; the target must be stopped, e.g. at its first instruction,
 * when this is called) and starts the stub's thread, which serves the
 * connection until gdb detaches, kills or disconnects (a disconnect detaches).
 * Returns 0, or -1 with err filled.
 */
int gdb_listen(const char *spec, bool allow_remote, char *err, size_t errsz);
int gdb_serve(int listen_fd, struct gdb_target *t, char *err, size_t errsz);

#endif
