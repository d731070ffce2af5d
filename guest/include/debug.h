/* The paravirtual debug stops (shared/debug.h): hooks the trap, signal, syscall and process paths call. */
#ifndef GUEST_DEBUG_H
#define GUEST_DEBUG_H
#include "proc.h"

/* One load of the shared page: does the VMM want stops of this kind? */
static inline bool debug_wants(unsigned ev)
{
	return unlikely(this_cpu()->shared.stop_events & (1ull << ev));
}

/*
 * Report a stop of the current thread (frame tf) and run the VMM's commands
 * until it resumes. Returns the signal to deliver on resume (0: none).
 */
int debug_stop(struct trap_frame *tf, unsigned event, int signo, int code, uint64_t addr, uint64_t aux);

/* kmain, before the first return to user mode: probes, then the START stop. */
void debug_start(struct trap_frame *tf);
void debug_start_stop(struct trap_frame *tf); /* the START stop itself, after the probes */
/* #BP or #DB from user mode while stops are enabled: true if it was a debug event (handled). */
bool debug_trap(struct trap_frame *tf, unsigned vector);
/* A signal is about to be delivered (or kill): returns the signal to deliver instead, 0 for none. */
int debug_signal(struct trap_frame *tf, int sig, int code, uint64_t addr);
/* Syscall entry and exit stops (syscall.c's slow path). */
void debug_syscall_entry(struct trap_frame *tf);
void debug_syscall_exit(struct trap_frame *tf);
/* A reschedule is due while the thread is being stepped: after the step (debug.c). */
void debug_defer_resched(void);
/* The VMM's KVMBOX_DEBUG_INTERRUPT_VECTOR: gdb interrupts the debugged program (SIGINT). */
void debug_interrupt(void);
/* fork/vfork: the child exists (stopped parent, aux = child pid). */
void debug_fork(struct proc *child, bool vfork);
/* vfork: the parent is released (the child exec'd or exited). */
void debug_vfork_done(pid_t child);

/* KVMBOX_CMD_FILE: a guest path for gdb's vFile packets (kernel/debug_file.c); result or -errno. */
long debug_file(struct kvmbox_hc_stop *hc, struct proc *self);

/* ---- single-step (kernel/debug_step.c) ---- */
/* Map the trampoline page and run the start-up probes; false if they could not run. */
bool debug_step_setup(struct trap_frame *tf);
/* A #DB/#BP that belongs to a start-up probe: handled (true) or not. */
bool debug_probe_trap(struct trap_frame *tf, unsigned vector);
/* The KVMBOX_STOPF_* flags the probes found. */
uint32_t debug_probe_flags(void);
/* entry.S: returning to user mode with TF set (one stepped instruction follows). */
void debug_tf_return(struct trap_frame *tf);
/* The rip range of the trampoline page (a #DB there is the host trapping the jump itself). */
bool debug_in_trampoline(uint64_t rip);

/* ---- watchpoints by page protection (kernel/debug_watch.c) ---- */
int debug_watch_set(struct proc *p, unsigned slot, uint64_t addr, uint64_t len, unsigned kind);
int debug_watch_clear(struct proc *p, unsigned slot);
/* A fault from user mode on a present page (error code err): true if a watchpoint's page (handled). */
bool debug_watch_fault(struct trap_frame *tf, uint64_t addr, uint64_t err);
/* #DB after stepping over an access to a watched page: true if handled; *slot >= 0: that one fired. */
bool debug_watch_step_done(struct trap_frame *tf, int *slot, uint64_t *addr);
/* uaccess: the kernel reads or writes for a syscall on a watched page (allowed, not reported). */
bool debug_watch_kernel_access(struct mm *mm, uint64_t va, const uint64_t *pte, bool write);
/* fork: the child's copies of watched pages get their permissions back. */
void debug_watch_fork(struct mm *parent, struct mm *child);
/* exec: forget the watchpoints of the exec'd address space and of those no process has any more. */
void debug_watch_forget(struct mm *execed);
extern unsigned debug_nr_watches;
#endif
