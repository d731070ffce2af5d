/*
 * gdb kernel mode: the gdb_target.h backend over KVM guest debugging
 * (Documentation/virt/kvm/api.rst 4.57 KVM_SET_GUEST_DEBUG, 5 KVM_EXIT_DEBUG).
 *
 * What the host offers is probed at start-up: single-step (always, with
 * KVM_GUESTDBG_BLOCKIRQ when KVM_CAP_SET_GUEST_DEBUG2 offers it, so a step
 * does not land in an interrupt handler), the four debug registers through
 * KVM_GUESTDBG_USE_HW_BP (their count is not reported by x86 KVM: its
 * KVM_CAP_GUEST_DEBUG_HW_BPS reads 0 everywhere), and KVM_GUESTDBG_USE_SW_BP,
 * which ends in KVM_EXIT_INTERNAL_ERROR where guest CPL0 code is interpreted
 * (kvm_pvm): there gdb's software breakpoints (Z0) take a debug register.
 *
 * Threads: the gdb thread asks, the vCPU threads act. A stop (a debug exit,
 * an interrupt from gdb) sets stop_all and kicks every vCPU out of KVM_RUN
 * (immediate_exit + a signal, api.rst "immediate_exit"); each parks in
 * gdb_kernel_before_run() until resumed, so the gdb thread reads and writes
 * their state only while all of them are parked.
 */
#include "gdb_kernel.h"
#include "gdb_regs.h"
#include "guest_mem.h"
#include <boot.h>
#include <regs.h>
#include "kvm.h"
#include "log.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_VCPUS 64
#define NUM_DR 4
#define DR6_BS (1u << 14)   /* single-step (SDM vol. 3B 18.2.3) */
#define SIGTRAP_ 5
#define SIGINT_ 2

struct kvcpu {
	struct vcpu *vcpu;
	pthread_t thread;
	bool parked;               /* waiting in before_run */
	bool have_stop;            /* an unreported stop */
	struct gdb_stop stop;
	enum gdb_resume_kind action;
	bool stepping_over;        /* an internal step over a breakpoint at rip */
	struct swbp *lifted;       /* an int3 taken out for the step at its address */
	/* Paravirtual stops (HC_STOP from the guest's #BP/#DB handler): */
	struct kvmbox_user_regs *pv_frame; /* the trapped frame, while parked in the hypercall */
	struct swbp *pv_lifted;    /* an int3 out of the way for a TF step */
	bool pv_continue;          /* ... after which the vCPU goes on */
	bool pv_stepping;          /* a TF step gdb asked for */
};

struct slot {
	bool used;
	enum gdb_bp_type type;
	uint64_t addr;
	int len;
};

/* A software breakpoint: int3 in guest memory, hit reported by KVM (USE_SW_BP). */
#define MAX_SWBP 64
struct swbp {
	bool used;
	uint64_t addr, gpa;
	uint8_t orig;
};

static struct {
	struct vm *vm;
	struct swbp sw[MAX_SWBP];
	bool enabled;              /* kernel mode chosen; hooks work */
	bool session;              /* a gdb connection is being served */
	pthread_mutex_t lock;
	pthread_cond_t cond;       /* parked/resumed/exit changes */
	int evfd;                  /* a stop for wait() */
	bool stop_all;             /* every vCPU must park */
	bool interrupted;          /* stop_all came from interrupt() */
	struct kvcpu cpu[MAX_VCPUS];
	int ncpu;
	struct slot dr[NUM_DR];
	bool blockirq, sw_bp;
	bool hw_exec, hw_data;     /* probed: debug-register breakpoints / watchpoints fire */
	bool pv_bp;                /* neither: int3 through the guest kernel's own #BP handler */
	bool exited, exit_told;
	int exit_status;
} gk = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .evfd = -1 };

static void kick_noop(int sig) { (void)sig; }

static void notify(void)
{
	uint64_t one = 1;
	if (write(gk.evfd, &one, 8) < 0 && errno != EAGAIN)
		warn("gdb: eventfd write failed: %s", strerror(errno));
}

