/* The vCPU run loop: KVM_RUN, one handler per exit reason, timeout, CPL0 instruction counting. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H
#include <stdbool.h>
#include <stdnoreturn.h>
#include "vm.h"

struct run_options {
	double timeout;           /* seconds; 0: none */
	bool count_cpl0;          /* single-step and count guest CPL0 instructions */
};

/* Run the boot vCPU until the guest exits the VM; never returns. */
noreturn void vcpu_run(struct vcpu *vcpu, const struct run_options *o);

/* If --timeout has expired, report it and exit 124 (for host calls interrupted by EINTR). */
void vcpu_check_timeout(void);
#endif
