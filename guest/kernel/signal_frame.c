/*
 * Signal handler frames: the Linux x86-64 rt_sigframe (arch/x86/kernel/signal.c,
 * signal_64.c; uapi asm/sigcontext.h, asm/ucontext.h), rt_sigreturn,
 * sigaltstack, and the siginfo_t a handler or sigtimedwait gets.
 *
 * CPL0 instructions are the budget on emulated-CPL0 hosts: the frame is
 * built in a kernel buffer laid out exactly as on the user stack (the FPU
 * area right after the rt_sigframe), so one copy writes both, and the FPU
 * state goes straight from the registers into that buffer (fpu.c).
 */
#include "proc.h"
#include "uaccess.h"
#include "syscalls.h"
#include "signal.h"
#include "platform.h"
#include "lib.h"
#include "errno.h"
#include "fpu.h"

struct sigcontext64 {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;          /* user address of the FPU area; 0 = none */
	uint64_t reserved1[8];
};
_Static_assert(sizeof(struct sigcontext64) == 256, "sigcontext");

struct kstack {                    /* stack_t */
	uint64_t ss_sp;
	int32_t ss_flags, pad;
	uint64_t ss_size;
};

struct kucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct kstack uc_stack;
	struct sigcontext64 uc_mcontext;
	uint64_t uc_sigmask;
};

struct rt_sigframe {
	uint64_t pretcode;         /* sa_restorer: the handler's return address */
	struct kucontext uc;
	uint64_t info[16];         /* siginfo_t */
};
_Static_assert(sizeof(struct rt_sigframe) == 440, "rt_sigframe");
/* frame = fpstate - 440 keeps (frame + 8) % 16 == 0 for a 64-aligned fpstate (SysV ABI at function entry). */
_Static_assert((sizeof(struct rt_sigframe) + 8) % 16 == 0, "alignment");

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4

#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define FXSAVE_SIZE 512
#define XSAVE_HDR 512              /* the XSAVE header follows the legacy area */
#define XSAVE_MAX 4096             /* fpu.c's largest area (AVX-512 is 2696 bytes) */
#define SW_BYTES 464               /* struct _fpx_sw_bytes in the legacy area's software-reserved bytes */
#define MXCSR_OFF 24
#define MXCSR_MASK_OFF 28

/* RFLAGS a program may change through a signal frame (Linux's FIX_EFLAGS). */
#define FIX_EFLAGS 0x50dd5ull      /* AC RF OF DF TF SF ZF AF PF CF */
#define CLEAR_AT_HANDLER 0x50500ull /* AC RF DF TF */

/* The frame and its FPU area as they will sit on the user stack (one vCPU; per-CPU with SMP). */
struct frame_buf {
	uint8_t pad[8];
	struct rt_sigframe f;
	uint8_t fp[XSAVE_MAX + 4] __attribute__((aligned(64)));
} __attribute__((aligned(64)));
_Static_assert(offsetof(struct frame_buf, fp) == offsetof(struct frame_buf, f) + sizeof(struct rt_sigframe),
	       "the FPU area follows the frame");
/* out: delivery (its unwritten bytes stay zero); in: rt_sigreturn. */
static struct frame_buf out_buf, in_buf;

/* 0: FXSAVE only; else the XSAVE area's size and its components (fpu.c). */
static uint32_t xsave_size;
static uint64_t xcr0;
static uint32_t mxcsr_mask;

static void fpu_probe(void)
{
	static uint8_t tmp[FXSAVE_SIZE] __attribute__((aligned(16)));
	__asm__ volatile("fxsave64 (%0)" : : "r"(tmp) : "memory");
	mxcsr_mask = *(uint32_t *)(tmp + MXCSR_MASK_OFF);
	if (!mxcsr_mask)
		mxcsr_mask = 0xffbf; /* SDM vol. 1 11.6.6: a zero mask field means the default */
	xsave_size = fpu_xsave_size;
	xcr0 = fpu_xfeatures;
	if (xsave_size > XSAVE_MAX)
		panic("XSAVE area of %u bytes: more than the %u signal frames hold", xsave_size, XSAVE_MAX);
}

static inline void fpu_probe_once(void)
{
	if (unlikely(!mxcsr_mask))
		fpu_probe();
}

