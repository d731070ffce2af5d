/*
 * execve and execveat. The guest checks the file and does the point of no
 * return; the VMM reads argv/envp, parses the ELF (or the "#!" line) and
 * builds the whole new address space natively (HC_EXEC), from our free
 * frames, in one exit. On emulated-CPL0 hosts every instruction here costs
 * ~1 us: no loops over pages, strings or page tables at CPL0.
 */
#include "syscalls.h"
#include "proc.h"
#include "mm.h"
#include "fs.h"
#include "platform.h"
#include "signal.h"
#include "lib.h"
#include "errno.h"
#include "fpu.h"

/* One vCPU: per-CPU once SMP lands. Kernel .bss is below 4 GiB physical, as hypercall structs must be. */
static struct kvmbox_hc_exec hc;

/*
 * The file's bytes as segments for the VMM: a page-sized block whose last
 * used entry {gpa, 0} continues the list in another page. An archive file
 * is one segment; a file written in the guest is a run per page at worst.
 */
#define SEGS_PER_BLOCK (PAGE_SIZE / sizeof(struct kvmbox_seg))
#define MAX_SEG_PAGES 64
static struct kvmbox_seg seg_block[SEGS_PER_BLOCK] __attribute__((aligned(4096)));
static uint64_t seg_pages[MAX_SEG_PAGES];
static unsigned nr_seg_pages;

static void segs_free(void)
{
	while (nr_seg_pages)
		page_put(seg_pages[--nr_seg_pages]);
}

static int segs_fill(struct inode *ip, uint32_t *nr)
{
	struct kvmbox_seg *block = seg_block;
	uint64_t off = 0;
	*nr = 0;
	while (off < ip->size) {
		unsigned n;
		off += inode_phys_segs(ip, off, ip->size - off, block, SEGS_PER_BLOCK - 1, &n);
		*nr += n;
		if (off >= ip->size)
			break;
		uint64_t pa = nr_seg_pages < MAX_SEG_PAGES && n ? page_alloc() : 0;
		if (!pa)
			return -ENOMEM;
		seg_pages[nr_seg_pages++] = pa;
		block[n] = (struct kvmbox_seg){ .gpa = pa, .len = 0 };
		(*nr)++;
		block = P2V(pa);
	}
	return 0;
}

/* The file execve names: regular, executable by someone (root runs anything with an x bit). */
static int exec_lookup(int dirfd, const char *path, size_t len, int flags, struct inode **out)
{
	struct inode *start, *ip;
	int r;
	if (len == 0) {
		if (!(flags & AT_EMPTY_PATH))
			return -ENOENT;
		if (dirfd == AT_FDCWD) {
			ip = proc_cwd(current_proc());
		} else {
			struct file *f = fd_get(dirfd);
			if (!f)
				return -EBADF;
			ip = f->inode;
		}
	} else {
		if (path[0] == '/')
			start = fs_root();
		else if ((r = dirfd_inode(dirfd, &start)))
			return r;
		r = path_lookup_at(start, path, len, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : LOOKUP_FOLLOW, &ip);
		if (r)
			return r;
	}
	if (S_ISLNK(ip->mode))
		return -ELOOP;          /* AT_SYMLINK_NOFOLLOW on a symlink */
	if (ip->kind != I_REG || !S_ISREG(ip->mode) || !(ip->mode & 0111))
		return -EACCES;         /* directories and devices too (may_open) */
	*out = ip;
	return 0;
}

/* Ask the VMM, faulting in the user pages it could not read (argv/envp not yet touched). */
static long exec_call(struct mm *mm)
{
	for (;;) {
		palloc_export(&hc.pool);
		hypercall(KVMBOX_HC_EXEC, &hc);
		if (hc.ret != -EAGAIN)
			return hc.ret;
		if (handle_user_fault(mm, hc.fault_va, false, false))
			return -EFAULT;
	}
}

/*
 * mm teardown: the VMM lists what the user half holds (HC_EXEC SCAN: the
 * walk over 512-entry tables is what costs at CPL0), we clear each entry
 * ourselves (our writes keep a shadow MMU's copies coherent, see
 * shared/hypercall.h) and drop the uses.
 */
