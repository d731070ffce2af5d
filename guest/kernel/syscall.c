/* The syscall table (Linux x86-64 numbers) and the slow dispatch path. */
#include "syscalls.h"
#include "fs.h"
#include "syscall_nr.h"
#include "proc.h"
#include "platform.h"
#include "lib.h"
#include "errno.h"
#include "debug.h"

typedef long (*syscall_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

static long sys_ni(void);
void syscall_full_frame_entry(void); /* entry.S: not a C function, only its address */
static long sys_enosys_quiet(void) { return -ENOSYS; }

/* Through void (*)(void): the generic function-pointer type -Wcast-function-type accepts. */
#define FN(f) ((syscall_fn)(void (*)(void))(f))
#define S(name) [SYS_##name] = FN(sys_##name)

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
/* Indexed by number; the entry code bounds-checks rax against NR_SYSCALLS. */
const syscall_fn syscall_table[NR_SYSCALLS] = {
	[0 ... NR_SYSCALLS - 1] = FN(sys_ni),
	S(read), S(write), S(readv), S(writev), S(pread64), S(pwrite64),
	S(open), S(openat), S(creat), S(close), S(lseek),
	S(fstat), S(stat), S(lstat), S(newfstatat), S(statx),
	S(getcwd), S(chdir), S(fchdir), S(access), S(faccessat), S(faccessat2),
	S(readlink), S(readlinkat), S(fcntl), S(dup), S(dup2), S(dup3), S(ioctl),
	S(mkdir), S(mkdirat), S(unlink), S(unlinkat), S(rmdir),
	S(rename), S(renameat), S(renameat2), S(getdents64),
	S(ftruncate), S(truncate), S(fsync), S(fdatasync),
	S(umask), S(chmod), S(fchmod), S(fchmodat),
	S(mmap), S(munmap), S(mremap), S(mprotect), S(brk), S(madvise),
	S(exit), S(exit_group), S(getpid), S(gettid), S(getppid),
	[SYS_getuid] = FN(sys_getuid), [SYS_geteuid] = FN(sys_getuid),
	[SYS_getgid] = FN(sys_getuid), [SYS_getegid] = FN(sys_getuid),
	S(arch_prctl), S(set_tid_address), S(set_robust_list), S(uname),
	S(clock_gettime), S(clock_getres), S(gettimeofday), S(time), S(getrandom),
	S(rt_sigaction), S(rt_sigprocmask), S(prlimit64), S(getrlimit),
	S(sched_getaffinity), S(sched_yield), S(nanosleep), S(clock_nanosleep),
	S(sysinfo), S(getgroups), S(kill), S(tgkill), S(tkill),
	S(poll), S(ppoll), S(select), S(pselect6), S(symlink), S(symlinkat), S(link), S(linkat),
	S(utimensat), S(chown), S(lchown), S(fchown), S(fchownat), S(statfs), S(fstatfs),
	S(flock), S(fadvise64), S(fallocate), S(sync), S(syncfs), S(sendfile),
	S(clone), S(fork), S(vfork), S(clone3), S(wait4), S(waitid), S(setpgid), S(getpgid),
	S(getpgrp), S(setsid), S(getsid), S(rt_sigpending), S(futex), S(execve),
	S(pipe), S(pipe2), S(mknod), S(mknodat),
	S(epoll_create), S(epoll_create1), S(epoll_ctl), S(epoll_wait), S(epoll_pwait), S(epoll_pwait2),
	S(eventfd), S(eventfd2), S(timerfd_create), S(timerfd_settime), S(timerfd_gettime),
	S(signalfd), S(signalfd4),
	S(execveat),
	S(rt_sigreturn), S(rt_sigsuspend), S(pause), S(rt_sigtimedwait), S(sigaltstack),
	S(rt_sigqueueinfo), S(rt_tgsigqueueinfo), S(alarm), S(getitimer), S(setitimer),
	S(timer_create), S(timer_settime), S(timer_gettime), S(timer_getoverrun), S(timer_delete),
	/* Both libcs probe these and fall back cleanly on ENOSYS: no notice. */
	[SYS_rseq] = FN(sys_enosys_quiet),
	[SYS_membarrier] = FN(sys_enosys_quiet),
	S(setrlimit), S(sethostname), S(times), S(getrusage),
	/* Last, overriding the above: these need every register (syscall_full_fn). */
	[SYS_rt_sigreturn] = FN(syscall_full_frame_entry), [SYS_clone] = FN(syscall_full_frame_entry),
	[SYS_fork] = FN(syscall_full_frame_entry), [SYS_vfork] = FN(syscall_full_frame_entry),
	[SYS_execve] = FN(syscall_full_frame_entry), [SYS_execveat] = FN(syscall_full_frame_entry),
	[SYS_clone3] = FN(syscall_full_frame_entry),
};
#pragma GCC diagnostic pop

/*
 * Syscalls that read or rewrite the whole user register frame: in the table
 * as syscall_full_frame_entry (entry.S), which takes the slow entry, where
 * every register is saved; dispatched from here.
 */
static syscall_fn syscall_full_fn(uint64_t nr)
{
	switch (nr) {
	case SYS_rt_sigreturn: return FN(sys_rt_sigreturn);
	case SYS_clone: return FN(sys_clone);
	case SYS_fork: return FN(sys_fork);
	case SYS_vfork: return FN(sys_vfork);
	case SYS_execve: return FN(sys_execve);
	case SYS_execveat: return FN(sys_execveat);
	case SYS_clone3: return FN(sys_clone3);
	}
	return FN(sys_ni);
}

struct trap_frame *current_frame(void)
{
	return (struct trap_frame *)(this_cpu()->kstack_top - sizeof(struct trap_frame));
}

/*
 * An unknown number: -ENOSYS, and with --verbose a one-line notice on the
 * VMM side, once per number (numbers past the table are remembered in a
 * small list; once it is full they are reported every time).
 */
static void notice_unknown(uint64_t nr)
{
	static uint64_t reported[NR_SYSCALLS / 64];
	static uint64_t big[32];
	static unsigned nr_big;
	if (!(boot_flags & KVMBOX_BOOT_VERBOSE))
		return;
	if (nr < NR_SYSCALLS) {
		if (reported[nr / 64] & (1ull << (nr % 64)))
			return;
		reported[nr / 64] |= 1ull << (nr % 64);
	} else {
		for (unsigned i = 0; i < nr_big; i++)
			if (big[i] == nr)
				return;
		if (nr_big < ARRAY_SIZE(big))
			big[nr_big++] = nr;
	}
	static struct kvmbox_hc_notice hc;
	hc.kind = KVMBOX_NOTICE_UNKNOWN_SYSCALL;
	hc.pid = (uint32_t)current_proc()->pid;
	hc.arg = nr;
	hypercall(KVMBOX_HC_NOTICE, &hc);
}

static long sys_ni(void)
{
	notice_unknown(current_frame()->orig_rax);
	return -ENOSYS;
}

/* Run syscall nr (< NR_SYSCALLS) on the complete frame; full-frame ones through their real function. */
static void syscall_dispatch(struct trap_frame *tf, uint64_t nr)
{
	syscall_fn fn = syscall_table[nr];
	if (fn == FN(syscall_full_frame_entry))
		fn = syscall_full_fn(nr);
	tf->rax = (uint64_t)fn(tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9);
}

/* Called from entry.S with the complete frame: numbers out of range, full-frame syscalls, stops. */
static void syscall_slow_body(struct trap_frame *tf)
{
	uint64_t nr = tf->orig_rax;
	if (nr >= NR_SYSCALLS) {
		notice_unknown(nr);
		tf->rax = (uint64_t)-ENOSYS;
		return;
	}
	if (unlikely(this_cpu()->shared.stop_events)) {
		/* A debugger: syscall stops (catch syscall) and steps over `syscall` (debug.c). */
		debug_syscall_entry(tf);
		nr = tf->orig_rax; /* the debugger may have changed it */
		if (nr < NR_SYSCALLS)
			syscall_dispatch(tf, nr);
		debug_syscall_exit(tf);
		return;
	}
	syscall_dispatch(tf, nr);
}

/* Timed as system time (sched.c); exit and exec's failures never come back here, which is fine. */
void syscall_slow(struct trap_frame *tf)
{
	struct thread *t = current_thread();
	sys_time_enter(t);
	syscall_slow_body(tf);
	sys_time_leave(current_thread());
}
