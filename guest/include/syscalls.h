/* Syscall handlers, by subsystem. The table in kernel/syscall.c maps numbers to these. */
#ifndef GUEST_SYSCALLS_H
#define GUEST_SYSCALLS_H
#include "types.h"

/* Every handler returns a value or -errno; pointer arguments are user addresses (uint64_t). */

/* fs/ : files and the file system */
long sys_read(int fd, uint64_t buf, size_t count);
long sys_write(int fd, uint64_t buf, size_t count);
long sys_readv(int fd, uint64_t iov, int iovcnt);
long sys_writev(int fd, uint64_t iov, int iovcnt);
long sys_pread64(int fd, uint64_t buf, size_t count, off_t off);
long sys_pwrite64(int fd, uint64_t buf, size_t count, off_t off);
long sys_open(uint64_t path, int flags, mode_t mode);
long sys_openat(int dirfd, uint64_t path, int flags, mode_t mode);
long sys_creat(uint64_t path, mode_t mode);
long sys_close(int fd);
long sys_lseek(int fd, off_t off, int whence);
long sys_fstat(int fd, uint64_t st);
long sys_stat(uint64_t path, uint64_t st);
long sys_lstat(uint64_t path, uint64_t st);
long sys_newfstatat(int dirfd, uint64_t path, uint64_t st, int flags);
long sys_statx(int dirfd, uint64_t path, int flags, unsigned mask, uint64_t stx);
long sys_getcwd(uint64_t buf, size_t size);
long sys_chdir(uint64_t path);
long sys_fchdir(int fd);
long sys_access(uint64_t path, int mode);
long sys_faccessat(int dirfd, uint64_t path, int mode);
long sys_faccessat2(int dirfd, uint64_t path, int mode, int flags);
long sys_readlink(uint64_t path, uint64_t buf, size_t size);
long sys_readlinkat(int dirfd, uint64_t path, uint64_t buf, size_t size);
long sys_fcntl(int fd, int cmd, uint64_t arg);
long sys_dup(int fd);
long sys_dup2(int oldfd, int newfd);
long sys_dup3(int oldfd, int newfd, int flags);
long sys_ioctl(int fd, unsigned long cmd, uint64_t arg);
long sys_mkdir(uint64_t path, mode_t mode);
long sys_mkdirat(int dirfd, uint64_t path, mode_t mode);
long sys_unlink(uint64_t path);
long sys_unlinkat(int dirfd, uint64_t path, int flags);
long sys_rmdir(uint64_t path);
long sys_rename(uint64_t oldpath, uint64_t newpath);
long sys_renameat(int olddirfd, uint64_t oldpath, int newdirfd, uint64_t newpath);
long sys_renameat2(int olddirfd, uint64_t oldpath, int newdirfd, uint64_t newpath, unsigned flags);
long sys_getdents64(int fd, uint64_t dirp, size_t count);
long sys_ftruncate(int fd, off_t len);
long sys_truncate(uint64_t path, off_t len);
long sys_fsync(int fd);
long sys_fdatasync(int fd);
long sys_umask(mode_t mask);
long sys_chmod(uint64_t path, mode_t mode);
long sys_fchmod(int fd, mode_t mode);
long sys_fchmodat(int dirfd, uint64_t path, mode_t mode);

/* mm/ : memory */
long sys_mmap(uint64_t addr, size_t len, int prot, int flags, int fd, off_t off);
long sys_munmap(uint64_t addr, size_t len);
long sys_mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags, uint64_t new_addr);
long sys_mprotect(uint64_t addr, size_t len, int prot);
long sys_brk(uint64_t addr);
long sys_madvise(uint64_t addr, size_t len, int advice);