void mm_free_user_half(uint64_t pml4)
{
	static struct kvmbox_hc_exec scan;  /* not hc: an exec may be waiting for its threads to die */
	static uint64_t buf[1024] __attribute__((aligned(4096)));
	scan.flags = KVMBOX_EXEC_SCAN;
	scan.old_pml4 = pml4;
	scan.scan_buf = V2P(buf);
	scan.scan_max = ARRAY_SIZE(buf);
	scan.scan_va = 0;
	do {
		hypercall(KVMBOX_HC_EXEC, &scan);
		if (scan.ret)
			panic("HC_EXEC scan of %lx: %ld", pml4, scan.ret);
		for (uint32_t i = 0; i < scan.scan_n; i++) {
			uint64_t e = buf[i];
			if (e & 1) {
				page_put(e & PTE_ADDR);
			} else {
				uint64_t *pte = P2V(e);
				uint64_t pa = *pte & PTE_ADDR;
				*pte = 0;
				page_put(pa);
			}
		}
	} while (scan.scan_va < KVMBOX_USER_TOP);
}

/*
 * The other threads die (de_thread): they see `exiting` and SIGKILL at their
 * next return to user mode, or now if asleep. We run them until they are gone.
 */
static void kill_other_threads(struct proc *p, struct thread *self)
{
	p->exiting = true;
	for (struct thread *o = p->threads; o; o = o->proc_next)
		if (o != self) {
			o->pending |= 1ull << (SIGKILL - 1);
			wake_thread(o);
		}
	while (p->nr_threads > 1)
		schedule();
	p->exiting = false;
	self->tid = p->pid;         /* the survivor takes the leader's id */
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* The new image's VMAs into mm (sorted and disjoint: the VMM built them): false if out of memory. */
static bool exec_vmas(struct mm *mm, const struct kvmbox_boot_process *img)
{
	struct vma **pp = &mm->vmas;
	for (uint32_t i = 0; i < img->nr_vmas && i < KVMBOX_BOOT_MAX_VMAS; i++) {
		struct vma *v = kmalloc(sizeof(*v));
		if (!v) {
			vma_index(mm);  /* what is there, for the teardown */
			return false;
		}
		v->start = img->vmas[i].start;
		v->end = img->vmas[i].end;
		vma_set_flags(v, img->vmas[i].flags);
		v->pgoff = img->vmas[i].pgoff;
		*pp = v;
		pp = &v->next;
	}
	vma_index(mm);
	return true;
}

static long do_execve(int dirfd, uint64_t upath, uint64_t argv, uint64_t envp, int flags)
{
	if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	struct thread *t = current_thread();
	struct proc *p = t->proc;
	struct mm *old = p->mm;
	struct kpath kp;
	struct inode *ip;
	char *fdname = NULL;
	if (p->exiting)
		return -EINTR;          /* exit_group won the race: we die on the way out */
	long r = getname(upath, &kp);
	if (r)
		return r;
	r = exec_lookup(dirfd, kp.s, kp.len, flags, &ip);
	if (r)
		goto out_name;
	/* AT_EXECFN (and a script's argv): the name as given, /dev/fd/N[/name] relative to a dirfd (fs/exec.c). */
	const char *name = kp.s;
	if (dirfd != AT_FDCWD && kp.s[0] != '/') {
		if (!(fdname = pathbuf_alloc())) {
			r = -ENOMEM;
			goto out_name;
		}
		if (kp.len)
			snprintf(fdname, PATH_MAX, "/dev/fd/%d/%s", dirfd, kp.s);
		else
			snprintf(fdname, PATH_MAX, "/dev/fd/%d", dirfd);
		name = fdname;
	}

	/* What can fail after the point of no return is allocated before it. */
	struct mm *mm = old;
	struct sighand *sh = NULL;
	if (old->users > 1 && !(mm = kmalloc(sizeof(*mm)))) {
		r = -ENOMEM;
		goto out_name;
	}
	if (p->sighand->refs > 1 && !(sh = kmalloc(sizeof(*sh)))) {
		r = -ENOMEM;
		goto out_mm;
	}

	hc.execfn = V2P(name);
	hc.cr3 = old->pml4;
	hc.argv = argv;
	hc.envp = envp;
	hc.regs = V2P(current_frame());
	hc.interp_argc = 0;
	for (int depth = 0;; depth++) {
		if ((r = segs_fill(ip, &hc.nr_segs)))
			goto out_segs;
		hc.segs = V2P(seg_block);
		hc.file_size = ip->size;
		/*
		 * The old image is freed by mm_teardown, not by RELEASE: on emulated-CPL0
		 * (shadow-paging) hosts the guest's own writes to the page tables it
		 * frees keep KVM's shadow copies of them coherent; host writes are
		 * invisible to it (see shared/hypercall.h).
		 */
		hc.flags = KVMBOX_EXEC_BUILD;
		r = exec_call(old);
		segs_free();
		if (r != KVMBOX_EXEC_SCRIPT)
			break;
		/*
		 * "#!interpreter [arg]": run the interpreter on the script; it may
		 * be a script too. As Linux's exec_binprm: the interpreter is
		 * looked up first, then a sixth script in the chain is ELOOP.
		 */
		if ((r = exec_lookup(AT_FDCWD, hc.interp, strnlen(hc.interp, sizeof(hc.interp)), 0, &ip)))
			goto out_sh;
		if (depth + 1 > KVMBOX_EXEC_MAX_SCRIPTS) {
			r = -ELOOP;
			goto out_sh;
		}
	}
	if (r)
		goto out_sh;

	/* ---- the point of no return: the new image exists ---- */
	palloc_import(&hc.pool);
	const struct kvmbox_boot_process *img = &hc.image;
	struct kvmbox_boot_process *saved = NULL;
	if (p->nr_threads > 1) {
		/* Others run (and may exec) while our threads die: keep our answer. */
		if (!(saved = kmalloc(sizeof(*saved))))
			proc_exit(SIGKILL);     /* (the new image's frames are lost) */
		kmem_copy(saved, img, sizeof(*saved));
		img = saved;
		kill_other_threads(p, t);
	}
	this_cpu()->mm = mm;
	__asm__ volatile("mov %0, %%cr3" : : "r"(img->pml4) : "memory");
	if (mm == old) {
		mm_teardown(old);
	} else {
		old->users--;           /* vfork: the parent's */
		mm->vmas = NULL;
		mm->vma_root = NULL;
	}
	mm->pml4 = img->pml4;
	mm->brk_start = mm->brk = img->brk_start;
	mm->stack_top = KVMBOX_STACK_TOP;
	mm->mmap_base = KVMBOX_STACK_TOP - KVMBOX_STACK_MAX - (1ull << 30);
	mm->vma_cache = NULL;
	mm->users = 1;
	bool vmas_ok = exec_vmas(mm, img);
	p->mm = mm;
	kfree(saved);

	if (sh) {
		kmem_copy(sh, p->sighand, sizeof(*sh));
		sh->refs = 1;
		p->sighand->refs--;
		p->sighand = sh;
	}
	if (t->fs_base)
		wrmsr(0xc0000100 /* FS_BASE */, 0);
	if (t->gs_base)
		wrmsr(0xc0000102 /* KERNEL_GS_BASE: the user's while in the kernel */, 0);
	t->fs_base = t->gs_base = 0;
	t->clear_child_tid = 0;
	t->robust_list = t->robust_list_len = 0;
	fpu_load_init();
	if (inode_path(ip, p->exe_buf, sizeof(p->exe_buf)) < 0)
		strlcpy(p->exe_buf, name, sizeof(p->exe_buf));
	p->exe_path = p->exe_buf;
	putname(&kp);
	pathbuf_free(fdname);
	proc_exec_done(p);          /* signal_exec (handlers, altstack, timers), the vfork parent goes on */
	/* Out of memory past the point of no return: the process cannot go on (Linux: SIGKILL). */
	if (fs_exec(p) || !vmas_ok)
		proc_exit(SIGKILL);
	/* The frame already holds the new entry state (the VMM wrote it); rax comes from our 0. */
	return 0;

out_segs:
	segs_free();
out_sh:
	kfree(sh);
out_mm:
	if (mm != old)
		kfree(mm);
out_name:
	putname(&kp);
	pathbuf_free(fdname);
	return r;
}

long sys_execve(uint64_t path, uint64_t argv, uint64_t envp)
{
	return do_execve(AT_FDCWD, path, argv, envp, 0);
}

long sys_execveat(int dirfd, uint64_t path, uint64_t argv, uint64_t envp, int flags)
{
	return do_execve(dirfd, path, argv, envp, flags);
}
