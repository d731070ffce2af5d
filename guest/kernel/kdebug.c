/*
 * Kernel-mode debugging, paravirtual: an int3 or single-step trap in the
 * kernel itself (planted/asked for by the VMM's gdb stub in kernel mode,
 * vmm/gdb_kernel.c) is reported through HC_STOP with
 * KVMBOX_EV_KERNEL_BREAKPOINT and the trap frame; the VMM holds the vCPU
 * inside the hypercall while gdb looks at it, and answers with the frame to
 * resume with (rip moved back onto a breakpoint, TF set for a step).
 * This works on every host, also where KVM's own software and hardware
 * breakpoints do not (QEMU's emulated SVM). Without a kernel-mode debugger
 * the VMM answers -ENOSYS and the trap stays a kernel fault (a panic).
 * The user-mode stops of process mode are guest/kernel/debug.c's.
 */
#include "proc.h"
#include "platform.h"
#include "lib.h"
#include <debug.h>
#include <hypercall.h>

/* One vCPU runs the guest (boot_info.nr_cpus = 1): one record suffices. */
static struct kvmbox_hc_stop kstop;

bool kernel_debug_trap(struct trap_frame *tf, unsigned vector)
{
	struct kvmbox_hc_stop *hc = &kstop;
	memset(&hc->stop, 0, sizeof(hc->stop));
	hc->stop.event = KVMBOX_EV_KERNEL_BREAKPOINT;
	hc->stop.signo = 5;                        /* SIGTRAP */
	hc->stop.si_code = vector == 3 ? 0x80 : 2; /* SI_KERNEL (int3), TRAP_TRACE (step) */
	hc->stop.fault_addr = tf->rip;
	memset(&hc->regs, 0, sizeof(hc->regs));
	memcpy(&hc->regs, tf, sizeof(*tf));        /* the frame is the first 21 words (shared/regs.h) */
	hc->result = 0;
	hc->ret = 0;
	hypercall(KVMBOX_HC_STOP, hc);
	if (hc->ret < 0)
		return false;
	/* The VMM may move rip and set or clear TF; the selectors stay. */
	uint64_t cs = tf->cs, ss = tf->ss;
	memcpy(tf, &hc->regs, sizeof(*tf));
	tf->cs = cs;
	tf->ss = ss;
	return true;
}
