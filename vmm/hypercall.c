/* Hypercalls (shared/hypercall.h): validated argument structs, a dispatch table, the core handlers. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "crash_report.h"
#include "debug_process.h"
#include "exec.h"
#include "fork.h"
#include "guest_mem.h"
#include "hypercall.h"
#include "gdb_kernel.h"
#include "log.h"
#include "pagetable_x86_64.h"
#include "syscall_names.h"
#include "vcpu.h"

struct hc_desc {
	const char *name;
	size_t arg_size;
	hc_handler_fn fn;
};

static struct hc_desc hc_table[KVMBOX_HC_PORT_COUNT];

int hc_register(unsigned nr, const char *name, size_t arg_size, hc_handler_fn fn)
{
	if (nr >= KVMBOX_HC_PORT_COUNT || hc_table[nr].fn || arg_size < sizeof(int64_t))
		return -1;
	hc_table[nr] = (struct hc_desc){ name, arg_size, fn };
	return 0;
}

const char *hc_name(unsigned nr)
{
	return nr < KVMBOX_HC_PORT_COUNT ? hc_table[nr].name : NULL;
}

void hc_dispatch(struct vcpu *vcpu, uint16_t port, uint32_t size, uint32_t gpa)
{
	struct vm *vm = vcpu->vm;
	unsigned nr = port - KVMBOX_HC_PORT_BASE;
	if (size != 4) {
		warn("ignored a %u-byte write to hypercall port 0x%x (hypercalls are 32-bit outs)", size, port);
		return;
	}
	const struct hc_desc *d = &hc_table[nr];
	int64_t *ret = GUEST_PTR(vm, gpa, sizeof(int64_t));
	if (!d->fn) {
		if (ret)
			*ret = -ENOSYS;
		else
			warn("unknown hypercall %u with a bad argument address 0x%x", nr, gpa);
		return;
	}
	void *arg = GUEST_PTR(vm, gpa, d->arg_size);
	if (!arg) {
		/* The guest cannot be told through ret if ret itself is outside memory. */
		if (ret)
			*ret = -EFAULT;
		warn("hypercall %s: argument address 0x%x is outside guest memory", d->name, gpa);
		return;
	}
	d->fn(vcpu, arg);
}

/* ---- core handlers ------------------------------------------------------ */

static void hc_exit(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_exit *a = arg;
	/* Guest output went out with write(2) as it came: nothing is buffered here. */
	gdb_kernel_guest_exit(a->status & 0xff);
	exit(a->status & 0xff);
}

/* Check every segment and build the iovec; -EFAULT if any byte is outside guest memory. */
static int segs_to_iov(struct vm *vm, const struct kvmbox_seg *segs, uint32_t n, struct iovec *iov,
		       uint64_t *total)
{
	*total = 0;
	for (uint32_t i = 0; i < n; i++) {
		void *p = GUEST_PTR(vm, segs[i].gpa, segs[i].len);
		if (!p)
			return -EFAULT;
		iov[i].iov_base = p;
		iov[i].iov_len = segs[i].len;
		*total += segs[i].len;
	}
	return 0;
}

static void hc_console_write(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_console *a = arg;
	struct iovec iov[KVMBOX_CONSOLE_MAX_SEGS];
	uint64_t total;
	a->done = 0;
	if (a->fd != 1 && a->fd != 2) {
		a->ret = -EBADF;
		return;
	}
	if (a->nr_segs > KVMBOX_CONSOLE_MAX_SEGS) {
		a->ret = -EINVAL;
		return;
	}
	int r = segs_to_iov(vcpu->vm, a->segs, a->nr_segs, iov, &total);
	if (r) {
		a->ret = r;
		return;
	}
	/* The host fd may take less than all of it (pipes, terminals): loop, as write(2) callers must. */
	struct iovec *v = iov;
	int cnt = a->nr_segs;
	uint64_t done = 0;
	while (done < total) {
		ssize_t n = writev(a->fd, v, cnt);
		if (n < 0) {
			if (errno == EINTR) {
				vcpu_check_timeout();
				continue;
			}
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = a->fd, .events = POLLOUT };
				poll(&pfd, 1, -1);
				continue;
			}
			a->done = done;
			a->ret = done ? 0 : -errno;
			return;
		}
		done += n;
		while (cnt > 0 && (size_t)n >= v->iov_len) {
			n -= v->iov_len;
			v++;
			cnt--;
		}
		if (cnt > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= n;
		}
	}
	a->done = done;
	a->ret = 0;
}