/* Size of the FPU area in a frame (Linux: the XSAVE size plus MAGIC2). */
static inline uint64_t fp_frame_size(void)
{
	return xsave_size ? xsave_size + 4 : FXSAVE_SIZE;
}

/* ---- siginfo_t ---- */

#define FAULT_SET (SIGBIT(SIGILL) | SIGBIT(SIGFPE) | SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGTRAP))

/*
 * The first six words of siginfo_t (the rest is zero): signo/errno, code,
 * then the union member the kind of signal uses: _sigfault (si_addr),
 * _sigchld (si_pid, si_uid, si_status, si_utime, si_stime), _timer (si_tid,
 * si_overrun, si_value), or _kill/_rt (si_pid, si_uid, si_value).
 */
static void siginfo_words(uint64_t *w, const struct ksiginfo *i)
{
	w[0] = (uint32_t)i->signo;
	w[1] = (uint32_t)i->code;
	if (i->code > 0 && (FAULT_SET & SIGBIT(i->signo))) {
		w[2] = i->addr;
		w[3] = 0;
	} else if (i->code > 0 && i->signo == SIGCHLD) {
		w[2] = (uint32_t)i->pid;
		w[3] = (uint32_t)i->status;
	} else if (i->code == SI_TIMER) {
		w[2] = (uint32_t)i->pid | (uint64_t)(uint32_t)i->status << 32;
		w[3] = i->value;
	} else {
		w[2] = (uint32_t)i->pid; /* si_uid 0: programs run as root */
		w[3] = i->value;
	}
	w[4] = w[5] = 0;
}

int siginfo_to_user(uint64_t uinfo, const struct ksiginfo *info)
{
	static uint64_t w[16]; /* words 6..15 stay zero */
	siginfo_words(w, info);
	return copy_to_user(uinfo, w, sizeof(w));
}

/* ---- the alternate signal stack ---- */

static bool in_altstack(const struct thread *t, uint64_t sp)
{
	return sp > t->altstack_sp && sp - t->altstack_sp <= t->altstack_size;
}

static bool on_altstack(const struct thread *t, uint64_t sp)
{
	return !(t->altstack_flags & SS_AUTODISARM) && in_altstack(t, sp);
}

static int altstack_state(const struct thread *t, uint64_t sp)
{
	if (!t->altstack_size)
		return SS_DISABLE;
	return on_altstack(t, sp) ? SS_ONSTACK : 0;
}

static int set_altstack(struct thread *t, const struct kstack *ss, uint64_t sp)
{
	if (on_altstack(t, sp))
		return -EPERM;
	uint32_t flags = (uint32_t)ss->ss_flags, mode = flags & ~SS_AUTODISARM;
	if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0)
		return -EINVAL;
	uint64_t base = ss->ss_sp, size = ss->ss_size;
	if (mode == SS_DISABLE) {
		base = size = 0;
	} else if (size < MINSIGSTKSZ) {
		return -ENOMEM;
	}
	t->altstack_sp = base;
	t->altstack_size = size;
	t->altstack_flags = (int)flags;
	return 0;
}

long sys_sigaltstack(uint64_t uss, uint64_t uoss)
{
	struct thread *t = current_thread();
	uint64_t sp = current_frame()->rsp;
	struct kstack ss, old = {
		.ss_sp = t->altstack_sp,
		.ss_flags = altstack_state(t, sp) | (t->altstack_flags & (int)SS_AUTODISARM),
		.ss_size = t->altstack_size,
	};
	if (uss && copy_from_user(&ss, uss, sizeof(ss)))
		return -EFAULT;
	int r = uss ? set_altstack(t, &ss, sp) : 0;
	if (!r && uoss && copy_to_user(uoss, &old, sizeof(old)))
		r = -EFAULT;
	return r;
}

/* ---- delivery ---- */

static bool canonical(uint64_t va)
{
	return va < 0x0000800000000000ull || va >= 0xffff800000000000ull;
}

