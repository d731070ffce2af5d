/* x86-64 vCPU boot state: CPUID (KVM_SET_CPUID2), sregs, SYSCALL MSRs, XCR0 (SDM vol. 3A 2.5, 5.8.8, 13.3). */
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include "cpu_x86_64.h"
#include "kvm.h"

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_OSXSAVE (1ull << 18)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define MSR_IA32_TSC 0x10
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102

#define XFEATURE_X87 (1ull << 0)
#define XFEATURE_SSE (1ull << 1)
#define XFEATURE_AVX (1ull << 2)

void cpu_probe(struct vm *vm)
{
	/* KVM_GET_SUPPORTED_CPUID fails with E2BIG until nent is large enough (api.rst 4.46). */
	/* Start big: each attempt costs KVM a CPUID per leaf (~0.3 ms on nested hosts). */
	for (int nent = 256;; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			die(EXIT_VMM_ERROR, "out of memory");
		c->nent = nent;
		if (__kvm_ioctl(vm, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->cpuid = c;
			break;
		}
		free(c);
		if (errno != E2BIG || nent > 4096)
			die(EXIT_VMM_ERROR, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
	}
	uint32_t a, b, c, d;
	if (cpu_cpuid(vm, 0x80000001, 0, &a, &b, &c, &d) == 0)
		vm->pdpe1gb = (d >> 26) & 1;           /* 1-GByte pages (SDM vol. 2A CPUID) */
	if (cpu_cpuid(vm, 7, 0, &a, &b, &c, &d) == 0)
		vm->fsgsbase = b & 1;
	if (cpu_cpuid(vm, 1, 0, &a, &b, &c, &d) == 0)
		vm->hwcap = d;                         /* Linux's AT_HWCAP on x86 is CPUID.1:EDX */
	bool xsave = cpu_cpuid(vm, 1, 0, &a, &b, &c, &d) == 0 && ((c >> 26) & 1);
	vm->xcr0 = 0;
	if (xsave && cpu_cpuid(vm, 0xd, 0, &a, &b, &c, &d) == 0)
		vm->xcr0 = a & (XFEATURE_X87 | XFEATURE_SSE | XFEATURE_AVX);
	/*
	 * Where CPL0 is interpreted, KVM's instruction emulator has FXSAVE and
	 * FXRSTOR but no XSAVE/XRSTOR/XGETBV (measured: KVM_EXIT_INTERNAL_ERROR),
	 * so the guest kernel needs no XSAVE of its own there: it switches user
	 * FPU state through HC_FPU (fpu_x86_64.c), because ring 3 runs with the
	 * host's XCR0 anyway (measured: XGETBV at ring 3 reads 0xe7).
	 */
	if (cpu_cpl0_emulated())
		vm->xcr0 &= XFEATURE_X87 | XFEATURE_SSE;
	/* AVX state is only valid together with SSE (SDM vol. 1 13.3). */
	if (!(vm->xcr0 & XFEATURE_SSE))
		vm->xcr0 &= ~XFEATURE_AVX;
}

int cpu_cpuid(struct vm *vm, uint32_t leaf, uint32_t index,
	      uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
	for (uint32_t i = 0; i < vm->cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		if (e->function != leaf)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		*eax = e->eax;
		*ebx = e->ebx;
		*ecx = e->ecx;
		*edx = e->edx;
		return 0;
	}
	return -1;
}

static void set_msrs(struct vcpu *vcpu, const uint32_t *idx, const uint64_t *val, unsigned n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[16];
	} m = { .hdr.nmsrs = n };
	for (unsigned i = 0; i < n; i++) {
		m.e[i].index = idx[i];
		m.e[i].data = val[i];
	}
	int r = vcpu_ioctl(vcpu, KVM_SET_MSRS, &m.hdr);
	if (r != (int)n)
		die(EXIT_VMM_ERROR, "KVM_SET_MSRS: KVM refused MSR 0x%x", idx[r]);
}

uint64_t cpu_read_tsc(struct vcpu *vcpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} m = { .hdr.nmsrs = 1, .e[0].index = MSR_IA32_TSC };
	if (vcpu_ioctl(vcpu, KVM_GET_MSRS, &m.hdr) != 1)
		die(EXIT_VMM_ERROR, "KVM_GET_MSRS: cannot read IA32_TSC");
	return m.e[0].data;
}

