/* The setup path from a checked program to a running vCPU. */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H
#include <stdnoreturn.h>
#include "options.h"
#include "program.h"

/* Create the VM, lay out guest memory (shared/boot.h), build the first process, run. Never returns. */
noreturn void boot_and_run(const struct options *o, struct program *prog);
#endif