static void hc_console_read(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_console *a = arg;
	struct iovec iov[KVMBOX_CONSOLE_MAX_SEGS];
	uint64_t total;
	a->done = 0;
	if (a->fd != 0) {
		a->ret = -EBADF;
		return;
	}
	if (a->nr_segs > KVMBOX_CONSOLE_MAX_SEGS) {
		a->ret = -EINVAL;
		return;
	}
	int r = segs_to_iov(vcpu->vm, a->segs, a->nr_segs, iov, &total);
	if (r) {
		a->ret = r;
		return;
	}
	for (;;) {
		ssize_t n = readv(0, iov, a->nr_segs);
		if (n >= 0) {
			a->done = n;    /* 0 is end of file */
			a->ret = 0;
			return;
		}
		if (errno == EINTR) {
			vcpu_check_timeout();
			continue;
		}
		if (errno == EAGAIN) {
			struct pollfd pfd = { .fd = 0, .events = POLLIN };
			poll(&pfd, 1, -1);
			continue;
		}
		a->ret = -errno;
		return;
	}
}

static void hc_console_poll(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_console_poll *a = arg;
	struct timespec now, end;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t t = a->timeout_ns;
	end.tv_sec = now.tv_sec + (time_t)(t / 1000000000u);
	end.tv_nsec = now.tv_nsec + (long)(t % 1000000000u);
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	for (;;) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		struct timespec left = { 0, 0 };
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec)) {
			left.tv_sec = end.tv_sec - now.tv_sec;
			left.tv_nsec = end.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000;
			}
		}
		int n = ppoll(&pfd, 1, &left, NULL);
		if (n < 0 && errno == EINTR) {
			vcpu_check_timeout();
			continue;
		}
		if (n < 0) {
			a->ret = -errno;
			a->revents = 0;
			return;
		}
		a->revents = n ? (uint32_t)pfd.revents : 0;
		a->ret = 0;
		return;
	}
}

static void hc_usercopy(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_usercopy *a = arg;
	struct vm *vm = vcpu->vm;
	a->done = 0;
	if (a->nr_segs > KVMBOX_USERCOPY_MAX_SEGS || a->uva >= KVMBOX_USER_MAP_TOP ||
	    a->len > KVMBOX_USER_MAP_TOP - a->uva || (a->cr3 & 0xfff)) {
		a->ret = -EINVAL;
		return;
	}
	uint64_t total = 0;
	for (uint32_t i = 0; i < a->nr_segs; i++) {
		if (!GUEST_PTR(vm, a->segs[i].gpa, a->segs[i].len)) {
			a->ret = -EFAULT;
			return;
		}
		total += a->segs[i].len;
	}
	if (total != a->len) {
		a->ret = -EINVAL;
		return;
	}
	uint64_t need = PT_P | PT_U | (a->to_user ? PT_W : 0);
	uint64_t uva = a->uva, done = 0;
	uint8_t *upage = NULL;       /* host address of uva's page, NULL: translate */
	for (uint32_t i = 0; i < a->nr_segs; i++) {
		uint8_t *k = GUEST_PTR(vm, a->segs[i].gpa, a->segs[i].len);
		uint64_t left = a->segs[i].len;
		while (left) {
			uint64_t off = uva & 0xfff;
			if (!upage || !off) {
				uint64_t *pte = pt_user_pte(vm, NULL, a->cr3, uva);
				uint8_t *h = pte && (*pte & need) == need ?
					     GUEST_PTR(vm, *pte & PT_ADDR, KVMBOX_PAGE_SIZE) : NULL;
				if (!h)
					goto out;    /* the guest faults this page in and calls again */
				/* Page tables stay untouched (no A/D updates): on kvm_pvm, KVM's
				 * shadow paging does not see the VMM's writes to them. */
				upage = h;
			}
			uint64_t n = KVMBOX_PAGE_SIZE - off;
			if (n > left)
				n = left;
			if (a->to_user)
				memcpy(upage + off, k, n);
			else
				memcpy(k, upage + off, n);
			k += n;
			left -= n;
			uva += n;
			done += n;
			if (!(uva & 0xfff))
				upage = NULL;
		}
	}
out:
	a->done = done;
	a->ret = 0;
}

