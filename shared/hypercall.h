/* Hypercall numbers and their argument structs. */
#ifndef KVMBOX_HYPERCALL_H
#define KVMBOX_HYPERCALL_H

#include "abi.h"
#include "regs.h"
#include "boot.h"

/*
 * A hypercall is a 32-bit `out` to port KVMBOX_HC_PORT_BASE + nr whose value
 * is the guest-physical address of the call's argument struct (so argument
 * structs live below 4 GiB). The VMM checks the address and the struct, acts,
 * writes the OUT fields and resumes the vCPU after the `out`. Every struct
 * starts with `ret`: 0 or a negative errno (-ENOSYS for an unknown number,
 * -EFAULT for a bad address, -EINVAL for a bad field).
 * Fields are marked IN (guest to VMM) or OUT (VMM to guest).
 */
#define KVMBOX_HC_PORT_BASE 0x0500
#define KVMBOX_HC_PORT_COUNT 32

enum kvmbox_hc_nr {
	KVMBOX_HC_EXIT          = 0,  /* end the VM with a status */
	KVMBOX_HC_CONSOLE_WRITE = 1,  /* program or kernel output to the host's fd 1/2 */
	KVMBOX_HC_CONSOLE_READ  = 2,  /* program input from the host's fd 0 */
	KVMBOX_HC_PANIC         = 3,  /* guest kernel panic report */
	KVMBOX_HC_CRASH         = 4,  /* a program died of a fatal signal */
	KVMBOX_HC_NOTICE        = 5,  /* one-line notices (unknown syscall, ...) */
	KVMBOX_HC_MEMOP         = 6,  /* bulk zero/copy of guest-physical memory */
	KVMBOX_HC_SHARED_PAGE   = 7,  /* register this vCPU's shared page */
	KVMBOX_HC_STOP          = 8,  /* debug stop: report an event, receive commands */
	KVMBOX_HC_START_CPU     = 9,  /* start another vCPU */
	KVMBOX_HC_TRACE_FLUSH   = 10, /* trace ring full: let the VMM drain it */
	KVMBOX_HC_EXEC          = 11, /* execve: build the new process image natively */
	KVMBOX_HC_CONSOLE_POLL  = 12, /* is the host's fd 0 readable? (optionally wait) */
	KVMBOX_HC_USERCOPY      = 13, /* copy between a user virtual range and guest-physical runs */
	KVMBOX_HC_FORK          = 14, /* fork: the child's copy-on-write page tables, built natively */
	KVMBOX_HC_FPU           = 15, /* save/load the complete user FPU and vector state (XSAVE layout) */
	KVMBOX_HC_COUNT
};

struct kvmbox_hc_exit {
	int64_t ret;              /* OUT (never returns on success) */
	int32_t status;           /* IN: the kvmbox process's exit status */
	uint32_t reserved;
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_exit, 16);

/* Scatter-gather segment: a run of guest-physical memory. */
struct kvmbox_seg {
	uint64_t gpa;
	uint64_t len;
};
KVMBOX_ASSERT_SIZE(struct kvmbox_seg, 16);

#define KVMBOX_CONSOLE_MAX_SEGS 32

/*
 * CONSOLE_WRITE: the segments are the program's own pages (zero copy).
 * CONSOLE_READ: blocks in the VMM until input is there; done == 0 is EOF.
 */
struct kvmbox_hc_console {
	int64_t ret;              /* OUT */
	uint64_t done;            /* OUT: bytes written or read */
	uint32_t fd;              /* IN: 0, 1 or 2 */
	uint32_t nr_segs;         /* IN: <= KVMBOX_CONSOLE_MAX_SEGS */
	struct kvmbox_seg segs[KVMBOX_CONSOLE_MAX_SEGS]; /* IN */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_console, 24 + 32 * 16);

/*
 * CONSOLE_POLL: poll(2) of the host's fd 0 for input, waiting up to
 * timeout_ns (0: only ask). revents holds what poll(2) reported (POLLIN,
 * POLLHUP, POLLERR, POLLNVAL: any of them means a read will not block);
 * 0 when the time ran out.
 */
struct kvmbox_hc_console_poll {
	int64_t ret;              /* OUT */
	uint64_t timeout_ns;      /* IN */
	uint32_t revents;         /* OUT */
	uint32_t reserved;
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_console_poll, 24);

