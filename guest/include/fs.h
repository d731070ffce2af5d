/* The file layer: inodes (ramfs from the initramfs), open files, fd tables, the console. */
#ifndef GUEST_FS_H
#define GUEST_FS_H
#include "types.h"
#include "proc.h"

/* ---- Linux constants (asm-generic/fcntl.h, linux/stat.h) ---------------- */
#define O_ACCMODE   03
#define O_RDONLY    00
#define O_WRONLY    01
#define O_RDWR      02
#define O_CREAT     0100
#define O_EXCL      0200
#define O_NOCTTY    0400
#define O_TRUNC     01000
#define O_APPEND    02000
#define O_NONBLOCK  04000
#define O_DSYNC     010000
#define O_DIRECT    040000
#define O_LARGEFILE 0100000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW  0400000
#define O_NOATIME   01000000
#define O_CLOEXEC   02000000
#define O_PATH      010000000
#define O_TMPFILE   020000000

#define AT_FDCWD            (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR        0x200
#define AT_EACCESS          0x200
#define AT_SYMLINK_FOLLOW   0x400
#define AT_NO_AUTOMOUNT     0x800
#define AT_EMPTY_PATH       0x1000
#define AT_STATX_SYNC_TYPE  0x6000

#define S_IFMT   0170000
#define S_IFSOCK 0140000
#define S_IFLNK  0120000
#define S_IFREG  0100000
#define S_IFBLK  0060000
#define S_IFDIR  0040000
#define S_IFCHR  0020000
#define S_IFIFO  0010000
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)

#define PATH_MAX    4096
#define NAME_MAX    255
#define SYMLOOP_MAX 40   /* Linux's MAXSYMLINKS */

/* ---- inodes ---------------------------------------------------------------- */
enum inode_kind {
	I_REG = 1,      /* regular file: archive data and/or private pages */
	I_DIR,          /* directory: a list of dentries */
	I_SYMLINK,      /* symbolic link with a stored target */
	I_CONSOLE,      /* the VMM's console (/dev/console, /dev/tty, fds 0-2) */
	I_NULL,         /* /dev/null */
	I_ZERO,         /* /dev/zero */
	I_RANDOM,       /* /dev/random, /dev/urandom */
	I_DEVICE,       /* other device nodes from the archive: open gives ENXIO */
	I_PROC_EXE,     /* /proc/self/exe: symlink to current_proc()->exe_path */
	I_PROC_CWD,     /* /proc/self/cwd: symlink to the working directory */
	I_PROC_FDDIR,   /* /proc/self/fd: one entry per open fd */
	I_PROC_FDLINK,  /* /proc/self/fd/N: symlink to what fd N is open on */
	I_PROC_MAPS,    /* /proc/self/maps: the text made at each read (procfs_maps_text) */
	I_FIFO,         /* named pipe (mknod S_IFIFO): u.pipe while open */
	I_ANON,         /* behind an anonymous file (pipe, epoll, eventfd, ...): file->ops */
	I_BLOCK,        /* a virtio-blk disk (/dev/vda, ...): u.blk */
};

#define INODE_STATIC 0x1   /* static or arena storage: never kfree'd */

struct dentry;

struct inode {
	uint64_t ino;
	uint32_t mode;           /* S_IF* | permission bits */
	uint32_t nlink;
	uint32_t refs;           /* open files and working directories */
	uint8_t kind;            /* enum inode_kind */
	uint8_t flags;           /* INODE_* */
	uint16_t reserved;
	uint32_t rdev;           /* device nodes: Linux dev_t encoding */
	uint64_t size;
	uint64_t atime_ns, mtime_ns, ctime_ns;
	struct dentry *dentry;   /* its (last) name, NULL once unlinked */
	union {
		struct {             /* I_REG */
			/* Bytes [0, arch_len) not in pages[] read from the archive at arch_pa. */
			uint64_t arch_pa, arch_len;
			/* Private pages: a two-level index of physical pages (a top page of
			 * 512 leaf-page addresses, each leaf 512 data-page addresses; 0 = none:
			 * archive bytes below arch_len, else zeros). NULL until the first write. */
			uint64_t *top;
		} reg;
		struct {             /* I_DIR, I_PROC_FDDIR */
			struct inode *parent;
			struct dentry *head, *tail; /* in creation order (getdents order) */
			uint64_t next_seq;   /* getdents cookie of the next entry */
			uint64_t nentries;
		} dir;
		struct {             /* I_SYMLINK: the target is not NUL-terminated */
			const char *target;
			bool owned;          /* a page of its own (else it points into the archive) */
		} link;
		int fd;              /* I_PROC_FDLINK */
		struct pipe *pipe;   /* I_FIFO: the pipe while either end is open */
		struct blkdisk *blk; /* I_BLOCK */
	} u;
};

