/* Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h). */
#ifndef GUEST_ERRNO_H
#define GUEST_ERRNO_H
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EIO 5
#define ENXIO 6
#define E2BIG 7
#define ENOEXEC 8
#define EBADF 9
#define ECHILD 10
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define EXDEV 18
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define ENFILE 23
#define EMFILE 24
#define ENOTTY 25
#define EFBIG 27
#define ENOSPC 28
#define ESPIPE 29
#define EROFS 30
#define EMLINK 31
#define EPIPE 32
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ENOTEMPTY 39
#define ELOOP 40
#define EOVERFLOW 75
#define ENOTSUP 95
#define EOPNOTSUPP 95
#define ETIMEDOUT 110
/*
 * Kernel-internal (include/linux/errno.h): a sleep interrupted by a signal.
 * Never seen by programs: on the way back to user mode (kernel/signal.c)
 * they become EINTR or a restart of the syscall.
 *   ERESTARTSYS: restart if no handler runs or it has SA_RESTART (read, wait4, futex).
 *   ERESTARTNOINTR: always restart.
 *   ERESTARTNOHAND: restart only if no handler runs (pause, sigsuspend, poll, select).
 *   ERESTART_RESTARTBLOCK: as ERESTARTNOHAND here (nanosleep; no restart_syscall block).
 */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516
#endif
