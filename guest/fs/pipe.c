/*
 * Pipes and FIFOs (pipe(7), fifo(7)).
 *
 * A pipe is a ring of physical pages (64 KiB by default, allocated as the
 * data first reaches them). Data never moves through a CPL0 loop: a
 * transfer turns the user buffer into guest-physical runs (user_segs),
 * pairs them with the ring's runs, and hands up to 16 pairs to the VMM in
 * one HC_MEMOP (pmem_copy_batch) -- a 64 KiB write costs a few exits.
 * Readers, writers and pollers wait on the pipe's one wait queue.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <mm.h>
#include <platform.h>
#include <signal.h>
#include <syscalls.h>
#include <uaccess.h>
#include "ufast.h"

#define PIPE_BUF       4096            /* writes up to this size are atomic */
#define PIPE_DEF_PAGES 16              /* 64 KiB, as Linux */
#define PIPE_MAX_SIZE  (1024 * 1024)   /* /proc/sys/fs/pipe-max-size */
#define FIONREAD       0x541b

struct pipe {
	struct waitq wq;
	uint64_t *pages;          /* physical pages of the ring; 0 = not yet allocated */
	uint32_t npages;          /* capacity in pages */
	uint32_t nalloc;          /* pages[] entries allocated so far */
	uint32_t readers, writers;/* open files with each end (a struct file counts once) */
	uint64_t head;            /* ring offset of the first unread byte */
	uint64_t len;             /* bytes in the ring */
	uint64_t r_counter, w_counter; /* opens of each end so far (FIFO rendezvous) */
	struct inode *fifo;       /* the FIFO's inode, or NULL for pipe(2) */
	uint64_t contig;          /* pages[i] == contig + i * PAGE_SIZE for every i; 0: not so */
	uint64_t inline_pages[PIPE_DEF_PAGES];
};

/* The capacity: a power of two pages, so ring offsets wrap with a mask. */
static inline uint64_t pipe_cap(const struct pipe *p) { return (uint64_t)p->npages * PAGE_SIZE; }

static struct pipe *pipe_alloc(void)
{
	struct pipe *p = kmalloc(sizeof(*p));
	if (!p)
		return NULL;
	p->pages = p->inline_pages;
	p->npages = PIPE_DEF_PAGES;
	return p;
}

static void pipe_free(struct pipe *p)
{
	for (uint32_t i = 0; i < p->npages; i++)
		if (p->pages[i])
			page_put(p->pages[i]);
	if (p->pages != p->inline_pages)
		kfree(p->pages);
	if (p->fifo)
		p->fifo->u.pipe = NULL;
	kfree(p);
}

/* ---- moving bytes: user iovec <-> ring, in batches of HC_MEMOP pairs ---- */

struct copy_batch {
	struct pmem_copy_seg s[KVMBOX_MEMOP_MAX_SEGS];
	unsigned n;
};

static void batch_flush(struct copy_batch *b)
{
	if (b->n)
		pmem_copy_batch(b->s, b->n);
	b->n = 0;
}

static void batch_add(struct copy_batch *b, uint64_t dst, uint64_t src, uint64_t len)
{
	if (b->n) {
		struct pmem_copy_seg *l = &b->s[b->n - 1];
		if (l->dst + l->len == dst && l->src + l->len == src) {
			l->len += len;
			return;
		}
		if (b->n == KVMBOX_MEMOP_MAX_SEGS)
			batch_flush(b);
	}
	b->s[b->n++] = (struct pmem_copy_seg){ dst, src, len };
}

struct iov_cursor {
	const struct kiovec *iov;
	int cnt, i;
	uint64_t off;             /* into iov[i] */
};

static uint64_t iov_total(const struct kiovec *iov, int cnt)
{
	uint64_t t = 0;
	for (int i = 0; i < cnt; i++)
		t += iov[i].len;
	return t;
}

