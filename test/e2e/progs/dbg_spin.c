/* gdb process-mode scenario: runs in user mode without syscalls until gdb interrupts it (0x03). */
volatile unsigned long spins;

int main(void)
{
	for (;;)
		spins++;
}