/* Where kvm_pvm provides /dev/kvm, guest CPL0 code is interpreted (DESIGN.md "Two kinds of KVM host"). */
bool cpu_cpl0_emulated(void)
{
	const char *env = getenv("KVMBOX_CPL0_EMULATED");
	if (env && (!strcmp(env, "0") || !strcmp(env, "1")))
		return env[0] == '1';
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

/*
 * Does SYSCALL from user mode reach CPL0 on this host? Not on kvm_pvm hosts
 * (measured: it jumps to LSTAR still at CPL3), where LSTAR gets
 * KVMBOX_SYSCALL_FAULT_VA instead (shared/boot.h). KVMBOX_SYSCALL_VIA_FAULT=0|1
 * overrides the detection.
 */
static bool syscall_via_fault(void)
{
	const char *env = getenv("KVMBOX_SYSCALL_VIA_FAULT");
	if (env && (!strcmp(env, "0") || !strcmp(env, "1")))
		return env[0] == '1';
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

void cpu_setup_boot(struct vcpu *vcpu, uint64_t cr3, uint64_t rip, uint64_t rsp,
		    uint64_t rdi, uint64_t rsi)
{
	struct vm *vm = vcpu->vm;
	const struct kvmbox_kernel_header *h = &vm->khdr;

	/* CPUID first: KVM checks CR4 bits (OSXSAVE, FSGSBASE) against the guest's CPUID. */
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, vm->cpuid);

	struct kvm_sregs s;
	vcpu_ioctl(vcpu, KVM_GET_SREGS, &s);
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = KVMBOX_SEL_KCODE,
		.type = 0xb, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = KVMBOX_SEL_KDATA,
		.type = 0x3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.fs.base = 0;
	s.gs.base = h->percpu;
	/* TR: busy 64-bit TSS (type 11), as LTR leaves it (SDM vol. 3A 8.2.4). */
	s.tr = (struct kvm_segment){
		.base = h->tss, .limit = 103, .selector = KVMBOX_SEL_TSS,
		.type = 11, .present = 1, .s = 0,
	};
	s.ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
	s.gdt.base = h->gdt;
	s.gdt.limit = KVMBOX_GDT_ENTRIES * 8 - 1;
	s.idt.base = h->idt;
	s.idt.limit = 256 * 16 - 1;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = cr3;
	s.cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (vm->xcr0)
		s.cr4 |= CR4_OSXSAVE;
	if (vm->fsgsbase)
		s.cr4 |= CR4_FSGSBASE;
	s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	vcpu_ioctl(vcpu, KVM_SET_SREGS, &s);

	/*
	 * SYSCALL/SYSRET (SDM vol. 2B): STAR[47:32] = kernel CS (SS = +8),
	 * STAR[63:48] + 16 = user CS, + 8 = user SS (shared/regs.h selectors).
	 */
	static const uint32_t idx[] = {
		MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	};
	uint64_t val[] = {
		(0x10ull << 48) | ((uint64_t)KVMBOX_SEL_KCODE << 32),
		syscall_via_fault() ? KVMBOX_SYSCALL_FAULT_VA : h->syscall_entry, 0,
		h->syscall_mask, 0, h->percpu, 0,
	};
	set_msrs(vcpu, idx, val, sizeof(idx) / sizeof(idx[0]));

	if (vm->xcr0) {
		struct kvm_xcrs x = { .nr_xcrs = 1 };
		x.xcrs[0].xcr = 0;
		x.xcrs[0].value = vm->xcr0;
		vcpu_ioctl(vcpu, KVM_SET_XCRS, &x);
	}

	struct kvm_regs r = {
		.rip = rip, .rsp = rsp, .rdi = rdi, .rsi = rsi,
		.rflags = 0x2,  /* bit 1 is reserved as 1; IF clear: interrupts off */
	};
	vcpu_ioctl(vcpu, KVM_SET_REGS, &r);
}