#define DENTRY_STATIC    0x1 /* arena storage: never kfree'd */
#define DENTRY_NAME_OWNED 0x2 /* name is kmalloc'd */

struct dentry {
	struct dentry *hnext;        /* hash chain */
	struct dentry *next, *prev;  /* the directory's list */
	struct inode *dir;
	struct inode *inode;
	const char *name;            /* not NUL-terminated; into the archive or kmalloc'd */
	uint32_t hash;               /* fs_hash_name(name) */
	uint16_t len;
	uint8_t flags;
	uint8_t reserved;
	uint64_t seq;                /* getdents cookie (>= 2; 0 and 1 are . and ..) */
};

/* ---- waiting ------------------------------------------------------------------ */

/* Kernel-internal restart codes (errno.h has them with the signal restart work). */
#ifndef ERESTARTSYS
#define ERESTARTSYS 512
#define ERESTARTNOHAND 514
#endif

/* poll(2) event bits (asm-generic/poll.h); epoll uses the same values. */
#define POLLIN     0x001
#define POLLPRI    0x002
#define POLLOUT    0x004
#define POLLERR    0x008
#define POLLHUP    0x010
#define POLLNVAL   0x020
#define POLLRDNORM 0x040
#define POLLRDBAND 0x080
#define POLLWRNORM 0x100
#define POLLWRBAND 0x200
#define POLLRDHUP  0x2000

/*
 * A wait queue: the channel that blocking readers/writers of one object
 * sleep on (sleep_on(q)), plus entries registered by poll/select/epoll
 * waiting on many objects at once. Whoever changes the object's readiness
 * calls waitq_wake: it wakes the direct sleepers (only if there are any:
 * no walk over the threads otherwise) and runs every entry.
 */
struct wait_entry;
typedef void (*wait_fn)(struct wait_entry *e);
struct wait_entry {
	struct wait_entry *next, **pprev;  /* on q's list */
	struct waitq *q;
	const void *wchan;       /* woken with wakeup(wchan) when fn is NULL */
	wait_fn fn;              /* else called (epoll: queue the item as ready) */
	struct file *file;       /* a reference held while registered (poll tables) */
	struct wait_entry *pt_next; /* the poll table's list */
};
struct waitq {
	struct wait_entry *head;
	uint32_t sleepers;       /* threads inside waitq_sleep on this queue */
};
void __waitq_wake(struct waitq *q);
static inline void waitq_wake(struct waitq *q)
{
	if (q->sleepers || q->head)
		__waitq_wake(q);
}
/* Sleep on q (interruptible) until waitq_wake or the deadline: sleep_on's result. */
int waitq_sleep(struct waitq *q, uint64_t deadline_ns);
void wait_entry_add(struct waitq *q, struct wait_entry *e);
void wait_entry_del(struct wait_entry *e);

/*
 * What a file's poll op fills besides its ready mask: with `register_q` it
 * adds an entry for each wait queue whose wakeups matter (poll_wait), and
 * lowers `deadline` to the time its readiness changes by itself (timerfd).
 */
struct poll_table {
	bool register_q;         /* register on wait queues (first pass) */
	bool console_in;         /* host stdin was polled for input and is not ready */
	bool nomem;              /* an entry could not be allocated: poll again soon */
	unsigned events;         /* what the poller wants of the file being polled */
	const void *wchan;       /* what the poller sleeps on */
	uint64_t deadline;       /* CLOCK_MONOTONIC ns, 0 = none */
	struct file *cur;        /* the file being polled (referenced by its entries) */
	/* When set, poll_wait calls this instead of adding an entry (epoll items). */
	void (*qproc)(struct poll_table *pt, struct waitq *q);
	void *qpriv;
	struct wait_entry *entries;  /* registered entries (pt_next list) */
	unsigned nr_inline;
	struct wait_entry inline_entries[8];
};
void poll_table_init(struct poll_table *pt, const void *wchan);
void poll_wait(struct poll_table *pt, struct waitq *q);
void poll_deadline(struct poll_table *pt, uint64_t deadline_ns);
void poll_table_free(struct poll_table *pt);   /* unregister every entry */
/* The readiness of f (POLL* bits); pt may be NULL (just ask). */
unsigned file_poll(struct file *f, struct poll_table *pt);
/*
 * Block until something registered in pt is woken, pt->deadline / deadline
 * passes (-ETIMEDOUT) or a signal arrives (-EINTR); 0 otherwise. Handles
 * waiting for host stdin (pt->console_in) without stalling other threads.
 */
