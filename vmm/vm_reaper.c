/*
 * Tearing a VM down happens when the last reference to it goes, in the
 * context of whoever drops it. With irqfds that includes SRCU grace periods
 * (virt/kvm/eventfd.c: kvm_irqfd_release flushes the cleanup workqueue, and
 * each irqfd_shutdown waits in synchronize_srcu): ~10 ms of a ~17 ms
 * `kvmbox run hello` on the development host, all of it after the program's
 * exit status is known. So a reaper process holds one more reference to the
 * VM fd and nothing else, and drops it when kvmbox has exited: its pidfd
 * turns readable only after the last thread closed every file (do_exit:
 * exit_files and the deferred releases come before exit_notify), so the
 * teardown runs in the reaper while kvmbox's parent already has the status.
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "log.h"
#include "vm_reaper.h"

void vm_reaper_start(int vm_fd)
{
	/* KVMBOX_SYNC_TEARDOWN=1: tear down in kvmbox itself (to measure what the reaper saves). */
	const char *sync = getenv("KVMBOX_SYNC_TEARDOWN");
	if (sync && *sync == '1')
		return;
	pid_t parent = getpid();
	pid_t pid = fork(); /* still single-threaded here; the guest memory is not mapped yet */
	if (pid < 0) {
		info("no VM reaper (fork: %m): the VM is torn down before kvmbox exits");
		return;
	}
	if (pid > 0)
		return;
	/*
	 * The reaper: only the VM fd stays open (not our stdout: a pipe's
	 * reader sees EOF when we exit). Signals are blocked (a Ctrl-C for the
	 * process group must not end it early); SIGKILL still works.
	 */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	prctl(PR_SET_NAME, "kvmbox-reaper");
	int pidfd = (int)syscall(SYS_pidfd_open, parent, 0u);
	if (pidfd < 0)
		_exit(0); /* kvmbox already gone, or no pidfds (Linux < 5.3): it tears down itself */
	int keep[2] = { vm_fd < pidfd ? vm_fd : pidfd, vm_fd < pidfd ? pidfd : vm_fd };
	if (keep[0] > 0)
		syscall(SYS_close_range, 0u, (unsigned)keep[0] - 1, 0u);
	if (keep[1] > keep[0] + 1)
		syscall(SYS_close_range, (unsigned)keep[0] + 1, (unsigned)keep[1] - 1, 0u);
	syscall(SYS_close_range, (unsigned)keep[1] + 1, ~0u, 0u);
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	while (poll(&p, 1, -1) < 0)
		;
	_exit(0); /* the last reference to the VM goes here */
}