/* kernel/ : processes, identity, time, signals, limits */
long sys_exit(int status);
long sys_exit_group(int status);
long sys_getpid(void);
long sys_gettid(void);
long sys_getppid(void);
long sys_getuid(void);
long sys_arch_prctl(int code, uint64_t addr);
long sys_set_tid_address(uint64_t tidptr);
long sys_set_robust_list(uint64_t head, size_t len);
long sys_uname(uint64_t buf);
long sys_clock_gettime(int clk, uint64_t tp);
long sys_clock_getres(int clk, uint64_t tp);
long sys_gettimeofday(uint64_t tv, uint64_t tz);
long sys_time(uint64_t tloc);
long sys_getrandom(uint64_t buf, size_t len, unsigned flags);
long sys_rt_sigaction(int sig, uint64_t act, uint64_t oact, size_t sigsetsize);
long sys_rt_sigprocmask(int how, uint64_t set, uint64_t oset, size_t sigsetsize);
long sys_prlimit64(pid_t pid, int resource, uint64_t new_rlim, uint64_t old_rlim);
long sys_getrlimit(int resource, uint64_t rlim);
long sys_sched_getaffinity(pid_t pid, size_t len, uint64_t mask);
long sys_sched_yield(void);
long sys_nanosleep(uint64_t req, uint64_t rem);
long sys_clock_nanosleep(int clk, int flags, uint64_t req, uint64_t rem);
long sys_sysinfo(uint64_t info);
long sys_getgroups(int size, uint64_t list);
long sys_setrlimit(int resource, uint64_t rlim);
long sys_sethostname(uint64_t name, size_t len);
long sys_times(uint64_t buf);
long sys_getrusage(int who, uint64_t usage);
long sys_kill(pid_t pid, int sig);
long sys_clone(uint64_t flags, uint64_t newsp, uint64_t parent_tid, uint64_t child_tid, uint64_t tls);
long sys_fork(void);
long sys_vfork(void);
long sys_clone3(uint64_t args, size_t size);
long sys_wait4(pid_t pid, uint64_t wstatus, int options, uint64_t rusage);
long sys_waitid(int idtype, pid_t id, uint64_t infop, int options, uint64_t rusage);
long sys_setpgid(pid_t pid, pid_t pgid);
long sys_getpgid(pid_t pid);
long sys_getpgrp(void);
long sys_setsid(void);
long sys_getsid(pid_t pid);
long sys_rt_sigpending(uint64_t set, size_t sigsetsize);
long sys_futex(uint64_t uaddr, int op, uint32_t val, uint64_t timeout, uint64_t uaddr2, uint32_t val3);
long sys_execve(uint64_t path, uint64_t argv, uint64_t envp);
long sys_execveat(int dirfd, uint64_t path, uint64_t argv, uint64_t envp, int flags);
long sys_tgkill(pid_t tgid, pid_t tid, int sig);
long sys_tkill(pid_t tid, int sig);
/* kernel/signal.c, signal_frame.c, itimer.c: signals and timers */
long sys_rt_sigreturn(void);
long sys_rt_sigsuspend(uint64_t mask, size_t sigsetsize);
long sys_pause(void);
long sys_rt_sigtimedwait(uint64_t set, uint64_t info, uint64_t timeout, size_t sigsetsize);
long sys_rt_sigqueueinfo(pid_t pid, int sig, uint64_t info);
long sys_rt_tgsigqueueinfo(pid_t tgid, pid_t tid, int sig, uint64_t info);
long sys_sigaltstack(uint64_t ss, uint64_t old_ss);
long sys_alarm(unsigned seconds);
long sys_getitimer(int which, uint64_t cur);
long sys_setitimer(int which, uint64_t new_value, uint64_t old_value);
long sys_timer_create(int clock, uint64_t sevp, uint64_t timerid);
long sys_timer_settime(int timerid, int flags, uint64_t new_value, uint64_t old_value);
long sys_timer_gettime(int timerid, uint64_t cur);
long sys_timer_getoverrun(int timerid);
long sys_timer_delete(int timerid);
#endif