int poll_block(struct poll_table *pt, uint64_t deadline_ns);
/* No other thread can run before a deadline or our own action: blocking in the VMM is fine. */
bool poll_alone(void);
/* ppoll/pselect6/epoll_pwait: a user sigset replaces the thread's mask for the wait. */
struct sigmask_swap {
	bool active;
	uint64_t old;
};
int sigmask_swap_in(struct sigmask_swap *s, uint64_t umask, size_t size); /* 0 or -EINVAL/-EFAULT */
void sigmask_swap_out(struct sigmask_swap *s, long result);

/* ---- open files and fd tables -------------------------------------------- */
struct kiovec { uint64_t base, len; };

/* What a file of a kind that is not a ramfs/device inode does (pipes, epoll, eventfd, ...). */
struct file_ops {
	ssize_t (*rw)(struct file *f, const struct kiovec *iov, int cnt, bool write);
	/* Optional: read/write of one buffer (the hot path; access mode already checked). */
	ssize_t (*rw1)(struct file *f, uint64_t buf, size_t count, bool write);
	unsigned (*poll)(struct file *f, struct poll_table *pt);   /* NULL: always ready */
	long (*ioctl)(struct file *f, unsigned long cmd, uint64_t arg); /* NULL: ENOTTY */
	void (*release)(struct file *f);                           /* the last reference went */
};

struct file {
	uint32_t refs;
	uint32_t flags;          /* O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH ... */
	off_t pos;
	struct inode *inode;
	uint8_t console_fd;      /* I_CONSOLE: the host fd writes go to (1 or 2) */
	uint8_t console_tty;     /* I_CONSOLE: the host fd whose terminal-ness the ioctls report (0..2) */
	uint8_t is_static;
	const struct file_ops *ops; /* NULL: dispatch by inode kind */
	void *priv;              /* the ops' object */
	struct epitem *epitems;  /* epoll items watching this file (removed when it goes) */
};

struct fdtable {
	uint32_t refs;           /* processes/threads sharing it (CLONE_FILES) */
	uint32_t is_static;
	struct file *fd[NR_OPEN];
	uint64_t cloexec[NR_OPEN / 64];
};

/* ---- the interface to the rest of the kernel ---------------------------- */

/*
 * Give the first process its files: fds 0, 1 and 2 on the console and the
 * working directory `cwd` (created if missing). The initramfs is unpacked on
 * first use of a path (not at boot: the boot path stays short).
 */
int fs_init_process(struct proc *p, const char *cwd);
/* fork/clone: share (CLONE_FILES) or copy the fd table; the child shares the cwd. */
int fs_fork(struct proc *child, struct proc *parent, bool share_files);
/* execve succeeded: unshare the fd table and close O_CLOEXEC fds. */
int fs_exec(struct proc *p);
/* The process is gone: drop its fd table and cwd. */
void fs_exit(struct proc *p);

/* The open file behind fd in the current process (no reference taken), or NULL. */
struct file *fd_get(int fd);

/*
 * For private file mappings (mm/): copy up to len bytes of f at offset off
 * into guest-physical memory at pa (bytes past EOF are left untouched).
 * Returns bytes copied or -errno (-EACCES if f is not readable, -ENODEV if f
 * cannot be mapped).
 */
ssize_t file_read_phys(struct file *f, uint64_t pa, size_t len, off_t off);

/*
 * For execve (kernel/): open a kernel path (relative to the cwd; final
 * symlinks followed) for reading; *out holds a reference, drop it with
 * file_put. Errors as open(2) (ENOENT, ENOTDIR, ELOOP, EACCES for a
 * directory or non-regular file, ...).
 */