static void hc_panic(struct vcpu *vcpu, void *arg)
{
	crash_report_panic(vcpu, arg);
}

static void hc_crash(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_crash *a = arg;
	crash_report_user(vcpu->vm, a);
	a->ret = 0;
}

static void hc_notice(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_notice *a = arg;
	static uint64_t reported[KVMBOX_MAX_SYSCALLS / 64];
	a->ret = 0;
	switch (a->kind) {
	case KVMBOX_NOTICE_UNKNOWN_SYSCALL: {
		if (!log_verbose)
			return;
		uint64_t nr = a->arg;
		if (nr < KVMBOX_MAX_SYSCALLS) {
			if (reported[nr / 64] & (1ull << (nr % 64)))
				return;
			reported[nr / 64] |= 1ull << (nr % 64);
		}
		const char *name = nr < sizeof(syscall_names) / sizeof(syscall_names[0]) ?
				   syscall_names[nr] : NULL;
		warn("pid %u called unknown syscall %llu (%s) — returned ENOSYS", a->pid,
		     (unsigned long long)nr, name ? name : "not a Linux x86-64 syscall");
		return;
	}
	case KVMBOX_NOTICE_STATS: {
		if (!log_verbose)
			return;
		const struct kvmbox_guest_stats *st = GUEST_PTR(vcpu->vm, a->arg, sizeof(*st));
		if (!st) {
			a->ret = -EFAULT;
			return;
		}
		warn("guest scheduler: %llu timer interrupts, %llu context switches, %llu preemptions, "
		     "%llu idle halts", (unsigned long long)st->timer_interrupts,
		     (unsigned long long)st->context_switches, (unsigned long long)st->preemptions,
		     (unsigned long long)st->idle_halts);
		return;
	}
	default:
		a->ret = -EINVAL;
	}
}

static void hc_memop(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_memop *a = arg;
	struct vm *vm = vcpu->vm;
	void *dst[KVMBOX_MEMOP_MAX_SEGS], *src[KVMBOX_MEMOP_MAX_SEGS];
	if (a->nr_segs > KVMBOX_MEMOP_MAX_SEGS ||
	    (a->op != KVMBOX_MEMOP_ZERO && a->op != KVMBOX_MEMOP_COPY)) {
		a->ret = -EINVAL;
		return;
	}
	/* All segments are checked before any is done: a bad call changes nothing. */
	for (uint32_t i = 0; i < a->nr_segs; i++) {
		dst[i] = GUEST_PTR(vm, a->segs[i].dst, a->segs[i].len);
		src[i] = a->op == KVMBOX_MEMOP_COPY ? GUEST_PTR(vm, a->segs[i].src, a->segs[i].len) : dst[i];
		if (!dst[i] || !src[i]) {
			a->ret = -EFAULT;
			return;
		}
	}
	for (uint32_t i = 0; i < a->nr_segs; i++) {
		if (a->op == KVMBOX_MEMOP_ZERO)
			memset(dst[i], 0, a->segs[i].len);
		else
			memmove(dst[i], src[i], a->segs[i].len);
	}
	a->ret = 0;
}

