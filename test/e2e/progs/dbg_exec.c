/*
 * gdb process-mode scenarios (test/cases/gdb_process.sh): exec and vfork
 * events. "exec": the program execs itself with "done"; "vfork": a vfork
 * child execs it so, the parent waits; "done": reached() and exit 7.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

volatile int reached_count;

__attribute__((noinline)) void reached(void)
{
	reached_count++;
}

int main(int argc, char **argv)
{
	char *again[] = { argv[0], "done", NULL }, *env[] = { NULL };
	if (argc > 1 && !strcmp(argv[1], "done")) {
		reached();
		printf("done after exec\n");
		return 7;
	}
	if (argc > 1 && !strcmp(argv[1], "vfork")) {
		pid_t pid = vfork();
		if (pid == 0) {
			execve(argv[0], again, env);
			_exit(127);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		printf("vfork child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return 3;
	}
	fflush(stdout);
	execve(argv[0], again, env);
	return 127;
}