int kernel_open(const char *path, struct file **out);
/* Read from a file into kernel memory at offset off: bytes read or -errno. */
ssize_t kernel_read(struct file *f, void *buf, size_t len, off_t off);
/* Absolute path of what f is open on, NUL-terminated: length or -errno. */
long file_path(struct file *f, char *buf, size_t size);
void file_get(struct file *f);
void file_put(struct file *f);

/*
 * fd-layer syscalls not (yet) in syscalls.h / the syscall table (fs/poll.c,
 * sys_file.c, sys_path.c): Linux semantics, same conventions.
 */
long sys_poll(uint64_t fds, uint64_t nfds, int timeout_ms);
long sys_ppoll(uint64_t fds, uint64_t nfds, uint64_t tsp, uint64_t sigmask, size_t sigsetsize);
long sys_select(int nfds, uint64_t rfds, uint64_t wfds, uint64_t efds, uint64_t tv);
long sys_pselect6(int nfds, uint64_t rfds, uint64_t wfds, uint64_t efds, uint64_t ts, uint64_t sig);
long sys_symlink(uint64_t target, uint64_t linkpath);
long sys_symlinkat(uint64_t target, int newdirfd, uint64_t linkpath);
long sys_link(uint64_t oldpath, uint64_t newpath);
long sys_linkat(int olddirfd, uint64_t oldpath, int newdirfd, uint64_t newpath, int flags);
long sys_utimensat(int dirfd, uint64_t path, uint64_t times, int flags);
long sys_chown(uint64_t path, uid_t uid, gid_t gid);
long sys_lchown(uint64_t path, uid_t uid, gid_t gid);
long sys_fchown(int fd, uid_t uid, gid_t gid);
long sys_fchownat(int dirfd, uint64_t path, uid_t uid, gid_t gid, int flags);
long sys_statfs(uint64_t path, uint64_t buf);
long sys_fstatfs(int fd, uint64_t buf);
long sys_flock(int fd, int op);
long sys_fadvise64(int fd, off_t off, off_t len, int advice);
long sys_fallocate(int fd, int mode, off_t off, off_t len);
long sys_sync(void);
long sys_syncfs(int fd);
long sys_sendfile(int out_fd, int in_fd, uint64_t offp, size_t count);
/* pipe.c, epoll.c, eventfd.c, timerfd.c, signalfd.c */
long sys_pipe(uint64_t fds);
long sys_pipe2(uint64_t fds, int flags);
long sys_mknod(uint64_t path, mode_t mode, unsigned dev);
long sys_mknodat(int dirfd, uint64_t path, mode_t mode, unsigned dev);
long sys_epoll_create(int size);
long sys_epoll_create1(int flags);
long sys_epoll_ctl(int epfd, int op, int fd, uint64_t event);
long sys_epoll_wait(int epfd, uint64_t events, int maxevents, int timeout_ms);
long sys_epoll_pwait(int epfd, uint64_t events, int maxevents, int timeout_ms, uint64_t sigmask,
		     size_t sigsetsize);
long sys_epoll_pwait2(int epfd, uint64_t events, int maxevents, uint64_t timeout, uint64_t sigmask,
		      size_t sigsetsize);
long sys_eventfd(unsigned initval);
long sys_eventfd2(unsigned initval, int flags);
long sys_timerfd_create(int clockid, int flags);
long sys_timerfd_settime(int fd, int flags, uint64_t new_value, uint64_t old_value);
long sys_timerfd_gettime(int fd, uint64_t curr_value);
long sys_signalfd(int fd, uint64_t mask, size_t sizemask);
long sys_signalfd4(int fd, uint64_t mask, size_t sizemask, int flags);
/* eventfd.c: helpers for 8-byte reads and writes through an iovec */
int iov_copy8(const struct kiovec *iov, int cnt, uint64_t *v, bool to_user); /* 0 or -EFAULT */
uint64_t iov_len(const struct kiovec *iov, int cnt);
/* kernel/signal.c: take a pending signal of mask for t (signalfd): its number, 0 if none. */
int signal_dequeue(struct thread *t, uint64_t mask, struct ksiginfo *info);
/* A signal was queued for p: wake signalfd readers (kernel/signal.c calls this). */
void signalfd_notify(struct proc *p);
/* The file is going away: take it out of every epoll set (file_put calls this). */
void eventpoll_release_file(struct file *f);

/* ---- inside fs/ ------------------------------------------------------------ */

