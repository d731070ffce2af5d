/*
 * benchrun: wall time and peak RSS of whole commands, interleaved in one run.
 *
 *   benchrun [-n RUNS] [-w WARMUP] [-o FILE] [-p PIDFILE] -- NAME CMD [ARGS...] [:: NAME CMD [ARGS...]]...
 *
 * Each round runs every command once, in the order given (round-robin, so
 * machine noise hits all commands alike and ratios stay meaningful); the
 * first WARMUP rounds are not recorded. A run is posix_spawn (stdin and
 * stdout /dev/null, stderr kept) to wait4 return, timed with CLOCK_MONOTONIC;
 * wait4's rusage gives the child's CPU time (user + system, all its threads:
 * what the run cost when it was on a CPU, whatever the neighbours did), its
 * peak RSS (ru_maxrss) and minor faults.
 * Any run that does not exit 0 aborts the benchmark (status 1). -p writes
 * benchrun's own pid to PIDFILE first (for trace-breakdown.sh).
 *
 * Output, one line per command (times in µs, RSS in KiB), to stdout and FILE:
 *   NAME runs=N median=.. min=.. p90=.. max=.. mean=.. cpu=.. cpu_min=.. maxrss_kib=.. minflt=..
 * median..mean are wall times; cpu is the median CPU time, cpu_min the
 * least; maxrss_kib is the largest ru_maxrss over the runs, minflt the median.
 * Build it static with musl (bench.mk): a spawned child's ru_maxrss also
 * covers the spawning process's own RSS (exec records the old mm's
 * high-water mark), so the spawner must be tiny.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct cmd {
	const char *name;
	char **argv;
	double *us, *cpu;
	long *minflt;
	long maxrss;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void run_once(struct cmd *c, int slot)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	double t0 = now_us();
	pid_t pid;
	int err = posix_spawn(&pid, c->argv[0], &fa, NULL, c->argv, environ);
	if (err) {
		fprintf(stderr, "benchrun: %s: cannot run %s: %s\n", c->name, c->argv[0], strerror(err));
		exit(1);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("benchrun: wait4");
			exit(1);
		}
	double t1 = now_us();
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "benchrun: %s: %s failed (%s %d)\n", c->name, c->argv[0],
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		exit(1);
	}
	if (slot < 0)
		return;
	c->us[slot] = t1 - t0;
	c->cpu[slot] = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	c->minflt[slot] = ru.ru_minflt;
	if (ru.ru_maxrss > c->maxrss)
		c->maxrss = ru.ru_maxrss;
}

static void usage(void)
{
	fprintf(stderr, "usage: benchrun [-n RUNS] [-w WARMUP] [-o FILE] [-p PIDFILE] -- NAME CMD [ARGS...] [:: NAME CMD...]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int runs = 30, warmup = 3;
	const char *out = NULL, *pidfile = NULL;
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-w") && i + 1 < argc)
			warmup = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "-p") && i + 1 < argc)
			pidfile = argv[++i];
		else
			usage();
	}
	if (i >= argc || runs < 1 || warmup < 0)
		usage();
	i++;

	struct cmd cmds[16];
	int ncmd = 0;
	while (i < argc) {
		if (ncmd == 16 || i + 1 >= argc)
			usage();
		struct cmd *c = &cmds[ncmd++];
		memset(c, 0, sizeof(*c));
		c->name = argv[i++];
		c->argv = &argv[i];
		while (i < argc && strcmp(argv[i], "::"))
			i++;
		if (i < argc)
			argv[i++] = NULL;  /* end of this command's argv */
		c->us = calloc(runs, sizeof(double));
		c->cpu = calloc(runs, sizeof(double));
		c->minflt = calloc(runs, sizeof(long));
	}
	if (!ncmd)
		usage();
	if (pidfile) {
		FILE *p = fopen(pidfile, "w");
		if (!p || fprintf(p, "%d\n", (int)getpid()) < 0 || fclose(p)) {
			perror(pidfile);
			return 1;
		}
	}

	for (int r = 0; r < warmup; r++)
		for (int k = 0; k < ncmd; k++)
			run_once(&cmds[k], -1);
	for (int r = 0; r < runs; r++)
		for (int k = 0; k < ncmd; k++)
			run_once(&cmds[k], r);

	FILE *f = out ? fopen(out, "w") : NULL;
	if (out && !f) {
		perror(out);
		return 1;
	}
	for (int k = 0; k < ncmd; k++) {
		struct cmd *c = &cmds[k];
		double sum = 0;
		for (int r = 0; r < runs; r++)
			sum += c->us[r];
		qsort(c->us, runs, sizeof(double), cmp_double);
		qsort(c->cpu, runs, sizeof(double), cmp_double);
		qsort(c->minflt, runs, sizeof(long), cmp_long);
		int p90 = (runs * 9 + 9) / 10 - 1;  /* ceil(0.9 n) - 1 */
		double median = runs % 2 ? c->us[runs / 2] : (c->us[runs / 2 - 1] + c->us[runs / 2]) / 2;
		double cpu = runs % 2 ? c->cpu[runs / 2] : (c->cpu[runs / 2 - 1] + c->cpu[runs / 2]) / 2;
		char line[512];
		snprintf(line, sizeof(line),
			 "%s runs=%d median=%.0f min=%.0f p90=%.0f max=%.0f mean=%.0f cpu=%.0f cpu_min=%.0f maxrss_kib=%ld minflt=%ld\n",
			 c->name, runs, median, c->us[0], c->us[p90], c->us[runs - 1], sum / runs, cpu, c->cpu[0],
			 c->maxrss, c->minflt[runs / 2]);
		fputs(line, stdout);
		if (f)
			fputs(line, f);
	}
	if (f)
		fclose(f);
	return 0;
}