int signal_setup_frame(struct trap_frame *tf, int sig, struct k_sigaction *ka, const struct ksiginfo *info)
{
	struct thread *t = current_thread();
	fpu_probe_once();
	if (!(ka->flags & SA_RESTORER) || !canonical(ka->handler))
		return -EFAULT; /* x86-64 has no kernel-provided return trampoline */

	/* Below the red zone, or at the top of the alternate stack (Linux's get_sigframe). */
	uint64_t sp = tf->rsp - 128;
	bool altstack = on_altstack(t, tf->rsp);
	if ((ka->flags & SA_ONSTACK) && altstack_state(t, sp) == 0) {
		sp = t->altstack_sp + t->altstack_size;
		altstack = true;
	}
	uint64_t fpsize = fp_frame_size();
	uint64_t fpstate = ALIGN_DOWN(sp - fpsize, 64);
	uint64_t frame = fpstate - sizeof(struct rt_sigframe);
	if (altstack && !in_altstack(t, frame))
		return -EFAULT; /* it would overflow the alternate stack */

	struct rt_sigframe *f = &out_buf.f;
	f->pretcode = ka->restorer;
	f->uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | (xsave_size ? UC_FP_XSTATE : 0);
	f->uc.uc_stack.ss_sp = t->altstack_sp;
	f->uc.uc_stack.ss_flags = altstack_state(t, tf->rsp) | (t->altstack_flags & (int)SS_AUTODISARM);
	f->uc.uc_stack.ss_size = t->altstack_size;
	struct sigcontext64 *sc = &f->uc.uc_mcontext;
	sc->r8 = tf->r8;
	sc->r9 = tf->r9;
	sc->r10 = tf->r10;
	sc->r11 = tf->r11;
	sc->r12 = tf->r12;
	sc->r13 = tf->r13;
	sc->r14 = tf->r14;
	sc->r15 = tf->r15;
	sc->rdi = tf->rdi;
	sc->rsi = tf->rsi;
	sc->rbp = tf->rbp;
	sc->rbx = tf->rbx;
	sc->rdx = tf->rdx;
	sc->rax = tf->rax;
	sc->rcx = tf->rcx;
	sc->rsp = tf->rsp;
	sc->rip = tf->rip;
	sc->eflags = tf->rflags;
	sc->cs = (uint16_t)tf->cs;
	sc->ss = (uint16_t)tf->ss;
	sc->err = info->err;
	sc->trapno = info->trapno;
	sc->cr2 = info->trapno == 14 ? info->addr : 0;
	sc->fpstate = fpstate;
	/* After rt_sigsuspend the frame keeps the mask from before it. */
	uint64_t old = t->restore_sigmask ? t->saved_sigmask : t->sigmask;
	sc->oldmask = old;
	f->uc.uc_sigmask = old;
	siginfo_words(f->info, info);

	/* The live FPU state: the kernel has not touched it since the program ran. */
	uint8_t *fp = out_buf.fp;
	fpu_switch(fp, NULL);
	if (xsave_size) {
		*(uint64_t *)(fp + XSAVE_HDR) |= 3; /* x87 and SSE always present, as Linux writes them */
		uint32_t *sw = (uint32_t *)(fp + SW_BYTES);
		sw[0] = FP_XSTATE_MAGIC1;
		sw[1] = xsave_size + 4;              /* extended_size */
		*(uint64_t *)&sw[2] = xcr0;          /* xfeatures */
		sw[4] = xsave_size;                  /* xstate_size */
		*(uint32_t *)(fp + xsave_size) = FP_XSTATE_MAGIC2;
	}
	if (copy_to_user(frame, f, sizeof(*f) + fpsize))
		return -EFAULT;

	/* Delivered: the handler's mask, one-shot action, autodisarmed stack. */
	t->restore_sigmask = false;
	t->sigmask = (t->sigmask | ka->mask | (ka->flags & SA_NODEFER ? 0 : SIGBIT(sig))) & ~UNBLOCKABLE;
	tf->rip = ka->handler;
	if (ka->flags & SA_RESETHAND)
		ka->handler = SIG_DFL;
	if (t->altstack_flags & (int)SS_AUTODISARM) {
		t->altstack_sp = t->altstack_size = 0;
		t->altstack_flags = 0;
	}
	tf->rdi = (uint64_t)sig;
	tf->rsi = frame + offsetof(struct rt_sigframe, info);
	tf->rdx = frame + offsetof(struct rt_sigframe, uc);
	tf->rax = 0;
	tf->rsp = frame;
	tf->cs = KVMBOX_SEL_UCODE;
	tf->ss = KVMBOX_SEL_UDATA;
	tf->rflags &= ~CLEAR_AT_HANDLER;
	tf->rcx = tf->rip;      /* rcx/r11 are free at function entry: let entry.S use SYSRET */
	tf->r11 = tf->rflags;
	fpu_load_init(); /* handlers start with a clean FPU, as on Linux */
	return 0;
}

