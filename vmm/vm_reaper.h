/* A reaper process that holds the VM fd, so KVM's teardown runs after kvmbox exits (vm_reaper.c). */
#ifndef VMM_VM_REAPER_H
#define VMM_VM_REAPER_H

/* Right after KVM_CREATE_VM, while kvmbox is single-threaded. */
void vm_reaper_start(int vm_fd);
#endif
