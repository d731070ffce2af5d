/*
 * Process mode of the gdb stub: gdb sees the guest's processes and threads.
 * A gdb_target backend (gdb_target.h) on the paravirtual stop protocol of
 * shared/debug.h: the guest kernel stops at the events the shared page asks
 * for and makes HC_STOP; the vCPU thread parks there and serves as a mailbox
 * -- the stub's thread puts a command in the guest's struct, the vCPU
 * returns to the guest, which runs it and comes back with the result --
 * until a resume. Registers of the stopped thread and plain memory reads are
 * native (the saved frame and the page tables are in guest memory); what
 * needs the kernel (copy-on-write, other threads, faulting pages in) is a
 * command.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "debug_process.h"
#include "gdb_regs.h"
#include "gdb_target.h"
#include "guest_mem.h"
#include "kvm.h"
#include "log.h"

#define MAX_BPS 256
#define MAX_THREADS 256
#define MAX_PROCS 16
#define STEP_EVENTS ((1ull << KVMBOX_EV_START) | (1ull << KVMBOX_EV_BREAKPOINT) | (1ull << KVMBOX_EV_SINGLESTEP) | \
		     (1ull << KVMBOX_EV_WATCHPOINT) | (1ull << KVMBOX_EV_SIGNAL) | (1ull << KVMBOX_EV_FORK) | \
		     (1ull << KVMBOX_EV_VFORK) | (1ull << KVMBOX_EV_VFORK_DONE) | (1ull << KVMBOX_EV_EXEC) | \
		     (1ull << KVMBOX_EV_EXIT))
#define SYSCALL_EVENTS ((1ull << KVMBOX_EV_SYSCALL_ENTRY) | (1ull << KVMBOX_EV_SYSCALL_EXIT))

/* An int3 of gdb's in a process: Z0, or Z1 where it stands in for a debug register. */
struct sw_bp {
	int64_t pid;
	uint64_t addr;
	uint8_t orig;
	bool hw;
};

static struct dproc {
	struct vm *vm;
	struct vcpu *vcpu;
	int listen_fd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;                  /* a new stop for wait() (eventfd) */
	/* The processes gdb debugs: the first, and with fork events each child
	   from its fork stop until gdb detaches it (follow-fork-mode, detach-on-fork). */
	int64_t pids[MAX_PROCS];
	int npids;
	bool fork_events, vfork_events, exec_events; /* what gdb asked for (qSupported) */
	bool active;              /* stops are served; false after the session */
	bool serving;             /* gdb_serve ran */

	/* The vCPU's side of the mailbox. */
	struct kvmbox_hc_stop *hc;/* the guest's struct while the vCPU is parked, else NULL */
	bool new_stop;            /* parked at a stop wait() has not taken */
	bool cmd_ready;           /* hc->cmd holds a command for the guest */
	bool cmd_inflight;        /* the guest is running a command; its result comes back */
	bool cmd_done;

	/* The last stop, as wait() reported it. */
	struct kvmbox_stop_record last;
	bool exited;

	struct sw_bp bps[MAX_BPS];
	int nr_bps;
	/* The four debug-register slots Z1..Z4 share (gdb expects an error past them). Z1 is an
	   int3 (bps, hw), Z2..Z4 page protection in the guest's slot of the same index. */
	struct { enum gdb_bp_type type; int64_t pid; uint64_t addr; int len; bool used; } watch[4];
	bool pass[65], nopass_program[65];
	uint64_t auxv[2 * 64];
	size_t auxv_len;          /* bytes */
	char cmdline[4096];       /* /proc/PID/cmdline of the debugged process: argv, NUL-separated */
	size_t cmdline_len;
	struct gdb_tid threads[MAX_THREADS];
	int nr_threads;           /* -1: not listed since the last resume */
} dp = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .efd = -1, .pids = { 1 }, .npids = 1 };

static bool debugged(int64_t pid)
{
	for (int i = 0; i < dp.npids; i++)
		if (dp.pids[i] == pid)
			return true;
	return false;
}

static void forget_pid(int64_t pid)
{
	for (int i = 0; i < dp.npids; i++)
		if (dp.pids[i] == pid)
			dp.pids[i--] = dp.pids[--dp.npids];
}

static struct kvmbox_shared_page *shared(void)
{
	return dp.vcpu && dp.vcpu->shared_page ?
		GUEST_PTR(dp.vm, dp.vcpu->shared_page, sizeof(struct kvmbox_shared_page)) : NULL;
}

/*
 * `enabled` (shared/debug.h): SLOW only for what needs the guest's syscall
 * slow path (syscall stops, the trace, a single step: one over `syscall`
 * ends at its exit, debug_syscall_exit); FRAMES whenever gdb is attached,
 * so a blocked thread's registers are all in its frame. Every other stop is
 * raised where it happens (traps, signal delivery, fork and exec, which take
 * the slow path anyway).
 */
static bool stepping;

static void publish_enabled(struct kvmbox_shared_page *sp)
{
	bool slow = (sp->stop_events & SYSCALL_EVENTS) || sp->trace_enabled || (stepping && sp->stop_events);
	sp->enabled = (slow ? KVMBOX_ENABLED_SLOW : 0) | (sp->stop_events ? KVMBOX_ENABLED_FRAMES : 0);
}

static void set_events(uint64_t ev)
{
	struct kvmbox_shared_page *sp = shared();
	if (!sp)
		return;
	sp->stop_events = ev;
	publish_enabled(sp);
}

/* ---- the mailbox ------------------------------------------------------- */

