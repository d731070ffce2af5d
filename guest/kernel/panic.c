/* Kernel panics: a broken kernel invariant is reported to the VMM, which ends the VM (status 125). */
#include "lib.h"
#include "platform.h"
#include "proc.h"

static noreturn void do_panic(struct trap_frame *tf, uint64_t vector, uint64_t error_code,
			      const char *fmt, va_list ap)
{
	static struct kvmbox_hc_panic hc;
	__asm__ volatile("cli");
	vsnprintf(hc.message, sizeof(hc.message), fmt, ap);
	hc.cpu = 0;
	struct kvmbox_kernel_regs *r = &hc.regs;
	if (tf) {
		hc.has_regs = 1;
		r->r15 = tf->r15; r->r14 = tf->r14; r->r13 = tf->r13; r->r12 = tf->r12;
		r->rbp = tf->rbp; r->rbx = tf->rbx; r->r11 = tf->r11; r->r10 = tf->r10;
		r->r9 = tf->r9; r->r8 = tf->r8; r->rax = tf->rax; r->rcx = tf->rcx;
		r->rdx = tf->rdx; r->rsi = tf->rsi; r->rdi = tf->rdi;
		r->rip = tf->rip; r->cs = tf->cs; r->rflags = tf->rflags;
		/* An exception from CPL0 without a stack switch still pushes rsp/ss in 64-bit mode. */
		r->rsp = tf->rsp; r->ss = tf->ss;
	} else {
		/* No fault frame: report where panic() was called from. */
		hc.has_regs = 1;
		__asm__ volatile("mov %%rbp, %0" : "=r"(r->rbp));
		r->rip = (uint64_t)__builtin_return_address(0);
		__asm__ volatile("mov %%rsp, %0" : "=r"(r->rsp));
		r->cs = KVMBOX_SEL_KCODE;
	}
	r->vector = vector;
	r->error_code = error_code;
	__asm__ volatile("mov %%cr2, %0" : "=r"(r->cr2));
	__asm__ volatile("mov %%cr3, %0" : "=r"(r->cr3));
	for (;;)
		hypercall(KVMBOX_HC_PANIC, &hc);
}

noreturn void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	do_panic(NULL, ~0ull, 0, fmt, ap);
}

noreturn void panic_trap(struct trap_frame *tf, uint64_t vector, uint64_t error_code,
			 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	do_panic(tf, vector, error_code, fmt, ap);
}
