/* The vCPU run loop: KVM_RUN, EINTR retry, one handler per exit reason (api.rst 5 "The kvm_run structure"). */
/*
 * The kvmbox headers come before <signal.h>: glibc defines si_addr as a
 * macro, which would rename kvmbox_stop_record.si_addr (shared/debug.h).
 */
#include "crash_report.h"
#include "hypercall.h"
#include "kvm.h"
#include "syscall_names.h"
#include "vcpu.h"
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- --timeout ---------------------------------------------------------- */

static volatile sig_atomic_t timed_out;
static double timeout_seconds;
static struct kvm_run *timeout_run;
static pthread_t vcpu_thread;

static void sigusr1_noop(int sig) { (void)sig; }

void vcpu_check_timeout(void)
{
	if (timed_out)
		die(EXIT_TIMEOUT, "timeout: the program ran longer than %g seconds", timeout_seconds);
}

static void *timeout_main(void *arg)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	double whole = (double)(long long)timeout_seconds;
	t.tv_sec += (time_t)whole;
	t.tv_nsec += (long)((timeout_seconds - whole) * 1e9);
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
	timed_out = 1;
	/*
	 * immediate_exit makes a KVM_RUN that has not started yet return EINTR;
	 * the signal kicks one already running out (api.rst "immediate_exit").
	 */
	__atomic_store_n(&timeout_run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu_thread, SIGUSR1);
	return NULL;
}

static void start_timeout(struct vcpu *vcpu, double seconds)
{
	/* No SA_RESTART: the signal must interrupt KVM_RUN and blocking console reads. */
	struct sigaction sa = { .sa_handler = sigusr1_noop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	timeout_seconds = seconds;
	timeout_run = vcpu->run;
	vcpu_thread = pthread_self();
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, timeout_main, NULL))
		die(EXIT_VMM_ERROR, "cannot start the timeout thread");
	pthread_attr_destroy(&attr);
}

/* ---- --count-cpl0 -------------------------------------------------------- */

/*
 * Each KVM_EXIT_DEBUG under KVM_GUESTDBG_SINGLESTEP follows one executed
 * instruction; the state at the exit is that of the next one. So every
 * exit counts one instruction at the CPL seen at the previous exit.
 */
struct sample_set {
	uint32_t *v;
	size_t n, cap;
};

enum { KEY_SYSCALLS = KVMBOX_MAX_SYSCALLS, KEY_TRAPS = 256, KEY_OTHER = KEY_SYSCALLS + KEY_TRAPS };

static struct {
	bool on;
	bool in_user;             /* seen a CPL3 instruction yet */
	bool prev_at_entry;       /* the last step stopped in the entry code */
	int prev_cpl;
	uint64_t boot;            /* CPL0 instructions before the first CPL3 one */
	int key;                  /* entry in progress, -1 none */
	uint32_t count;
	struct sample_set sets[KEY_OTHER + 1];
	bool sync_regs;
} cpl0;

static void cpl0_add(int key, uint32_t n)
{
	struct sample_set *s = &cpl0.sets[key];
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die(EXIT_VMM_ERROR, "out of memory");
	}
	s->v[s->n++] = n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void cpl0_report(void)
{
	if (cpl0.key >= 0 && cpl0.count)
		cpl0_add(cpl0.key, cpl0.count);  /* the entry that ended the VM */
	cpl0.key = -1;
	warn("cpl0 boot-to-user %llu instructions", (unsigned long long)cpl0.boot);
	for (int k = 0; k <= KEY_OTHER; k++) {
		struct sample_set *s = &cpl0.sets[k];
		if (!s->n)
			continue;
		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
		char what[64];
		if (k < KEY_SYSCALLS) {
			const char *name = (size_t)k < sizeof(syscall_names) / sizeof(syscall_names[0]) ?
					   syscall_names[k] : NULL;
			snprintf(what, sizeof(what), "syscall %d (%s)", k, name ? name : "?");
		} else if (k < KEY_OTHER) {
			snprintf(what, sizeof(what), "trap %d", k - KEY_SYSCALLS);
		} else {
			snprintf(what, sizeof(what), "other entry");
		}
		warn("cpl0 %s: n=%zu min=%u median=%u max=%u", what, s->n, s->v[0], s->v[s->n / 2],
		     s->v[s->n - 1]);
	}
}

static void cpl0_start(struct vcpu *vcpu)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
	vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg);
	/* With sync regs KVM copies regs and sregs into kvm_run on every exit: no extra ioctls. */
	int sync = kvm_check_cap(vcpu->vm, KVM_CAP_SYNC_REGS);
	if ((sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) == (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) {
		vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
		cpl0.sync_regs = true;
	}
	cpl0.on = true;
	cpl0.prev_cpl = 0;
	cpl0.key = -1;
	atexit(cpl0_report);
}