static void hc_shared_page(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_shared_page *a = arg;
	if (a->gpa % KVMBOX_PAGE_SIZE || a->cpu != (uint32_t)vcpu->id) {
		a->ret = -EINVAL;
		return;
	}
	if (!GUEST_PTR(vcpu->vm, a->gpa, KVMBOX_PAGE_SIZE)) {
		a->ret = -EFAULT;
		return;
	}
	vcpu->shared_page = a->gpa;
	debug_process_shared_page(vcpu);
	a->ret = 0;
}

static void hc_stop(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_stop *a = arg;
	if (gdb_kernel_pv_stop(vcpu, a))  /* a trap in the guest kernel itself: kernel mode's */
		return;
	if (debug_process_enabled()) {    /* the program's stops: process mode's */
		debug_process_hc_stop(vcpu, a);
		return;
	}
	/* No debugger attached: every stop is answered with "resume, no signal". */
	memset(&a->cmd, 0, sizeof(a->cmd));
	a->cmd.op = KVMBOX_CMD_RESUME;
	a->ret = 0;
}

static void hc_start_cpu(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_start_cpu *a = arg;
	a->ret = -ENOSYS;  /* one vCPU for now (boot_info.nr_cpus = 1) */
}

static void hc_trace_flush(struct vcpu *vcpu, void *arg)
{
	struct kvmbox_hc_trace_flush *a = arg;
	/* No tracer yet: drop what the ring holds so a waiting producer can go on. */
	struct kvmbox_shared_page *sp = vcpu->shared_page ?
		GUEST_PTR(vcpu->vm, vcpu->shared_page, sizeof(*sp)) : NULL;
	if (sp)
		sp->ring_tail = sp->ring_head;
	a->ret = 0;
}

void hc_register_core(void)
{
#define REG(nr, type, fn) \
	if (hc_register(nr, #nr + 10, sizeof(type), fn)) \
		die(EXIT_VMM_ERROR, "internal error: hypercall %s registered twice", #nr)
	REG(KVMBOX_HC_EXIT, struct kvmbox_hc_exit, hc_exit);
	REG(KVMBOX_HC_CONSOLE_WRITE, struct kvmbox_hc_console, hc_console_write);
	REG(KVMBOX_HC_CONSOLE_READ, struct kvmbox_hc_console, hc_console_read);
	REG(KVMBOX_HC_PANIC, struct kvmbox_hc_panic, hc_panic);
	REG(KVMBOX_HC_CRASH, struct kvmbox_hc_crash, hc_crash);
	REG(KVMBOX_HC_NOTICE, struct kvmbox_hc_notice, hc_notice);
	REG(KVMBOX_HC_MEMOP, struct kvmbox_hc_memop, hc_memop);
	REG(KVMBOX_HC_SHARED_PAGE, struct kvmbox_hc_shared_page, hc_shared_page);
	REG(KVMBOX_HC_STOP, struct kvmbox_hc_stop, hc_stop);
	REG(KVMBOX_HC_START_CPU, struct kvmbox_hc_start_cpu, hc_start_cpu);
	REG(KVMBOX_HC_TRACE_FLUSH, struct kvmbox_hc_trace_flush, hc_trace_flush);
	REG(KVMBOX_HC_EXEC, struct kvmbox_hc_exec, hc_exec);
	REG(KVMBOX_HC_CONSOLE_POLL, struct kvmbox_hc_console_poll, hc_console_poll);
	REG(KVMBOX_HC_USERCOPY, struct kvmbox_hc_usercopy, hc_usercopy);
	REG(KVMBOX_HC_FORK, struct kvmbox_hc_fork, hc_fork);
#undef REG
}
