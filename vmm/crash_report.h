/* Reports on stderr: a program's fatal signal, a guest kernel panic, an unexpected vCPU exit. */
#ifndef VMM_CRASH_REPORT_H
#define VMM_CRASH_REPORT_H
#include <stdnoreturn.h>
#include "vm.h"

/* Print the crash report for HC_CRASH (signal, si_code, trap, registers, code bytes, backtrace). */
void crash_report_user(struct vm *vm, const struct kvmbox_hc_crash *c);

/* Print the guest kernel panic report (message, registers, symbolized backtrace) and exit 125. */
noreturn void crash_report_panic(struct vcpu *vcpu, const struct kvmbox_hc_panic *p);

/* Dump the vCPU's registers and sregs after "kvmbox: <what>". */
void crash_dump_vcpu(struct vcpu *vcpu, const char *what);
#endif