static void cpl0_step(struct vcpu *vcpu)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	const struct kvm_regs *r = &regs;
	const struct kvm_sregs *s = &sregs;
	if (cpl0.sync_regs) {
		r = &vcpu->run->s.regs.regs;
		s = &vcpu->run->s.regs.sregs;
	} else {
		vcpu_ioctl(vcpu, KVM_GET_REGS, &regs);
		vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs);
	}
	int cpl = s->cs.selector & 3;  /* in 64-bit mode CPL = CS.RPL (SDM vol. 3A 5.5) */

	const struct kvmbox_kernel_header *h = &vcpu->vm->khdr;
	bool at_entry = r->rip == h->syscall_entry ||
			(r->rip >= h->isr_stubs && r->rip < h->isr_stubs + 256 * h->isr_stub_size);

	/* Count the instruction just executed, at the previous CPL. */
	if (cpl0.prev_cpl == 0) {
		if (!cpl0.in_user)
			cpl0.boot++;
		else if (cpl0.key >= 0)
			cpl0.count++;
	}
	/*
	 * Ring-3 code may run without single-step exits (kvm_pvm runs it
	 * natively, and the steps around sysretq/iretq are not all reported),
	 * so a step that arrives in the entry code (LSTAR or a trap stub) from
	 * elsewhere begins a new entry. A fault taken inside the kernel counts
	 * as an entry of its own.
	 */
	bool user_ran = cpl != 0 || (at_entry && !cpl0.prev_at_entry);
	if (user_ran) {
		cpl0.in_user = true;
		if (cpl0.key >= 0)
			cpl0_add(cpl0.key, cpl0.count);
		cpl0.key = -1;
	}
	if (cpl == 0 && (cpl0.prev_cpl != 0 || user_ran)) {
		/* A kernel entry begins: a syscall at LSTAR (rax = nr) or a trap stub. */
		cpl0.count = 0;
		if (r->rip == h->syscall_entry)
			cpl0.key = r->rax < KVMBOX_MAX_SYSCALLS ? (int)r->rax : KEY_OTHER;
		else if (at_entry)
			cpl0.key = KEY_SYSCALLS + (int)((r->rip - h->isr_stubs) / h->isr_stub_size);
		else
			cpl0.key = KEY_OTHER;
	}
	cpl0.prev_at_entry = at_entry;
	cpl0.prev_cpl = cpl;
}

/* ---- exits -------------------------------------------------------------- */

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint16_t port = run->io.port;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	if (run->io.direction == KVM_EXIT_IO_OUT && run->io.count == 1 &&
	    port >= KVMBOX_HC_PORT_BASE && port < KVMBOX_HC_PORT_BASE + KVMBOX_HC_PORT_COUNT) {
		uint32_t value = 0;
		memcpy(&value, data, run->io.size <= 4 ? run->io.size : 4);
		hc_dispatch(vcpu, port, run->io.size, value);
		return;
	}
	/* No other port is backed: reads see all ones (an absent ISA device), writes are dropped. */
	if (run->io.direction == KVM_EXIT_IO_IN)
		memset(data, 0xff, (size_t)run->io.size * run->io.count);
	info("ignored %s of port 0x%x", run->io.direction == KVM_EXIT_IO_IN ? "in" : "out", port);
}

static void fatal_exit(struct vcpu *vcpu, const char *fmt, ...) __attribute__((__noreturn__, format(printf, 2, 3)));
static void fatal_exit(struct vcpu *vcpu, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	crash_dump_vcpu(vcpu, what);
	exit(EXIT_VMM_ERROR);
}

void vcpu_run(struct vcpu *vcpu, const struct run_options *o)
{
	struct kvm_run *run = vcpu->run;
	if (o->timeout > 0)
		start_timeout(vcpu, o->timeout);
	if (o->count_cpl0)
		cpl0_start(vcpu);

	for (;;) {
		if (__vcpu_ioctl(vcpu, KVM_RUN, NULL) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (timed_out && log_verbose)
					crash_dump_vcpu(vcpu, "vCPU state at the timeout:");
				vcpu_check_timeout();
				run->immediate_exit = 0;
				continue;
			}
			die(EXIT_VMM_ERROR, "KVM_RUN failed: %s", strerror(errno));
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(vcpu);
			break;
		case KVM_EXIT_DEBUG:
			if (!cpl0.on)
				fatal_exit(vcpu, "unexpected KVM_EXIT_DEBUG (exception %u at 0x%llx)",
					   run->debug.arch.exception, (unsigned long long)run->debug.arch.pc);
			cpl0_step(vcpu);
			break;
		case KVM_EXIT_HLT: {
			struct kvm_regs r;
			vcpu_ioctl(vcpu, KVM_GET_REGS, &r);
			/* Without an interrupt controller nothing can wake a halted vCPU. */
			fatal_exit(vcpu, "guest halted%s (KVM_EXIT_HLT)",
				   (r.rflags & (1 << 9)) ? " waiting for an interrupt that cannot come" : "");
		}
		case KVM_EXIT_MMIO:
			fatal_exit(vcpu, "guest %s %u bytes at physical 0x%llx, outside its memory (KVM_EXIT_MMIO)",
				   run->mmio.is_write ? "wrote" : "read", run->mmio.len,
				   (unsigned long long)run->mmio.phys_addr);
		case KVM_EXIT_SHUTDOWN:
			fatal_exit(vcpu, "guest triple fault: the vCPU shut down (KVM_EXIT_SHUTDOWN)");
		case KVM_EXIT_FAIL_ENTRY:
			fatal_exit(vcpu, "KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, "
				   "hardware_entry_failure_reason 0x%llx)",
				   (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_INTERNAL_ERROR: {
			char data[256] = "";
			size_t len = 0;
			for (uint32_t i = 0; i < run->internal.ndata && i < 16; i++)
				len += snprintf(data + len, sizeof(data) - len, " 0x%llx",
						(unsigned long long)run->internal.data[i]);
			fatal_exit(vcpu, "KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror %u, data%s)",
				   run->internal.suberror, data[0] ? data : " none");
		}
		case KVM_EXIT_INTR:
			vcpu_check_timeout();
			break;
		default:
			fatal_exit(vcpu, "unexpected exit %s (%u)", kvm_exit_reason_name(run->exit_reason),
				   run->exit_reason);
		}
	}
}
