/*
 * gdb process-mode scenario: fork follows the parent. gdb's breakpoint in
 * hit() is in a text page the child shares copy-on-write; the child must not
 * see it (it would die of SIGTRAP), the parent stops there once.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

volatile int hits;

__attribute__((noinline)) void hit(void)
{
	hits++;
}

int main(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		hit();
		_exit(hits + 4);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	hit();
	printf("child exited %d, parent hits %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1, hits);
	return 0;
}
