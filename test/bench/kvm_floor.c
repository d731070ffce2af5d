/*
 * The raw-KVM floor: the least a VMM must do to run one guest instruction.
 * Opens /dev/kvm, creates a VM, one memory slot backed the way kvmbox backs
 * guest memory (a 256 MiB memfd, MAP_SHARED|MAP_NORESERVE: vmm/guest_mem.c),
 * one vCPU in real mode at 0x1000 where the code is `out 0x80, al; hlt`, and
 * runs it to the first exit (KVM_EXIT_IO). Exit status 0 when that exit came.
 *
 *   kvm_floor [--mem MiB] [-v]    (-v: print each step's time in µs to stderr)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int verbose;
static struct timespec t_last;

static void step(const char *what)
{
	if (!verbose)
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	double us = (t.tv_sec - t_last.tv_sec) * 1e6 + (t.tv_nsec - t_last.tv_nsec) / 1e3;
	fprintf(stderr, "kvm_floor: %-28s %8.1f us\n", what, us);
	t_last = t;
}

static void fail(const char *what)
{
	fprintf(stderr, "kvm_floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	uint64_t mem_size = 256ull << 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "--mem") && i + 1 < argc)
			mem_size = strtoull(argv[++i], NULL, 0) << 20;
		else {
			fprintf(stderr, "usage: kvm_floor [--mem MiB] [-v]\n");
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t_last);

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		fail("open /dev/kvm");
	step("open /dev/kvm");
	int vm;
	do
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
	while (vm < 0 && errno == EINTR);
	if (vm < 0)
		fail("KVM_CREATE_VM");
	step("KVM_CREATE_VM");

	int memfd = memfd_create("kvm-floor-guest", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, mem_size) < 0)
		fail("memfd");
	uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, memfd, 0);
	if (mem == MAP_FAILED)
		fail("mmap guest memory");
	/* out 0x80, al ; hlt */
	static const uint8_t code[] = { 0xe6, 0x80, 0xf4 };
	memcpy(mem + 0x1000, code, sizeof(code));
	step("memfd + mmap + code");
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		fail("KVM_SET_USER_MEMORY_REGION");
	step("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		fail("KVM_CREATE_VCPU");
	step("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		fail("mmap kvm_run");
	step("mmap kvm_run");

	/* Real mode, cs:ip = 0:0x1000. */
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		fail("KVM_SET_REGS");
	step("KVM_SET_SREGS + SET_REGS");

	int r;
	do
		r = ioctl(vcpu, KVM_RUN, 0);
	while (r < 0 && (errno == EINTR || errno == EAGAIN));
	if (r < 0)
		fail("KVM_RUN");
	step("KVM_RUN to the first exit");
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0x80) {
		fprintf(stderr, "kvm_floor: first exit is reason %u, expected KVM_EXIT_IO on port 0x80\n",
			run->exit_reason);
		return 1;
	}
	return 0;
}
