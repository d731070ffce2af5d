/*
 * gdb kernel mode (--gdb-kernel): the guest kernel debugged through KVM's
 * guest debugging, every vCPU a gdb thread (pid 1, tid = vCPU index + 1).
 * The hooks are called by the vCPU run loop and the exit hypercall; each
 * is a no-op (one load) unless a kernel-mode session is active.
 */
#ifndef VMM_GDB_KERNEL_H
#define VMM_GDB_KERNEL_H
#include <stdbool.h>
#include "gdb_target.h"
#include "vm.h"

/* Set up kernel mode for vm (probing the host's debug facilities) and
   return its target; every vCPU registered later starts paused. */
struct gdb_target *gdb_kernel_init(struct vm *vm);
void gdb_kernel_add_vcpu(struct vcpu *vcpu);

/* vCPU thread, before each KVM_RUN: parks while the debugger holds the VM
   stopped and loads the vCPU's guest-debug state. */
void gdb_kernel_before_run(struct vcpu *vcpu);
/* vCPU thread, interrupted (EINTR) while blocked in the VMM on the guest's
   behalf, e.g. reading stdin for it: parks there if the debugger stopped
   the VM, so an interrupt from gdb does not wait for the input. */
void gdb_kernel_blocked_point(void);
/* vCPU thread, on KVM_EXIT_DEBUG: true if it was the debugger's. */
bool gdb_kernel_debug_exit(struct vcpu *vcpu);
/* vCPU thread, from HC_STOP: handles KVMBOX_EV_KERNEL_BREAKPOINT (the guest
   kernel's own int3/step trap, guest/kernel/kdebug.c); false for other events. */
struct kvmbox_hc_stop;
bool gdb_kernel_pv_stop(struct vcpu *vcpu, struct kvmbox_hc_stop *a);
/* Any thread, before the VMM exits with the guest's status: reports the
   exit to gdb (W packet) and returns once gdb has been told. */
void gdb_kernel_guest_exit(int status);
#endif
