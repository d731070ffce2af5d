/* The interrupt controller: KVM's in-kernel local APIC (x2APIC, TSC-deadline timer), split irqchip (api.rst 4.24, 7.6, 7.8). */
#include <stdlib.h>
#include <string.h>
#include "cpu_x86_64.h"
#include "irqchip_x86_64.h"
#include "kvm.h"

/* CPUID.1:ECX (SDM vol. 2A, CPUID, Table 3-10). */
#define CPUID_1_ECX_X2APIC       (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

/*
 * KVMBOX_IRQCHIP=0 leaves the VM without an interrupt controller, =full
 * asks for the full in-kernel one (measurements, fallback tests).
 */
static const char *irqchip_env(void)
{
	const char *env = getenv("KVMBOX_IRQCHIP");
	return env ? env : "";
}

/* CPUID.1:ECX x2APIC and TSC-deadline: offered exactly when the vCPU has the in-kernel LAPIC. */
static void cpuid_lapic_bits(struct vm *vm, bool on)
{
	for (uint32_t i = 0; i < vm->cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		if (e->function != 1)
			continue;
		if (on)
			e->ecx |= CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE;
		else
			e->ecx &= ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE);
	}
}

bool irqchip_create(struct vm *vm)
{
	vm->lapic = false;
	/*
	 * The guest's timer is the local APIC in TSC-deadline mode, reached
	 * through x2APIC MSRs: it needs the in-kernel irqchip and KVM's
	 * TSC-deadline emulation. Without them the guest polls its clock, and
	 * its CPUID must not claim either feature (KVM_GET_SUPPORTED_CPUID
	 * reports them whether or not the VM gets a LAPIC).
	 */
	bool split = kvm_check_cap(vm, KVM_CAP_SPLIT_IRQCHIP) > 0 && strcmp(irqchip_env(), "full");
	if (!strcmp(irqchip_env(), "0") || (!split && kvm_check_cap(vm, KVM_CAP_IRQCHIP) <= 0) ||
	    kvm_check_cap(vm, KVM_CAP_TSC_DEADLINE_TIMER) <= 0) {
		cpuid_lapic_bits(vm, false);
		return false;
	}
	/*
	 * The split irqchip (api.rst 7.6 KVM_CAP_SPLIT_IRQCHIP): local APICs in
	 * the kernel, no PIC, IOAPIC or PIT; none reserved pins, since nothing
	 * here is wired to an IOAPIC (devices signal MSIs through irqfds and
	 * KVM_SET_GSI_ROUTING, which the split irqchip supports). The full
	 * in-kernel irqchip (KVM_CREATE_IRQCHIP) costs ~17 ms more to tear down
	 * on emulated-CPL0 hosts (measured: closing the VM fd 0.5 ms -> 17.5 ms,
	 * which the `kvmbox run` wall time pays at exit); it is the fallback.
	 * After the memory slot: the irqchip created before it costs ~6 ms more
	 * there (DESIGN.md "Two kinds of KVM host"). Before any vCPU, which
	 * then gets an in-kernel local APIC (api.rst 4.24).
	 */
	if (split) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = 0 };
		vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	} else {
		vm_ioctl(vm, KVM_CREATE_IRQCHIP, (void *)0);
	}
	vm->split_irqchip = split;
	/*
	 * x2APIC API (api.rst 7.8): 32-bit APIC IDs in KVM_{GET,SET}_LAPIC and
	 * MSI routes (address_hi carries the high bits), and no broadcast quirk
	 * for ID 0xff. Must precede the vCPUs; harmless where refused.
	 */
	if (kvm_check_cap(vm, KVM_CAP_X2APIC_API) > 0) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_X2APIC_API,
			.args[0] = KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK,
		};
		vm->x2apic_api = __vm_ioctl(vm, KVM_ENABLE_CAP, &cap) == 0;
	}
	/*
	 * KVM refuses the x2APIC enable bit of IA32_APIC_BASE and the LVT
	 * timer's TSC-deadline mode unless the guest's CPUID has them. This
	 * KVM_GET_SUPPORTED_CPUID reports both; older ones leave the
	 * TSC-deadline bit to userspace (api.rst KVM_CAP_TSC_DEADLINE_TIMER).
	 */
	cpuid_lapic_bits(vm, true);
	vm->lapic = true;
	return true;
}
