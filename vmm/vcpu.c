/* The vCPU run loop: KVM_RUN, EINTR retry, one handler per exit reason (api.rst 5 "The kvm_run structure"). */
#include "cpl0_count.h"
#include "crash_report.h"
#include "gdb_kernel.h"
#include "hypercall.h"
#include "kvm.h"
#include "vcpu.h"
#include "virtio_bus.h"
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
	gdb_kernel_blocked_point();  /* the handlers' EINTR paths all pass here */
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

/* Exits to the VMM by kind, for --verbose (the cost ioeventfd/irqfd avoid). */
static uint64_t exits_io, exits_mmio, exits_other;

static void report_exits(void)
{
	info("vCPU exits to the VMM: %llu (port I/O %llu, MMIO %llu, other %llu)",
	     (unsigned long long)(exits_io + exits_mmio + exits_other), (unsigned long long)exits_io,
	     (unsigned long long)exits_mmio, (unsigned long long)exits_other);
}

void vcpu_run(struct vcpu *vcpu, const struct run_options *o)
{
	struct kvm_run *run = vcpu->run;
	if (log_verbose)
		atexit(report_exits);
	if (o->timeout > 0)
		start_timeout(vcpu, o->timeout);
	if (o->count_cpl0)
		cpl0_count_start(vcpu);

	for (;;) {
		gdb_kernel_before_run(vcpu);
		if (__vcpu_ioctl(vcpu, KVM_RUN, NULL) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (timed_out && log_verbose) {
					crash_dump_vcpu(vcpu, "vCPU state at the timeout:");
					virtio_bus_dump_queues();
				}
				vcpu_check_timeout();
				run->immediate_exit = 0;
				continue;
			}
			die(EXIT_VMM_ERROR, "KVM_RUN failed: %s", strerror(errno));
		}
		if (run->exit_reason == KVM_EXIT_IO)
			exits_io++;
		else if (run->exit_reason == KVM_EXIT_MMIO)
			exits_mmio++;
		else
			exits_other++;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(vcpu);
			break;
		case KVM_EXIT_DEBUG:
			if (gdb_kernel_debug_exit(vcpu))
				break;
			if (!o->count_cpl0)
				fatal_exit(vcpu, "unexpected KVM_EXIT_DEBUG (exception %u at 0x%llx)",
					   run->debug.arch.exception, (unsigned long long)run->debug.arch.pc);
			cpl0_count_step(vcpu);
			break;
		case KVM_EXIT_HLT: {
			struct kvm_regs r;
			vcpu_ioctl(vcpu, KVM_GET_REGS, &r);
			/* Without an interrupt controller nothing can wake a halted vCPU. */
			fatal_exit(vcpu, "guest halted%s (KVM_EXIT_HLT)",
				   (r.rflags & (1 << 9)) ? " waiting for an interrupt that cannot come" : "");
		}
		case KVM_EXIT_MMIO:
			if (virtio_bus_mmio(vcpu->vm, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
					    run->mmio.is_write))
				break;
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
