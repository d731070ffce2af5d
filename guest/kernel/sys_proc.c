/* Process identity, limits and small system queries. */
#include "syscalls.h"
#include "proc.h"
#include "uaccess.h"
#include "platform.h"
#include "lib.h"
#include "errno.h"

long sys_getuid(void)
{
	return 0; /* the program runs as root in its own VM (AT_UID etc. say so too) */
}

long sys_getgroups(int size, uint64_t list)
{
	if (size < 0)
		return -EINVAL;
	return 0;
}

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define MSR_FS_BASE 0xc0000100
#define MSR_KERNEL_GS_BASE 0xc0000102

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

long sys_arch_prctl(int code, uint64_t addr)
{
	struct thread *t = current_thread();
	switch (code) {
	case ARCH_SET_FS:
		if (addr >= KVMBOX_USER_TOP)
			return -EPERM;
		t->fs_base = addr;
		wrmsr(MSR_FS_BASE, addr);
		return 0;
	case ARCH_SET_GS:
		if (addr >= KVMBOX_USER_TOP)
			return -EPERM;
		t->gs_base = addr;
		/* In the kernel GS.base is ours; the user's value waits in KERNEL_GS_BASE for SWAPGS. */
		wrmsr(MSR_KERNEL_GS_BASE, addr);
		return 0;
	case ARCH_GET_FS:
		return copy_to_user(addr, &t->fs_base, 8);
	case ARCH_GET_GS:
		return copy_to_user(addr, &t->gs_base, 8);
	default:
		return -EINVAL;
	}
}

long sys_set_tid_address(uint64_t tidptr)
{
	current_thread()->clear_child_tid = tidptr;
	return current_thread()->tid;
}

long sys_set_robust_list(uint64_t head, size_t len)
{
	if (len != 24) /* sizeof(struct robust_list_head) */
		return -EINVAL;
	current_thread()->robust_list = head;
	current_thread()->robust_list_len = len;
	return 0;
}

struct utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

static char hostname[65] = "kvmbox";

long sys_uname(uint64_t buf)
{
	static struct utsname u = {
		.sysname = "Linux",
		.nodename = "kvmbox",
		.release = "6.1.0-kvmbox",
		.version = "#1 SMP kvmbox",
		.machine = "x86_64",
		.domainname = "(none)",
	};
	strlcpy(u.nodename, hostname, sizeof(u.nodename));
	return copy_to_user(buf, &u, sizeof(u));
}

struct rlimit {
	uint64_t cur, max;
};
#define RLIM_INFINITY (~0ull)
#define RLIMIT_STACK 3
#define RLIMIT_NOFILE 7
#define RLIM_NLIMITS 16

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static struct rlimit rlimits[RLIM_NLIMITS] = {
	[0 ... RLIM_NLIMITS - 1] = { RLIM_INFINITY, RLIM_INFINITY },
	[RLIMIT_STACK] = { KVMBOX_STACK_MAX, RLIM_INFINITY },
	[RLIMIT_NOFILE] = { NR_OPEN, NR_OPEN },
};
#pragma GCC diagnostic pop

long sys_prlimit64(pid_t pid, int resource, uint64_t new_rlim, uint64_t old_rlim)
{
	if (pid && pid != current_proc()->pid)
		return -ESRCH;
	if (resource < 0 || resource >= RLIM_NLIMITS)
		return -EINVAL;
	struct rlimit n;
	if (new_rlim) {
		if (copy_from_user(&n, new_rlim, sizeof(n)))
			return -EFAULT;
		if (n.cur > n.max)
			return -EINVAL;
		if (n.max > rlimits[resource].max)
			return -EPERM;
	}
	if (old_rlim && copy_to_user(old_rlim, &rlimits[resource], sizeof(struct rlimit)))
		return -EFAULT;
	if (new_rlim)
		rlimits[resource] = n;
	return 0;
}

long sys_getrlimit(int resource, uint64_t rlim)
{
	return sys_prlimit64(0, resource, 0, rlim);
}

long sys_sched_getaffinity(pid_t pid, size_t len, uint64_t mask)
{
	if (pid && pid != current_proc()->pid)
		return -ESRCH;
	if (len < 8 || (len & 7))
		return -EINVAL;
	uint64_t m = (1ull << boot_info->nr_cpus) - 1;
	if (copy_to_user(mask, &m, 8))
		return -EFAULT;
	return 8;
}

long sys_sched_yield(void)
{
	sched_yield_cpu();
	return 0;
}

struct sysinfo {
	int64_t uptime;
	uint64_t loads[3];
	uint64_t totalram, freeram, sharedram, bufferram, totalswap, freeswap;
	uint16_t procs, pad;
	uint32_t pad2;
	uint64_t totalhigh, freehigh;
	uint32_t mem_unit;
	char reserved[4];
};

long sys_sysinfo(uint64_t info)
{
	struct sysinfo si = { 0 };
	si.uptime = (int64_t)(clock_monotonic_ns() / 1000000000ull);
	si.totalram = boot_info->mem_size;
	si.freeram = pages_free() * PAGE_SIZE;
	si.procs = 1;
	si.mem_unit = 1;
	return copy_to_user(info, &si, sizeof(si));
}

long sys_setrlimit(int resource, uint64_t rlim)
{
	return sys_prlimit64(0, resource, rlim, 0);
}

long sys_sethostname(uint64_t name, size_t len)
{
	if (len > 64)
		return -EINVAL;
	char buf[65];
	if (copy_from_user(buf, name, len))
		return -EFAULT;
	buf[len] = 0;
	strlcpy(hostname, buf, sizeof(hostname));
	return 0;
}

/* Clock ticks (AT_CLKTCK = 100 per second) since boot. */
static int64_t ticks(uint64_t ns)
{
	return (int64_t)(ns / 10000000ull);
}

/* The children's times: those reaped by wait, with their own reaped children's (sched.c's accounting). */
static void children_cputime(struct proc *p, uint64_t *total_ns, uint64_t *sys_ns)
{
	*total_ns = tsc_to_ns(p->child_cpu_tsc);
	*sys_ns = tsc_to_ns(MIN(p->child_sys_tsc, p->child_cpu_tsc));
}

long sys_times(uint64_t buf)
{
	int64_t now = ticks(clock_monotonic_ns());
	if (buf) {
		struct proc *p = current_proc();
		uint64_t cpu, sys, ccpu, csys;
		proc_cputime(p, &cpu, &sys);
		children_cputime(p, &ccpu, &csys);
		int64_t t[4] = { ticks(cpu - sys), ticks(sys), ticks(ccpu - csys), ticks(csys) };
		if (copy_to_user(buf, t, sizeof(t)))
			return -EFAULT;
	}
	return now;
}

#define RUSAGE_SELF 0
#define RUSAGE_CHILDREN (-1)
#define RUSAGE_THREAD 1

long sys_getrusage(int who, uint64_t usage)
{
	uint64_t cpu, sys;
	switch (who) {
	case RUSAGE_SELF:
		proc_cputime(current_proc(), &cpu, &sys);
		break;
	case RUSAGE_CHILDREN:
		children_cputime(current_proc(), &cpu, &sys);
		break;
	case RUSAGE_THREAD:
		thread_cputime(current_thread(), &cpu, &sys);
		break;
	default:
		return -EINVAL;
	}
	struct rusage ru = { 0 };
	rusage_set_times(&ru, cpu, sys);
	return copy_to_user(usage, &ru, sizeof(ru));
}
