/* kvmbox command line: `kvmbox run [OPTIONS] PROGRAM [ARGS...]` and friends. */
#include "boot.h"
#include "log.h"
#include "options.h"
#include "program.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KVMBOX_VERSION "0.1.0"

static const char usage_text[] =
	"usage: kvmbox run [OPTIONS] PROGRAM [ARGS...]\n"
	"       kvmbox run [OPTIONS] --initrd IMAGE --init PATH [ARGS...]\n"
	"       kvmbox --help | --version | help run\n";

static const char help_text[] =
	"kvmbox runs a static Linux x86-64 program in a fresh KVM microVM.\n"
	"\n"
	"usage: kvmbox run [OPTIONS] PROGRAM [ARGS...]\n"
	"       kvmbox run [OPTIONS] --initrd IMAGE --init PATH [ARGS...]\n"
	"\n"
	"The program sees its arguments as given (argv[0] is PROGRAM exactly as typed),\n"
	"an empty environment unless --env is given, and /work as its working directory.\n"
	"A relative PROGRAM is placed at /work/PROGRAM in the guest, an absolute one at\n"
	"its own path. Options end at PROGRAM or at `--`.\n"
	"\n"
	"options:\n"
	"  --mem SIZE            guest memory, e.g. 512M or 2G (K/M/G suffixes; default 256M,\n"
	"                        16M to 64G); host memory is used only as the guest touches it\n"
	"  --env K=V             add K=V to the program's environment (repeatable)\n"
	"  --file HOST[:GUEST]   copy a host file into the guest (default /work/<name>;\n"
	"                        a relative GUEST is relative to /work) (repeatable)\n"
	"  --dir HOST[:GUEST]    copy a whole host directory tree the same way (repeatable)\n"
	"  --initrd IMAGE        boot with this cpio (newc) image as the root filesystem ...\n"
	"  --init PATH [ARGS...] ... and run PATH inside it with ARGS (no PROGRAM operand;\n"
	"                        options end at PATH, so put the others before it)\n"
	"  --timeout SECONDS     stop the VM after SECONDS (decimals allowed): exit 124\n"
	"  --verbose             report unknown syscalls and VMM details on stderr\n"
	"  --kernel PATH         guest kernel ELF (default: $KVMBOX_KERNEL, else\n"
	"                        guest/kernel.elf beside the kvmbox binary)\n"
	"  --disk PATH[,ro]      a raw disk image as /dev/vda, /dev/vdb, ... in the order\n"
	"                        given (virtio-blk); ,ro makes writes fail (repeatable)\n"
	"  --gdb tcp:HOST:PORT   wait for gdb's remote protocol on HOST:PORT (a loopback\n"
	"  --gdb unix:PATH       address unless --gdb-allow-remote) or a unix socket\n"
	"                        before running; debugs the program (process mode)\n"
	"  --gdb-kernel          with --gdb: debug the guest kernel instead, each vCPU a\n"
	"                        thread (symbols: guest/kernel.elf beside kvmbox)\n"
	"  --gdb-allow-remote    let --gdb listen on a non-loopback address\n"
	"  --count-cpl0          benchmarking: single-step the guest and count its CPL0\n"
	"                        (kernel) instructions per syscall and trap; report at exit\n"
	"  -h, --help            this help\n"
	"\n"
	"exit status:\n"
	"  N        the program exited with status N\n"
	"  128+N    the program was killed by signal N (a crash report is printed)\n"
	"  124      --timeout expired\n"
	"  125      kvmbox failed: bad option, KVM unavailable, guest kernel panic, VMM error\n"
	"  126      the program cannot run: not ELF, not x86-64, truncated, dynamically linked\n"
	"  127      the program was not found\n"
	"\n"
	"environment:\n"
	"  KVMBOX_KERNEL           guest kernel path (--kernel wins)\n"
	"  KVMBOX_CPL0_EMULATED    0 or 1: override the detection of kvm_pvm hosts\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "kvmbox: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s(kvmbox --help for the options)\n", usage_text);
	exit(EXIT_VMM_ERROR);
}

/* SIZE with an optional K/M/G suffix (binary units; "MiB"/"MB" spellings too). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B") || !strcmp(end, "b")))
		end += strlen(end);
	if (*end || v > (~0ull >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static void add_file(struct options *o, const char *arg, bool dir)
{
	struct file_option f = { .dir = dir };
	char *copy = strdup(arg);
	struct stat st;
	/* HOST:GUEST, unless the whole argument names a host path (which may contain ':'). */
	char *colon = strrchr(copy, ':');
	if (colon && stat(copy, &st) < 0) {
		*colon = 0;
		f.guest = colon + 1;
		if (!f.guest[0])
			f.guest = NULL;
	}
	f.host = copy;
	if (stat(f.host, &st) < 0)
		die(EXIT_VMM_ERROR, "%s %s: %s", dir ? "--dir" : "--file", f.host, strerror(errno));
	if (dir && !S_ISDIR(st.st_mode))
		die(EXIT_VMM_ERROR, "--dir %s: not a directory", f.host);
	if (!dir && S_ISDIR(st.st_mode))
		die(EXIT_VMM_ERROR, "--file %s: is a directory (use --dir)", f.host);
	o->files = realloc(o->files, (o->nr_files + 1) * sizeof(*o->files));
	o->files[o->nr_files++] = f;
}

