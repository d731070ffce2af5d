/* x86-64 vCPU state at boot: CPUID, control registers, segments, MSRs, XCR0 (shared/boot.h "Entry state"). */
#ifndef VMM_CPU_X86_64_H
#define VMM_CPU_X86_64_H
#include <stdint.h>
#include "vm.h"

/* Read KVM_GET_SUPPORTED_CPUID into vm->cpuid and derive pdpe1gb, fsgsbase, hwcap, xcr0. */
void cpu_probe(struct vm *vm);

/* Leaf/subleaf of vm->cpuid: 0 and the registers, or -1 if KVM does not offer it. */
int cpu_cpuid(struct vm *vm, uint32_t leaf, uint32_t index,
	      uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx);

/* Put the vCPU in the kernel's entry state: 64-bit mode at rip with rsp, rdi, rsi, CR3 = cr3. */
void cpu_setup_boot(struct vcpu *vcpu, uint64_t cr3, uint64_t rip, uint64_t rsp,
		    uint64_t rdi, uint64_t rsi);

/* The guest's TSC now (KVM_GET_MSRS of IA32_TSC). */
uint64_t cpu_read_tsc(struct vcpu *vcpu);
/* Is guest CPL0 code interpreted on this host (kvm_pvm)? KVMBOX_CPL0_EMULATED=0|1 overrides. */
bool cpu_cpl0_emulated(void);
#endif
