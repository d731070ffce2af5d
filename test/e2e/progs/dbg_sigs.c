/*
 * gdb process-mode scenario: the program's own int3 (not one of gdb's) and a
 * signal it handles are reported to gdb and, passed on, reach the handlers.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

volatile int traps, usr1s;

static void on_trap(int sig) { (void)sig; traps++; }
static void on_usr1(int sig) { (void)sig; usr1s++; }

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_trap;
	sigaction(SIGTRAP, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	__asm__ volatile("int3");
	raise(SIGUSR1);
	printf("traps %d usr1 %d\n", traps, usr1s);
	return traps * 10 + usr1s;
}