/* Hand a command to the parked vCPU (mu held). A releasing one (resume) returns at once. */
static int64_t issue_locked(uint32_t op, uint32_t pid, uint32_t tid, uint64_t addr, uint32_t len, uint64_t arg0,
			    uint64_t arg1)
{
	struct kvmbox_hc_stop *hc = dp.hc;
	if (!hc)
		return -ESRCH;
	hc->cmd.op = op;
	hc->cmd.pid = pid;
	hc->cmd.tid = tid;
	hc->cmd.addr = addr;
	hc->cmd.len = len;
	hc->cmd.arg0 = arg0;
	hc->cmd.arg1 = arg1;
	bool release = op == KVMBOX_CMD_RESUME || op == KVMBOX_CMD_STEP || op == KVMBOX_CMD_DETACH ||
		       (op == KVMBOX_CMD_KILL && pid == dp.last.pid);
	dp.cmd_done = false;
	dp.cmd_inflight = !release;
	dp.cmd_ready = true;
	if (release) {
		dp.hc = NULL;
		dp.nr_threads = -1;
	}
	pthread_cond_broadcast(&dp.cv);
	if (release)
		return 0;
	while (!dp.cmd_done)
		pthread_cond_wait(&dp.cv, &dp.mu);
	return dp.hc ? dp.hc->result : -ESRCH;
}

/* KVMBOX_CMD_FILE for path (mu held): the guest's result; its data in dp.hc->data. */
static int64_t file_cmd_locked(const char *path, unsigned op, uint64_t offset, size_t len)
{
	size_t n = strlen(path);
	if (!dp.hc)
		return -ESRCH;
	if (n >= KVMBOX_STOP_DATA_MAX)
		return -ENAMETOOLONG;
	memcpy(dp.hc->data, path, n + 1);
	return issue_locked(KVMBOX_CMD_FILE, 0, 0, offset, (uint32_t)(len < KVMBOX_STOP_DATA_MAX ? len : KVMBOX_STOP_DATA_MAX),
			    0, op);
}

/* The initial stack at the START stop: argc, argv..., 0, envp..., 0, auxv (SysV x86-64 ABI 3.4.1). */
static void save_auxv(const struct kvmbox_stop_record *s)
{
	uint64_t *f = GUEST_PTR(dp.vm, s->frame_gpa, KVMBOX_TRAP_FRAME_WORDS * 8);
	if (!f)
		return;
	uint64_t sp = f[19], argc = 0, w = 1; /* frame word 19: rsp */
	if (guest_read_gva(dp.vm, s->cr3, sp, &argc, 8) != 8)
		return;
	/* argv's strings, for /proc/PID/cmdline (Linux shows them from the stack so). */
	dp.cmdline_len = 0;
	for (uint64_t i = 0, a; i < argc && guest_read_gva(dp.vm, s->cr3, sp + 8 * (i + 1), &a, 8) == 8; i++) {
		size_t room = sizeof(dp.cmdline) - dp.cmdline_len, n = 0;
		char *d = dp.cmdline + dp.cmdline_len;
		while (n < room && guest_read_gva(dp.vm, s->cr3, a + n, d + n, 1) == 1 && d[n])
			n++;
		if (n == room)
			break;
		dp.cmdline_len += n + 1;
	}
	uint64_t p = sp + 8 * (argc + 2);
	while (guest_read_gva(dp.vm, s->cr3, p, &w, 8) == 8 && w)
		p += 8;
	p += 8;
	size_t n = 0;
	while (n + 2 <= sizeof(dp.auxv) / 8 && guest_read_gva(dp.vm, s->cr3, p, &dp.auxv[n], 16) == 16) {
		n += 2;
		p += 16;
		if (!dp.auxv[n - 2])
			break;
	}
	dp.auxv_len = n * 8;
}

void debug_process_hc_stop(struct vcpu *vcpu, struct kvmbox_hc_stop *a)
{
	pthread_mutex_lock(&dp.mu);
	if (!dp.active) {
		pthread_mutex_unlock(&dp.mu);
		memset(&a->cmd, 0, sizeof(a->cmd));
		a->cmd.op = KVMBOX_CMD_RESUME;
		a->cmd.arg0 = a->stop.event == KVMBOX_EV_SIGNAL ? (uint64_t)a->stop.signo : 0;
		a->ret = 0;
		return;
	}
	a->ret = 0;
	dp.hc = a;
	if (dp.cmd_inflight) {
		dp.cmd_inflight = false;
		dp.cmd_done = true;
		pthread_cond_broadcast(&dp.cv);
	} else if (a->stop.event == KVMBOX_EV_START && !dp.serving) {
		/* The first instruction: gdb connects now (the stub's `?` reports this stop). */
		dp.last = a->stop;
		save_auxv(&a->stop);
		dp.serving = true;
		pthread_mutex_unlock(&dp.mu);
		static struct gdb_target t = { &debug_process_ops, NULL };
		char err[256];
		info("process mode: probes: debug registers %s for ring 3, single-step %s",
		     a->stop.flags & KVMBOX_STOPF_DR_WORK ? "fire" : "do not fire",
		     a->stop.flags & KVMBOX_STOPF_STEP_BROKEN ? "does not trap" :
		     a->stop.flags & KVMBOX_STOPF_STEP_TRAMP ? "through the trampoline (iretq+TF skips one)" : "direct");
		if (gdb_serve(dp.listen_fd, &t, err, sizeof(err)))
			die(EXIT_VMM_ERROR, "--gdb: %s", err);
		pthread_mutex_lock(&dp.mu);
	} else {
		dp.new_stop = true;
		uint64_t one = 1;
		if (write(dp.efd, &one, 8) != 8)
			warn("process mode: cannot signal a stop: %s", strerror(errno));
	}
	while (!dp.cmd_ready && dp.active)
		pthread_cond_wait(&dp.cv, &dp.mu);
	if (!dp.cmd_ready) {
		/* The session ended while parked: run on. */
		memset(&a->cmd, 0, sizeof(a->cmd));
		a->cmd.op = KVMBOX_CMD_RESUME;
		dp.hc = NULL;
	}
	dp.cmd_ready = false;
	pthread_mutex_unlock(&dp.mu);
	(void)vcpu;
}

