/* execve: replace the process image (the image itself is built natively by the VMM). */
#include "syscalls.h"
#include "errno.h"

long sys_execve(uint64_t path, uint64_t argv, uint64_t envp)
{
	return -ENOSYS;
}