/* ramfs.c */
struct inode *fs_root(void);             /* unpacks the initramfs on first use */
struct inode *inode_alloc(uint8_t kind, uint32_t mode); /* nlink 0, refs 0; NULL: ENOMEM */
struct inode *inode_alloc_static(uint8_t kind, uint32_t mode); /* arena, never freed */
#define FILE_SIZE_MAX (512ull * 512 * PAGE_SIZE) /* what the two-level page index holds */
void inode_get(struct inode *ip);
void inode_put(struct inode *ip);        /* frees when unreferenced and unlinked */
void inode_release(struct inode *ip);    /* frees if nlink == 0 and refs == 0 */
struct dentry *dir_find(struct inode *dir, const char *name, size_t len, uint32_t hash);
/* Link ip into dir as name (copied unless static_name). */
int dir_link(struct inode *dir, const char *name, size_t len, struct inode *ip, bool static_name);
int dir_link_hashed(struct inode *dir, const char *name, size_t len, uint32_t hash,
		    struct inode *ip, bool static_name);  /* hash = fs_hash_name(name) */
void dir_unlink(struct dentry *d);       /* drops ip's link count (not freed here) */
/* Move d to newdir/name, replacing victim (unlinked, released) when not NULL. */
int dir_rename(struct dentry *d, struct inode *newdir, const char *name, size_t len,
	       struct dentry *victim);
void dir_exchange(struct dentry *a, struct dentry *b);
bool dir_empty(struct inode *dir);
uint64_t fs_next_ino(void);
uint64_t fs_now(void);
ssize_t inode_read_phys(struct inode *ip, uint64_t off, uint64_t len, uint64_t dst_pa);
ssize_t inode_write_phys(struct inode *ip, uint64_t off, uint64_t len, uint64_t src_pa);
ssize_t inode_zero_phys(uint64_t dst_pa, uint64_t len);
/* File bytes [off, off+len), clamped to EOF, as physical segments (holes map
 * to a shared zero page: read-only use). Bytes covered; *nr segments. */
struct kvmbox_seg;
uint64_t inode_phys_segs(struct inode *ip, uint64_t off, uint64_t len, struct kvmbox_seg *segs,
			 unsigned max, unsigned *nr);
int inode_truncate(struct inode *ip, uint64_t size);
void inode_free_data(struct inode *ip);
extern struct inode *root_inode;
void *fs_arena_alloc(size_t size);       /* zeroed, never freed */

/* initramfs.c */
void initramfs_unpack(struct inode *root);

/* path.c */
#define LOOKUP_FOLLOW 0x1   /* follow a final symlink */
#define LOOKUP_EMPTY  0x2   /* "" means the dirfd itself */
struct kpath {
	char *s;
	size_t len;
	bool heap;
	char small[192];
};
char *pathbuf_alloc(void);                      /* PATH_MAX bytes (a page), or NULL */
void pathbuf_free(char *buf);                   /* NULL is fine */
int getname(uint64_t upath, struct kpath *kp);   /* 0 or -EFAULT/-ENAMETOOLONG */
void putname(struct kpath *kp);
struct nameidata {
	struct inode *dir;     /* the parent directory */
	const char *last;      /* the final component (not NUL-terminated) */
	size_t lastlen;        /* 0 when the path is "/" */
	uint32_t hash;
	int last_type;         /* LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT */
	bool slash;            /* a trailing slash followed the final component */
	int nlinks;            /* symlinks followed so far (set by the caller) */
	int depth;             /* symlink nesting (set by the caller) */
};
enum { LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT };
struct inode *proc_cwd(struct proc *p);   /* resolves the boot cwd on first use */
void fs_set_boot_cwd(const char *cwd);
int dirfd_inode(int dirfd, struct inode **out);
int path_parent(struct inode *start, const char *path, size_t len, struct nameidata *nd);
int path_lookup_at(struct inode *start, const char *path, size_t len, int flags,
		   struct inode **out);
int user_path_at(int dirfd, uint64_t upath, int flags, struct inode **out);
int lookup_last(struct nameidata *nd, struct inode **out); /* NULL child without error: ENOENT */
int follow_link(struct inode *dir, struct inode *link, int *nlinks, struct inode **out);
long inode_path(struct inode *ip, char *buf, size_t size); /* length or -ERANGE/-ENOENT */