/* --disk PATH[,ro]: opened now, so a missing or unreadable image fails before any VM exists. */
static void add_disk(struct options *o, const char *spec)
{
	char err[512];
	o->disks = realloc(o->disks, (o->nr_disks + 1) * sizeof(*o->disks));
	if (!o->disks)
		die(EXIT_VMM_ERROR, "out of memory");
	if (blk_image_open(spec, &o->disks[o->nr_disks], err, sizeof(err)))
		die(EXIT_VMM_ERROR, "%s", err);
	o->nr_disks++;
}

static void parse_run(int argc, char **argv, struct options *o)
{
	int i = 0;
	o->mem_size = 256ull << 20;
	for (; i < argc; i++) {
		char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(help_text, stdout);
			exit(0);
		}
		if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o->verbose = true;
			continue;
		}
		if (!strcmp(a, "--gdb-kernel")) {
			o->gdb_kernel = true;
			continue;
		}
		if (!strcmp(a, "--gdb-allow-remote")) {
			o->gdb_allow_remote = true;
			continue;
		}
		if (!strcmp(a, "--count-cpl0")) {
			o->count_cpl0 = true;
			continue;
		}
		/* Options with a value: --opt VALUE or --opt=VALUE. */
		static const char *const with_value[] = {
			"--mem", "--env", "--file", "--dir", "--initrd", "--init", "--timeout", "--kernel",
			"--gdb", "--disk",
		};
		const char *name = NULL, *val = NULL;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++) {
			size_t l = strlen(with_value[k]);
			if (!strncmp(a, with_value[k], l) && (a[l] == 0 || a[l] == '=')) {
				name = with_value[k];
				if (a[l] == '=')
					val = a + l + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					usage_error("option %s needs a value", name);
				break;
			}
		}
		if (!name)
			usage_error("unknown option %s", a);
		if (!strcmp(name, "--mem")) {
			if (parse_size(val, &o->mem_size))
				usage_error("--mem %s: not a size (e.g. 512M, 2G)", val);
			if (o->mem_size < (16ull << 20) || o->mem_size > (64ull << 30))
				usage_error("--mem %s: must be between 16M and 64G", val);
			o->mem_size = (o->mem_size + 4095) & ~4095ull;
		} else if (!strcmp(name, "--env")) {
			if (!strchr(val, '='))
				usage_error("--env %s: expected K=V", val);
			o->env = realloc(o->env, (o->nr_env + 1) * sizeof(*o->env));
			o->env[o->nr_env++] = (char *)val;
		} else if (!strcmp(name, "--file")) {
			add_file(o, val, false);
		} else if (!strcmp(name, "--dir")) {
			add_file(o, val, true);
		} else if (!strcmp(name, "--initrd")) {
			o->initrd = val;
		} else if (!strcmp(name, "--init")) {
			/* --init PATH [ARGS...]: what follows PATH are its arguments, as after PROGRAM. */
			o->init = val;
			i++;
			if (i < argc && !strcmp(argv[i], "--"))
				i++;
			break;
		} else if (!strcmp(name, "--timeout")) {
			char *end;
			errno = 0;
			o->timeout = strtod(val, &end);
			if (errno || end == val || *end || !(o->timeout > 0) || o->timeout > 1e9)
				usage_error("--timeout %s: expected a positive number of seconds", val);
		} else if (!strcmp(name, "--kernel")) {
			o->kernel = val;
		} else if (!strcmp(name, "--gdb")) {
			o->gdb = val;
		} else if (!strcmp(name, "--disk")) {
			add_disk(o, val);
		}
	}
	if ((o->gdb_kernel || o->gdb_allow_remote) && !o->gdb)
		usage_error("%s", o->gdb_kernel ? "--gdb-kernel needs --gdb ADDRESS" : "--gdb-allow-remote needs --gdb ADDRESS");
	if (o->gdb && o->count_cpl0)
		usage_error("%s", "--gdb and --count-cpl0 both use KVM guest debugging: choose one");
	if (o->initrd || o->init) {
		if (!o->initrd || !o->init)
			usage_error("%s", o->initrd ? "--initrd needs --init PATH" : "--init needs --initrd IMAGE");
		/* The remaining operands are the arguments; argv[0] is PATH. */
		o->argc = argc - i + 1;
		o->argv = calloc(o->argc + 1, sizeof(char *));
		o->argv[0] = (char *)o->init;
		for (int k = 1; k < o->argc; k++)
			o->argv[k] = argv[i + k - 1];
		return;
	}
	if (i >= argc)
		usage_error("%s", "run: missing PROGRAM");
	o->program = argv[i];
	o->argc = argc - i;
	o->argv = argv + i;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_VMM_ERROR;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    (!strcmp(cmd, "help") && (argc == 2 || !strcmp(argv[2], "run")))) {
		fputs(help_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("kvmbox %s (guest ABI version %d)\n", KVMBOX_VERSION, KVMBOX_ABI_VERSION);
		return 0;
	}
	if (strcmp(cmd, "run"))
		usage_error("unknown command %s", cmd);

	/* A closed pipe on stdout becomes -EPIPE for the guest, not a dead VMM. */
	signal(SIGPIPE, SIG_IGN);

	struct options o = { 0 };
	parse_run(argc - 2, argv + 2, &o);
	log_verbose = o.verbose;

	/* The program first: "not found" and "cannot run" come before any KVM or kernel error. */
	struct program prog;
	program_resolve(&o, &prog);
	boot_and_run(&o, &prog);
}
