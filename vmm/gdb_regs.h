/* Register copies the gdb backends share (gdb_kernel.c, debug_process.c): KVM's structs <-> gdb_regs. */
#ifndef VMM_GDB_REGS_H
#define VMM_GDB_REGS_H
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>

/* The registers named alike in struct gdb_regs, struct kvm_regs and struct kvmbox_user_regs
   (rflags is eflags in gdb_regs): X(name) for each, to copy field by field. */
#define GDB_GPRS(X) \
	X(rax) X(rbx) X(rcx) X(rdx) X(rsi) X(rdi) X(rbp) X(rsp) \
	X(r8) X(r9) X(r10) X(r11) X(r12) X(r13) X(r14) X(r15) X(rip)

/*
 * struct kvm_fpu is FXSAVE's content in separate fields (arch/x86/kvm/x86.c);
 * gdb_regs carries the 512-byte image (Intel SDM vol. 1 10.5.1, table 10-2).
 * MXCSR_MASK (offset 28) is not in kvm_fpu: all ones.
 */
static inline void gdb_fxsave_from_kvm(const struct kvm_fpu *f, uint8_t *fx)
{
	memset(fx, 0, 512);
	memcpy(fx + 0, &f->fcw, 2);
	memcpy(fx + 2, &f->fsw, 2);
	fx[4] = f->ftwx;
	memcpy(fx + 6, &f->last_opcode, 2);
	memcpy(fx + 8, &f->last_ip, 8);
	memcpy(fx + 16, &f->last_dp, 8);
	memcpy(fx + 24, &f->mxcsr, 4);
	uint32_t mask = 0xffff;
	memcpy(fx + 28, &mask, 4);
	for (int i = 0; i < 8; i++)
		memcpy(fx + 32 + 16 * i, f->fpr[i], 16);
	memcpy(fx + 160, f->xmm, 256);
}

static inline void gdb_fxsave_to_kvm(const uint8_t *fx, struct kvm_fpu *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(&f->fcw, fx + 0, 2);
	memcpy(&f->fsw, fx + 2, 2);
	f->ftwx = fx[4];
	memcpy(&f->last_opcode, fx + 6, 2);
	memcpy(&f->last_ip, fx + 8, 8);
	memcpy(&f->last_dp, fx + 16, 8);
	memcpy(&f->mxcsr, fx + 24, 4);
	for (int i = 0; i < 8; i++)
		memcpy(f->fpr[i], fx + 32 + 16 * i, 16);
	memcpy(f->xmm, fx + 160, 256);
}
#endif
