/* eventfd(2): a 64-bit counter as a file, for wakeups between threads and processes. */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <syscalls.h>
#include <uaccess.h>

#define EFD_SEMAPHORE 1
#define EFD_MAX 0xfffffffffffffffeull   /* the largest count a write may reach */

struct eventfd {
	struct waitq wq;
	uint64_t count;
	bool semaphore;
};

/* Copy 8 bytes to or from the start of an iovec (they may span entries). */
int iov_copy8(const struct kiovec *iov, int cnt, uint64_t *v, bool to_user)
{
	uint8_t *k = (uint8_t *)v;
	size_t done = 0;
	for (int i = 0; i < cnt && done < 8; i++) {
		size_t n = MIN(iov[i].len, 8 - done);
		if (!n)
			continue;
		int r = to_user ? copy_to_user(iov[i].base, k + done, n) : copy_from_user(k + done, iov[i].base, n);
		if (r)
			return r;
		done += n;
	}
	return 0;
}

uint64_t iov_len(const struct kiovec *iov, int cnt)
{
	uint64_t t = 0;
	for (int i = 0; i < cnt; i++)
		t += iov[i].len;
	return t;
}

static ssize_t eventfd_rw(struct file *f, const struct kiovec *iov, int cnt, bool write)
{
	struct eventfd *e = f->priv;
	if (iov_len(iov, cnt) < 8)
		return -EINVAL;
	uint64_t v;
	if (write) {
		if (iov_copy8(iov, cnt, &v, false))
			return -EFAULT;
		if (v == ~0ull)
			return -EINVAL;
		while (e->count + v > EFD_MAX || e->count + v < e->count) {
			if (f->flags & O_NONBLOCK)
				return -EAGAIN;
			if (waitq_sleep(&e->wq, 0) == -EINTR)
				return -ERESTARTSYS;
		}
		e->count += v;
		if (v)
			waitq_wake(&e->wq);
		return 8;
	}
	while (e->count == 0) {
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		if (waitq_sleep(&e->wq, 0) == -EINTR)
			return -ERESTARTSYS;
	}
	v = e->semaphore ? 1 : e->count;
	e->count -= v;            /* taken even if the copy fails, as Linux */
	waitq_wake(&e->wq);       /* writers waiting for room */
	if (iov_copy8(iov, cnt, &v, true))
		return -EFAULT;
	return 8;
}

static unsigned eventfd_poll(struct file *f, struct poll_table *pt)
{
	struct eventfd *e = f->priv;
	poll_wait(pt, &e->wq);
	unsigned m = 0;
	if (e->count)
		m |= POLLIN | POLLRDNORM;
	if (e->count < EFD_MAX)
		m |= POLLOUT | POLLWRNORM;
	return m;
}

static void eventfd_release(struct file *f)
{
	kfree(f->priv);
}

static const struct file_ops eventfd_ops = {
	.rw = eventfd_rw,
	.poll = eventfd_poll,
	.release = eventfd_release,
};

long sys_eventfd2(unsigned initval, int flags)
{
	if (flags & ~(EFD_SEMAPHORE | O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	struct eventfd *e = kmalloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->count = initval;
	e->semaphore = flags & EFD_SEMAPHORE;
	struct file *f = anon_file_alloc(0600, O_RDWR | (flags & O_NONBLOCK), &eventfd_ops, e);
	if (!f) {
		kfree(e);
		return -ENOMEM;
	}
	return fd_install_new(f, flags & O_CLOEXEC);
}

long sys_eventfd(unsigned initval) { return sys_eventfd2(initval, 0); }
