/* HC_EXEC: execve's new process image, built natively from the guest's free frames (shared/hypercall.h). */
#ifndef VMM_EXEC_H
#define VMM_EXEC_H
#include "vm.h"

/* The handler for KVMBOX_HC_EXEC (registered by hc_register_core). */
void hc_exec(struct vcpu *vcpu, void *arg);
#endif