void debug_process_shared_page(struct vcpu *vcpu)
{
	if (dp.active && vcpu == dp.vcpu)
		set_events(STEP_EVENTS);
}

int debug_process_setup(struct vm *vm, struct vcpu *vcpu, int listen_fd)
{
	dp.vm = vm;
	dp.vcpu = vcpu;
	dp.listen_fd = listen_fd;
	dp.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dp.efd < 0)
		return -1;
	dp.nr_threads = -1;
	dp.active = true;
	return 0;
}

/* ---- target operations -------------------------------------------------- */

static unsigned dp_caps(void *ctx)
{
	(void)ctx;
	return GDB_CAP_MULTIPROCESS | GDB_CAP_SW_BREAK | GDB_CAP_HW_BREAK | GDB_CAP_WATCH | GDB_CAP_CATCH_SYSCALL |
	       GDB_CAP_PASS_SIGNALS | GDB_CAP_PROCESS | GDB_CAP_FORK_EVENTS | GDB_CAP_EXEC_EVENTS;
}

static void dp_events(void *ctx, bool fork, bool vfork, bool exec)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	dp.fork_events = fork, dp.vfork_events = vfork, dp.exec_events = exec;
	pthread_mutex_unlock(&dp.mu);
}

static int list_threads(void)
{
	if (dp.nr_threads >= 0)
		return 0;
	int64_t n = issue_locked(KVMBOX_CMD_LIST_THREADS, 0, 0, 0, 0, 0, 0);
	if (n < 0)
		return (int)n;
	const uint32_t *d = (const uint32_t *)dp.hc->data;
	dp.nr_threads = 0;
	/* The stopped thread first (gdb's `?` names it), if it is gdb's and alive. */
	for (int64_t i = 0; i < n; i++)
		if (d[2 * i] == dp.last.pid && d[2 * i + 1] == dp.last.tid && debugged(dp.last.pid))
			dp.threads[dp.nr_threads++] = (struct gdb_tid){ dp.last.pid, dp.last.tid };
	for (int64_t i = 0; i < n && dp.nr_threads < MAX_THREADS; i++)
		if (debugged(d[2 * i]) && !(d[2 * i] == dp.last.pid && d[2 * i + 1] == dp.last.tid))
			dp.threads[dp.nr_threads++] = (struct gdb_tid){ d[2 * i], d[2 * i + 1] };
	return 0;
}

static int dp_threads(void *ctx, struct gdb_tid *out, int max)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	int r = list_threads();
	if (!r) {
		for (int i = 0; i < dp.nr_threads && i < max; i++)
			out[i] = dp.threads[i];
		r = dp.nr_threads;
	}
	pthread_mutex_unlock(&dp.mu);
	return r;
}

static int dp_thread_alive(void *ctx, struct gdb_tid tid)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	int r = list_threads();
	if (!r) {
		r = -ESRCH;
		for (int i = 0; i < dp.nr_threads; i++)
			if (dp.threads[i].pid == tid.pid && dp.threads[i].tid == tid.tid)
				r = 0;
	}
	pthread_mutex_unlock(&dp.mu);
	return r;
}

static void user_to_gdb(const struct kvmbox_user_regs *u, struct gdb_regs *r)
{
#define COPY(n) r->n = u->n;
	GDB_GPRS(COPY)
#undef COPY
	r->eflags = u->rflags;
	r->cs = u->cs, r->ss = u->ss, r->ds = r->es = r->fs = r->gs = 0;
	r->fs_base = u->fs_base, r->gs_base = u->gs_base;
	r->orig_rax = u->orig_rax;
}

static void gdb_to_user(const struct gdb_regs *r, struct kvmbox_user_regs *u)
{
	memset(u, 0, sizeof(*u));
#define COPY(n) u->n = r->n;
	GDB_GPRS(COPY)
#undef COPY
	u->rflags = r->eflags;
	u->cs = r->cs, u->ss = r->ss;
	u->fs_base = r->fs_base, u->gs_base = r->gs_base;
	u->orig_rax = r->orig_rax;
}

static bool is_stopped_thread(struct gdb_tid tid)
{
	return dp.hc && tid.pid == dp.last.pid && tid.tid == dp.last.tid;
}

static int dp_get_regs(void *ctx, struct gdb_tid tid, struct gdb_regs *r)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	int rc = 0;
	struct kvmbox_user_regs u;
	if (is_stopped_thread(tid)) {
		/* Native: the frame in guest memory, the FPU still in the vCPU (the kernel never touches it). */
		const void *f = GUEST_PTR(dp.vm, dp.last.frame_gpa, KVMBOX_TRAP_FRAME_WORDS * 8);
		struct kvm_fpu fpu;
		if (!f || __vcpu_ioctl(dp.vcpu, KVM_GET_FPU, &fpu) < 0) {
			rc = -EIO;
		} else {
			memcpy(&u, f, KVMBOX_TRAP_FRAME_WORDS * 8);
			u.fs_base = dp.last.fs_base, u.gs_base = dp.last.gs_base;
			user_to_gdb(&u, r);
			gdb_fxsave_from_kvm(&fpu, r->fxsave);
		}
	} else {
		int64_t n = issue_locked(KVMBOX_CMD_GET_REGS, (uint32_t)tid.pid, (uint32_t)tid.tid, 0, 0, 0, 0);
		if (n < 0) {
			rc = (int)n;
		} else {
			user_to_gdb(&dp.hc->regs, r);
			memcpy(r->fxsave, dp.hc->data, 512);
		}
	}
	pthread_mutex_unlock(&dp.mu);
	return rc;
}

