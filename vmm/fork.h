/* HC_FORK: fork's copy-on-write address-space copy, built natively (shared/hypercall.h). */
#ifndef VMM_FORK_H
#define VMM_FORK_H
#include "vm.h"

/* The handler for KVMBOX_HC_FORK (registered by hc_register_core). */
void hc_fork(struct vcpu *vcpu, void *arg);
#endif
