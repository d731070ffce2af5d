/* `kvmbox run --gdb`: listener, mode choice, waiting for the debugger (see gdb_cli.h). */
#include "gdb_cli.h"
#include "gdb_kernel.h"
#include "gdb_target.h"
#include "log.h"
#include <stdio.h>

int gdb_cli_listen(const struct options *o)
{
	if (!o->gdb)
		return -1;
	if (!o->gdb_kernel)
		die(EXIT_VMM_ERROR, "--gdb: process mode (debugging the program) is not available yet; "
		    "--gdb-kernel debugs the guest kernel");
	char err[512];
	int fd = gdb_listen(o->gdb, o->gdb_allow_remote, err, sizeof(err));
	if (fd < 0)
		die(EXIT_VMM_ERROR, "%s", err);
	return fd;
}

void gdb_cli_wait(const struct options *o, int listen_fd, struct vm *vm, struct vcpu *boot_vcpu)
{
	if (!o->gdb)
		return;
	struct gdb_target *t = gdb_kernel_init(vm);
	gdb_kernel_add_vcpu(boot_vcpu);
	/* Always printed: the user needs to know the VM is waiting, and where. */
	fprintf(stderr, "kvmbox: waiting for gdb on %s (kernel mode: gdb %s -ex 'target remote %s')\n",
		o->gdb, vm->kernel_path, o->gdb + (o->gdb[0] == 't' ? 4 : 5));
	char err[512];
	if (gdb_serve(listen_fd, t, err, sizeof(err)) < 0)
		die(EXIT_VMM_ERROR, "--gdb %s: %s", o->gdb, err);
}