/* Make sure ring bytes [pos, pos+n) have pages: how many of the n bytes do. */
static uint64_t ring_populate(struct pipe *p, uint64_t pos, uint64_t n)
{
	if (likely(p->nalloc == p->npages))
		return n;
	if (!p->nalloc && (boot_flags & KVMBOX_BOOT_CPL0_EMULATED)) {
		/*
		 * The whole ring at once, physically consecutive: a transfer is then
		 * at most two runs (ring_xfer_vmm), not one per page. Never-touched
		 * frames cost the host nothing until data reaches them.
		 */
		uint64_t base = page_alloc_fresh_contig(p->npages);
		if (base) {
			for (uint32_t i = 0; i < p->npages; i++)
				p->pages[i] = base + (uint64_t)i * PAGE_SIZE;
			p->nalloc = p->npages;
			p->contig = base;
			return n;
		}
	}
	uint64_t mask = pipe_cap(p) - 1, done = 0;
	while (done < n) {
		uint64_t rp = (pos + done) & mask;
		uint64_t *slot = &p->pages[rp / PAGE_SIZE];
		if (unlikely(!*slot)) {
			if (!(*slot = page_alloc()))
				break;
			p->nalloc++;
		}
		done += PAGE_SIZE - rp % PAGE_SIZE;
	}
	return MIN(done, n);
}

/*
 * Move n bytes between the user buffers at cursor c and the ring starting
 * at ring offset pos (to_ring: user -> ring), one (user page, ring page)
 * piece at a time, coalesced into HC_MEMOP pairs. Returns the bytes moved:
 * less than n only when a user page is bad.
 */
static uint64_t ring_xfer_guest(struct pipe *p, uint64_t pos, struct iov_cursor *c, uint64_t n, bool to_ring)
{
	struct copy_batch b;
	b.n = 0;
	uint64_t mask = pipe_cap(p) - 1, done = 0;
	while (done < n) {
		const struct kiovec *v = &c->iov[c->i];
		if (c->off == v->len) {
			if (++c->i == c->cnt)
				break;
			c->off = 0;
			continue;
		}
		uint64_t ua = v->base + c->off, rp = (pos + done) & mask;
		uint64_t chunk = MIN(n - done, v->len - c->off);
		chunk = MIN(chunk, ufast_page_left(ua));
		chunk = MIN(chunk, PAGE_SIZE - rp % PAGE_SIZE);
		uint64_t upa = ufast_pa(ua, !to_ring);
		if (unlikely(!upa)) {
			/* Not mapped yet, copy-on-write, or bad: the checked path faults it in. */
			struct kvmbox_seg seg;
			unsigned nr;
			if (user_segs(ua, chunk, !to_ring, &seg, 1, &nr) <= 0)
				break;
			upa = seg.gpa;
		}
		uint64_t rpa = p->pages[rp / PAGE_SIZE] + rp % PAGE_SIZE;
		if (to_ring)
			batch_add(&b, rpa, upa, chunk);
		else
			batch_add(&b, upa, rpa, chunk);
		done += chunk;
		c->off += chunk;
	}
	batch_flush(&b);
	return done;
}

/*
 * Where CPL0 is emulated: the VMM walks the user's page tables natively
 * (HC_USERCOPY) -- one exit for up to 32 ring runs instead of a page walk
 * and a copy pair per page here. A page it cannot use (not faulted in yet,
 * copy-on-write) is faulted in through the checked path and the call goes on.
 */
static struct kvmbox_hc_usercopy uc_hc;   /* one vCPU */

