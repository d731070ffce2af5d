/* Signal handler frames (rt_sigframe) and rt_sigreturn: delivered by the signals work. */
#include "proc.h"
#include "errno.h"

int signal_setup_frame(struct trap_frame *tf, int sig, struct k_sigaction *ka, const struct ksiginfo *info)
{
	return -ENOSYS;
}
