/* The user FPU/SSE/AVX state: XSAVE/XRSTOR natively, or through the VMM where CPL0 is interpreted. */
#include "fpu.h"
#include "platform.h"
#include "mm.h"
#include "lib.h"
#include "errno.h"

/*
 * Where CPL0 is interpreted (kvm_pvm), KVM's instruction emulator has
 * FXSAVE/FXRSTOR but no XSAVE, XRSTOR or XGETBV, while ring 3 runs natively
 * with the host's XCR0: programs see AVX and AVX-512 in CPUID and use them
 * (glibc's string functions keep data in YMM/ZMM registers, ymm16-31 too).
 * FXSAVE saves none of that, so a preempted thread would resume with the
 * upper vector state of whoever ran in between. There HC_FPU saves and
 * loads the whole state with KVM_GET_XSAVE/KVM_SET_XSAVE, one exit for a
 * context switch's save and load together. FXSAVE remains only if the VMM
 * cannot (a state larger than 4 KiB).
 */
uint32_t fpu_xsave_size;
uint64_t fpu_xfeatures;
static bool via_vmm;
static struct kvmbox_hc_fpu hc;   /* one vCPU */

#define FPU_AREA_MAX 4016         /* a kmalloc object (4 KiB with its header), 64 bytes for alignment */

void fpu_setup(void)
{
	if (boot_flags & KVMBOX_BOOT_CPL0_EMULATED) {
		hypercall(KVMBOX_HC_FPU, &hc);
		if (hc.ret == 0 && hc.size <= FPU_AREA_MAX) {
			via_vmm = true;
			fpu_xsave_size = hc.size;
			fpu_xfeatures = hc.xfeatures;
		}
		return;
	}
	/* The VMM enabled XSAVE (CR4.OSXSAVE) here: the size for XCR0 is CPUID.(EAX=0DH,ECX=0):EBX (SDM vol. 1 13.2). */
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
	if (b > FPU_AREA_MAX)
		panic("XSAVE area of %u bytes: more than the %u a save area holds", b, FPU_AREA_MAX);
	fpu_xsave_size = b < 512 + 64 ? 512 + 64 : b;
	__asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
	fpu_xfeatures = ((uint64_t)d << 32) | a;
}

int fpu_switch(void *save, const void *load)
{
	if (via_vmm) {
		hc.save = save ? V2P(save) : 0;
		hc.load = load ? V2P(load) : 0;
		hc.size = fpu_xsave_size;
		hypercall(KVMBOX_HC_FPU, &hc);
		return hc.ret ? -EINVAL : 0;
	}
	uint32_t lo = (uint32_t)fpu_xfeatures, hi = (uint32_t)(fpu_xfeatures >> 32);
	if (save) {
		if (fpu_xsave_size)
			__asm__ volatile("xsave64 (%0)" : : "r"(save), "a"(lo), "d"(hi) : "memory");
		else
			__asm__ volatile("fxsave64 (%0)" : : "r"(save) : "memory");
	}
	if (load) {
		if (fpu_xsave_size)
			__asm__ volatile("xrstor64 (%0)" : : "r"(load), "a"(lo), "d"(hi) : "memory");
		else
			__asm__ volatile("fxrstor64 (%0)" : : "r"(load) : "memory");
	}
	return 0;
}

/* FCW 0x37f, MXCSR 0x1f80, x87 and SSE registers zero (XSTATE_BV 3), every other component in its init state (SDM vol. 1 13.8.1). */
static uint8_t fpu_init_area[FPU_AREA_MAX] __attribute__((aligned(64))) = {
	[0] = 0x7f, [1] = 0x03, [24] = 0x80, [25] = 0x1f, [512] = 3,
};

void fpu_load_init(void)
{
	fpu_switch(NULL, fpu_init_area);
}