static uint64_t ring_xfer_vmm(struct pipe *p, uint64_t pos, uint64_t ua, uint64_t n, bool to_ring)
{
	struct kvmbox_hc_usercopy *hc = &uc_hc;
	uint64_t mask = pipe_cap(p) - 1, done = 0;
	uint32_t pgmask = p->npages - 1;
	while (done < n) {
		unsigned nr = 0;
		uint64_t len = 0, rp = (pos + done) & mask, off = rp % PAGE_SIZE, end = 0;
		uint32_t pg = (uint32_t)(rp / PAGE_SIZE);
		struct kvmbox_seg *sg = hc->segs - 1;
		if (p->contig) {
			/* One run to the ring's end, then one from its start (n <= the capacity). */
			uint64_t first = MIN(n - done, mask + 1 - rp);
			hc->segs[0].gpa = p->contig + rp;
			hc->segs[0].len = first;
			nr = 1;
			len = first;
			if (first < n - done) {
				hc->segs[1].gpa = p->contig;
				hc->segs[1].len = n - done - first;
				nr = 2;
				len = n - done;
			}
		}
		/* The ring's pages from pos on, merged where they are physically consecutive. */
		while (done + len < n && nr < KVMBOX_USERCOPY_MAX_SEGS) {
			uint64_t piece = MIN(n - done - len, PAGE_SIZE - off);
			uint64_t rpa = p->pages[pg] + off;
			if (rpa == end) {
				sg->len += piece;
			} else {
				sg++;
				sg->gpa = rpa;
				sg->len = piece;
				nr++;
			}
			end = rpa + piece;
			len += piece;
			off = 0;
			pg = (pg + 1) & pgmask;
		}
		hc->cr3 = current_proc()->mm->pml4;
		hc->uva = ua + done;
		hc->len = len;
		hc->to_user = !to_ring;
		hc->nr_segs = nr;
		hypercall(KVMBOX_HC_USERCOPY, hc);
		if (unlikely(hc->ret < 0))
			break;
		done += hc->done;
		if (hc->done < len) {
			struct kvmbox_seg seg;
			unsigned k;
			if (user_segs(ua + done, 1, !to_ring, &seg, 1, &k) <= 0)
				break;      /* a bad address: stop here */
		}
	}
	return done;
}

/*
 * The ring as one run (p->contig) and one user buffer: one HC_USERCOPY of
 * at most two runs (to the ring's end, then from its start), no loops.
 * The bytes moved: fewer when a user page is not usable by the VMM yet.
 */
static uint64_t contig_copy(struct pipe *p, uint64_t rp, uint64_t ua, uint64_t n, bool to_ring)
{
	struct kvmbox_hc_usercopy *hc = &uc_hc;
	uint64_t first = MIN(n, pipe_cap(p) - rp);
	hc->segs[0].gpa = p->contig + rp;
	hc->segs[0].len = first;
	hc->segs[1].gpa = p->contig;
	hc->segs[1].len = n - first;
	hc->nr_segs = first < n ? 2 : 1;
	hc->cr3 = current_proc()->mm->pml4;
	hc->uva = ua;
	hc->len = n;
	hc->to_user = !to_ring;
	hypercall(KVMBOX_HC_USERCOPY, hc);
	return hc->ret < 0 ? 0 : hc->done;
}

#define XFER_INLINE_MAX 16   /* up to this, the bytes are moved in the guest (no exit) */