static int dp_set_regs(void *ctx, struct gdb_tid tid, const struct gdb_regs *r)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	int rc = -ESRCH;
	if (dp.hc) {
		gdb_to_user(r, &dp.hc->regs);
		rc = (int)issue_locked(KVMBOX_CMD_SET_REGS, (uint32_t)tid.pid, (uint32_t)tid.tid, 0, 0, 0, 0);
		if (!rc && is_stopped_thread(tid)) {
			struct kvm_fpu fpu;
			gdb_fxsave_to_kvm(r->fxsave, &fpu);
			if (__vcpu_ioctl(dp.vcpu, KVM_SET_FPU, &fpu) < 0)
				rc = -EIO;
			dp.last.fs_base = r->fs_base, dp.last.gs_base = r->gs_base;
		}
	}
	pthread_mutex_unlock(&dp.mu);
	return rc;
}

/* The current cr3 of the debugged process: the last stop's (fork follows the parent). */
static ssize_t read_locked(uint64_t addr, uint8_t *buf, size_t len, pid_t pid)
{
	size_t done = 0;
	if (pid == (pid_t)dp.last.pid && addr < KVMBOX_USER_TOP && addr + len <= KVMBOX_USER_TOP)
		done = guest_read_gva(dp.vm, dp.last.cr3, addr, buf, len);
	while (done < len) {
		/* Not mapped yet (demand paging), or another process: the guest faults it in. */
		uint32_t chunk = (uint32_t)(len - done > KVMBOX_STOP_DATA_MAX ? KVMBOX_STOP_DATA_MAX : len - done);
		int64_t n = issue_locked(KVMBOX_CMD_READ_MEM, (uint32_t)pid, 0, addr + done, chunk, 0, 0);
		if (n <= 0)
			break;
		memcpy(buf + done, dp.hc->data, (size_t)n);
		done += (size_t)n;
	}
	/* gdb sees the original bytes under its breakpoints (as gdbserver shows them). */
	for (int i = 0; i < dp.nr_bps; i++)
		if (dp.bps[i].pid == pid && dp.bps[i].addr >= addr && dp.bps[i].addr < addr + done)
			buf[dp.bps[i].addr - addr] = dp.bps[i].orig;
	return done ? (ssize_t)done : -EFAULT;
}

static ssize_t write_locked(uint64_t addr, const uint8_t *buf, size_t len, pid_t pid)
{
	size_t done = 0;
	while (done < len) {
		uint32_t chunk = (uint32_t)(len - done > KVMBOX_STOP_DATA_MAX ? KVMBOX_STOP_DATA_MAX : len - done);
		memcpy(dp.hc->data, buf + done, chunk);
		int64_t n = issue_locked(KVMBOX_CMD_WRITE_MEM, (uint32_t)pid, 0, addr + done, chunk, 0, 0);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done ? (ssize_t)done : -EFAULT;
}

static ssize_t dp_read_mem(void *ctx, struct gdb_tid tid, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	ssize_t r = dp.hc ? read_locked(addr, buf, len, (pid_t)tid.pid) : -ESRCH;
	pthread_mutex_unlock(&dp.mu);
	return r;
}

static const uint8_t int3 = 0xcc;

static ssize_t dp_write_mem(void *ctx, struct gdb_tid tid, uint64_t addr, const void *buf, size_t len)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	ssize_t r = -ESRCH;
	if (dp.hc) {
		r = write_locked(addr, buf, len, (pid_t)tid.pid);
		/* A write over an inserted breakpoint changes what it will restore; the int3 stays. */
		for (int i = 0; r > 0 && i < dp.nr_bps; i++)
			if (dp.bps[i].pid == tid.pid && dp.bps[i].addr >= addr && dp.bps[i].addr < addr + (uint64_t)r) {
				dp.bps[i].orig = ((const uint8_t *)buf)[dp.bps[i].addr - addr];
				write_locked(dp.bps[i].addr, &int3, 1, (pid_t)tid.pid);
			}
	}
	pthread_mutex_unlock(&dp.mu);
	return r;
}

/* gdb's int3 at addr in process pid: hw 0/1 that kind only, -1 either. */
static int find_bp(int64_t pid, uint64_t addr, int hw)
{
	for (int i = 0; i < dp.nr_bps; i++)
		if (dp.bps[i].pid == pid && dp.bps[i].addr == addr && (hw < 0 || dp.bps[i].hw == hw))
			return i;
	return -1;
}

/* Z0 and Z1 share one int3 where both are at one address (mu held). */
static int insert_int3(int64_t pid, uint64_t addr, bool hw)
{
	uint8_t orig;
	int other = find_bp(pid, addr, -1);
	if (find_bp(pid, addr, hw) >= 0)
		return 0;
	if (dp.nr_bps == MAX_BPS)
		return -ENOSPC;
	if (other >= 0)
		orig = dp.bps[other].orig;
	else if (read_locked(addr, &orig, 1, (pid_t)pid) != 1 || write_locked(addr, &int3, 1, (pid_t)pid) != 1)
		return -EFAULT;
	dp.bps[dp.nr_bps++] = (struct sw_bp){ pid, addr, orig, hw };
	return 0;
}

