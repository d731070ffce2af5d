/* HC_FPU: the guest's complete user FPU/vector state through KVM_GET_XSAVE/KVM_SET_XSAVE (shared/hypercall.h). */
#include <errno.h>
#include <string.h>
#include <linux/kvm.h>
#include "cpu_x86_64.h"
#include "fpu_x86_64.h"
#include "guest_mem.h"
#include "hypercall.h"
#include "kvm.h"
#include "log.h"

/*
 * The area: the standard XSAVE layout up to the end of the last component
 * KVM saves for this guest (CPUID.(EAX=0DH,ECX=0):ECX and EDX:EAX of the
 * guest's CPUID, which is KVM_GET_SUPPORTED_CPUID's: SDM vol. 1 13.2). It
 * must fit struct kvm_xsave (4 KiB): larger states (AMX) are not offered
 * and the guest keeps FXSAVE.
 */
static uint32_t area_size;
static uint64_t area_features;

static void fpu_probe(struct vm *vm)
{
	uint32_t a, b, c, d;
	if (area_size || cpu_cpuid(vm, 0xd, 0, &a, &b, &c, &d))
		return;
	if (c >= 512 + 64 && c <= sizeof(struct kvm_xsave)) {
		area_size = c;
		area_features = ((uint64_t)d << 32) | a;
	}
}

static void hc_fpu(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_fpu *a = arg;
	struct vm *vm = vcpu->vm;
	fpu_probe(vm);
	if (!area_size) {
		a->ret = -ENOSYS;
		return;
	}
	uint32_t want = a->size;
	a->size = area_size;
	a->xfeatures = area_features;
	if (!a->save && !a->load) {
		a->ret = 0;
		return;
	}
	void *save = a->save ? GUEST_PTR(vm, a->save, area_size) : NULL;
	void *load = a->load ? GUEST_PTR(vm, a->load, area_size) : NULL;
	if (want < area_size) {
		a->ret = -EINVAL;
		return;
	}
	if ((a->save && !save) || (a->load && !load)) {
		a->ret = -EFAULT;
		return;
	}
	static struct kvm_xsave x;
	if (save) {
		vcpu_ioctl(vcpu, KVM_GET_XSAVE, &x);
		memcpy(save, x.region, area_size);
	}
	if (load) {
		memset(&x, 0, sizeof(x));
		memcpy(x.region, load, area_size);
		/* KVM checks the header and MXCSR (EINVAL): the state stays as it was. */
		if (__vcpu_ioctl(vcpu, KVM_SET_XSAVE, &x) < 0) {
			a->ret = -EINVAL;
			return;
		}
	}
	a->ret = 0;
}

void fpu_hc_register(void)
{
	if (hc_register(KVMBOX_HC_FPU, "FPU", sizeof(struct kvmbox_hc_fpu), hc_fpu))
		die(EXIT_VMM_ERROR, "internal error: hypercall KVMBOX_HC_FPU registered twice");
}
