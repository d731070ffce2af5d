/* --count-cpl0: guest CPL0 instructions per boot, syscall and trap, by single-stepping (api.rst KVM_SET_GUEST_DEBUG). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cpl0_count.h"
#include "elf_symbols.h"
#include "guest_mem.h"
#include "kvm.h"
#include "syscall_names.h"

/*
 * Each KVM_EXIT_DEBUG under KVM_GUESTDBG_SINGLESTEP follows one executed
 * instruction, and the state at the exit is that of the next one: so every
 * exit counts one instruction at the CPL seen at the previous exit.
 *
 * Ring-3 code may run without any step exits (kvm_pvm runs it natively, and
 * the steps right around sysretq/iretq are not all reported), so a return
 * to user is recognized from the instruction about to run (sysretq, or
 * iretq with a CPL3 cs in its frame, possibly after swapgs): if the next
 * exit is not the instruction after it, user code ran in between.
 */
struct sample_set {
	uint32_t *v;
	size_t n, cap;
};

enum { KEY_SYSCALLS = KVMBOX_MAX_SYSCALLS, KEY_TRAPS = 256, KEY_OTHER = KEY_SYSCALLS + KEY_TRAPS };

static struct {
	struct vm *vm;
	bool sync_regs;           /* regs/sregs come in kvm_run (KVM_CAP_SYNC_REGS) */
	unsigned long entries;    /* kernel entries from user mode so far */
	unsigned long trace_entry; /* KVMBOX_CPL0_TRACE: the entry whose rips to list (~0: boot, ~1: all) */
	bool in_user;             /* user code has run at least once */
	int prev_cpl;
	bool returning;           /* the instruction at the last exit returns to user */
	uint64_t returning_next;  /* ... unless it was swapgs and this is the rip after it */
	uint64_t boot;            /* CPL0 instructions before user code first ran */
	int key;                  /* entry in progress: syscall nr, KEY_SYSCALLS + vector, KEY_OTHER; -1 none */
	uint32_t count;
	/* Kernel symbols that name entries more precisely, when the kernel has them (0 if not). */
	uint64_t stubs_end, syscall_frame, page_fault_entry, trap_common;
	uint64_t idle_halt_end;   /* the rip after the idle loop's sti; hlt */
	bool halting;             /* single-step off across the idle HLT (cpl0_count_step) */
	bool rearm;               /* hardware host: set TF again after every step (keep_tf_across_syscall) */
	struct sample_set sets[KEY_OTHER + 1];
} c;

