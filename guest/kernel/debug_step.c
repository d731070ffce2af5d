/*
 * Single-stepping exactly one user instruction, and the start-up probes.
 *
 * RFLAGS.TF makes the CPU raise a trap-class #DB after the next instruction
 * (Intel SDM vol. 3A 18.3.1.4). On kvm_pvm hosts the first instruction after
 * an `iretq` to ring 3 was measured not to trap. Where the probe finds that,
 * every return to user mode with TF set goes through a trampoline: `iretq`
 * lands on a `jmp *slot(%rip)` whose slot holds the real rip, the jump is
 * the instruction that does not trap, and the #DB comes after the user's
 * one instruction. Where iretq+TF behaves as the SDM says, the return is
 * direct. The trampoline page is user-accessible and sits in the kernel
 * half, shared by every address space (Linux's vsyscall page address).
 *
 * The probes run the first process's first return to user mode on the
 * trampoline page's probe code, then report the START stop:
 *   step: iretq with TF onto nops; the #DB after nop 1 (normal), after nop 2
 *         (the pvm quirk), or none (the int3 after them: TF does not work);
 *   debug registers: DR0 = a byte of the page, DR7 = write watch (SDM 18.2.4),
 *         then a ring-3 store to it: a #DB after it, or the int3 after it.
 */
#include "debug.h"
#include "mm.h"
#include "lib.h"
#include "platform.h"

#define TRAMP_VA 0xffffffffff600000ull
#define T_JMP 0x000       /* 16 bytes per CPU: jmp *(T_SLOT + 8 * cpu)(%rip) */
#define T_STEP 0x100      /* nop x5; int3 */
#define T_DR 0x200        /* movb $0, T_DATA(%rip); int3 */
#define T_SLOT 0x800
#define T_DATA 0xc00
#define RFLAGS_TF (1ull << 8)

enum { PROBE_NONE, PROBE_STEP, PROBE_DR, PROBE_DONE };
static int probe_state;
static uint64_t probe_rip;    /* the program's real first instruction */
static uint32_t probe_flags;  /* KVMBOX_STOPF_* */
static uint64_t tramp_pa;

uint32_t debug_probe_flags(void) { return probe_flags; }

bool debug_in_trampoline(uint64_t rip) { return tramp_pa && rip - TRAMP_VA < T_SLOT; }

static inline void write_dr(int n, uint64_t v)
{
	if (n == 0)
		__asm__ volatile("mov %0, %%dr0" : : "r"(v));
	else
		__asm__ volatile("mov %0, %%dr7" : : "r"(v));
}

/* One table level below `table` for index i, created user-accessible. */
static uint64_t *next_level(uint64_t *table, unsigned i)
{
	if (!(table[i] & PTE_P)) {
		uint64_t pa = page_alloc_table();
		if (!pa)
			return NULL;
		table[i] = pa | PTE_P | PTE_W | PTE_U;
	} else if (table[i] & PTE_PS) {
		return NULL;
	}
	table[i] |= PTE_U;
	return P2V(table[i] & PTE_ADDR);
}

static bool map_trampoline(void)
{
	uint64_t *kpml4 = P2V(boot_info->kernel_pml4), *upml4 = P2V(this_cpu()->mm->pml4);
	unsigned i4 = (TRAMP_VA >> 39) & 511;
	if ((kpml4[i4] & PTE_ADDR) != (upml4[i4] & PTE_ADDR))
		return false;
	uint64_t *pdpt = next_level(kpml4, i4);
	upml4[i4] = kpml4[i4];
	uint64_t *pd = pdpt ? next_level(pdpt, (TRAMP_VA >> 30) & 511) : NULL;
	uint64_t *pt = pd ? next_level(pd, (TRAMP_VA >> 21) & 511) : NULL;
	uint64_t pa = pt ? page_alloc_zeroed() : 0;
	if (!pa)
		return false;
	uint8_t *c = P2V(pa);
	for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
		uint8_t *j = c + T_JMP + 16 * cpu;
		int32_t disp = (int32_t)(T_SLOT + 8 * cpu) - (int32_t)(T_JMP + 16 * cpu + 6);
		j[0] = 0xff, j[1] = 0x25; /* jmp *disp32(%rip) */
		memcpy(j + 2, &disp, 4);
	}
	memset(c + T_STEP, 0x90, 5);
	c[T_STEP + 5] = 0xcc;
	int32_t disp = T_DATA - (T_DR + 7);
	c[T_DR] = 0xc6, c[T_DR + 1] = 0x05; /* movb $imm8, disp32(%rip) */
	memcpy(c + T_DR + 2, &disp, 4);
	c[T_DR + 6] = 0;
	c[T_DR + 7] = 0xcc;
	pt[(TRAMP_VA >> 12) & 511] = pa | PTE_P | PTE_W | PTE_U;
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" : : : "rax", "memory");
	tramp_pa = pa;
	return true;
}

bool debug_step_setup(struct trap_frame *tf)
{
	if (probe_state != PROBE_NONE || !map_trampoline()) {
		probe_state = PROBE_DONE;
		return false;
	}
	probe_rip = tf->rip;
	tf->rip = TRAMP_VA + T_STEP;
	tf->rflags |= RFLAGS_TF;
	probe_state = PROBE_STEP;
	return true;
}

bool debug_probe_trap(struct trap_frame *tf, unsigned vector)
{
	if (likely(probe_state == PROBE_DONE))
		return false;
	uint64_t off = tf->rip - TRAMP_VA;
	if (probe_state == PROBE_STEP) {
		if (vector == 1 && off == T_STEP + 2)
			probe_flags |= KVMBOX_STOPF_STEP_TRAMP;
		else if (!(vector == 1 && off == T_STEP + 1))
			probe_flags |= KVMBOX_STOPF_STEP_BROKEN;
		tf->rflags &= ~RFLAGS_TF;
		write_dr(0, TRAMP_VA + T_DATA);
		write_dr(7, 1 | (1u << 16)); /* L0, R/W0 = 01 (writes), LEN0 = 00 (1 byte) */
		tf->rip = TRAMP_VA + T_DR;
		probe_state = PROBE_DR;
		return true;
	}
	if (probe_state == PROBE_DR) {
		if (vector == 1 && off == T_DR + 7)
			probe_flags |= KVMBOX_STOPF_DR_WORK;
		write_dr(7, 0);
		tf->rip = probe_rip;
		probe_state = PROBE_DONE;
		debug_start_stop(tf);
		return true;
	}
	return false;
}

void debug_tf_return(struct trap_frame *tf)
{
	if (!(probe_flags & KVMBOX_STOPF_STEP_TRAMP) || probe_state != PROBE_DONE || tf->rip >= KVMBOX_USER_MAP_TOP)
		return;
	unsigned cpu = this_cpu()->cpu;
	*(uint64_t *)P2V(tramp_pa + T_SLOT + 8 * cpu) = tf->rip;
	tf->rip = TRAMP_VA + T_JMP + 16 * cpu;
}