/* Caller holds the lock. */
static void kick_all(void)
{
	for (int i = 0; i < gk.ncpu; i++) {
		struct kvcpu *c = &gk.cpu[i];
		if (c->parked || !c->thread)
			continue;
		__atomic_store_n(&c->vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(c->thread, SIGUSR2);
	}
}

/* vCPU c stopped with st: record it, and stop the others if it is the first (lock held). */
static void record_stop(struct kvcpu *c, const struct gdb_stop *st)
{
	c->stop = *st;
	c->have_stop = true;
	c->action = GDB_RESUME_STOPPED;
	if (!gk.stop_all) {
		gk.stop_all = true;
		kick_all();
		notify();
	}
}

static struct kvcpu *cpu_of(struct gdb_tid t)
{
	if (t.pid != 1 || t.tid < 1 || t.tid > gk.ncpu)
		return NULL;
	return &gk.cpu[t.tid - 1];
}

/* ---- the vCPU side -------------------------------------------------------- */

static const uint32_t dr7_type[] = { [GDB_BP_SW] = 0, [GDB_BP_HW] = 0, [GDB_BP_WRITE] = 1, [GDB_BP_ACCESS] = 3 };

static uint32_t dr7_len(int len)
{
	switch (len) { case 2: return 1; case 4: return 3; case 8: return 2; default: return 0; }
}

/* Load the guest-debug state for what this vCPU is about to do. Lock held. */
static void load_debug(struct kvcpu *c)
{
	struct kvm_guest_debug dbg = { 0 };
	struct kvm_regs regs;
	bool step = c->action == GDB_RESUME_STEP || c->stepping_over;
	uint64_t rip = 0;
	if (__vcpu_ioctl(c->vcpu, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	if (gk.session) {
		dbg.control = KVM_GUESTDBG_ENABLE;
		for (int i = 0; i < NUM_DR; i++) {
			struct slot *s = &gk.dr[i];
			/* An execution breakpoint at rip fires again even with RF set on
			   these hosts: leave it out for the one instruction there. */
			if (!s->used || (step && (s->type == GDB_BP_SW || s->type == GDB_BP_HW) && s->addr == rip))
				continue;
			dbg.arch.debugreg[i] = s->addr;
			dbg.arch.debugreg[7] |= (2u << (i * 2)) | (dr7_type[s->type] << (16 + i * 4)) |
						(dr7_len(s->len) << (18 + i * 4));
		}
		if (dbg.arch.debugreg[7])
			dbg.control |= KVM_GUESTDBG_USE_HW_BP;
		if (gk.sw_bp)
			dbg.control |= KVM_GUESTDBG_USE_SW_BP;
		if (step)
			dbg.control |= KVM_GUESTDBG_SINGLESTEP | (gk.blockirq ? KVM_GUESTDBG_BLOCKIRQ : 0);
	}
	if (__vcpu_ioctl(c->vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		warn("gdb: KVM_SET_GUEST_DEBUG failed: %s", strerror(errno));
}

static bool at_exec_bp(uint64_t rip)
{
	for (int i = 0; i < NUM_DR; i++)
		if (gk.dr[i].used && (gk.dr[i].type == GDB_BP_SW || gk.dr[i].type == GDB_BP_HW) && gk.dr[i].addr == rip)
			return true;
	return false;
}

static struct swbp *swbp_at(uint64_t addr)
{
	for (int i = 0; i < MAX_SWBP; i++)
		if (gk.sw[i].used && gk.sw[i].addr == addr)
			return &gk.sw[i];
	return NULL;
}

static void swbp_poke(struct swbp *b, bool planted)
{
	uint8_t *p = guest_ptr_at(gk.vm, b->gpa, 1, __FILE__, __LINE__);
	if (p)
		*p = planted ? 0xcc : b->orig;
}

/* Park this vCPU while the debugger holds the VM; lock held. Resumed, it
   loads the debug state for what gdb asked of it. */
static void park(struct kvcpu *c)
{
	c->parked = true;
	pthread_cond_broadcast(&gk.cond);
	while (gk.stop_all && !gk.exited)
		pthread_cond_wait(&gk.cond, &gk.lock);
	c->parked = false;
	/* Resumed: from a breakpoint's address, one step with that
	   breakpoint out of the way first (a continue goes on after it). */
	struct kvm_regs regs;
	if (gk.session && c->action != GDB_RESUME_STOPPED && __vcpu_ioctl(c->vcpu, KVM_GET_REGS, &regs) == 0) {
		struct swbp *b = swbp_at(regs.rip);
		if (b) {
			swbp_poke(b, false);
			c->lifted = b;
		}
		if (c->action == GDB_RESUME_CONTINUE && (b || at_exec_bp(regs.rip)))
			c->stepping_over = true;
	}
	load_debug(c);
}

void gdb_kernel_before_run(struct vcpu *vcpu)
{
	if (!__atomic_load_n(&gk.enabled, __ATOMIC_ACQUIRE))
		return;
	struct kvcpu *c = &gk.cpu[vcpu->id];
	pthread_mutex_lock(&gk.lock);
	if (!c->thread)
		c->thread = pthread_self();
	if (gk.stop_all)
		park(c);
	vcpu->run->immediate_exit = 0;
	pthread_mutex_unlock(&gk.lock);
}

void gdb_kernel_blocked_point(void)
{
	if (!__atomic_load_n(&gk.enabled, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&gk.lock);
	for (int i = 0; i < gk.ncpu; i++)
		if (gk.cpu[i].thread && pthread_equal(gk.cpu[i].thread, pthread_self()) && gk.stop_all) {
			park(&gk.cpu[i]);
			break;
		}
	pthread_mutex_unlock(&gk.lock);
}

bool gdb_kernel_debug_exit(struct vcpu *vcpu)
{
	if (!__atomic_load_n(&gk.enabled, __ATOMIC_ACQUIRE))
		return false;
	struct kvm_debug_exit_arch *d = &vcpu->run->debug.arch;
	struct kvcpu *c = &gk.cpu[vcpu->id];
	pthread_mutex_lock(&gk.lock);
	if (!gk.session) {  /* detached: a late exit from the old debug state */
		load_debug(c);
		pthread_mutex_unlock(&gk.lock);
		return true;
	}
	if (c->lifted) {
		if (c->lifted->used)
			swbp_poke(c->lifted, true);
		c->lifted = NULL;
	}
	if (c->stepping_over) {
		c->stepping_over = false;
		load_debug(c);  /* breakpoints back, stepping off */
		pthread_mutex_unlock(&gk.lock);
		return true;
	}
	struct gdb_stop st = { .kind = GDB_STOP_SIGNAL, .tid = { 1, vcpu->id + 1 }, .signo = SIGTRAP_ };
	if (d->exception == 1 && (d->dr6 & 0xf)) {
		int i = __builtin_ctz(d->dr6 & 0xf);
		struct slot *s = &gk.dr[i];
		st.reason = s->type == GDB_BP_SW ? GDB_STOP_REASON_SWBREAK :
			    s->type == GDB_BP_HW ? GDB_STOP_REASON_HWBREAK :
			    s->type == GDB_BP_WRITE ? GDB_STOP_REASON_WATCH : GDB_STOP_REASON_AWATCH;
		st.addr = s->addr;
	} else if (d->exception == 3 && swbp_at(d->pc)) {
		st.reason = GDB_STOP_REASON_SWBREAK;  /* rip is the int3's own address */
	} else if (d->exception == 1 && !(d->dr6 & DR6_BS) && at_exec_bp(d->pc)) {
		/* Some hosts leave DR6 empty for a debug-register hit: name it by address. */
		st.reason = GDB_STOP_REASON_HWBREAK;
		for (int i = 0; i < NUM_DR; i++)
			if (gk.dr[i].used && gk.dr[i].addr == d->pc && gk.dr[i].type == GDB_BP_SW)
				st.reason = GDB_STOP_REASON_SWBREAK;
	}
	record_stop(c, &st);
	pthread_mutex_unlock(&gk.lock);
	return true;
}

void gdb_kernel_guest_exit(int status)
{
	if (!__atomic_load_n(&gk.enabled, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&gk.lock);
	if (gk.session) {
		gk.exited = true;
		gk.exit_status = status & 0xff;
		pthread_cond_broadcast(&gk.cond);
		notify();
		while (gk.session && !gk.exit_told)
			pthread_cond_wait(&gk.cond, &gk.lock);
	}
	pthread_mutex_unlock(&gk.lock);
}

/*
 * HC_STOP with KVMBOX_EV_KERNEL_BREAKPOINT (guest/kernel/kdebug.c): the
 * guest's #BP or #DB handler reports a trap in the kernel with its frame.
 * The vCPU parks right here, inside the hypercall, with the frame standing
 * in for its registers; on resume the frame goes back with rip on the
 * breakpoint and TF set when a step is due (the int3 lifted for it).
 */
#define RFLAGS_TF (1ull << 8)

bool gdb_kernel_pv_stop(struct vcpu *vcpu, struct kvmbox_hc_stop *a)
{
	if (a->stop.event != KVMBOX_EV_KERNEL_BREAKPOINT)
		return false;
	a->ret = -ENOSYS;  /* no kernel-mode debugger: the trap is the kernel's fault */
	if (!__atomic_load_n(&gk.enabled, __ATOMIC_ACQUIRE))
		return true;
	struct kvcpu *c = &gk.cpu[vcpu->id];
	struct kvmbox_user_regs *f = &a->regs;
	bool step_trap = a->stop.si_code != 0x80;
	pthread_mutex_lock(&gk.lock);
	if (!gk.session) {
		/* A step gdb asked for before it detached: the kernel never sets TF itself. */
		if (step_trap && (f->rflags & RFLAGS_TF)) {
			f->rflags &= ~RFLAGS_TF;
			a->ret = 0;
		}
		pthread_mutex_unlock(&gk.lock);
		return true;
	}
	a->ret = 0;
	if (c->pv_lifted && step_trap) {
		if (c->pv_lifted->used)
			swbp_poke(c->pv_lifted, true);
		c->pv_lifted = NULL;
		f->rflags &= ~RFLAGS_TF;
		if (c->pv_continue) {  /* stepped off a breakpoint: go on */
			c->pv_continue = false;
			pthread_mutex_unlock(&gk.lock);
			return true;
		}
	} else if (c->pv_stepping && step_trap) {
		f->rflags &= ~RFLAGS_TF;
	}
	c->pv_stepping = false;
	struct gdb_stop st = { .kind = GDB_STOP_SIGNAL, .tid = { 1, vcpu->id + 1 }, .signo = SIGTRAP_ };
	if (!step_trap && swbp_at(f->rip - 1)) {
		f->rip--;  /* gdb wants rip on the breakpoint (swbreak) */
		st.reason = GDB_STOP_REASON_SWBREAK;
	}
	c->pv_frame = f;
	record_stop(c, &st);
	c->parked = true;
	pthread_cond_broadcast(&gk.cond);
	while (gk.stop_all && !gk.exited)
		pthread_cond_wait(&gk.cond, &gk.lock);
	c->parked = false;
	c->pv_frame = NULL;
	if (gk.session && c->action != GDB_RESUME_STOPPED) {
		struct swbp *b = swbp_at(f->rip);
		if (b) {
			swbp_poke(b, false);
			c->pv_lifted = b;
			c->pv_continue = c->action == GDB_RESUME_CONTINUE;
			f->rflags |= RFLAGS_TF;
		} else if (c->action == GDB_RESUME_STEP) {
			c->pv_stepping = true;
			f->rflags |= RFLAGS_TF;
		}
	}
	pthread_mutex_unlock(&gk.lock);
	return true;
}

/* ---- the target operations (gdb thread) ----------------------------------- */

static unsigned k_caps(void *ctx)
{
	return (gk.hw_exec || gk.sw_bp || gk.pv_bp ? GDB_CAP_SW_BREAK : 0) | (gk.hw_exec ? GDB_CAP_HW_BREAK : 0) |
	       (gk.hw_data ? GDB_CAP_WATCH : 0);
}

static int k_threads(void *ctx, struct gdb_tid *out, int max)
{
	pthread_mutex_lock(&gk.lock);
	int n = gk.exited ? 0 : gk.ncpu;
	pthread_mutex_unlock(&gk.lock);
	for (int i = 0; i < n && i < max; i++)
		out[i] = (struct gdb_tid){ 1, i + 1 };
	return n;
}

static int k_thread_alive(void *ctx, struct gdb_tid t)
{
	return cpu_of(t) && !gk.exited ? 0 : -ESRCH;
}

static void frame_to_kvm(const struct kvmbox_user_regs *f, struct kvm_regs *kr, struct kvm_sregs *ks)
{
#define COPY(n) kr->n = f->n;
	GDB_GPRS(COPY)
#undef COPY
	kr->rflags = f->rflags;
	ks->cs.selector = (uint16_t)f->cs;
	ks->ss.selector = (uint16_t)f->ss;
}

static void kvm_to_frame(const struct kvm_regs *kr, struct kvmbox_user_regs *f)
{
#define COPY(n) f->n = kr->n;
	GDB_GPRS(COPY)
#undef COPY
	f->rflags = kr->rflags;
}

/* The parked vCPU's state as KVM has it: 0 or -errno. */
static int k_fetch(struct kvcpu *c, struct kvm_regs *kr, struct kvm_sregs *ks, struct kvm_fpu *fpu)
{
	if (!c)
		return -ESRCH;
	if (__vcpu_ioctl(c->vcpu, KVM_GET_REGS, kr) < 0 || __vcpu_ioctl(c->vcpu, KVM_GET_SREGS, ks) < 0 ||
	    __vcpu_ioctl(c->vcpu, KVM_GET_FPU, fpu) < 0)
		return -errno;
	return 0;
}

static int k_get_regs(void *ctx, struct gdb_tid t, struct gdb_regs *r)
{
	struct kvcpu *c = cpu_of(t);
	struct kvm_regs kr;
	struct kvm_sregs ks;
	struct kvm_fpu fpu;
	int rc = k_fetch(c, &kr, &ks, &fpu);
	if (rc < 0)
		return rc;
	if (c->pv_frame)
		frame_to_kvm(c->pv_frame, &kr, &ks);
	memset(r, 0, sizeof(*r));
#define COPY(n) r->n = kr.n;
	GDB_GPRS(COPY)
#undef COPY
	r->eflags = kr.rflags;
	r->cs = ks.cs.selector; r->ss = ks.ss.selector; r->ds = ks.ds.selector;
	r->es = ks.es.selector; r->fs = ks.fs.selector; r->gs = ks.gs.selector;
	r->fs_base = ks.fs.base;
	r->gs_base = ks.gs.base;
	r->orig_rax = (uint64_t)-1;
	gdb_fxsave_from_kvm(&fpu, r->fxsave);
	return 0;
}

static int k_set_regs(void *ctx, struct gdb_tid t, const struct gdb_regs *r)
{
	struct kvcpu *c = cpu_of(t);
	struct kvm_regs kr;
	struct kvm_sregs ks;
	struct kvm_fpu fpu;
	int rc = k_fetch(c, &kr, &ks, &fpu);
	if (rc < 0)
		return rc;
#define COPY(n) kr.n = r->n;
	GDB_GPRS(COPY)
#undef COPY
	kr.rflags = (r->eflags & 0xffffffffull) | 2;  /* bit 1 always reads 1 */
	/* Selectors stay as they are (changing one would need its descriptor);
	   the bases are plain values. */
	ks.fs.base = r->fs_base;
	ks.gs.base = r->gs_base;
	gdb_fxsave_to_kvm(r->fxsave, &fpu);
	if (c->pv_frame) {  /* the trapped frame is what resumes */
		kvm_to_frame(&kr, c->pv_frame);
		if (__vcpu_ioctl(c->vcpu, KVM_GET_REGS, &kr) < 0)
			return -errno;
	}
	if (__vcpu_ioctl(c->vcpu, KVM_SET_REGS, &kr) < 0 || __vcpu_ioctl(c->vcpu, KVM_SET_SREGS, &ks) < 0 ||
	    __vcpu_ioctl(c->vcpu, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

/* Guest-virtual memory through the stopped vCPU's page tables (its CR3). */
static ssize_t k_access(struct gdb_tid t, uint64_t addr, void *buf, size_t len, bool write)
{
	struct kvcpu *c = cpu_of(t);
	struct kvm_sregs ks;
	if (!c)
		return -ESRCH;
	if (__vcpu_ioctl(c->vcpu, KVM_GET_SREGS, &ks) < 0)
		return -errno;
	size_t done = 0;
	while (done < len) {
		uint64_t va = addr + done, gpa;
		size_t chunk = 4096 - (va & 4095);
		if (chunk > len - done)
			chunk = len - done;
		if (gva_to_gpa(gk.vm, ks.cr3 & 0x000ffffffffff000ull, va, &gpa) < 0)
			break;
		uint8_t *p = guest_ptr_at(gk.vm, gpa, chunk, __FILE__, __LINE__);
		if (!p)
			break;
		if (write)
			memcpy(p, (const uint8_t *)buf + done, chunk);
		else
			memcpy((uint8_t *)buf + done, p, chunk);
		done += chunk;
	}
	return done ? (ssize_t)done : -EFAULT;
}

/* gdb sees memory without the int3s it asked for (as gdbserver shows it). */
static ssize_t k_read_mem(void *ctx, struct gdb_tid t, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = k_access(t, addr, buf, len, false);
	for (int i = 0; i < MAX_SWBP && n > 0; i++)
		if (gk.sw[i].used && gk.sw[i].addr - addr < (uint64_t)n)
			((uint8_t *)buf)[gk.sw[i].addr - addr] = gk.sw[i].orig;
	return n;
}

static ssize_t k_write_mem(void *ctx, struct gdb_tid t, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n = k_access(t, addr, (void *)buf, len, true);
	for (int i = 0; i < MAX_SWBP && n > 0; i++)
		if (gk.sw[i].used && gk.sw[i].addr - addr < (uint64_t)n) {
			gk.sw[i].orig = ((const uint8_t *)buf)[gk.sw[i].addr - addr];
			swbp_poke(&gk.sw[i], true);
		}
	return n;
}

static int k_insert_bp(void *ctx, struct gdb_tid t, enum gdb_bp_type type, uint64_t addr, int len)
{
	uint8_t probe;
	if (type == GDB_BP_READ)
		return -EOPNOTSUPP;  /* x86 debug registers have no read-only kind (SDM 17.2.4) */
	/* What the host cannot deliver is refused now, not left to never fire. */
	if ((type == GDB_BP_WRITE || type == GDB_BP_ACCESS) && !gk.hw_data)
		return -EOPNOTSUPP;
	if (type == GDB_BP_SW && (gk.sw_bp || gk.pv_bp)) {
		struct kvcpu *c = cpu_of(t);
		struct kvm_sregs ks;
		uint64_t gpa;
		if (swbp_at(addr))
			return 0;
		if (!c || __vcpu_ioctl(c->vcpu, KVM_GET_SREGS, &ks) < 0)
			return -ESRCH;
		if (gva_to_gpa(gk.vm, ks.cr3 & 0x000ffffffffff000ull, addr, &gpa) < 0 ||
		    !guest_ptr_at(gk.vm, gpa, 1, __FILE__, __LINE__))
			return -EFAULT;
		for (int i = 0; i < MAX_SWBP; i++)
			if (!gk.sw[i].used) {
				struct swbp *b = &gk.sw[i];
				*b = (struct swbp){ true, addr, gpa, *(uint8_t *)guest_ptr_at(gk.vm, gpa, 1, __FILE__, __LINE__) };
				swbp_poke(b, true);
				return 0;
			}
		return -ENOSPC;
	}
	if ((type == GDB_BP_SW || type == GDB_BP_HW) && !gk.hw_exec)
		return -EOPNOTSUPP;
	if (type == GDB_BP_SW || type == GDB_BP_HW)
		len = 1;
	else if ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (uint64_t)(len - 1)))
		return -EINVAL;
	if (k_access(t, addr, &probe, 1, false) != 1)
		return -EFAULT;
	for (int i = 0; i < NUM_DR; i++)
		if (!gk.dr[i].used) {
			gk.dr[i] = (struct slot){ true, type, addr, len };
			return 0;  /* loaded into every vCPU when it resumes */
		}
	return -ENOSPC;
}

static int k_remove_bp(void *ctx, struct gdb_tid t, enum gdb_bp_type type, uint64_t addr, int len)
{
	if (type == GDB_BP_READ)
		return -EOPNOTSUPP;
	if (type == GDB_BP_SW && (gk.sw_bp || gk.pv_bp)) {
		struct swbp *b = swbp_at(addr);
		if (!b)
			return -ENOENT;
		swbp_poke(b, false);
		b->used = false;
		return 0;
	}
	for (int i = 0; i < NUM_DR; i++)
		if (gk.dr[i].used && gk.dr[i].type == type && gk.dr[i].addr == addr) {
			gk.dr[i].used = false;
			return 0;
		}
	return -ENOENT;
}

static int k_resume(void *ctx, const struct gdb_resume *a, int n)
{
	pthread_mutex_lock(&gk.lock);
	for (int i = 0; i < gk.ncpu; i++)
		gk.cpu[i].action = GDB_RESUME_STOPPED;
	bool any = false;
	for (int i = 0; i < n; i++) {
		struct kvcpu *c = cpu_of(a[i].tid);
		if (!c)
			continue;
		c->action = a[i].kind;
		any |= a[i].kind != GDB_RESUME_STOPPED;
	}
	/* All-stop with vCPUs left stopped by gdb: they stay parked because
	   stop_all clears only for vCPUs with an action (see before_run). */
	if (any) {
		gk.stop_all = false;
		gk.interrupted = false;
		pthread_cond_broadcast(&gk.cond);
	}
	pthread_mutex_unlock(&gk.lock);
	return any ? 0 : -ESRCH;
}

static bool all_parked(void)
{
	for (int i = 0; i < gk.ncpu; i++)
		if (!gk.cpu[i].parked && gk.cpu[i].thread)
			return false;
	return true;
}

static int k_wait(void *ctx, struct gdb_stop *st, int wake_fd)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = gk.evfd, .events = POLLIN }, { .fd = wake_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(gk.evfd, &v, 8) < 0 && errno != EAGAIN)
				return -errno;
			pthread_mutex_lock(&gk.lock);
			if (gk.exited) {
				*st = (struct gdb_stop){ .kind = GDB_STOP_EXITED, .tid = { 1, 1 }, .status = gk.exit_status };
				gk.exit_told = true;
				pthread_mutex_unlock(&gk.lock);
				return 1;
			}
			while (!all_parked() && !gk.exited)
				pthread_cond_wait(&gk.cond, &gk.lock);
			if (gk.exited) {
				pthread_mutex_unlock(&gk.lock);
				notify();
				continue;
			}
			for (int i = 0; i < gk.ncpu; i++)
				if (gk.cpu[i].have_stop) {
					gk.cpu[i].have_stop = false;
					*st = gk.cpu[i].stop;
					pthread_mutex_unlock(&gk.lock);
					return 1;
				}
			if (gk.interrupted) {
				*st = (struct gdb_stop){ .kind = GDB_STOP_SIGNAL, .tid = { 1, 1 }, .signo = SIGINT_ };
				pthread_mutex_unlock(&gk.lock);
				return 1;
			}
			pthread_mutex_unlock(&gk.lock);
			continue;
		}
		if (p[1].revents)
			return 0;
	}
}

static void k_interrupt(void *ctx)
{
	pthread_mutex_lock(&gk.lock);
	if (!gk.stop_all) {
		gk.stop_all = true;
		gk.interrupted = true;
		kick_all();
		notify();
	}
	pthread_mutex_unlock(&gk.lock);
}

static void release(void)
{
	pthread_mutex_lock(&gk.lock);
	memset(gk.dr, 0, sizeof(gk.dr));
	for (int i = 0; i < MAX_SWBP; i++)
		if (gk.sw[i].used) {
			swbp_poke(&gk.sw[i], false);
			gk.sw[i].used = false;
		}
	gk.session = false;
	for (int i = 0; i < gk.ncpu; i++) {
		gk.cpu[i].action = GDB_RESUME_CONTINUE;
		gk.cpu[i].have_stop = false;
		gk.cpu[i].stepping_over = false;
		gk.cpu[i].lifted = NULL;
		gk.cpu[i].pv_lifted = NULL;  /* its byte is restored above */
		gk.cpu[i].pv_continue = gk.cpu[i].pv_stepping = false;
	}
	gk.stop_all = false;
	pthread_cond_broadcast(&gk.cond);
	pthread_mutex_unlock(&gk.lock);
}

/* The VM is the process: it ends (128 + SIGKILL) once the stub has answered
   (vKill wants its OK) and the session is over, in k_session_end. */
static bool killed;

static int k_kill(void *ctx, int64_t pid)
{
	killed = true;
	return 0;
}

static int k_detach(void *ctx, int64_t pid)
{
	/*
	 * Nothing yet: k_session_end releases the vCPUs once the OK went out.
	 * Released here, the guest could run to its exit and end kvmbox before
	 * gdb had its answer ("Remote connection closed").
	 */
	return 0;
}

static void k_session_end(void *ctx)
{
	if (killed) {
		info("gdb: killed by the debugger");
		exit(128 + 9);
	}
	release();
}

static int k_monitor(void *ctx, const char *cmd, char *out, size_t outsz)
{
	if (!strcmp(cmd, "info debug")) {
		snprintf(out, outsz, "kernel mode: %d vCPU(s)\n"
			 "software breakpoints: %s\n"
			 "hardware breakpoints: %s\n"
			 "watchpoints: %s\n"
			 "single-step: yes%s\n", gk.ncpu,
			 gk.sw_bp ? "yes, int3 reported by KVM" :
			 gk.pv_bp ? "yes, int3 reported by the guest kernel's #BP handler (paravirtual)" : gk.hw_exec ? "yes, in the 4 debug registers (KVM's int3 breakpoints fail here)" : "no",
			 gk.hw_exec ? "yes, in the 4 debug registers" : "no (the host does not deliver them)",
			 gk.hw_data ? "yes, in the 4 debug registers" : "no (the host does not deliver them for guest kernel code)",
			 gk.blockirq ? ", interrupts blocked while stepping" : "");
		return 0;
	}
	return -EOPNOTSUPP;
}

static const struct gdb_target_ops kernel_ops = {
	.caps = k_caps, .threads = k_threads, .thread_alive = k_thread_alive,
	.get_regs = k_get_regs, .set_regs = k_set_regs,
	.read_mem = k_read_mem, .write_mem = k_write_mem,
	.insert_bp = k_insert_bp, .remove_bp = k_remove_bp,
	.resume = k_resume, .wait = k_wait, .interrupt = k_interrupt,
	.kill = k_kill, .detach = k_detach, .session_end = k_session_end,
	.monitor = k_monitor,
};

static struct gdb_target kernel_target = { .ops = &kernel_ops };

struct gdb_target *gdb_kernel_init(struct vm *vm)
{
	gk.vm = vm;
	gk.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (gk.evfd < 0)
		die(EXIT_VMM_ERROR, "gdb: eventfd: %s", strerror(errno));
	/* KVM_CAP_SET_GUEST_DEBUG2 returns the supported control bits (api.rst 8.37). */
	int dbg2 = kvm_check_cap(vm, KVM_CAP_SET_GUEST_DEBUG2);
	gk.blockirq = dbg2 > 0 && (dbg2 & KVM_GUESTDBG_BLOCKIRQ);
	struct sigaction sa = { .sa_handler = kick_noop };  /* no SA_RESTART: KVM_RUN must return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	gk.stop_all = true;  /* vCPUs wait for gdb at their first instruction */
	gk.session = true;
	__atomic_store_n(&gk.enabled, true, __ATOMIC_RELEASE);
	return &kernel_target;
}

/*
 * What does this host deliver for guest CPL0 code? Measured: on kvm_pvm
 * execution breakpoints fire, data watchpoints do not, and an int3 under
 * KVM_GUESTDBG_USE_SW_BP ends in KVM_EXIT_INTERNAL_ERROR; under QEMU's
 * emulated SVM no debug register fires and the int3 is not intercepted (it
 * goes to the guest's IDT). So, on the boot vCPU before the guest starts,
 * from a free page the kernel half maps:
 *     +0   mov %rax, (%rbx)  ; DR0: write watchpoint on (%rbx) = +64
 *     +3   nop               ; DR1: execution breakpoint here
 *     +4   out %al, $0xe9    ; reached only if neither fired
 *     +8   int3              ; under USE_SW_BP: a debug exit, or ...
 *     +32  out %al, $0xe9    ; ... the IDT's (at +256, every exception) handler
 *                            ; (a GDT at +768 for its code selector)
 * then put the vCPU (regs, sregs) and the page back as they were.
 */
static void probe_debug_registers(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	uint64_t gpa = vm->free_start;
	uint8_t *page = guest_ptr_at(vm, gpa, 4096, __FILE__, __LINE__);
	static uint8_t saved[4096];
	struct kvm_regs regs, probe;
	struct kvm_sregs sregs, psregs;
	if (!page || gpa + 4096 > (1ull << 30) || __vcpu_ioctl(vcpu, KVM_GET_REGS, &regs) < 0 ||
	    __vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return;
	static const uint8_t code[] = { 0x48, 0x89, 0x03, 0x90, 0xe6, 0xe9, 0x90, 0x90, 0xcc, 0xe6, 0xe9 };
	memcpy(saved, page, sizeof(saved));
	memset(page, 0, 4096);
	memcpy(page, code, sizeof(code));
	uint64_t va = KVMBOX_KERNEL_BASE + gpa, handler = va + 32;
	page[32] = 0xe6;
	page[33] = 0xe9;
	for (int v = 0; v < 32; v++) {  /* 64-bit interrupt gates (SDM vol. 3A 6.14.1) */
		uint8_t *g = page + 256 + 16 * v;
		g[0] = (uint8_t)handler;
		g[1] = (uint8_t)(handler >> 8);
		g[2] = KVMBOX_SEL_KCODE;
		g[5] = 0x8e;
		g[6] = (uint8_t)(handler >> 16);
		g[7] = (uint8_t)(handler >> 24);
		for (int k = 0; k < 4; k++)
			g[8 + k] = (uint8_t)(handler >> (32 + 8 * k));
	}
	/* The guest fills its own GDT at boot: the gates need a kernel code descriptor now. */
	static const uint64_t gdt[3] = { 0, 0x00af9a000000ffffull /* 0x08 code */, 0x00cf92000000ffffull };
	memcpy(page + 768, gdt, sizeof(gdt));
	psregs = sregs;
	psregs.idt.base = va + 256;
	psregs.idt.limit = 32 * 16 - 1;
	psregs.gdt.base = va + 768;
	psregs.gdt.limit = sizeof(gdt) - 1;
	probe = regs;
	probe.rip = va;
	probe.rbx = va + 64;
	probe.rflags = 2;
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP };
	dbg.arch.debugreg[0] = va + 64;
	dbg.arch.debugreg[1] = va + 3;
	dbg.arch.debugreg[7] = (2u << 0) | (1u << 16) | (2u << 18) |  /* DR0: write, 8 bytes */
			       (2u << 2);                            /* DR1: execute */
	bool broken = false;
	if (__vcpu_ioctl(vcpu, KVM_SET_SREGS, &psregs) < 0)
		goto restore;
	for (int round = 0; round < 2; round++) {
		if (__vcpu_ioctl(vcpu, KVM_SET_REGS, &probe) < 0 || __vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0 ||
		    __vcpu_ioctl(vcpu, KVM_RUN, NULL) < 0)
			break;
		struct kvm_run *run = vcpu->run;
		info("gdb: debug-register probe %d: %s, exception %u, pc 0x%llx, dr6 0x%llx", round,
		     kvm_exit_reason_name(run->exit_reason), run->debug.arch.exception,
		     (unsigned long long)run->debug.arch.pc, (unsigned long long)run->debug.arch.dr6);
		broken |= run->exit_reason == KVM_EXIT_SHUTDOWN;
		if (run->exit_reason != KVM_EXIT_DEBUG)
			break;
		if (run->debug.arch.dr6 & 1)
			gk.hw_data = true;
		else if ((run->debug.arch.dr6 & 2) || run->debug.arch.pc == va + 3)
			gk.hw_exec = true;
		if (gk.hw_data && !round) {
			dbg.arch.debugreg[7] = 2u << 2;  /* now the execution breakpoint alone */
			continue;
		}
		break;
	}
	struct kvm_guest_debug sw = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP };
	probe.rip = va + 8;
	if (!broken && __vcpu_ioctl(vcpu, KVM_SET_REGS, &probe) == 0 && __vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &sw) == 0 &&
	    __vcpu_ioctl(vcpu, KVM_RUN, NULL) == 0) {
		struct kvm_run *run = vcpu->run;
		info("gdb: int3 probe: %s, exception %u, pc 0x%llx (int3 at 0x%llx)", kvm_exit_reason_name(run->exit_reason),
		     run->debug.arch.exception, (unsigned long long)run->debug.arch.pc, (unsigned long long)(va + 8));
		broken |= run->exit_reason == KVM_EXIT_SHUTDOWN;
		gk.sw_bp = run->exit_reason == KVM_EXIT_DEBUG && run->debug.arch.exception == 3 &&
			   run->debug.arch.pc == va + 8;
	}
restore:;
	struct kvm_guest_debug off = { 0 };
	__vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &off);
	vcpu_ioctl(vcpu, KVM_SET_SREGS, &sregs);
	vcpu_ioctl(vcpu, KVM_SET_REGS, &regs);
	memcpy(page, saved, sizeof(saved));
	/* Neither KVM's int3 nor debug registers: the guest kernel reports its own int3s.
	   KVMBOX_GDB_PV_BREAKPOINTS=1 chooses that path anyway (to test it on any host). */
	const char *pv = getenv("KVMBOX_GDB_PV_BREAKPOINTS");
	if (pv && !strcmp(pv, "1"))
		gk.sw_bp = gk.hw_exec = false;
	gk.pv_bp = !gk.sw_bp && !gk.hw_exec;
	/* A shutdown resets the vCPU (SVM reinitialises the VMCB): it cannot be trusted to boot. */
	if (broken)
		die(EXIT_VMM_ERROR, "gdb: probing the host's guest debugging shut the vCPU down; "
		    "kernel mode cannot run on this host");
	info("gdb: on this host execution breakpoints %s, data watchpoints %s, KVM's int3 breakpoints %s",
	     gk.hw_exec ? "fire" : "do not fire", gk.hw_data ? "fire" : "do not fire", gk.sw_bp ? "work" : "do not work");
}

void gdb_kernel_add_vcpu(struct vcpu *vcpu)
{
	if (vcpu->id == 0)
		probe_debug_registers(vcpu);
	pthread_mutex_lock(&gk.lock);
	if (vcpu->id < MAX_VCPUS) {
		gk.cpu[vcpu->id].vcpu = vcpu;
		gk.cpu[vcpu->id].action = GDB_RESUME_STOPPED;
		if (vcpu->id >= gk.ncpu)
			gk.ncpu = vcpu->id + 1;
	}
	pthread_mutex_unlock(&gk.lock);
}
