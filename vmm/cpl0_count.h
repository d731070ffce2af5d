/* --count-cpl0: count guest CPL0 instructions by single-stepping (the cost model of emulated-CPL0 hosts). */
#ifndef VMM_CPL0_COUNT_H
#define VMM_CPL0_COUNT_H
#include "vm.h"

/* Enable KVM_GUESTDBG_SINGLESTEP on vcpu and print the counts at exit. */
void cpl0_count_start(struct vcpu *vcpu);
/* Account one KVM_EXIT_DEBUG. */
void cpl0_count_step(struct vcpu *vcpu);
#endif
