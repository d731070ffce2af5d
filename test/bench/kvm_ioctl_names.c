/* kvm_ioctl_names: "hex NAME" for the KVM ioctls kvmbox issues, as raw_syscalls trace events print them (for breakdown.awk). */
#include <linux/kvm.h>
#include <stdio.h>

#define N(x) { x, #x }
static const struct { unsigned long nr; const char *name; } names[] = {
	N(KVM_GET_API_VERSION), N(KVM_CREATE_VM), N(KVM_CHECK_EXTENSION), N(KVM_GET_VCPU_MMAP_SIZE),
	N(KVM_GET_SUPPORTED_CPUID), N(KVM_GET_MSR_INDEX_LIST), N(KVM_SET_USER_MEMORY_REGION),
	N(KVM_CREATE_VCPU), N(KVM_RUN), N(KVM_GET_REGS), N(KVM_SET_REGS), N(KVM_GET_SREGS),
	N(KVM_SET_SREGS), N(KVM_GET_MSRS), N(KVM_SET_MSRS), N(KVM_SET_CPUID2), N(KVM_GET_FPU),
	N(KVM_SET_FPU), N(KVM_GET_XCRS), N(KVM_SET_XCRS), N(KVM_GET_TSC_KHZ), N(KVM_SET_TSC_KHZ),
	N(KVM_SET_GUEST_DEBUG), N(KVM_CREATE_IRQCHIP), N(KVM_SET_TSS_ADDR), N(KVM_SET_IDENTITY_MAP_ADDR),
	N(KVM_ENABLE_CAP), N(KVM_GET_DEBUGREGS), N(KVM_SET_DEBUGREGS), N(KVM_IOEVENTFD), N(KVM_IRQFD),
	N(KVM_GET_LAPIC), N(KVM_SET_LAPIC), N(KVM_GET_VCPU_EVENTS), N(KVM_SET_VCPU_EVENTS),
};

int main(void)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		printf("%lx %s\n", names[i].nr, names[i].name);
	return 0;
}
