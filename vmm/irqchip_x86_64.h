/* The VM's interrupt controller (x86-64): KVM's in-kernel irqchip, for the guest's LAPIC timer and, later, irqfds. */
#ifndef VMM_IRQCHIP_X86_64_H
#define VMM_IRQCHIP_X86_64_H
#include <stdbool.h>
#include "vm.h"

/*
 * Give the vCPUs KVM's in-kernel local APIC: the split irqchip (LAPICs
 * only: MSIs through irqfds and GSI routes), else the full in-kernel one
 * (with IOAPIC and PIC); enable the x2APIC API; offer x2APIC and the
 * TSC-deadline timer in vm->cpuid (and clear them when there is no LAPIC).
 * Call after vm_set_memory and cpu_probe, before any vCPU. Sets vm->lapic
 * and returns it: false when KVM has no irqchip or no
 * KVM_CAP_TSC_DEADLINE_TIMER, or KVMBOX_IRQCHIP=0 is set (the guest then
 * has no timer interrupt and polls its clock when it must wait).
 * KVMBOX_IRQCHIP=full forces the full in-kernel irqchip.
 */
bool irqchip_create(struct vm *vm);
#endif