/*
 * USERCOPY: copy len bytes between the user virtual range at uva (in the
 * address space whose PML4 is at cr3; user pages only) and the
 * guest-physical runs segs, in order (to_user: segs -> user, the user pages
 * must be writable; else user -> segs). The VMM walks the page tables
 * natively, so a long transfer costs one exit instead of a page walk per
 * page at CPL0. It stops at the first page that is not present, not a user
 * page, or (to_user) not writable -- copy-on-write included: done says how
 * far it got, and the guest faults that page in and calls again. -EINVAL
 * for bad fields, -EFAULT for runs outside guest memory.
 */
#define KVMBOX_USERCOPY_MAX_SEGS 32
struct kvmbox_hc_usercopy {
	int64_t ret;              /* OUT */
	uint64_t cr3;             /* IN: gpa of the PML4 */
	uint64_t uva;             /* IN */
	uint64_t len;             /* IN: the runs' total */
	uint64_t done;            /* OUT: bytes copied */
	uint32_t to_user;         /* IN: 1: runs -> user memory, 0: user memory -> runs */
	uint32_t nr_segs;         /* IN: <= KVMBOX_USERCOPY_MAX_SEGS */
	struct kvmbox_seg segs[KVMBOX_USERCOPY_MAX_SEGS]; /* IN */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_usercopy, 48 + 32 * 16);

/* Kernel register state at a kernel fault (the frame of the faulting context). */
struct kvmbox_kernel_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
	uint64_t cr2, cr3;
};
KVMBOX_ASSERT_SIZE(struct kvmbox_kernel_regs, 24 * 8);

#define KVMBOX_PANIC_MSG_MAX 256
#define KVMBOX_BACKTRACE_MAX 16

struct kvmbox_hc_panic {
	int64_t ret;              /* OUT (never returns) */
	uint32_t cpu;             /* IN */
	uint32_t has_regs;        /* IN: 1 when regs is a fault frame */
	struct kvmbox_kernel_regs regs; /* IN */
	char message[KVMBOX_PANIC_MSG_MAX]; /* IN: NUL-terminated */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_panic, 16 + 24 * 8 + 256);

/*
 * CRASH: a program is about to die of a fatal signal. The VMM prints the
 * report (and walks the frame-pointer chain itself through cr3).
 */
struct kvmbox_hc_crash {
	int64_t ret;              /* OUT */
	uint32_t pid, tid;        /* IN */
	int32_t signo, si_code;   /* IN: as in siginfo_t */
	uint64_t fault_addr;      /* IN: si_addr */
	uint64_t vector;          /* IN: the trap vector, or ~0 if not a trap */
	uint64_t error_code;      /* IN */
	uint64_t cr3;             /* IN: the process's PML4, for reading its memory */
	char comm[16];            /* IN: executable name */
	struct kvmbox_user_regs regs; /* IN */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_crash, 72 + 27 * 8);

enum kvmbox_notice_kind {
	KVMBOX_NOTICE_UNKNOWN_SYSCALL = 1, /* arg = syscall number */
	KVMBOX_NOTICE_STATS = 2,           /* arg = gpa of a struct kvmbox_guest_stats; sent at exit with --verbose */
};

/* Scheduler counters over the whole run (KVMBOX_NOTICE_STATS). */
struct kvmbox_guest_stats {
	uint64_t timer_interrupts;  /* local APIC timer interrupts taken */
	uint64_t context_switches;
	uint64_t preemptions;       /* the timer made the running thread give way */
	uint64_t idle_halts;        /* times the CPU halted with nothing to run */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_guest_stats, 32);

struct kvmbox_hc_notice {
	int64_t ret;              /* OUT */
	uint32_t kind;            /* IN */
	uint32_t pid;             /* IN */
	uint64_t arg;             /* IN */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_notice, 24);

enum kvmbox_memop {
	KVMBOX_MEMOP_ZERO = 1,    /* dst = 0 for len bytes */
	KVMBOX_MEMOP_COPY = 2,    /* dst = src for len bytes (ranges may not overlap) */
};

/*
 * MEMOP: where CPL0 is interpreted (KVMBOX_BOOT_CPL0_EMULATED) one exit costs
 * as much as ~15 guest instructions, so bulk memory work is cheaper in the
 * VMM than as `rep movs` in the guest.
 */
#define KVMBOX_MEMOP_MAX_SEGS 16
struct kvmbox_hc_memop {
	int64_t ret;              /* OUT */
	uint32_t op;              /* IN: enum kvmbox_memop */
	uint32_t nr_segs;         /* IN: pairs below */
	struct {
		uint64_t dst, src, len;
	} segs[KVMBOX_MEMOP_MAX_SEGS]; /* IN */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_memop, 16 + 16 * 24);

