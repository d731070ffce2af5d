/* KVM ioctl wrappers in two tiers (as in the KVM selftests) and the VM/vCPU setup path. */
#ifndef VMM_KVM_H
#define VMM_KVM_H
#include <errno.h>
#include <string.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include "log.h"
#include "vm.h"

/*
 * __kvm_ioctl/__vm_ioctl/__vcpu_ioctl return the raw ioctl result;
 * kvm_ioctl/vm_ioctl/vcpu_ioctl stop the VMM naming the ioctl and errno.
 * The argument's size is checked against _IOC_SIZE(cmd) at compile time
 * (ioctls taking an integer have _IOC_SIZE 0 and pass it cast to a pointer).
 */
#define kvm_ioctl_check(cmd, arg) \
	_Static_assert(!_IOC_SIZE(cmd) || sizeof(*(arg)) == _IOC_SIZE(cmd), \
		       "argument size of " #cmd)
#define __kvm_ioctl(vm, cmd, arg) ({ kvm_ioctl_check(cmd, arg); ioctl((vm)->kvm_fd, cmd, arg); })
#define __vm_ioctl(vm, cmd, arg) ({ kvm_ioctl_check(cmd, arg); ioctl((vm)->vm_fd, cmd, arg); })
#define __vcpu_ioctl(vcpu, cmd, arg) ({ kvm_ioctl_check(cmd, arg); ioctl((vcpu)->fd, cmd, arg); })

#define kvm_ioctl_or_die(raw, cmd) ({ \
	int __r = (raw); \
	if (__r < 0) \
		die(EXIT_VMM_ERROR, "%s failed: %s", #cmd, strerror(errno)); \
	__r; })
#define kvm_ioctl(vm, cmd, arg) kvm_ioctl_or_die(__kvm_ioctl(vm, cmd, arg), cmd)
#define vm_ioctl(vm, cmd, arg) kvm_ioctl_or_die(__vm_ioctl(vm, cmd, arg), cmd)
#define vcpu_ioctl(vcpu, cmd, arg) kvm_ioctl_or_die(__vcpu_ioctl(vcpu, cmd, arg), cmd)

/* Name of a KVM_EXIT_* reason ("KVM_EXIT_IO"), or "unknown". */
const char *kvm_exit_reason_name(uint32_t reason);

/*
 * Open /dev/kvm (with the fix in the message when it is missing or not
 * accessible), check the API version and the capabilities kvmbox needs,
 * create the VM. need_guest_debug: also require KVM_CAP_SET_GUEST_DEBUG.
 */
void kvm_open_vm(struct vm *vm, bool need_guest_debug);
/* Register vm->mem as memory slot 0 at gpa 0. */
void vm_set_memory(struct vm *vm);
/* Create vCPU id and map its kvm_run. */
void vcpu_create(struct vm *vm, struct vcpu *vcpu, int id);
/* Whether KVM reports capability cap (> 0). */
int kvm_check_cap(struct vm *vm, long cap);
#endif