static int remove_int3(int64_t pid, uint64_t addr, bool hw)
{
	int i = find_bp(pid, addr, hw);
	if (i < 0)
		return -ENOENT;
	uint8_t orig = dp.bps[i].orig;
	dp.bps[i] = dp.bps[--dp.nr_bps];
	if (find_bp(pid, addr, -1) >= 0)
		return 0;
	return write_locked(addr, &orig, 1, (pid_t)pid) == 1 ? 0 : -EFAULT;
}

static const uint32_t watch_kind[] = {
	[GDB_BP_WRITE] = KVMBOX_BP_WRITE, [GDB_BP_READ] = KVMBOX_BP_READ, [GDB_BP_ACCESS] = KVMBOX_BP_ACCESS,
};

static int dp_insert_bp(void *ctx, struct gdb_tid tid, enum gdb_bp_type type, uint64_t addr, int len)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	int rc = 0, slot = -1;
	for (int i = 0; i < 4 && type != GDB_BP_SW; i++)
		if (dp.watch[i].used && dp.watch[i].type == type && dp.watch[i].pid == tid.pid &&
		    dp.watch[i].addr == addr && dp.watch[i].len == len)
			goto out; /* already there */
	for (int i = 0; i < 4 && slot < 0; i++)
		if (!dp.watch[i].used)
			slot = i;
	if (!dp.hc)
		rc = -ESRCH;
	else if (type == GDB_BP_SW)
		rc = insert_int3(tid.pid, addr, false);
	else if (slot < 0)
		rc = -ENOSPC;
	else if (type == GDB_BP_HW)
		rc = insert_int3(tid.pid, addr, true); /* debug registers do not fire for ring 3 everywhere */
	else
		rc = (int)issue_locked(KVMBOX_CMD_SET_BP, (uint32_t)tid.pid, 0, addr, (uint32_t)len, (uint64_t)slot,
				       watch_kind[type]);
	if (!rc && type != GDB_BP_SW)
		dp.watch[slot] = (typeof(dp.watch[0])){ type, tid.pid, addr, len, true };
out:
	pthread_mutex_unlock(&dp.mu);
	return rc;
}

static int dp_remove_bp(void *ctx, struct gdb_tid tid, enum gdb_bp_type type, uint64_t addr, int len)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	int rc = -ENOENT;
	if (!dp.hc) {
		rc = -ESRCH;
	} else if (type == GDB_BP_SW) {
		rc = remove_int3(tid.pid, addr, false);
	} else {
		/* A fork child has copies of the Z1 int3s (gdb takes them out) but none of the
		   slots: its copies of protected pages got their permissions back at the fork. */
		if (type == GDB_BP_HW)
			rc = remove_int3(tid.pid, addr, true);
		else if (debugged(tid.pid))
			rc = 0;
		for (int i = 0; i < 4; i++)
			if (dp.watch[i].used && dp.watch[i].type == type && dp.watch[i].pid == tid.pid &&
			    dp.watch[i].addr == addr && dp.watch[i].len == len) {
				dp.watch[i].used = false;
				if (type != GDB_BP_HW)
					rc = (int)issue_locked(KVMBOX_CMD_CLEAR_BP, (uint32_t)tid.pid, 0, 0, 0, (uint64_t)i, 0);
				break;
			}
	}
	pthread_mutex_unlock(&dp.mu);
	return rc;
}

static int dp_resume(void *ctx, const struct gdb_resume *a, int n)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	int rc = -ESRCH;
	if (dp.hc) {
		int sig = 0;
		int64_t step_tid = -1;
		for (int i = 0; i < n; i++) {
			bool self = a[i].tid.pid == dp.last.pid && a[i].tid.tid == dp.last.tid;
			if (self)
				sig = a[i].signo;
			if (a[i].kind == GDB_RESUME_STEP && (step_tid < 0 || self))
				step_tid = a[i].tid.tid;
		}
		/* The vCPU is parked: the slow path is in place before the thread runs. */
		stepping = step_tid >= 0;
		struct kvmbox_shared_page *sp = shared();
		if (sp)
			publish_enabled(sp);
		if (step_tid >= 0)
			issue_locked(KVMBOX_CMD_STEP, dp.last.pid, step_tid == dp.last.tid ? 0 : (uint32_t)step_tid,
				     0, 0, (uint64_t)sig, 0);
		else
			issue_locked(KVMBOX_CMD_RESUME, 0, 0, 0, 0, (uint64_t)sig, 0);
		rc = 0;
	}
	pthread_mutex_unlock(&dp.mu);
	return rc;
}