/* file.c */
struct file *file_alloc(struct inode *ip, uint32_t flags);
/* A file on a fresh anonymous inode (mode S_IF* | perms) with these ops: NULL on ENOMEM. */
struct file *anon_file_alloc(uint32_t mode, uint32_t flags, const struct file_ops *ops, void *priv);
/* Install f at the lowest free fd: the fd, or -EMFILE after dropping f. */
int fd_install_new(struct file *f, bool cloexec);
int fd_install(struct file *f, int minfd, bool cloexec);  /* fd or -EMFILE (f consumed on error: no) */
int fd_close(int fd);
void fd_set_cloexec(struct fdtable *t, int fd, bool on);
bool fd_is_cloexec(struct fdtable *t, int fd);

/* sys_file.c */
struct linux_stat;
void stat_fill(struct inode *ip, struct linux_stat *st);
long stat_to_user(struct inode *ip, uint64_t ust);
/* getdents64 output, staged in a small kernel buffer */
struct dirbuf {
	uint64_t udst;
	size_t count;            /* the user buffer's size */
	size_t done;             /* bytes copied out */
	size_t fill;             /* bytes staged in kbuf */
	int err;
	bool full;               /* an entry did not fit */
	char kbuf[512] __attribute__((aligned(8)));
};
void dirbuf_init(struct dirbuf *db, uint64_t udst, size_t count);
/* Add one entry; false (and db->full) when it does not fit or on a fault. */
bool dirbuf_emit(struct dirbuf *db, uint64_t ino, int64_t off, uint8_t type,
		 const char *name, size_t len);
/* Bytes produced, -EFAULT, or -EINVAL if not even the first entry fit. */
long dirbuf_finish(struct dirbuf *db);

/* console.c */
ssize_t console_rw(struct file *f, const struct kiovec *iov, int cnt, bool write);
long console_ioctl(struct file *f, unsigned long cmd, uint64_t arg);
/* Write guest-physical segments (at most KVMBOX_CONSOLE_MAX_SEGS) to the console. */
ssize_t console_write_segs(struct file *f, const struct kvmbox_seg *segs, unsigned nr);
extern struct inode console_inode;
/* Readiness of a console file: always writable; readable when host stdin has input (or EOF). */
unsigned console_poll(struct file *f, struct poll_table *pt);
/* Wait inside the VMM up to timeout_ns for host stdin: true when it is readable. */
bool console_wait_input(uint64_t timeout_ns);

/* devfs.c */
void devfs_populate(struct inode *root);
ssize_t dev_rw(struct file *f, const struct kiovec *iov, int cnt, bool write);

/* drivers/virtio_blk.c: the disks behind I_BLOCK inodes */
void virtio_blk_populate(struct inode *dev);     /* /dev/vda, vdb, ... from the device tree */
ssize_t blk_rw(struct file *f, const struct kiovec *iov, int cnt, bool write, uint64_t *posp);
long blk_ioctl(struct file *f, unsigned long cmd, uint64_t arg);
long blk_fsync(struct file *f);
long blk_size(struct inode *ip);                  /* bytes, or -EIO if the disk does not work */

/* pipe.c */
/* open(2) of a FIFO: attach the pipe, count the end, wait for the other side. 0 or -errno. */
int fifo_open(struct file *f);
extern const struct file_ops pipe_ops;
/* fcntl F_GETPIPE_SZ / F_SETPIPE_SZ: the capacity in bytes or -errno (-EBADF: not a pipe). */
long pipe_fcntl_size(struct file *f, bool set, uint64_t arg);

/* procfs.c */
void procfs_populate(struct inode *root);
struct inode *procfs_lookup(struct inode *dir, const char *name, size_t len);
long procfs_readlink(struct inode *ip, char *buf, size_t size, const char **target);
int procfs_follow(struct inode *ip, int *nlinks, struct inode **out);
long procfs_getdents(struct file *f, uint64_t dirp, size_t count);
/*
 * p's memory map as /proc/PID/maps shows it, in Linux's format (one line per
 * VMA: range, perms, offset, dev, inode, name). Writes at most size bytes
 * (NUL-terminated when size > 0) and returns the whole text's length.
 */
size_t procfs_maps_text(struct proc *p, char *buf, size_t size);
/* The same from byte `from` of the text on (buf gets bytes from..; the whole length is returned). */
size_t procfs_maps_text_from(struct proc *p, char *buf, size_t size, uint64_t from);
/* read(2) of /proc/self/maps at *posp. */
ssize_t procfs_maps_read(const struct kiovec *iov, int cnt, uint64_t *posp);
#endif