static void add_sample(int key, uint32_t n)
{
	struct sample_set *s = &c.sets[key];
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

static void report(void)
{
	if (c.key >= 0 && c.count)
		add_sample(c.key, c.count);  /* the entry that ended the VM */
	c.key = -1;
	warn("cpl0 boot-to-user %llu instructions", (unsigned long long)c.boot);
	for (int k = 0; k <= KEY_OTHER; k++) {
		struct sample_set *s = &c.sets[k];
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

static void find_symbols(const char *kernel)
{
	int fd = open(kernel, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	void *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	elf_symbol_addr(m, st.st_size, "isr_stubs_end", &c.stubs_end);
	elf_symbol_addr(m, st.st_size, "syscall_after_hw_frame", &c.syscall_frame);
	elf_symbol_addr(m, st.st_size, "page_fault_entry", &c.page_fault_entry);
	elf_symbol_addr(m, st.st_size, "trap_common", &c.trap_common);
	elf_symbol_addr(m, st.st_size, "idle_halt_end", &c.idle_halt_end);
	munmap(m, st.st_size);
}

/*
 * KVM single-steps a guest by setting RFLAGS.TF (x86.c __kvm_set_rflags), and
 * SYSCALL clears the IA32_FMASK bits in RFLAGS, TF among them (the kernel's
 * syscall_mask): where SYSCALL reaches CPL0 (hardware-virtualized hosts,
 * LSTAR = syscall_entry) stepping would stop at the first kernel instruction
 * and resume only in user mode, so no syscall would be counted. Leave TF set
 * across SYSCALL while counting. (On kvm_pvm hosts LSTAR is
 * KVMBOX_SYSCALL_FAULT_VA and CPL0 is stepped by the emulator: unchanged.)
 * The guest's own sysretq, iretq and popf load RFLAGS from its registers
 * or stack, dropping KVM's TF as well: on those hosts cpl0_count_step sets
 * it again after every step (KVM_SET_GUEST_DEBUG: TF at the current rip),
 * and in the RFLAGS image a return to user mode is about to load
 * (set_tf_for_user), so user code keeps trapping until its next entry.
 * What stays uncounted there: exception and interrupt handlers, whose gates
 * clear TF before their first instruction (DESIGN.md "Host differences").
 */
#define MSR_LSTAR 0xc0000082
#define MSR_SYSCALL_MASK 0xc0000084
#define RFLAGS_TF (1ull << 8)

static void keep_tf_across_syscall(struct vcpu *vcpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} m = { .hdr.nmsrs = 2, .e = { { .index = MSR_LSTAR }, { .index = MSR_SYSCALL_MASK } } };
	if (vcpu_ioctl(vcpu, KVM_GET_MSRS, &m.hdr) != 2)
		die(EXIT_VMM_ERROR, "KVM_GET_MSRS: cannot read LSTAR and FMASK");
	if (m.e[0].data == KVMBOX_SYSCALL_FAULT_VA || !(m.e[1].data & RFLAGS_TF))
		return;
	m.hdr.nmsrs = 1;
	m.e[0] = (struct kvm_msr_entry){ .index = MSR_SYSCALL_MASK, .data = m.e[1].data & ~RFLAGS_TF };
	if (vcpu_ioctl(vcpu, KVM_SET_MSRS, &m.hdr) != 1)
		die(EXIT_VMM_ERROR, "KVM_SET_MSRS: cannot write FMASK");
}

void cpl0_count_start(struct vcpu *vcpu)
{
	keep_tf_across_syscall(vcpu);
	c.rearm = !(vcpu->vm->boot_flags & KVMBOX_BOOT_CPL0_EMULATED);
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
	vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg);
	/* With sync regs KVM copies regs and sregs into kvm_run at every exit: no extra ioctls. */
	int sync = kvm_check_cap(vcpu->vm, KVM_CAP_SYNC_REGS);
	if ((sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) == (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) {
		vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
		c.sync_regs = true;
	}
	c.vm = vcpu->vm;
	c.key = -1;
	const char *t = getenv("KVMBOX_CPL0_TRACE");
	c.trace_entry = !t ? 0 : !strcmp(t, "boot") ? ~0ul : !strcmp(t, "all") ? ~1ul : strtoul(t, NULL, 0);
	find_symbols(vcpu->vm->kernel_path);
	atexit(report);
}

/* Does the instruction at rip return to user mode? (*swapgs: it is swapgs before such a return) */
static bool returns_to_user(uint64_t cr3, uint64_t rip, uint64_t rsp, bool *swapgs)
{
	uint8_t b[8] = { 0 };
	size_t n = guest_read_gva(c.vm, cr3, rip, b, sizeof(b));
	unsigned o = 0;
	*swapgs = n >= 3 && b[0] == 0x0f && b[1] == 0x01 && b[2] == 0xf8;
	if (*swapgs)
		o = 3;
	if (n < o + 2 || b[o] != 0x48)
		return false;
	if (n >= o + 3 && b[o + 1] == 0x0f && b[o + 2] == 0x07)
		return true;  /* sysretq: always to CPL3 */
	if (b[o + 1] != 0xcf)
		return false;
	/* iretq: to user when the cs in its frame (rip, cs, rflags, rsp, ss) has RPL 3 */
	uint64_t cs;
	return guest_read_gva(c.vm, cr3, rsp + 8, &cs, 8) == 8 && (cs & 3) == 3;
}

/*
 * The idle loop's `sti; hlt`: single-stepped, the HLT ends at once and no
 * interrupt is ever delivered, so the guest would spin in idle for good.
 * Across it, stop single-stepping and let hardware execution breakpoints
 * catch the interrupt handler (trap_common: the stub's few instructions go
 * uncounted) or the return past the HLT, where stepping resumes.
 */
static void set_halting(struct vcpu *vcpu, bool on)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
	if (on) {
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
		dbg.arch.debugreg[0] = c.trap_common;
		dbg.arch.debugreg[1] = c.idle_halt_end;
		dbg.arch.debugreg[7] = (1 << 0) | (1 << 2); /* L0, L1: execute, 1 byte (SDM vol. 3B 18.2.4) */
	}
	vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg);
	c.halting = on;
}

/*
 * The instruction at rip (after a swapgs) returns to user mode: put TF into
 * the RFLAGS it loads (r11 for sysretq, the frame's rflags for iretq).
 */
static void set_tf_for_user(struct vcpu *vcpu, uint64_t cr3, uint64_t rip, uint64_t rsp, bool swapgs)
{
	uint8_t b[3] = { 0 };
	if (guest_read_gva(c.vm, cr3, rip + (swapgs ? 3 : 0), b, sizeof(b)) < 2 || b[0] != 0x48)
		return;
	if (b[1] == 0x0f && b[2] == 0x07) {      /* sysretq: rflags = r11 */
		struct kvm_regs regs;
		vcpu_ioctl(vcpu, KVM_GET_REGS, &regs);
		regs.r11 |= RFLAGS_TF;
		vcpu_ioctl(vcpu, KVM_SET_REGS, &regs);
	} else if (b[1] == 0xcf) {               /* iretq: rip, cs, rflags, rsp, ss at rsp */
		uint64_t gpa;
		if (gva_to_gpa(c.vm, cr3, rsp + 16, &gpa) == 0 && (gpa & 7) == 0)
			*(uint64_t *)GUEST_PTR(c.vm, gpa, 8) |= RFLAGS_TF;
	}
}

void cpl0_count_step(struct vcpu *vcpu)
{
	if (c.halting)
		set_halting(vcpu, false);
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	const struct kvm_regs *r = &regs;
	const struct kvm_sregs *s = &sregs;
	if (c.sync_regs) {
		r = &vcpu->run->s.regs.regs;
		s = &vcpu->run->s.regs.sregs;
	} else {
		vcpu_ioctl(vcpu, KVM_GET_REGS, &regs);
		vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs);
	}
	const struct kvmbox_kernel_header *h = &vcpu->vm->khdr;
	int cpl = s->cs.selector & 3;  /* in 64-bit mode CPL = CS.RPL (SDM vol. 3A 5.5) */

	/* The instruction just executed ran at the previous exit's CPL. */
	if (c.prev_cpl == 0) {
		if (!c.in_user)
			c.boot++;
		else if (c.key >= 0)
			c.count++;
	}
	bool user_ran = cpl != 0 || (c.returning && r->rip != c.returning_next);
	if (user_ran) {
		c.in_user = true;
		if (c.key >= 0)
			add_sample(c.key, c.count);
		c.key = -1;
	}
	if (cpl == 0 && (c.prev_cpl != 0 || user_ran)) {
		/* An entry from user mode begins: name it by where it came in. */
		c.entries++;
		uint64_t stubs_end = c.stubs_end ? c.stubs_end : h->isr_stubs + 256 * h->isr_stub_size;
		c.count = 0;
		if (r->rip == h->syscall_entry)
			c.key = r->rax < KVMBOX_MAX_SYSCALLS ? (int)r->rax : KEY_OTHER;
		else if (r->rip >= h->isr_stubs && r->rip < stubs_end)
			c.key = KEY_SYSCALLS + (int)((r->rip - h->isr_stubs) / h->isr_stub_size);
		else if (c.page_fault_entry && r->rip >= c.page_fault_entry &&
			 (!c.trap_common || r->rip < c.trap_common))
			c.key = KEY_SYSCALLS + 14;
		else
			c.key = KEY_OTHER;
	}
	/* Every path into a syscall passes here with rax = the number (SYSCALL or its #PF form). */
	if (cpl == 0 && c.key >= 0 && c.syscall_frame && r->rip == c.syscall_frame)
		c.key = r->rax < KVMBOX_MAX_SYSCALLS ? (int)r->rax : KEY_OTHER;

	/*
	 * KVMBOX_CPL0_TRACE=N: list the rips of kernel entry number N (for
	 * profiling paths); =boot: of the boot; =all: of every entry, each line
	 * with the entry's number and key (the syscall number, or 512 + vector).
	 */
	if (c.trace_entry && cpl == 0 &&
	    (c.trace_entry == ~1ul || (c.trace_entry == ~0ul ? !c.in_user : c.entries == c.trace_entry)))
		fprintf(stderr, "kvmbox: cpl0 trace %lu key %d: rip %#llx\n", c.entries, c.key,
			(unsigned long long)r->rip);

	if (cpl == 0 && c.idle_halt_end && c.trap_common && r->rip == c.idle_halt_end - 1 && (r->rflags & (1 << 9)))
		set_halting(vcpu, true);
	bool swapgs = false;
	c.returning = cpl == 0 && returns_to_user(s->cr3, r->rip, r->rsp, &swapgs);
	c.returning_next = swapgs ? r->rip + 3 : ~0ull;
	c.prev_cpl = cpl;
	if (c.rearm && c.returning)
		set_tf_for_user(vcpu, s->cr3, r->rip, r->rsp, swapgs);
	if (c.rearm && !c.halting) {
		struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
		vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg);
	}
}
