/* Parsed command line of `kvmbox run`. */
#ifndef VMM_OPTIONS_H
#define VMM_OPTIONS_H
#include <stdbool.h>
#include <stdint.h>
#include "devices/virtio_blk.h"

struct file_option {
	const char *host;
	const char *guest;        /* NULL: /work/<basename of host> */
	bool dir;                 /* --dir: a whole tree */
};

struct options {
	uint64_t mem_size;
	int nr_env;
	char **env;               /* K=V strings */
	int nr_files;
	struct file_option *files;
	const char *initrd, *init;
	double timeout;
	bool verbose, count_cpl0;
	const char *gdb;          /* --gdb tcp:HOST:PORT | unix:PATH */
	bool gdb_kernel;          /* --gdb-kernel: debug the guest kernel, vCPUs as threads */
	bool gdb_allow_remote;    /* --gdb-allow-remote: a non-loopback --gdb address */
	int nr_disks;
	struct blk_image *disks;  /* --disk PATH[,ro], opened while parsing (/dev/vda, vdb, ...) */
	const char *kernel;       /* NULL: KVMBOX_KERNEL or beside the kvmbox binary */
	const char *program;      /* the PROGRAM operand; NULL with --initrd */
	int argc;                 /* the program's argv (argv[0] exactly as given) */
	char **argv;
};
#endif
