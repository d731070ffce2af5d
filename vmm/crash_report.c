/* Crash, panic and unexpected-exit reports: registers, code bytes, symbolized frame-pointer backtraces. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "crash_report.h"
#include "elf_symbols.h"
#include "guest_mem.h"
#include "kvm.h"
#include "log.h"

static const char *const signal_names[] = {
	[1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP",
	[6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE", [9] = "SIGKILL", [10] = "SIGUSR1",
	[11] = "SIGSEGV", [12] = "SIGUSR2", [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM",
	[16] = "SIGSTKFLT", [17] = "SIGCHLD", [18] = "SIGCONT", [19] = "SIGSTOP", [20] = "SIGTSTP",
	[21] = "SIGTTIN", [22] = "SIGTTOU", [23] = "SIGURG", [24] = "SIGXCPU", [25] = "SIGXFSZ",
	[26] = "SIGVTALRM", [27] = "SIGPROF", [28] = "SIGWINCH", [29] = "SIGIO", [30] = "SIGPWR",
	[31] = "SIGSYS",
};

/* Exception mnemonics (SDM vol. 3A 6.3.1, table 6-1). */
static const char *const trap_names[] = {
	[0] = "#DE", [1] = "#DB", [2] = "NMI", [3] = "#BP", [4] = "#OF", [5] = "#BR", [6] = "#UD",
	[7] = "#NM", [8] = "#DF", [10] = "#TS", [11] = "#NP", [12] = "#SS", [13] = "#GP",
	[14] = "#PF", [16] = "#MF", [17] = "#AC", [18] = "#MC", [19] = "#XM", [20] = "#VE",
	[21] = "#CP",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *signal_name(int s)
{
	return s > 0 && (size_t)s < N(signal_names) && signal_names[s] ? signal_names[s] : "SIG?";
}

static const char *trap_name(uint64_t v)
{
	return v < N(trap_names) && trap_names[v] ? trap_names[v] : "vector";
}

/* si_code names (include/uapi/asm-generic/siginfo.h). */
static const char *si_code_name(int signo, int code)
{
	static const char *const ill[] = { NULL, "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP",
					   "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK" };
	static const char *const fpe[] = { NULL, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
					   "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB" };
	static const char *const segv[] = { NULL, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR" };
	static const char *const bus[] = { NULL, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR" };
	static const char *const trap[] = { NULL, "TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT" };
	switch (code) {
	case 0: return "SI_USER";
	case 0x80: return "SI_KERNEL";
	case -1: return "SI_QUEUE";
	case -2: return "SI_TIMER";
	case -6: return "SI_TKILL";
	}
#define PICK(t) return code > 0 && (size_t)code < N(t) ? t[code] : "?"
	switch (signo) {
	case 4: PICK(ill);
	case 8: PICK(fpe);
	case 11: PICK(segv);
	case 7: PICK(bus);
	case 5: PICK(trap);
	}
#undef PICK
	return "?";
}

/* Whole ELF file into a malloc'd buffer (only on the crash path), or NULL. */
static void *read_file(const char *path, uint64_t offset, uint64_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (!size && fstat(fd, &st) == 0)
		size = st.st_size;
	void *buf = size && size < (1ull << 31) ? malloc(size) : NULL;
	if (buf && pread(fd, buf, size, offset) != (ssize_t)size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = size;
	return buf;
}

struct symbols {
	void *elf;
	size_t len;
	uint64_t bias;
	uint64_t lo, hi;          /* addresses this ELF can name: [lo, hi) */
};

/* "function+0xoff" for addr, or ""; *start (if given) gets the function's address or 0. */
static const char *symbolize_at(const struct symbols *s, uint64_t addr, char *out, size_t n,
				uint64_t *start)
{
	uint64_t st = 0;
	out[0] = 0;
	if (start)
		*start = 0;
	if (s->elf && addr >= s->lo && addr < s->hi && addr >= s->bias &&
	    elf_symbolize(s->elf, s->len, addr - s->bias, out, n, &st) == 0) {
		if (start)
			*start = st + s->bias;
		return out;
	}
	return "";
}

/*
 * For a return address: the call it returns from may be a function's last
 * instruction (a call to a noreturn function), so look up addr - 1 and show
 * the offset of addr itself.
 */
static const char *symbolize(const struct symbols *s, uint64_t addr, char *out, size_t n)
{
	uint64_t start;
	if (!symbolize_at(s, addr - 1, out, n, &start)[0])
		return "";
	char *plus = strrchr(out, '+');
	if (plus)
		snprintf(plus, n - (size_t)(plus - out), "+0x%llx", (unsigned long long)(addr - start));
	return out;
}

/*
 * Where the return address of the innermost function is when it has not (yet)
 * pushed a frame: a leaf built without one (GCC omits leaf frames even with
 * -fno-omit-frame-pointer), or a fault on its first instruction. Returns the
 * stack slot's address, or 0 when the rbp chain already covers the caller.
 */
static uint64_t leaf_return_slot(struct vm *vm, uint64_t cr3, uint64_t fn, uint64_t rip, uint64_t rsp)
{
	uint8_t code[8];
	if (!fn || guest_read_gva(vm, cr3, fn, code, sizeof(code)) != sizeof(code))
		return 0;
	unsigned off = 0;
	if (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa)
		off = 4;  /* endbr64 */
	bool frame = code[off] == 0x55 && code[off + 1] == 0x48 && code[off + 2] == 0x89 &&
		     code[off + 3] == 0xe5;  /* push %rbp; mov %rsp,%rbp */
	if (!frame || rip <= fn + off)
		return rsp;
	if (rip == fn + off + 1)
		return rsp + 8;  /* pushed rbp, not yet the frame */
	return 0;
}

/* Frame-pointer walk: [rbp] = caller's rbp, [rbp + 8] = return address (SysV x86-64 ABI 3.4.1). */
static void backtrace(struct vm *vm, uint64_t cr3, uint64_t rip, uint64_t rsp, uint64_t rbp,
		      const struct symbols *syms)
{
	char sym[256];
	uint64_t fn;
	int i = 1;
	warn("  backtrace:");
	warn("    #0 0x%016llx %s", (unsigned long long)rip, symbolize_at(syms, rip, sym, sizeof(sym), &fn));
	uint64_t slot = leaf_return_slot(vm, cr3, fn, rip, rsp), ret;
	/* Only a value that names a function is taken for a return address here. */
	if (slot && guest_read_gva(vm, cr3, slot, &ret, 8) == 8 && ret >= 4096 &&
	    symbolize(syms, ret, sym, sizeof(sym))[0] && ret != rip)
		warn("    #%d 0x%016llx %s", i++, (unsigned long long)ret, symbolize(syms, ret, sym, sizeof(sym)));
	for (; i < KVMBOX_BACKTRACE_MAX; i++) {
		uint64_t frame[2];
		if (!rbp || rbp % 8 || guest_read_gva(vm, cr3, rbp, frame, sizeof(frame)) != sizeof(frame))
			break;
		/* A return address in the first page (argc, a flag) means the chain left the frames. */
		if (frame[1] < 4096)
			break;
		warn("    #%d 0x%016llx %s", i, (unsigned long long)frame[1],
		     symbolize(syms, frame[1], sym, sizeof(sym)));
		if (frame[0] <= rbp)  /* the chain must go up the stack, or it is not a chain */
			break;
		rbp = frame[0];
	}
}

static void code_bytes(struct vm *vm, uint64_t cr3, uint64_t rip)
{
	uint8_t code[16];
	if (guest_read_gva(vm, cr3, rip, code, sizeof(code)) != sizeof(code)) {
		warn("  code at rip: unreadable");
		return;
	}
	char line[64];
	for (int i = 0; i < 16; i++)
		snprintf(line + 3 * i, sizeof(line) - 3 * i, "%02x ", code[i]);
	line[47] = 0;
	warn("  code at rip: %s", line);
}

#define X(v) (unsigned long long)(v)

void crash_report_user(struct vm *vm, const struct kvmbox_hc_crash *c)
{
	const struct kvmbox_user_regs *r = &c->regs;
	char comm[17];
	snprintf(comm, sizeof(comm), "%.16s", c->comm);
	/* Name the program by its path when it is the one kvmbox started. */
	bool first = vm->prog_comm[0] && !strcmp(comm, vm->prog_comm);
	warn("program %s (pid %u) killed by signal %s (%d)", first ? vm->prog_path : comm, c->pid,
	     signal_name(c->signo), c->signo);
	if (c->signo == 4 || c->signo == 5 || c->signo == 7 || c->signo == 8 || c->signo == 11)
		warn("  si_code %s (%d), fault address 0x%016llx", si_code_name(c->signo, c->si_code),
		     c->si_code, X(c->fault_addr));
	else
		warn("  si_code %s (%d)", si_code_name(c->signo, c->si_code), c->si_code);
	if (c->vector != ~0ull)
		warn("  trap %s (vector %llu), error code 0x%llx", trap_name(c->vector), X(c->vector),
		     X(c->error_code));
	warn("  rip 0x%016llx rsp 0x%016llx rflags 0x%016llx", X(r->rip), X(r->rsp), X(r->rflags));
	warn("  rax 0x%016llx rbx 0x%016llx rcx 0x%016llx rdx 0x%016llx", X(r->rax), X(r->rbx), X(r->rcx), X(r->rdx));
	warn("  rsi 0x%016llx rdi 0x%016llx rbp 0x%016llx rsp 0x%016llx", X(r->rsi), X(r->rdi), X(r->rbp), X(r->rsp));
	warn("  r8  0x%016llx r9  0x%016llx r10 0x%016llx r11 0x%016llx", X(r->r8), X(r->r9), X(r->r10), X(r->r11));
	warn("  r12 0x%016llx r13 0x%016llx r14 0x%016llx r15 0x%016llx", X(r->r12), X(r->r13), X(r->r14), X(r->r15));
	warn("  fs_base 0x%016llx gs_base 0x%016llx cs 0x%llx ss 0x%llx orig_rax 0x%llx",
	     X(r->fs_base), X(r->gs_base), X(r->cs), X(r->ss), X(r->orig_rax));
	code_bytes(vm, c->cr3, r->rip);
	struct symbols syms = { 0 };
	if (first && vm->prog_path[0]) {
		syms.elf = read_file(vm->prog_host_path, vm->prog_host_offset, vm->prog_size, &syms.len);
		syms.bias = vm->prog_bias;
		syms.lo = vm->prog_bias + vm->prog_lo;
		syms.hi = vm->prog_bias + vm->prog_hi;
	}
	backtrace(vm, c->cr3, r->rip, r->rsp, r->rbp, &syms);
	free(syms.elf);
}

void crash_report_panic(struct vcpu *vcpu, const struct kvmbox_hc_panic *p)
{
	struct vm *vm = vcpu->vm;
	char msg[KVMBOX_PANIC_MSG_MAX + 1];
	memcpy(msg, p->message, KVMBOX_PANIC_MSG_MAX);
	msg[KVMBOX_PANIC_MSG_MAX] = 0;
	for (char *m = msg; *m; m++)  /* one line per message: no control characters from the guest */
		if ((unsigned char)*m < 0x20 && *m != '\t')
			*m = ' ';
	warn("guest kernel panic: %s", msg);

	struct symbols syms = { 0 };
	syms.elf = read_file(vm->kernel_path, 0, 0, &syms.len);
	syms.lo = KVMBOX_KERNEL_BASE;
	syms.hi = ~0ull;
	char sym[256];
	uint64_t cr3, rip, rsp, rbp;
	if (p->has_regs) {
		const struct kvmbox_kernel_regs *r = &p->regs;
		warn("  cpu %u, trap %s (vector %llu), error code 0x%llx, cr2 0x%016llx", p->cpu,
		     trap_name(r->vector), X(r->vector), X(r->error_code), X(r->cr2));
		warn("  rip 0x%016llx %s", X(r->rip), symbolize(&syms, r->rip, sym, sizeof(sym)));
		warn("  rsp 0x%016llx rflags 0x%016llx cs 0x%llx ss 0x%llx cr3 0x%016llx",
		     X(r->rsp), X(r->rflags), X(r->cs), X(r->ss), X(r->cr3));
		warn("  rax 0x%016llx rbx 0x%016llx rcx 0x%016llx rdx 0x%016llx", X(r->rax), X(r->rbx), X(r->rcx), X(r->rdx));
		warn("  rsi 0x%016llx rdi 0x%016llx rbp 0x%016llx r8  0x%016llx", X(r->rsi), X(r->rdi), X(r->rbp), X(r->r8));
		warn("  r9  0x%016llx r10 0x%016llx r11 0x%016llx r12 0x%016llx", X(r->r9), X(r->r10), X(r->r11), X(r->r12));
		warn("  r13 0x%016llx r14 0x%016llx r15 0x%016llx", X(r->r13), X(r->r14), X(r->r15));
		cr3 = r->cr3;
		rip = r->rip;
		rsp = r->rsp;
		rbp = r->rbp;
	} else {
		/* No fault frame: walk from the panic call itself (the vCPU is at the hypercall's out). */
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		vcpu_ioctl(vcpu, KVM_GET_REGS, &regs);
		vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs);
		warn("  cpu %u, no fault frame; at the panic call:", p->cpu);
		cr3 = sregs.cr3;
		rip = regs.rip;
		rsp = regs.rsp;
		rbp = regs.rbp;
	}
	backtrace(vm, cr3, rip, rsp, rbp, &syms);
	free(syms.elf);
	exit(EXIT_VMM_ERROR);
}

void crash_dump_vcpu(struct vcpu *vcpu, const char *what)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	warn("%s", what);
	if (__vcpu_ioctl(vcpu, KVM_GET_REGS, &r) < 0 || __vcpu_ioctl(vcpu, KVM_GET_SREGS, &s) < 0) {
		warn("  (cannot read the vCPU registers: %s)", strerror(errno));
		return;
	}
	warn("  rip 0x%016llx rsp 0x%016llx rflags 0x%016llx", X(r.rip), X(r.rsp), X(r.rflags));
	warn("  rax 0x%016llx rbx 0x%016llx rcx 0x%016llx rdx 0x%016llx", X(r.rax), X(r.rbx), X(r.rcx), X(r.rdx));
	warn("  rsi 0x%016llx rdi 0x%016llx rbp 0x%016llx r8  0x%016llx", X(r.rsi), X(r.rdi), X(r.rbp), X(r.r8));
	warn("  r9  0x%016llx r10 0x%016llx r11 0x%016llx r12 0x%016llx", X(r.r9), X(r.r10), X(r.r11), X(r.r12));
	warn("  r13 0x%016llx r14 0x%016llx r15 0x%016llx", X(r.r13), X(r.r14), X(r.r15));
	warn("  cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx", X(s.cr0), X(s.cr2), X(s.cr3),
	     X(s.cr4), X(s.efer));
	const struct kvm_segment *seg[] = { &s.cs, &s.ss, &s.ds, &s.es, &s.fs, &s.gs, &s.tr, &s.ldt };
	static const char *const segn[] = { "cs", "ss", "ds", "es", "fs", "gs", "tr", "ldt" };
	for (int i = 0; i < 8; i++)
		warn("  %-3s sel 0x%04x base 0x%016llx limit 0x%08x type %u dpl %u p %u s %u l %u db %u g %u%s",
		     segn[i], seg[i]->selector, X(seg[i]->base), seg[i]->limit, seg[i]->type, seg[i]->dpl,
		     seg[i]->present, seg[i]->s, seg[i]->l, seg[i]->db, seg[i]->g,
		     seg[i]->unusable ? " unusable" : "");
	warn("  gdt base 0x%016llx limit 0x%x, idt base 0x%016llx limit 0x%x", X(s.gdt.base),
	     s.gdt.limit, X(s.idt.base), s.idt.limit);
	uint8_t code[16];
	if (guest_read_gva(vcpu->vm, s.cr3, r.rip, code, sizeof(code)) == sizeof(code)) {
		char line[64];
		for (int i = 0; i < 16; i++)
			snprintf(line + 3 * i, sizeof(line) - 3 * i, "%02x ", code[i]);
		line[47] = 0;
		warn("  code at rip: %s", line);
	}
	struct symbols syms = { 0 };
	syms.elf = read_file(vcpu->vm->kernel_path, 0, 0, &syms.len);
	syms.lo = KVMBOX_KERNEL_BASE;
	syms.hi = ~0ull;
	if ((s.cs.selector & 3) == 0)
		backtrace(vcpu->vm, s.cr3, r.rip, r.rsp, r.rbp, &syms);
	free(syms.elf);
}
