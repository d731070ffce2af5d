/* `kvmbox run --gdb`: listener, mode choice, waiting for the debugger (see gdb_cli.h). */
#include "gdb_cli.h"
#include "debug_process.h"
#include "gdb_kernel.h"
#include "gdb_target.h"
#include "log.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Where the listener is bound (tcp:HOST:0 picks a port: name the real one). */
static void describe(int fd, const char *spec, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	snprintf(out, n, "%s", spec);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, n, "tcp:%s:%u", host, ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, n, "tcp:[%s]:%u", host, ntohs(a->sin6_port));
	}
}

int gdb_cli_listen(const struct options *o)
{
	if (!o->gdb)
		return -1;
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
	/* Always printed: the user needs to know the VM is waiting, and where. */
	char where[300];
	describe(listen_fd, o->gdb, where, sizeof(where));
	const char *target = where + (where[0] == 't' ? 4 : 5);
	if (!o->gdb_kernel) {
		/* Process mode: the guest stops at the program's first instruction and serves gdb from there. */
		if (debug_process_setup(vm, boot_vcpu, listen_fd))
			die(EXIT_VMM_ERROR, "--gdb: cannot set up process mode: %s", strerror(errno));
		fprintf(stderr, "kvmbox: waiting for gdb on %s (gdb PROGRAM -ex 'target remote %s')\n", where, target);
		return;
	}
	struct gdb_target *t = gdb_kernel_init(vm);
	gdb_kernel_add_vcpu(boot_vcpu);
	fprintf(stderr, "kvmbox: waiting for gdb on %s (kernel mode: gdb %s -ex 'target remote %s')\n",
		where, vm->kernel_path, target);
	char err[512];
	if (gdb_serve(listen_fd, t, err, sizeof(err)) < 0)
		die(EXIT_VMM_ERROR, "--gdb %s: %s", o->gdb, err);
}
