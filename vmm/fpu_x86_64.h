/* HC_FPU: the guest's complete user FPU/vector state (fpu_x86_64.c). */
#ifndef VMM_FPU_X86_64_H
#define VMM_FPU_X86_64_H
/* Register the KVMBOX_HC_FPU handler. */
void fpu_hc_register(void);
#endif