struct kvmbox_hc_shared_page {
	int64_t ret;              /* OUT */
	uint32_t cpu;             /* IN */
	uint32_t reserved;
	uint64_t gpa;             /* IN: page-aligned struct kvmbox_shared_page */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_shared_page, 24);

struct kvmbox_hc_start_cpu {
	int64_t ret;              /* OUT */
	uint32_t cpu;             /* IN: 1 .. nr_cpus-1 */
	uint32_t reserved;
	uint64_t entry;           /* IN: kernel virtual rip */
	uint64_t stack_top;       /* IN: kernel virtual rsp */
	uint64_t arg;             /* IN: passed in rdi */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_start_cpu, 40);

struct kvmbox_hc_trace_flush {
	int64_t ret;              /* OUT */
	uint32_t cpu;             /* IN */
	uint32_t reserved;
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_trace_flush, 16);

/*
 * FPU: where CPL0 is interpreted (kvm_pvm) the guest kernel has FXSAVE but
 * no XSAVE, while its ring 3 runs natively with the host's XCR0 (AVX,
 * AVX-512: programs see them in CPUID and XGETBV). FXSAVE misses the upper
 * YMM/ZMM halves, ZMM16-31 and the opmask registers, so the kernel switches
 * and saves threads' state through KVM_GET_XSAVE/KVM_SET_XSAVE instead.
 * Areas are in the standard (non-compacted) XSAVE layout, `size` bytes.
 * With save = load = 0 it only reports size and xfeatures.
 */
struct kvmbox_hc_fpu {
	int64_t ret;              /* OUT: 0, -EINVAL (state refused by KVM, or size too small) */
	uint64_t save;            /* IN: gpa where the current state is stored first, 0: none */
	uint64_t load;            /* IN: gpa of the state loaded next, 0: none */
	uint32_t size;            /* IN: bytes at save/load; OUT: the area size the VMM needs */
	uint32_t reserved;
	uint64_t xfeatures;       /* OUT: the state components in an area (XCR0 as ring 3 sees it) */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_fpu, 40);

/*
 * The guest's free frames, handed to a hypercall that allocates natively
 * (EXEC). Two free lists, each linked through the first 8 bytes of its
 * frames (the gpa of the next frame, 0 ends the list): list[0] holds frames
 * of any content, list[1] frames that are zero but for that link. Frames in
 * [fresh_next, fresh_end) were never touched and read as zero. The VMM
 * takes frames from the fresh range first, then list[0], then list[1]; each
 * frame it hands out is zeroed and its use count in boot_info.frame_table
 * set to 1. Frames it frees (use count reaching 0) are pushed onto list[0].
 *
 * Fresh first because of shadow paging (emulated-CPL0 hosts): KVM keeps
 * shadow copies of the guest's page tables and notices only the guest's own
 * writes to them. A recycled frame may still be shadowed as a page table;
 * page tables the VMM writes into it (host writes) can then be ignored in
 * favour of the stale copy (seen: a new process's PML4 in the frame of the
 * previous one's faulted at its first instruction). Never-touched frames
 * were never page tables.
 */
struct kvmbox_frame_pool {
	uint64_t list[2];         /* IN/OUT: list heads (gpa, 0: empty) */
	uint64_t count[2];        /* IN/OUT: frames on each list */
	uint64_t fresh_next;      /* IN/OUT */
	uint64_t fresh_end;       /* IN */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_frame_pool, 48);

/* EXEC flags */
#define KVMBOX_EXEC_BUILD   (1u << 0) /* build the image the IN fields describe */
#define KVMBOX_EXEC_RELEASE (1u << 1) /* then free the user half of old_pml4 (after a successful build) */
#define KVMBOX_EXEC_SCAN    (1u << 2) /* alone: list what the user half of old_pml4 holds, for the guest to free */

/* EXEC ret besides 0 and -errno: the file is a "#!" script; interp[] says what runs it. */
#define KVMBOX_EXEC_SCRIPT 1

#define KVMBOX_EXEC_INTERP_MAX 256     /* Linux's BINPRM_BUF_SIZE: the "#!" line is read from this much */
/*
 * Scripts an exec may go through before the ELF: Linux's exec_binprm gives
 * up with ELOOP at depth > 5 (5 "#!" files, then the program; measured on
 * Linux 6.x). interp holds the strings of all of them.
 */