/* Up to 16 bytes in at most four (overlapping) moves. */
static inline void copy_small(uint8_t *d, const uint8_t *s, size_t n)
{
	if (n >= 8) {
		uint64_t a = *(const uint64_t *)s, b = *(const uint64_t *)(s + n - 8);
		*(uint64_t *)d = a;
		*(uint64_t *)(d + n - 8) = b;
	} else if (n >= 4) {
		uint32_t a = *(const uint32_t *)s, b = *(const uint32_t *)(s + n - 4);
		*(uint32_t *)d = a;
		*(uint32_t *)(d + n - 4) = b;
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

/* The small case in one piece: one user page, one ring page, a present user page. */
static inline bool ring_xfer_small(struct pipe *p, uint64_t pos, const struct kiovec *v, uint64_t n,
				   bool to_ring)
{
	uint64_t rp = pos & (pipe_cap(p) - 1);
	if (v->len < n || ufast_page_left(v->base) < n || PAGE_SIZE - rp % PAGE_SIZE < n)
		return false;
	uint64_t upa = ufast_pa(v->base, !to_ring);
	if (!upa)
		return false;
	uint8_t *r = P2V(p->pages[rp / PAGE_SIZE] + rp % PAGE_SIZE), *u = P2V(upa);
	if (to_ring)
		copy_small(r, u, n);
	else
		copy_small(u, r, n);
	return true;
}

static uint64_t ring_xfer(struct pipe *p, uint64_t pos, struct iov_cursor *c, uint64_t n, bool to_ring)
{
	if (n <= XFER_INLINE_MAX && c->off == 0 && ring_xfer_small(p, pos, &c->iov[c->i], n, to_ring)) {
		c->off = n;
		return n;
	}
	if (!(boot_flags & KVMBOX_BOOT_CPL0_EMULATED) || n <= XFER_INLINE_MAX)
		return ring_xfer_guest(p, pos, c, n, to_ring);
	if (p->contig && c->cnt == 1 && c->off == 0) {
		/* One buffer from its start (read/write after a sleep): the short way, else the general one. */
		uint64_t done = contig_copy(p, pos & (pipe_cap(p) - 1), c->iov[0].base, n, to_ring);
		c->off = done;
		if (done == n)
			return done;
		if (done)
			return done + ring_xfer(p, pos + done, c, n - done, to_ring);
	}
	uint64_t done = 0;
	while (done < n && c->i < c->cnt) {
		const struct kiovec *v = &c->iov[c->i];
		uint64_t chunk = MIN(n - done, v->len - c->off);
		uint64_t moved = chunk ? ring_xfer_vmm(p, pos + done, v->base + c->off, chunk, to_ring) : 0;
		done += moved;
		c->off += moved;
		if (moved < chunk)
			break;
		if (c->off == v->len) {
			c->i++;
			c->off = 0;
		}
	}
	return done;
}

/* ---- read and write ---- */

static inline bool can_read(struct file *f) { return (f->flags & O_ACCMODE) != O_WRONLY; }
static inline bool can_write(struct file *f) { return (f->flags & O_ACCMODE) != O_RDONLY; }

static ssize_t pipe_read(struct pipe *p, struct file *f, const struct kiovec *iov, int cnt, uint64_t want)
{
	if (want == 0)
		return 0;
	for (;;) {
		if (p->len) {
			struct iov_cursor c = { iov, cnt, 0, 0 };
			uint64_t n = ring_xfer(p, p->head, &c, MIN(p->len, want), false);
			if (n == 0)
				return -EFAULT;
			p->head = (p->head + n) & (pipe_cap(p) - 1);
			p->len -= n;
			if (p->len == 0)
				p->head = 0;      /* keep runs page aligned: fewer copy pairs */
			waitq_wake(&p->wq);   /* writers waiting for room */
			return (ssize_t)n;
		}
		if (!p->writers)
			return 0;
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		if (waitq_sleep(&p->wq, 0) == -EINTR)
			return -ERESTARTSYS;
	}
}

static ssize_t pipe_write(struct pipe *p, struct file *f, const struct kiovec *iov, int cnt, uint64_t total)
{
	if (total == 0)
		return 0;
	bool atomic = total <= PIPE_BUF;
	struct iov_cursor c = { iov, cnt, 0, 0 };
	uint64_t done = 0;
	for (;;) {
		if (!p->readers) {
			struct thread *t = current_thread();
			send_signal_thread(t, SIGPIPE, SI_USER, t->proc->pid, 0);
			return done ? (ssize_t)done : -EPIPE;
		}
		uint64_t cap = pipe_cap(p), space = cap - p->len, left = total - done;
		if (space && (!atomic || space >= left)) {
			uint64_t tail = (p->head + p->len) & (cap - 1);
			uint64_t n = ring_populate(p, tail, MIN(space, left));
			if (n == 0)
				return done ? (ssize_t)done : -ENOMEM;
			uint64_t moved = ring_xfer(p, tail, &c, n, true);
			p->len += moved;
			done += moved;
			if (moved)
				waitq_wake(&p->wq);   /* readers waiting for data */
			if (moved < n)
				return done ? (ssize_t)done : -EFAULT;
			if (done == total)
				return (ssize_t)done;
			continue;
		}
		if (f->flags & O_NONBLOCK)
			return done ? (ssize_t)done : -EAGAIN;
		if (waitq_sleep(&p->wq, 0) == -EINTR)
			return done ? (ssize_t)done : -ERESTARTSYS;
	}
}

static ssize_t pipe_rw(struct file *f, const struct kiovec *iov, int cnt, bool write)
{
	struct pipe *p = f->priv;
	uint64_t total = iov_total(iov, cnt);
	return write ? pipe_write(p, f, iov, cnt, total) : pipe_read(p, f, iov, cnt, total);
}

/*
 * Where CPL0 is emulated the ring is one run of frames (ring_populate): a
 * read(2) or write(2) that can complete at once -- data there, or room for
 * the whole write and a reader -- is one HC_USERCOPY of at most two runs,
 * without the iovec and batching machinery of pipe_read/pipe_write. 0:
 * not this case, nothing done. A user page the VMM cannot use (not faulted
 * in yet, copy-on-write) ends the copy early: a read returns what it got,
 * a write goes on through pipe_write (the room is there: still atomic).
 */
static ssize_t pipe_rw_contig(struct pipe *p, struct file *f, uint64_t buf, size_t count, bool write)
{
	uint64_t cap = pipe_cap(p), n, rp;
	if (write) {
		if (!p->readers || cap - p->len < count)
			return 0;
		n = count;
		rp = (p->head + p->len) & (cap - 1);
	} else {
		if (!p->len)
			return 0;
		n = MIN(count, p->len);
		rp = p->head;
	}
	uint64_t done = contig_copy(p, rp, buf, n, write);
	if (!done)
		return 0;
	if (write) {
		p->len += done;
	} else {
		p->len -= done;
		p->head = p->len ? (rp + done) & (cap - 1) : 0;
	}
	waitq_wake(&p->wq);
	if (done == count || !write)
		return (ssize_t)done;
	struct kiovec v = { buf + done, count - done };
	ssize_t r = pipe_write(p, f, &v, 1, count - done);
	return r < 0 ? (ssize_t)done : (ssize_t)(done + (uint64_t)r);
}

/*
 * read(2)/write(2): one buffer, no iovec to add up. Up to 16 bytes that
 * can move at once (a reader there, room or data, the user page present)
 * take the shortest path: a few moves and the wakeup, no loop.
 */
static ssize_t pipe_rw1(struct file *f, uint64_t buf, size_t count, bool write)
{
	struct pipe *p = f->priv;
	if (count - 1 < XFER_INLINE_MAX && ufast_page_left(buf) >= count) {
		uint64_t mask = pipe_cap(p) - 1;
		if (write) {
			uint64_t rp = (p->head + p->len) & mask, pg = p->pages[rp / PAGE_SIZE];
			if (p->readers && mask + 1 - p->len >= count && pg && PAGE_SIZE - rp % PAGE_SIZE >= count) {
				uint64_t upa = ufast_pa(buf, false);
				if (upa) {
					copy_small(P2V(pg + rp % PAGE_SIZE), P2V(upa), count);
					p->len += count;
					waitq_wake(&p->wq);
					return (ssize_t)count;
				}
			}
		} else if (p->len) {
			uint64_t n = MIN(count, p->len), rp = p->head;
			if (PAGE_SIZE - rp % PAGE_SIZE >= n) {
				uint64_t upa = ufast_pa(buf, true);
				if (upa) {
					copy_small(P2V(upa), P2V(p->pages[rp / PAGE_SIZE] + rp % PAGE_SIZE), n);
					p->len -= n;
					p->head = p->len ? (rp + n) & mask : 0;
					waitq_wake(&p->wq);
					return (ssize_t)n;
				}
			}
		}
	}
	if (p->contig && count > XFER_INLINE_MAX) {
		ssize_t r = pipe_rw_contig(p, f, buf, count, write);
		if (r)
			return r;
	}
	struct kiovec v = { buf, count };
	return write ? pipe_write(p, f, &v, 1, count) : pipe_read(p, f, &v, 1, count);
}

static unsigned pipe_poll(struct file *f, struct poll_table *pt)
{
	struct pipe *p = f->priv;
	unsigned m = 0;
	poll_wait(pt, &p->wq);
	if (can_read(f)) {
		if (p->len)
			m |= POLLIN | POLLRDNORM;
		/* A FIFO reader sees a hangup only once some writer has come and gone. */
		if (!p->writers && (!p->fifo || p->w_counter != (uint64_t)f->pos))
			m |= POLLHUP;
	}
	if (can_write(f)) {
		if (pipe_cap(p) - p->len >= PIPE_BUF)
			m |= POLLOUT | POLLWRNORM;
		if (!p->readers)
			m |= POLLERR;
	}
	return m;
}

static long pipe_ioctl(struct file *f, unsigned long cmd, uint64_t arg)
{
	struct pipe *p = f->priv;
	if (cmd == FIONREAD) {
		int32_t n = (int32_t)p->len;
		return copy_to_user(arg, &n, sizeof(n));
	}
	return -ENOTTY;
}

static void pipe_release(struct file *f)
{
	struct pipe *p = f->priv;
	if (can_read(f))
		p->readers--;
	if (can_write(f))
		p->writers--;
	if (!p->readers && !p->writers) {
		pipe_free(p);
		return;
	}
	waitq_wake(&p->wq);   /* EOF for readers, EPIPE for writers, POLLHUP/POLLERR */
}

const struct file_ops pipe_ops = {
	.rw = pipe_rw,
	.rw1 = pipe_rw1,
	.poll = pipe_poll,
	.ioctl = pipe_ioctl,
	.release = pipe_release,
};

/* ---- F_GETPIPE_SZ / F_SETPIPE_SZ ---- */

long pipe_fcntl_size(struct file *f, bool set, uint64_t arg)
{
	if (f->ops != &pipe_ops)
		return -EBADF;
	struct pipe *p = f->priv;
	if (!set)
		return (long)pipe_cap(p);
	if (arg > PIPE_MAX_SIZE)
		return -EPERM;
	uint32_t np = 1;
	while ((uint64_t)np * PAGE_SIZE < arg)
		np <<= 1;
	if ((uint64_t)np * PAGE_SIZE < p->len)
		return -EBUSY;
	if (np == p->npages)
		return (long)pipe_cap(p);
	/* The unread bytes' pages keep their order, from slot 0 (the head page first). */
	uint32_t first = (uint32_t)(p->head / PAGE_SIZE), used = 0;
	if (p->len)
		used = (uint32_t)((p->head % PAGE_SIZE + p->len + PAGE_SIZE - 1) / PAGE_SIZE);
	if (used > np)
		return -EBUSY;          /* unaligned data one page too long for the new ring */
	uint64_t *pages = p->inline_pages;
	if (np > PIPE_DEF_PAGES && !(pages = kmalloc(np * sizeof(uint64_t))))
		return -ENOMEM;
	uint64_t old[PIPE_MAX_SIZE / PAGE_SIZE];
	uint32_t oldn = p->npages;
	for (uint32_t i = 0; i < oldn; i++)
		old[i] = p->pages[(first + i) % oldn];
	if (p->pages != p->inline_pages)
		kfree(p->pages);
	uint32_t k = 0;
	for (uint32_t i = 0; i < oldn; i++) {
		if (i >= used && !old[i])
			continue;
		if (k < np)
			pages[k++] = old[i];
		else
			page_put(old[i]);   /* allocated but unused and past the new size */
	}
	p->nalloc = k;
	p->contig = 0;
	while (k < np)
		pages[k++] = 0;
	p->pages = pages;
	p->npages = np;
	p->head %= PAGE_SIZE;
	waitq_wake(&p->wq);
	return (long)pipe_cap(p);
}

/* ---- pipe(2), pipe2(2) ---- */

long sys_pipe2(uint64_t ufds, int flags)
{
	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	if (flags & O_DIRECT)
		return -EINVAL;        /* packet mode is not offered */
	struct pipe *p = pipe_alloc();
	if (!p)
		return -ENOMEM;
	struct inode *ip = inode_alloc(I_ANON, S_IFIFO | 0600);
	struct file *r = ip ? file_alloc(ip, O_RDONLY | (flags & O_NONBLOCK)) : NULL;
	struct file *w = r ? file_alloc(ip, O_WRONLY | (flags & O_NONBLOCK)) : NULL;
	if (!w) {
		if (r)
			file_put(r);
		else if (ip)
			inode_release(ip);
		kfree(p);
		return -ENOMEM;
	}
	r->ops = w->ops = &pipe_ops;
	r->priv = w->priv = p;
	p->readers = p->writers = 1;
	p->r_counter = p->w_counter = 1;
	bool cloexec = flags & O_CLOEXEC;
	int fds[2];
	fds[0] = fd_install(r, 0, cloexec);
	fds[1] = fds[0] < 0 ? -EMFILE : fd_install(w, 0, cloexec);
	if (fds[1] < 0) {
		if (fds[0] >= 0)
			fd_close(fds[0]);
		else
			file_put(r);
		file_put(w);
		return -EMFILE;
	}
	if (copy_to_user(ufds, fds, sizeof(fds))) {
		fd_close(fds[0]);
		fd_close(fds[1]);
		return -EFAULT;
	}
	return 0;
}

long sys_pipe(uint64_t fds) { return sys_pipe2(fds, 0); }

/* ---- FIFOs ---- */

int fifo_open(struct file *f)
{
	struct inode *ip = f->inode;
	struct pipe *p = ip->u.pipe;
	bool fresh = !p;
	if (fresh) {
		if (!(p = pipe_alloc()))
			return -ENOMEM;
		p->fifo = ip;
		ip->u.pipe = p;
	}
	uint32_t acc = f->flags & O_ACCMODE;
	bool nonblock = f->flags & O_NONBLOCK;
	if (acc == O_WRONLY && nonblock && !p->readers) {
		if (fresh)
			pipe_free(p);
		return -ENXIO;
	}
	if (acc != O_WRONLY) {
		p->readers++;
		p->r_counter++;
	}
	if (acc != O_RDONLY) {
		p->writers++;
		p->w_counter++;
	}
	f->ops = &pipe_ops;
	f->priv = p;
	waitq_wake(&p->wq);       /* the other side may be waiting for us */
	/* Wait for the other side (fifo(7)); O_RDWR never waits. */
	int r = 0;
	if (acc == O_RDONLY && !nonblock) {
		uint64_t seen = p->w_counter;
		while (!p->writers && p->w_counter == seen && r == 0)
			if (waitq_sleep(&p->wq, 0) == -EINTR)
				r = -ERESTARTSYS;
	} else if (acc == O_WRONLY) {
		uint64_t seen = p->r_counter;
		while (!p->readers && p->r_counter == seen && r == 0)
			if (waitq_sleep(&p->wq, 0) == -EINTR)
				r = -ERESTARTSYS;
	}
	if (r) {
		f->ops = NULL;
		f->priv = NULL;
		if (acc != O_WRONLY)
			p->readers--;
		if (acc != O_RDONLY)
			p->writers--;
		if (!p->readers && !p->writers)
			pipe_free(p);
		return r;
	}
	/*
	 * pipe_poll's hangup rule (Linux's f_version): a non-blocking reader
	 * that opened with no writer sees no POLLHUP until a writer has come.
	 */
	f->pos = 0;
	if (acc == O_RDONLY && nonblock && !p->writers)
		f->pos = (off_t)p->w_counter;
	return 0;
}
