/* Exceptions and interrupts: a fault in user mode becomes a signal; a fault in the kernel is a panic. */
#include "proc.h"
#include "apic.h"
#include "mm.h"
#include "lib.h"
#include "errno.h"
#include "signal.h"
#include "virtio_drv.h"
#include "debug.h"

bool kernel_debug_trap(struct trap_frame *tf, unsigned vector); /* kdebug.c */

static const char *const trap_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
	"#VE virtualization", "#CP control protection",
};

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* Page-fault error code bits (SDM vol. 3A 4.7). */
#define PF_PRESENT (1u << 0)
#define PF_WRITE   (1u << 1)
#define PF_USER    (1u << 2)
#define PF_INSTR   (1u << 4)

/*
 * An interrupt (vector >= 32: only the local APIC delivers them; a program's
 * `int n` for these vectors hits a DPL-0 gate and is a #GP). The kernel runs
 * with IF=0 except in idle_halt(), so from kernel mode an interrupt can only
 * come from there; anywhere else it is the kernel's bug.
 */
static void interrupt(struct trap_frame *tf, unsigned vector)
{
	bool user = tf->cs & 3;
	if (!user && (tf->rip < (uint64_t)idle_halt_begin || tf->rip > (uint64_t)idle_halt_end))
		panic_trap(tf, vector, 0, "kernel fault: interrupt (vector %u) with interrupts off, at rip %lx",
			   vector, tf->rip);
	if (user)
		tf->orig_rax = ~0ull; /* not in a syscall (no restart on a signal delivered now) */
	else if (tf->rip == (uint64_t)idle_halt_hlt)
		/*
		 * Taken between the STI and the HLT: the host did not honour the
		 * STI shadow (SDM vol. 2B, STI; seen under nested SVM). Returning
		 * to the HLT would halt with the woken thread never run: skip it.
		 */
		tf->rip = (uint64_t)idle_halt_end;
	switch (vector) {
	case APIC_TIMER_VECTOR:
		sched_timer_interrupt(user);
		break;
	case APIC_SPURIOUS_VECTOR:
		break; /* no EOI for the spurious vector (SDM vol. 3A 11.9) */
	case KVMBOX_DEBUG_INTERRUPT_VECTOR:
		apic_eoi();
		debug_interrupt();
		break;
	default:
		if (virtio_interrupt(vector, user))
			break;
		apic_eoi(); /* unexpected: acknowledge, so it cannot hold back other vectors */
		break;
	}
}

static void exception(struct trap_frame *tf, unsigned vector);

void trap(struct trap_frame *tf, unsigned vector)
{
	if (vector >= 32) {
		interrupt(tf, vector);
		return;
	}
	if (tf->cs & 3) {
		/* A fault the #PF fast path did not resolve, or another exception: system time (sched.c). */
		struct thread *t = current_thread();
		sys_time_enter(t);
		exception(tf, vector);
		sys_time_leave(t);
		return;
	}
	exception(tf, vector); /* kernel mode: the debugger's traps, else a panic */
}

static void exception(struct trap_frame *tf, unsigned vector)
{
	uint64_t err = tf->orig_rax;
	/* int3 / single-step in the kernel: the kernel-mode debugger's, if one is attached (kdebug.c). */
	if (!(tf->cs & 3) && (vector == 3 || vector == 1) && kernel_debug_trap(tf, vector)) {
		tf->orig_rax = err;
		return;
	}
	if (!(tf->cs & 3)) {
		const char *name = vector < 32 && trap_names[vector] ? trap_names[vector] : "interrupt";
		panic_trap(tf, vector, err, "kernel fault: %s (vector %u, error code %#lx) at rip %lx, cr2 %lx",
			   name, vector, err, tf->rip, read_cr2());
	}
	tf->orig_rax = ~0ull; /* as Linux: not in a syscall */
	if (unlikely(this_cpu()->shared.stop_events)) {
		if ((vector == 1 || vector == 3) && debug_trap(tf, vector))
			return;
		if (vector == 14 && debug_nr_watches && (err & PF_PRESENT) && debug_watch_fault(tf, read_cr2(), err))
			return;
	}

	int sig, code = SI_KERNEL;
	uint64_t addr = 0;
	switch (vector) {
	case 14: {
		addr = read_cr2();
		int r = handle_user_fault(current_proc()->mm, addr, err & PF_WRITE, err & PF_INSTR);
		if (!r)
			return;
		if (r == -ENOMEM) {
			printk("kvmbox guest: out of memory: killing pid %d (%s)\n", current_proc()->pid,
			       proc_comm(current_proc()));
			sig = SIGKILL;
			addr = 0;
			break;
		}
		sig = SIGSEGV;
		code = (err & PF_PRESENT) || r == -EACCES ? SEGV_ACCERR : SEGV_MAPERR;
		break;
	}
	case 0:
		sig = SIGFPE, code = FPE_INTDIV, addr = tf->rip;
		break;
	case 16:
	case 19:
		sig = SIGFPE, code = FPE_FLTINV, addr = tf->rip;
		break;
	case 6:
		sig = SIGILL, code = ILL_ILLOPN, addr = tf->rip;
		break;
	case 3:
		sig = SIGTRAP; /* Linux: int3 is SI_KERNEL with no address */
		break;
	case 1:
		sig = SIGTRAP, code = TRAP_TRACE, addr = tf->rip;
		break;
	case 17:
		sig = SIGBUS, code = BUS_ADRALN;
		break;
	case 11:
	case 12:
		sig = SIGBUS;
		break;
	case 7:
		sig = SIGFPE;
		break;
	default:
		sig = SIGSEGV; /* #GP, #OF, #BR, ... */
		break;
	}
	signal_fault(tf, sig, code, addr, vector, err);
}
