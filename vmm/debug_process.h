/* Process mode of the gdb stub (debug_process.c): the guest's processes and threads through HC_STOP. */
#ifndef VMM_DEBUG_PROCESS_H
#define VMM_DEBUG_PROCESS_H
#include "gdb_target.h"
#include "vm.h"

extern const struct gdb_target_ops debug_process_ops;

/*
 * Debug the program of this VM: the guest stops at its first instruction
 * (the shared page asks for it when the vCPU registers it) and gdb_serve()
 * runs on listen_fd from there. 0, or -1 with errno.
 */
int debug_process_setup(struct vm *vm, struct vcpu *vcpu, int listen_fd);
/* HC_STOP while process mode is set up: park the vCPU and serve the stub's commands. */
void debug_process_hc_stop(struct vcpu *vcpu, struct kvmbox_hc_stop *a);
/* HC_SHARED_PAGE registered vcpu's page: ask for the stops. */
void debug_process_shared_page(struct vcpu *vcpu);
/* Is process mode set up (HC_STOP goes to debug_process_hc_stop)? */
bool debug_process_enabled(void);
#endif