/* A stop gdb does not see: answer it here and wait for the next (true). */
static bool handle_internally(const struct kvmbox_stop_record *s)
{
	if (!debugged(s->pid)) {
		/* A process gdb does not debug (a detached fork child or parent): it runs on, its signals as they are. */
		uint64_t sig = s->event == KVMBOX_EV_SIGNAL || s->event == KVMBOX_EV_BREAKPOINT ? (uint64_t)s->signo : 0;
		issue_locked(KVMBOX_CMD_RESUME, 0, 0, 0, 0, sig, 0);
		return true;
	}
	switch (s->event) {
	case KVMBOX_EV_FORK:
	case KVMBOX_EV_VFORK: {
		bool fork = s->event == KVMBOX_EV_FORK;
		if (fork ? dp.fork_events : dp.vfork_events) {
			/* gdb gets the child, stopped (one vCPU: it cannot run before the parent
			   resumes), with copies of the parent's int3s it takes out itself. */
			if (dp.npids < MAX_PROCS)
				dp.pids[dp.npids++] = (int64_t)s->aux;
			for (int i = 0, n = dp.nr_bps; fork && i < n && dp.nr_bps < MAX_BPS; i++)
				if (dp.bps[i].pid == s->pid) {
					dp.bps[dp.nr_bps] = dp.bps[i];
					dp.bps[dp.nr_bps++].pid = (int64_t)s->aux;
				}
			return false;
		}
		/* gdb does not know of forks: the child runs on without our breakpoints in its copy. */
		for (int i = 0; fork && i < dp.nr_bps; i++)
			if (dp.bps[i].pid == s->pid)
				write_locked(dp.bps[i].addr, &dp.bps[i].orig, 1, (pid_t)s->aux);
		issue_locked(KVMBOX_CMD_RESUME, 0, 0, 0, 0, 0, 0);
		return true;
	}
	case KVMBOX_EV_VFORK_DONE:
	case KVMBOX_EV_EXEC:
		if (s->event == KVMBOX_EV_EXEC) {
			/* The old image went with its int3s and watched pages (the guest forgot those). */
			for (int i = 0; i < dp.nr_bps; i++)
				if (dp.bps[i].pid == s->pid)
					dp.bps[i--] = dp.bps[--dp.nr_bps];
			for (int i = 0; i < 4; i++)
				if (dp.watch[i].pid == s->pid)
					dp.watch[i].used = false;
			save_auxv(s);
		}
		if (s->event == KVMBOX_EV_EXEC ? dp.exec_events : dp.vfork_events)
			return false;
		issue_locked(KVMBOX_CMD_RESUME, 0, 0, 0, 0, 0, 0);
		return true;
	case KVMBOX_EV_SIGNAL:
		if (s->signo > 0 && s->signo <= 64 && dp.pass[s->signo]) {
			/* QPassSignals: no stop; QProgramSignals: whether the program gets it (GDB manual E.4). */
			issue_locked(KVMBOX_CMD_RESUME, 0, 0, 0, 0, dp.nopass_program[s->signo] ? 0 : (uint64_t)s->signo, 0);
			return true;
		}
		return false;
	default:
		return false;
	}
}

static int dp_wait(void *ctx, struct gdb_stop *stop, int wake_fd)
{
	(void)ctx;
	for (;;) {
		pthread_mutex_lock(&dp.mu);
		if (dp.new_stop) {
			dp.new_stop = false;
			struct kvmbox_stop_record s = dp.hc->stop;
			if (handle_internally(&s)) {
				pthread_mutex_unlock(&dp.mu);
				continue;
			}
			dp.last = s;
			memset(stop, 0, sizeof(*stop));
			stop->kind = GDB_STOP_SIGNAL;
			stop->tid = (struct gdb_tid){ s.pid, s.tid };
			stop->signo = s.signo ? s.signo : SIGTRAP;
			switch (s.event) {
			case KVMBOX_EV_BREAKPOINT: {
				/* rip is after the int3 (a trap, SDM vol. 3A 6.5): back to the breakpoint if it is gdb's. */
				uint64_t *f = GUEST_PTR(dp.vm, s.frame_gpa, KVMBOX_TRAP_FRAME_WORDS * 8);
				if (f && find_bp(s.pid, f[16] - 1, -1) >= 0) {
					f[16]--;
					stop->reason = find_bp(s.pid, f[16], false) >= 0 ? GDB_STOP_REASON_SWBREAK :
											   GDB_STOP_REASON_HWBREAK;
				}
				break;
			}
			case KVMBOX_EV_WATCHPOINT: {
				static const enum gdb_stop_reason why[] = {
					[GDB_BP_WRITE] = GDB_STOP_REASON_WATCH, [GDB_BP_READ] = GDB_STOP_REASON_RWATCH,
					[GDB_BP_ACCESS] = GDB_STOP_REASON_AWATCH,
				};
				enum gdb_bp_type type = s.aux < 4 ? dp.watch[s.aux].type : GDB_BP_WRITE;
				stop->reason = type >= GDB_BP_WRITE ? why[type] : GDB_STOP_REASON_WATCH;
				stop->addr = s.fault_addr;
				break;
			}
			case KVMBOX_EV_SYSCALL_ENTRY:
				stop->reason = GDB_STOP_REASON_SYSCALL_ENTRY;
				stop->value = s.syscall_nr;
				break;
			case KVMBOX_EV_SYSCALL_EXIT:
				stop->reason = GDB_STOP_REASON_SYSCALL_RETURN;
				stop->value = s.syscall_nr;
				break;
			case KVMBOX_EV_FORK:
			case KVMBOX_EV_VFORK:
				stop->reason = s.event == KVMBOX_EV_FORK ? GDB_STOP_REASON_FORK : GDB_STOP_REASON_VFORK;
				stop->child = (struct gdb_tid){ (int64_t)s.aux, (int64_t)s.aux };
				break;
			case KVMBOX_EV_VFORK_DONE:
				stop->reason = GDB_STOP_REASON_VFORKDONE;
				break;
			case KVMBOX_EV_EXEC: {
				char link[64];
				snprintf(link, sizeof(link), "/proc/%u/exe", s.pid);
				int64_t n = file_cmd_locked(link, KVMBOX_FILE_READLINK, 0, sizeof(stop->path) - 1);
				stop->reason = GDB_STOP_REASON_EXEC;
				memcpy(stop->path, dp.hc->data, n > 0 ? (size_t)n : 0);
				break;
			}
			case KVMBOX_EV_EXIT: {
				int st = (int)s.aux;
				forget_pid(s.pid);
				dp.exited = dp.npids == 0;
				if (st & 0x7f) {
					stop->kind = GDB_STOP_KILLED;
					stop->signo = st & 0x7f;
				} else {
					stop->kind = GDB_STOP_EXITED;
					stop->status = (st >> 8) & 0xff;
				}
				break;
			}
			default:
				break;
			}
			pthread_mutex_unlock(&dp.mu);
			return 1;
		}
		pthread_mutex_unlock(&dp.mu);
		struct pollfd p[2] = { { dp.efd, POLLIN, 0 }, { wake_fd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(dp.efd, &v, 8) < 0 && errno != EAGAIN)
				return -errno;
		}
		if (p[1].revents)
			return 0;
	}
}

