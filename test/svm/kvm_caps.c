/*
 * kvm_caps: one line naming what this /dev/kvm offers that kvmbox uses or
 * that differs between kinds of KVM host (DESIGN.md "Host differences"):
 * guest-debug capabilities, the irqchip and TSC-deadline timer, sync regs,
 * and the CPUID features the VMM turns into guest state (1 GiB pages, XSAVE
 * and AVX, FSGSBASE). Printed by the SVM test guest at start-up.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int kvm;

static int cap(long c)
{
	int r = ioctl(kvm, KVM_CHECK_EXTENSION, c);
	return r < 0 ? 0 : r;
}

int main(void)
{
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm_caps: /dev/kvm");
		return 1;
	}
	int nent = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	c->nent = nent;
	unsigned pdpe1gb = 0, xsave = 0, avx = 0, fsgsbase = 0, x2apic = 0;
	if (c && ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0) {
		for (unsigned i = 0; i < c->nent; i++) {
			struct kvm_cpuid_entry2 *e = &c->entries[i];
			if (e->function == 0x80000001)
				pdpe1gb = (e->edx >> 26) & 1;
			if (e->function == 1) {
				xsave = (e->ecx >> 26) & 1;
				avx = (e->ecx >> 28) & 1;
				x2apic = (e->ecx >> 21) & 1;
			}
			if (e->function == 7 && e->index == 0)
				fsgsbase = e->ebx & 1;
		}
	}
	printf("kvm: module %s; caps SET_GUEST_DEBUG=%d GUEST_DEBUG_HW_BPS=%d GUEST_DEBUG_HW_WPS=%d "
	       "IRQCHIP=%d TSC_DEADLINE_TIMER=%d X2APIC_API=%d SYNC_REGS=%#x GET_TSC_KHZ=%d; "
	       "CPUID pdpe1gb=%u xsave=%u avx=%u fsgsbase=%u x2apic=%u\n",
	       access("/sys/module/kvm_pvm", F_OK) == 0 ? "kvm_pvm" :
	       access("/sys/module/kvm_amd", F_OK) == 0 ? "kvm_amd" :
	       access("/sys/module/kvm_intel", F_OK) == 0 ? "kvm_intel" : "?",
	       cap(KVM_CAP_SET_GUEST_DEBUG), cap(KVM_CAP_GUEST_DEBUG_HW_BPS), cap(KVM_CAP_GUEST_DEBUG_HW_WPS),
	       cap(KVM_CAP_IRQCHIP), cap(KVM_CAP_TSC_DEADLINE_TIMER), cap(KVM_CAP_X2APIC_API),
	       cap(KVM_CAP_SYNC_REGS), cap(KVM_CAP_GET_TSC_KHZ), pdpe1gb, xsave, avx, fsgsbase, x2apic);
	return 0;
}
