/*
 * rss_at_exit CMD [ARGS...]: run CMD (stdout to /dev/null) and, at the
 * moment it exits (PTRACE_EVENT_EXIT: its memory still mapped), print its
 * memory from /proc: the kernel's high-water mark (VmHWM), the resident
 * set counted exactly by a page-table walk (smaps_rollup Rss), and the part
 * of it that is guest memory (memfd mappings: kvmbox has one, its guest RAM:
 * guest pages touched by the VMM or the guest). A cross-check of benchrun's
 * ru_maxrss, which comes from the kernel's approximate per-CPU RSS counters.
 *
 * Output (KiB): vmhwm_kib=.. rss_kib=.. anon_kib=.. file_kib=.. shmem_kib=.. guest_kib=.. status=..
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

/* The value (kB) of the first line starting with key in /proc/PID/FILE; -1 if none. */
static long proc_kb(pid_t pid, const char *file, const char *key)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	size_t l = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, l)) {
			v = strtol(line + l, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Rss (kB) of the mappings whose smaps header names `name`. */
static long mapping_rss_kb(pid_t pid, const char *name)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long sum = 0;
	int in = 0;
	while (fgets(line, sizeof(line), f)) {
		/* A mapping header: "start-end perms offset dev inode [path]". */
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
			in = strstr(line, name) != NULL;
			continue;
		}
		if (in && !strncmp(line, "Rss:", 4))
			sum += strtol(line + 4, NULL, 10);
	}
	fclose(f);
	return sum;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rss_at_exit CMD [ARGS...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status)) {
		fprintf(stderr, "rss_at_exit: child did not stop\n");
		return 1;
	}
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	int printed = 0;
	for (;;) {
		if (waitpid(pid, &status, 0) < 0) {
			if (errno == EINTR)
				continue;
			perror("waitpid");
			return 1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		int sig = 0;
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			if (!printed++)
				printf("vmhwm_kib=%ld rss_kib=%ld anon_kib=%ld file_kib=%ld shmem_kib=%ld guest_kib=%ld",
				       proc_kb(pid, "status", "VmHWM:"), proc_kb(pid, "smaps_rollup", "Rss:"),
				       proc_kb(pid, "smaps_rollup", "Anonymous:"), proc_kb(pid, "status", "RssFile:"),
				       proc_kb(pid, "status", "RssShmem:"), mapping_rss_kb(pid, "/memfd:"));
		} else if (WIFSTOPPED(status) && WSTOPSIG(status) != SIGTRAP) {
			sig = WSTOPSIG(status);
		}
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf(" status=%d\n", code);
	return code ? 1 : 0;
}