/* gdb's 0x03: an MSI the guest kernel turns into SIGINT for the program (its delivery is the stop). */
static void dp_interrupt(void *ctx)
{
	(void)ctx;
	struct kvm_msi msi = { .address_lo = 0xfee00000u, .data = KVMBOX_DEBUG_INTERRUPT_VECTOR };
	int r = -1;
	pthread_mutex_lock(&dp.mu);
	struct kvmbox_shared_page *sp = shared();
	if (sp && dp.npids)
		sp->interrupt_pid = (uint32_t)dp.pids[0];
	pthread_mutex_unlock(&dp.mu);
	if (!dp.vm->lapic)
		warn("process mode: no in-kernel LAPIC: the program cannot be interrupted");
	else if ((r = __vm_ioctl(dp.vm, KVM_SIGNAL_MSI, &msi)) < 0)
		warn("process mode: KVM_SIGNAL_MSI: %s", strerror(errno));
	else if (r == 0)
		warn("process mode: the guest's APIC refused the interrupt (api.rst: KVM_SIGNAL_MSI returns 0)");
}

/* gdb lets go of one of several processes (detach-on-fork): its breakpoints out, it runs on (mu held). */
static void let_go_locked(int64_t pid)
{
	for (int i = 0; i < dp.nr_bps; i++)
		if (dp.bps[i].pid == pid) {
			write_locked(dp.bps[i].addr, &dp.bps[i].orig, 1, (pid_t)pid);
			dp.bps[i--] = dp.bps[--dp.nr_bps];
		}
	for (int i = 0; i < 4; i++)
		if (dp.watch[i].used && dp.watch[i].pid == pid) {
			dp.watch[i].used = false;
			if (dp.watch[i].type != GDB_BP_HW)
				issue_locked(KVMBOX_CMD_CLEAR_BP, (uint32_t)pid, 0, 0, 0, (uint64_t)i, 0);
		}
	forget_pid(pid);
	dp.nr_threads = -1;
}

static bool one_of_several(int64_t pid)
{
	return pid > 0 && dp.hc && debugged(pid) && dp.npids > 1;
}

static int dp_kill(void *ctx, int64_t pid)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	int rc = dp.hc ? 0 : -ESRCH;
	if (one_of_several(pid) && pid != dp.last.pid) {
		let_go_locked(pid);
		rc = (int)issue_locked(KVMBOX_CMD_KILL, (uint32_t)pid, 0, 0, 0, 0, 0);
		rc = rc < 0 ? rc : 1;
	} else if (dp.hc) {
		set_events(0);
		dp.active = false;
		issue_locked(KVMBOX_CMD_KILL, (uint32_t)pid, 0, 0, 0, 0, 0);
	}
	pthread_mutex_unlock(&dp.mu);
	return rc;
}

static void detach_locked(void)
{
	if (!dp.hc)
		return;
	for (int i = 0; i < dp.nr_bps; i++)
		write_locked(dp.bps[i].addr, &dp.bps[i].orig, 1, (pid_t)dp.bps[i].pid);
	dp.nr_bps = 0;
	memset(dp.watch, 0, sizeof(dp.watch));
	set_events(0);
	issue_locked(KVMBOX_CMD_DETACH, 0, 0, 0, 0, 0, 0);
}

static int dp_detach(void *ctx, int64_t pid)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	if (one_of_several(pid)) {
		/* The others stay stopped; the stopped thread, if it was this process's, runs on at the next resume. */
		let_go_locked(pid);
		pthread_mutex_unlock(&dp.mu);
		return 1;
	}
	/*
	 * The last one: the session ends, and dp_session_end lets the program
	 * go once the OK went out (let go now, it could run to its exit and end
	 * kvmbox before gdb had its answer).
	 */
	pthread_mutex_unlock(&dp.mu);
	return 0;
}

static void dp_session_end(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	if (dp.active && !dp.exited)
		detach_locked();
	dp.active = false;
	set_events(0);
	pthread_cond_broadcast(&dp.cv);
	pthread_mutex_unlock(&dp.mu);
}

static ssize_t copy_out(const void *obj, size_t size, uint64_t offset, void *buf, size_t len)
{
	if (offset >= size)
		return 0;
	size_t n = size - offset < len ? size - offset : len;
	memcpy(buf, (const uint8_t *)obj + offset, n);
	return (ssize_t)n;
}

static ssize_t dp_xfer_read(void *ctx, struct gdb_tid tid, const char *object, const char *annex, uint64_t offset,
			    void *buf, size_t len)
{
	(void)ctx;
	if (!strcmp(object, "exec-file")) {
		/* The guest's /proc/PID/exe (it changes with execve). */
		char link[64], path[KVMBOX_PATH_MAX];
		uint64_t pid = (uint64_t)tid.pid;
		if (*annex && sscanf(annex, "%" SCNx64, &pid) != 1)
			return -EINVAL;
		snprintf(link, sizeof(link), "/proc/%" PRIu64 "/exe", pid);
		pthread_mutex_lock(&dp.mu);
		int64_t n = file_cmd_locked(link, KVMBOX_FILE_READLINK, 0, sizeof(path));
		if (n > 0)
			memcpy(path, dp.hc->data, (size_t)n);
		pthread_mutex_unlock(&dp.mu);
		return n < 0 ? n : copy_out(path, (size_t)n, offset, buf, len);
	}
	if (!strcmp(object, "auxv"))
		return copy_out(dp.auxv, dp.auxv_len, offset, buf, len);
	if (!strcmp(object, "siginfo")) {
		/* Linux's x86-64 siginfo_t: signo, errno, code, then the union at 16 (si_addr for faults). */
		uint8_t si[128] = { 0 };
		pthread_mutex_lock(&dp.mu);
		int32_t signo = dp.last.signo, code = dp.last.si_code;
		uint64_t addr = dp.last.fault_addr;
		pthread_mutex_unlock(&dp.mu);
		if (!signo)
			return -EINVAL;
		memcpy(si, &signo, 4);
		memcpy(si + 8, &code, 4);
		memcpy(si + 16, &addr, 8);
		return copy_out(si, sizeof(si), offset, buf, len);
	}
	return -EOPNOTSUPP;
}

