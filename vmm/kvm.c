/* KVM device, VM and vCPU creation: one straight, checked setup path (Documentation/virt/kvm/api.rst). */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kvm.h"
#include "vm_reaper.h"

#define EXIT_NAME(x) [KVM_EXIT_##x] = "KVM_EXIT_" #x
static const char *const exit_reason_names[] = {
	EXIT_NAME(UNKNOWN), EXIT_NAME(EXCEPTION), EXIT_NAME(IO), EXIT_NAME(HYPERCALL),
	EXIT_NAME(DEBUG), EXIT_NAME(HLT), EXIT_NAME(MMIO), EXIT_NAME(IRQ_WINDOW_OPEN),
	EXIT_NAME(SHUTDOWN), EXIT_NAME(FAIL_ENTRY), EXIT_NAME(INTR), EXIT_NAME(SET_TPR),
	EXIT_NAME(TPR_ACCESS), EXIT_NAME(NMI), EXIT_NAME(INTERNAL_ERROR), EXIT_NAME(WATCHDOG),
	EXIT_NAME(EPR), EXIT_NAME(SYSTEM_EVENT), EXIT_NAME(IOAPIC_EOI), EXIT_NAME(HYPERV),
	EXIT_NAME(X86_RDMSR), EXIT_NAME(X86_WRMSR), EXIT_NAME(DIRTY_RING_FULL),
	EXIT_NAME(AP_RESET_HOLD), EXIT_NAME(X86_BUS_LOCK), EXIT_NAME(XEN), EXIT_NAME(NOTIFY),
};

const char *kvm_exit_reason_name(uint32_t reason)
{
	if (reason < sizeof(exit_reason_names) / sizeof(exit_reason_names[0]) &&
	    exit_reason_names[reason])
		return exit_reason_names[reason];
	return "unknown";
}

int kvm_check_cap(struct vm *vm, long cap)
{
	int r = __kvm_ioctl(vm, KVM_CHECK_EXTENSION, (void *)cap);
	return r < 0 ? 0 : r;
}

static void require_cap(struct vm *vm, long cap, const char *name)
{
	if (kvm_check_cap(vm, cap) <= 0)
		die(EXIT_VMM_ERROR, "this KVM lacks %s, which kvmbox needs", name);
}
#define REQUIRE_CAP(vm, cap) require_cap(vm, cap, #cap)

void kvm_open_vm(struct vm *vm, bool need_guest_debug)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		if (errno == ENOENT)
			die(EXIT_VMM_ERROR, "/dev/kvm does not exist: load the KVM module "
			    "(modprobe kvm_intel or kvm_amd), or enable nested virtualization for this VM");
		if (errno == EACCES || errno == EPERM)
			die(EXIT_VMM_ERROR, "no permission to open /dev/kvm: add your user to the kvm "
			    "group (sudo usermod -aG kvm $USER) and log in again, or run as root");
		die(EXIT_VMM_ERROR, "cannot open /dev/kvm: %s", strerror(errno));
	}
	/* The only stable API version since Linux 2.6.22 (api.rst 4.1). */
	int api = kvm_ioctl(vm, KVM_GET_API_VERSION, (void *)0);
	if (api != KVM_API_VERSION)
		die(EXIT_VMM_ERROR, "KVM API version %d, kvmbox needs %d", api, KVM_API_VERSION);
	REQUIRE_CAP(vm, KVM_CAP_USER_MEMORY);
	REQUIRE_CAP(vm, KVM_CAP_IMMEDIATE_EXIT);
	REQUIRE_CAP(vm, KVM_CAP_EXT_CPUID);
	if (need_guest_debug)
		REQUIRE_CAP(vm, KVM_CAP_SET_GUEST_DEBUG);

	for (;;) {
		vm->vm_fd = __kvm_ioctl(vm, KVM_CREATE_VM, (void *)0);
		if (vm->vm_fd >= 0 || errno != EINTR)
			break;
	}
	if (vm->vm_fd < 0)
		die(EXIT_VMM_ERROR, "KVM_CREATE_VM failed: %s", strerror(errno));
	vm_reaper_start(vm->vm_fd);
}

void vm_set_memory(struct vm *vm)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem,
	};
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
}

void vcpu_create(struct vm *vm, struct vcpu *vcpu, int id)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = vm_ioctl(vm, KVM_CREATE_VCPU, (void *)(long)id);
	int size = kvm_ioctl(vm, KVM_GET_VCPU_MMAP_SIZE, (void *)0);
	if (size < (int)sizeof(struct kvm_run))
		die(EXIT_VMM_ERROR, "KVM_GET_VCPU_MMAP_SIZE returned %d", size);
	vcpu->run_size = size;
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		die(EXIT_VMM_ERROR, "mmap of the vCPU's kvm_run failed: %s", strerror(errno));
}
