/*
 * gdb process-mode scenario: stepi must land on exactly one instruction
 * whichever way the kernel returns to user mode. seq() runs 12 known
 * instructions: plain ones, a syscall (the kernel returns from it), and
 * stores to untouched .bss pages (each a demand-zero page fault the kernel
 * resolves and returns from) -- test/cases/gdb_process.sh counts them.
 */
#include <stdio.h>

char dbg_steps_pages[1 << 20];
void seq(void);
__asm__(".text\n.globl seq\n.type seq, @function\nseq:\n"
	"nop\n"
	"nop\n"
	"mov $39, %eax\n"                      /* getpid */
	"syscall\n"
	"nop\n"
	"lea dbg_steps_pages(%rip), %rdx\n"
	"movb $1, 0x40000(%rdx)\n"             /* page faults: far apart, beyond any fault-around */
	"movb $1, 0x80000(%rdx)\n"
	"nop\n"
	"movb $1, 0xc0000(%rdx)\n"
	"xchg %eax, %eax\n"
	"nop\n"
	".globl seq_end\nseq_end:\n"
	"ret\n"
	".size seq, . - seq\n");

int main(void)
{
	seq();
	printf("steps done %d\n", dbg_steps_pages[0x40000] + dbg_steps_pages[0x80000] + dbg_steps_pages[0xc0000]);
	return 0;
}