/* ---- rt_sigreturn ---- */

/* The FPU area of a frame, in in_buf.fp: validate and load it. False: a bad frame. */
static bool restore_fpu(uint64_t ufp, bool have)
{
	uint8_t *fp = in_buf.fp;
	if (!ufp) {
		fpu_load_init();
		return true;
	}
	bool fx_only = !xsave_size;
	if (!have && copy_from_user(fp, ufp, fp_frame_size())) {
		if (!xsave_size || copy_from_user(fp, ufp, FXSAVE_SIZE))
			return false;
		fx_only = true;
	}
	/* Reserved MXCSR bits would make FXRSTOR/XRSTOR fault in the kernel (#GP). */
	if (*(uint32_t *)(fp + MXCSR_OFF) & ~mxcsr_mask)
		return false;
	if (xsave_size) {
		const uint32_t *sw = (const uint32_t *)(fp + SW_BYTES);
		uint32_t size = sw[4];
		if (!fx_only && (sw[0] != FP_XSTATE_MAGIC1 || size < FXSAVE_SIZE + 64 || size > xsave_size ||
				 sw[1] != size + 4 || *(uint32_t *)(fp + size) != FP_XSTATE_MAGIC2))
			fx_only = true;
		/* A standard-form header XRSTOR accepts: known features only, the rest zero. */
		uint64_t *hdr = (uint64_t *)(fp + XSAVE_HDR);
		hdr[0] = fx_only ? 3 : hdr[0] & xcr0 & *(const uint64_t *)&sw[2];
		for (int i = 1; i < 8; i++)
			hdr[i] = 0;
	}
	return fpu_switch(NULL, fp) == 0;
}

long sys_rt_sigreturn(void)
{
	struct trap_frame *tf = current_frame();
	struct thread *t = current_thread();
	fpu_probe_once();
	uint64_t frame = tf->rsp - 8; /* the handler's `ret` popped pretcode */
	struct rt_sigframe *f = &in_buf.f;
	/* Frame and FPU area in one copy when they are where delivery put them. */
	bool both = !copy_from_user(f, frame, sizeof(*f) + fp_frame_size());
	if (!both && copy_from_user(f, frame, sizeof(*f)))
		goto bad;
	t->sigmask = f->uc.uc_sigmask & ~UNBLOCKABLE;
	const struct sigcontext64 *sc = &f->uc.uc_mcontext;
	tf->r8 = sc->r8;
	tf->r9 = sc->r9;
	tf->r10 = sc->r10;
	tf->r11 = sc->r11;
	tf->r12 = sc->r12;
	tf->r13 = sc->r13;
	tf->r14 = sc->r14;
	tf->r15 = sc->r15;
	tf->rdi = sc->rdi;
	tf->rsi = sc->rsi;
	tf->rbp = sc->rbp;
	tf->rbx = sc->rbx;
	tf->rdx = sc->rdx;
	tf->rax = sc->rax;
	tf->rcx = sc->rcx;
	tf->rsp = sc->rsp;
	tf->rip = sc->rip;
	tf->rflags = (tf->rflags & ~FIX_EFLAGS) | (sc->eflags & FIX_EFLAGS);
	tf->cs = KVMBOX_SEL_UCODE;
	tf->ss = KVMBOX_SEL_UDATA;
	tf->orig_rax = ~0ull; /* no syscall restart on the way out */
	if (!canonical(tf->rip))
		goto bad; /* IRETQ would fault in the kernel; Linux ends in SIGSEGV too */
	if (!restore_fpu(sc->fpstate, both && sc->fpstate == frame + sizeof(*f)))
		goto bad;
	/* Only an SS_AUTODISARM stack changes here; errors other than EFAULT are ignored (Linux). */
	set_altstack(t, &f->uc.uc_stack, tf->rsp);
	update_work();
	return (long)tf->rax;
bad:
	update_work();
	signal_fault(tf, SIGSEGV, SI_KERNEL, 0, ~0ull, 0);
	return 0;
}