#define KVMBOX_EXEC_MAX_SCRIPTS 5
#define KVMBOX_EXEC_INTERP_BUF (KVMBOX_EXEC_INTERP_MAX * KVMBOX_EXEC_MAX_SCRIPTS)
#define KVMBOX_EXEC_MAX_ARG_STRLEN 131072 /* Linux's MAX_ARG_STRLEN, NUL included */

/*
 * A leaf page-table entry of a guest address space holds a frame when P or
 * this software bit (a PROT_NONE page keeping its frame) is set.
 */
#define KVMBOX_PTE_HELD (1ull << 10)

/*
 * EXEC: what Linux's execve does for a static ELF (fs/exec.c,
 * fs/binfmt_elf.c, fs/binfmt_script.c), done natively.
 *
 * BUILD: the executable's bytes are the segments at `segs` (in file order;
 * a segment with len 0 and gpa != 0 continues the list at that gpa). The
 * VMM reads argv and envp from the caller's address space through cr3 (user
 * pages only), applies Linux's limits (each string at most MAX_ARG_STRLEN,
 * strings plus pointers at most a quarter of the 8 MiB stack limit: -E2BIG),
 * and builds the new address space from `pool` exactly as the first process
 * is built (image pages, page tables, initial stack with argv, envp and
 * auxv; boot.h). A string or vector on a page that is not present gives
 * -EAGAIN with fault_va: the guest faults it in and calls again (-EFAULT
 * if it cannot). A "#!" file gives KVMBOX_EXEC_SCRIPT with the
 * interpreter path NUL its optional argument NUL put in front of what
 * interp held (interp_argc grows by 1 or 2; the guest starts with 0, and
 * the first string is always the interpreter to run next); the guest then
 * passes the interpreter's bytes with interp/interp_argc unchanged: argv
 * becomes interp's strings, execfn, argv[1..] (Linux's binfmt_script at
 * every level: the newest interpreter first, then each script's name as
 * the level before named it). The guest stops the chain with ELOOP after
 * KVMBOX_EXEC_MAX_SCRIPTS scripts. Errors:
 * -ENOEXEC (not a static x86-64 ELF), -ENOENT (it asks for an interpreter
 * (PT_INTERP): none can run here), -E2BIG, -EFAULT, -ENOMEM (pool too
 * small), -EINVAL (bad fields). Nothing changes unless ret is 0.
 * With regs != 0 a successful build also writes the entry registers there
 * (KVMBOX_TRAP_FRAME_WORDS words of struct kvmbox_user_regs: rip = rcx =
 * entry, rsp, rflags = r11 = 0x202, user cs/ss, orig_rax -1, the rest 0).
 * RELEASE (after a successful BUILD, or alone): drop one use of every frame
 * mapped in the user half of old_pml4 (entries 0..255) and of its
 * page-table pages, as the guest's mm teardown does; the guest must not
 * use old_pml4 afterwards. Not used by the guest for now: the page-table
 * frames it frees would keep stale shadow copies (see the frame pool above),
 * where the guest's own teardown clears their entries with its own writes.
 * SCAN (alone) is the native half of that teardown: the walk over 512-entry
 * tables, which is what costs at CPL0 (~85,000 instructions for a small
 * program). From scan_va (0 to start) it fills scan_buf with at most
 * scan_max (>= 516) entries, children before their parents: the gpa of each
 * leaf entry holding a frame (P or KVMBOX_PTE_HELD; 8-aligned), and each
 * page-table page, PML4 last, as its gpa | 1. scan_n says how many; scan_va
 * where to go on, KVMBOX_USER_TOP once the PML4 is listed. The guest clears
 * each listed entry and drops one use of its frame and of each table (the
 * tables already listed are not read again).
 */
