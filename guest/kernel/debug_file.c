/*
 * KVMBOX_CMD_FILE (shared/debug.h): guest files for gdb's vFile packets,
 * read only. gdb reads /proc/PID/maps for `info proc mappings`, readlinks
 * /proc/PID/exe and /proc/PID/cwd for `info proc`, and with its default
 * sysroot ("target:") the program itself, all through the target; procfs
 * here only knows /proc/self, so /proc/PID/... (also /proc/PID/task/TID/...)
 * is answered for that process directly.
 */
#include "debug.h"
#include "fs.h"
#include "lib.h"
#include "errno.h"

enum proc_entry { PE_NONE, PE_MAPS, PE_EXE, PE_CWD };

static bool parse_num(const char **s, long *v)
{
	long n = 0;
	const char *p = *s;
	while (*p >= '0' && *p <= '9' && n < (1l << 30))
		n = n * 10 + (*p++ - '0');
	if (p == *s || (*p && *p != '/'))
		return false;
	*s = p;
	*v = n;
	return true;
}

/* "/proc/(self|PID)[/task/TID]/NAME": the process and the entry; *p NULL: not such a path. */
static int proc_path(const char *path, struct proc *self, struct proc **p)
{
	*p = NULL;
	if (strncmp(path, "/proc/", 6))
		return 0;
	const char *s = path + 6;
	long pid;
	if (!strncmp(s, "self/", 5)) {
		*p = self;
		s += 4;
	} else if (parse_num(&s, &pid)) {
		*p = proc_find((pid_t)pid);
	} else {
		return 0; /* /proc's own files: the file system's */
	}
	if (!*p || (*p)->zombie)
		return -ENOENT;
	if (!strncmp(s, "/task/", 6)) {
		long tid;
		s += 6;
		if (!parse_num(&s, &tid))
			return -ENOENT;
		bool found = false;
		for (struct thread *t = (*p)->threads; t; t = t->proc_next)
			found |= t->tid == tid;
		if (!found)
			return -ENOENT;
	}
	if (!strcmp(s, "/maps"))
		return PE_MAPS;
	if (!strcmp(s, "/exe"))
		return PE_EXE;
	if (!strcmp(s, "/cwd"))
		return PE_CWD;
	return -ENOENT;
}

static long copy_window(struct kvmbox_hc_stop *hc, const char *text, size_t len, uint64_t off, size_t max)
{
	if (off >= len)
		return 0;
	size_t n = MIN(len - off, max);
	memcpy(hc->data, text + off, n);
	return (long)n;
}

static long regular_file(struct kvmbox_hc_stop *hc, const char *path, unsigned op, size_t max)
{
	struct inode *ip;
	int r = path_lookup_at(fs_root(), path, strlen(path), op == KVMBOX_FILE_READLINK ? 0 : LOOKUP_FOLLOW, &ip);
	if (r)
		return r;
	if (op == KVMBOX_FILE_STAT) {
		struct kvmbox_file_stat st = { .size = ip->size, .ino = ip->ino, .mode = ip->mode, .nlink = ip->nlink };
		memcpy(hc->data, &st, sizeof(st));
		return 0;
	}
	if (op == KVMBOX_FILE_READLINK) {
		if (ip->kind != I_SYMLINK)
			return -EINVAL; /* /proc links of other kinds: proc_path's */
		return copy_window(hc, ip->u.link.target, ip->size, 0, max);
	}
	struct file *f;
	if ((r = kernel_open(path, &f)))
		return r;
	long n = kernel_read(f, hc->data, max, (off_t)hc->cmd.addr);
	file_put(f);
	return n;
}

long debug_file(struct kvmbox_hc_stop *hc, struct proc *self)
{
	static char text[16384]; /* one /proc/PID/maps text: what procfs_maps_read shows too */
	char path[KVMBOX_PATH_MAX];
	unsigned op = (unsigned)hc->cmd.arg1;
	size_t n = strnlen((const char *)hc->data, MIN(sizeof(path), KVMBOX_STOP_DATA_MAX));
	size_t max = MIN(hc->cmd.len, KVMBOX_STOP_DATA_MAX);
	if (n >= sizeof(path) || n == 0 || hc->data[0] != '/')
		return n ? -ENAMETOOLONG : -ENOENT;
	memcpy(path, hc->data, n + 1);
	if (op > KVMBOX_FILE_READLINK)
		return -EINVAL;
	struct proc *p;
	int e = proc_path(path, self, &p);
	if (e < 0)
		return e;
	if (!p)
		return regular_file(hc, path, op, max);
	if (op == KVMBOX_FILE_STAT) {
		struct kvmbox_file_stat st = { .mode = (e == PE_MAPS ? S_IFREG | 0444 : S_IFLNK | 0777), .nlink = 1 };
		memcpy(hc->data, &st, sizeof(st));
		return 0;
	}
	if (e == PE_MAPS) {
		if (op != KVMBOX_FILE_READ)
			return -EINVAL;
		size_t len = MIN(procfs_maps_text(p, text, sizeof(text)), sizeof(text) - 1);
		return copy_window(hc, text, len, hc->cmd.addr, max);
	}
	if (op == KVMBOX_FILE_READ) {
		/* Through the link, as open(2) of /proc/PID/exe would. */
		if (e != PE_EXE)
			return -EISDIR;
		strlcpy(path, p->exe_path, sizeof(path));
		return regular_file(hc, path, op, max);
	}
	if (e == PE_EXE)
		return copy_window(hc, p->exe_path, strnlen(p->exe_path, KVMBOX_PATH_MAX), 0, max);
	long len = inode_path(proc_cwd(p), text, sizeof(text));
	return len < 0 ? len : copy_window(hc, text, (size_t)len, 0, max);
}
