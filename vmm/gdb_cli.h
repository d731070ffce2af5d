/* `kvmbox run --gdb ADDRESS [--gdb-kernel]`: the listener opened early, the mode chosen, the VM held for gdb. */
#ifndef VMM_GDB_CLI_H
#define VMM_GDB_CLI_H
#include "options.h"
#include "vm.h"

/* Bind the --gdb address (before the VM exists, so a bad one fails fast, exit 125); -1 without --gdb. */
int gdb_cli_listen(const struct options *o);

/* With --gdb: set up the chosen mode's target for the booted-but-not-started
   VM, say where gdb should connect, and wait for it. */
void gdb_cli_wait(const struct options *o, int listen_fd, struct vm *vm, struct vcpu *boot_vcpu);
#endif