struct kvmbox_hc_exec {
	int64_t ret;              /* OUT: 0, KVMBOX_EXEC_SCRIPT or -errno */
	uint32_t flags;           /* IN: KVMBOX_EXEC_* */
	uint32_t nr_segs;         /* IN: segments at segs (continuations included) */
	uint64_t segs;            /* IN: gpa of struct kvmbox_seg[nr_segs] */
	uint64_t file_size;       /* IN: the executable's size (the segments' total) */
	uint64_t cr3;             /* IN: the caller's PML4: argv and envp are read through it */
	uint64_t argv, envp;      /* IN: user addresses of the NULL-terminated vectors (0: empty) */
	uint64_t execfn;          /* IN: gpa of the NUL-terminated file name (AT_EXECFN) */
	uint64_t old_pml4;        /* IN (RELEASE) */
	uint64_t regs;            /* IN: gpa of the trap frame to fill, 0 for none */
	uint64_t fault_va;        /* OUT: with -EAGAIN, the user address to fault in */
	uint64_t frames_used;     /* OUT: frames the new image took from the pool */
	uint32_t interp_argc;     /* IN/OUT: strings in interp (0: not a script) */
	uint32_t reserved;
	struct kvmbox_frame_pool pool; /* IN/OUT */
	char interp[KVMBOX_EXEC_INTERP_BUF]; /* IN/OUT */
	struct kvmbox_boot_process image; /* OUT: exe_path and cwd are left empty */
	uint64_t scan_buf;        /* IN (SCAN): gpa of uint64_t[scan_max] */
	uint32_t scan_max;        /* IN (SCAN) */
	uint32_t scan_n;          /* OUT (SCAN) */
	uint64_t scan_va;         /* IN/OUT (SCAN): the walk's cursor */
};
KVMBOX_ASSERT_OFFSET(struct kvmbox_hc_exec, pool, 104);
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_exec, 104 + 48 + KVMBOX_EXEC_INTERP_BUF + 48 + 16 * 24 + 512 + 24);

/* Software bits of leaf PTEs that FORK interprets (the guest's mm.h). */
#define KVMBOX_PTE_COW    (1ull << 9)   /* copy on write */
#define KVMBOX_PTE_SHARED (1ull << 11)  /* MAP_SHARED: stays writable and shared */

/*
 * FORK: fork's copy-on-write address-space copy (the guest's mm_clone),
 * natively: at CPL0 the walk over 512-entry tables and the per-page work
 * cost ~70,000 instructions for a small process.
 *
 * Builds the child's page tables from the user half (PML4 entries 0..255)
 * of the parent's `pml4`, in never-touched frames of `pool` (its fresh
 * range only), entries 256..511 copied from `pml4`. Every leaf entry
 * holding a frame (P or KVMBOX_PTE_HELD) becomes, in the child, the entry
 * the parent should have from now on with A and D clear, and its frame one
 * more use in the frame table: a writable entry without KVMBOX_PTE_SHARED
 * turns read-only + KVMBOX_PTE_COW, a held (PROT_NONE) one without
 * KVMBOX_PTE_SHARED gets KVMBOX_PTE_COW. The parent's entries are *not*
 * written here: each one that changes is listed in wp_buf as (gpa of the
 * entry, new value), and the guest stores them itself, then flushes its
 * TLB. Where CPL0 is emulated KVM shadows the guest's page tables and
 * notices only the guest's own writes to them: an entry the VMM made
 * read-only in a live table could stay writable in the shadow (a lost
 * copy-on-write). The child's tables are in frames that never were page
 * tables, so they are shadowed afresh from memory.
 *
 * In pieces: the first call (child_pml4 == 0, va == 0) checks that the
 * fresh range holds every table the child needs (-ENOMEM, nothing changed,
 * if not: the guest copies at CPL0 instead) and allocates the child's
 * PML4; each call goes on from va, a 2 MiB leaf table at a time, while
 * wp_buf has room for one more table's entries (wp_max >= 512), and
 * returns va where to go on: KVMBOX_USER_TOP once done. Between calls the
 * guest only applies wp_buf. -EINVAL: bad fields or a tree the guest
 * cannot have built.
 */
struct kvmbox_fork_wp {
	uint64_t gpa;             /* a leaf entry of the parent's tables */
	uint64_t val;             /* its new value */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_fork_wp, 16);

struct kvmbox_hc_fork {
	int64_t ret;              /* OUT */
	uint64_t pml4;            /* IN: the parent's PML4 (gpa) */
	uint64_t child_pml4;      /* IN/OUT: 0 on the first call; then the child's PML4 */
	uint64_t va;              /* IN/OUT: the walk's cursor */
	uint64_t wp_buf;          /* IN: gpa of struct kvmbox_fork_wp[wp_max] */
	uint32_t wp_max;          /* IN */
	uint32_t wp_n;            /* OUT: entries in wp_buf */
	uint64_t tables;          /* OUT: page-table pages built for the child so far */
	uint64_t frames;          /* OUT: frames shared so far */
	struct kvmbox_frame_pool pool; /* IN/OUT (the fresh range only) */
};
KVMBOX_ASSERT_SIZE(struct kvmbox_hc_fork, 64 + 48);

#endif