/* /proc/PID/cmdline of the debugged process: the VMM keeps argv (the guest does not). */
static bool is_cmdline(const char *path)
{
	char want[64];
	for (int i = 0; i < dp.npids; i++) {
		snprintf(want, sizeof(want), "/proc/%lld/cmdline", (long long)dp.pids[i]);
		if (!strcmp(path, want))
			return true;
	}
	return !strcmp(path, "/proc/self/cmdline");
}

static ssize_t dp_file_read(void *ctx, int64_t pid, const char *path, uint64_t offset, void *buf, size_t len)
{
	(void)ctx;
	(void)pid;
	if (is_cmdline(path))
		return copy_out(dp.cmdline, dp.cmdline_len, offset, buf, len);
	pthread_mutex_lock(&dp.mu);
	size_t done = 0;
	int64_t n = 0;
	while (done < len) {
		n = file_cmd_locked(path, KVMBOX_FILE_READ, offset + done, len - done);
		if (n <= 0)
			break;
		memcpy((uint8_t *)buf + done, dp.hc->data, (size_t)n);
		done += (size_t)n;
	}
	pthread_mutex_unlock(&dp.mu);
	return done ? (ssize_t)done : n;
}

static int dp_file_stat(void *ctx, int64_t pid, const char *path, struct gdb_file_stat *st)
{
	(void)ctx;
	(void)pid;
	if (is_cmdline(path)) {
		*st = (struct gdb_file_stat){ .mode = 0100444, .nlink = 1 };
		return 0;
	}
	pthread_mutex_lock(&dp.mu);
	int64_t rc = file_cmd_locked(path, KVMBOX_FILE_STAT, 0, sizeof(struct kvmbox_file_stat));
	if (rc == 0) {
		struct kvmbox_file_stat k;
		memcpy(&k, dp.hc->data, sizeof(k));
		*st = (struct gdb_file_stat){ .size = k.size, .ino = k.ino, .mode = k.mode, .nlink = k.nlink };
	}
	pthread_mutex_unlock(&dp.mu);
	return (int)rc;
}

static ssize_t dp_file_readlink(void *ctx, int64_t pid, const char *path, char *buf, size_t len)
{
	(void)ctx;
	(void)pid;
	pthread_mutex_lock(&dp.mu);
	int64_t n = file_cmd_locked(path, KVMBOX_FILE_READLINK, 0, len);
	if (n > 0)
		memcpy(buf, dp.hc->data, (size_t)n);
	pthread_mutex_unlock(&dp.mu);
	return (ssize_t)n;
}

static int dp_catch_syscalls(void *ctx, bool enable, const uint64_t *nrs, int n)
{
	(void)ctx;
	pthread_mutex_lock(&dp.mu);
	struct kvmbox_shared_page *sp = shared();
	int rc = sp ? 0 : -EIO;
	if (sp) {
		for (int i = 0; i < KVMBOX_MAX_SYSCALLS / 64; i++)
			sp->syscall_filter[i] = enable && n == 0 ? ~0ull : 0;
		for (int i = 0; enable && i < n; i++)
			if (nrs[i] < KVMBOX_MAX_SYSCALLS)
				sp->syscall_filter[nrs[i] / 64] |= 1ull << (nrs[i] % 64);
		set_events(enable ? STEP_EVENTS | SYSCALL_EVENTS : STEP_EVENTS);
	}
	pthread_mutex_unlock(&dp.mu);
	return rc;
}

static int dp_pass_signals(void *ctx, const bool pass[65])
{
	(void)ctx;
	memcpy(dp.pass, pass, sizeof(dp.pass));
	return 0;
}

static int dp_program_signals(void *ctx, const bool program[65])
{
	(void)ctx;
	for (int s = 0; s < 65; s++)
		dp.nopass_program[s] = !program[s];
	return 0;
}

const struct gdb_target_ops debug_process_ops = {
	.caps = dp_caps,
	.threads = dp_threads,
	.thread_alive = dp_thread_alive,
	.get_regs = dp_get_regs,
	.set_regs = dp_set_regs,
	.read_mem = dp_read_mem,
	.write_mem = dp_write_mem,
	.insert_bp = dp_insert_bp,
	.remove_bp = dp_remove_bp,
	.resume = dp_resume,
	.wait = dp_wait,
	.interrupt = dp_interrupt,
	.kill = dp_kill,
	.detach = dp_detach,
	.session_end = dp_session_end,
	.xfer_read = dp_xfer_read,
	.catch_syscalls = dp_catch_syscalls,
	.pass_signals = dp_pass_signals,
	.program_signals = dp_program_signals,
	.events = dp_events,
	.file_read = dp_file_read,
	.file_stat = dp_file_stat,
	.file_readlink = dp_file_readlink,
};

bool debug_process_enabled(void)
{
	return dp.vm != NULL;
}
