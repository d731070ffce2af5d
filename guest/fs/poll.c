/*
 * poll, ppoll, select, pselect6. Every file here is always ready: ramfs and
 * /dev never block, and a console read blocks inside the VMM, so the console
 * counts as readable (and writable). Nothing ever waits here; a call with
 * nothing to report returns 0 at once instead of sleeping out its timeout.
 */
#include <errno.h>
#include <fs.h>
#include <lib.h>
#include <uaccess.h>

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
#define READY (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLRDBAND | POLLWRBAND)

struct pollfd {
	int32_t fd;
	int16_t events;
	int16_t revents;
};

static long do_poll(uint64_t ufds, uint64_t nfds)
{
	if (nfds > NR_OPEN * 4)        /* Linux: EINVAL past RLIMIT_NOFILE */
		return -EINVAL;
	struct pollfd kp[32];
	long ready = 0;
	for (uint64_t i = 0; i < nfds;) {
		uint64_t n = MIN(nfds - i, ARRAY_SIZE(kp));
		uint64_t at = ufds + i * sizeof(struct pollfd);
		if (copy_from_user(kp, at, n * sizeof(struct pollfd)))
			return -EFAULT;
		for (uint64_t k = 0; k < n; k++) {
			int16_t rev = 0;
			if (kp[k].fd >= 0) {
				struct file *f = fd_get(kp[k].fd);
				rev = f ? (int16_t)(kp[k].events & READY) : POLLNVAL;
			}
			kp[k].revents = rev;
			ready += rev != 0;
		}
		if (copy_to_user(at, kp, n * sizeof(struct pollfd)))
			return -EFAULT;
		i += n;
	}
	return ready;
}

long sys_poll(uint64_t fds, uint64_t nfds, int timeout_ms)
{
	return do_poll(fds, nfds);
}

long sys_ppoll(uint64_t fds, uint64_t nfds, uint64_t tsp, uint64_t sigmask, size_t sigsetsize)
{
	return do_poll(fds, nfds);
}

/* fd_set bitmaps: keep the bits of open fds (all ready); EBADF for a closed one. */
static long do_select(int nfds, uint64_t rfds, uint64_t wfds, uint64_t efds)
{
	if (nfds < 0)
		return -EINVAL;
	if (nfds > NR_OPEN)
		nfds = NR_OPEN;
	size_t bytes = ALIGN_UP((size_t)nfds, 64) / 8;
	uint64_t sets[3][NR_OPEN / 64];
	uint64_t addr[3] = { rfds, wfds, efds };
	uint64_t want[NR_OPEN / 64] = { 0 };
	for (int s = 0; s < 3; s++) {
		for (size_t w = 0; w < NR_OPEN / 64; w++)
			sets[s][w] = 0;
		if (addr[s] && bytes && copy_from_user(sets[s], addr[s], bytes))
			return -EFAULT;
		for (size_t w = 0; w < bytes / 8; w++)
			want[w] |= sets[s][w];
	}
	long ready = 0;
	for (int fd = 0; fd < nfds; fd++) {
		if (!((want[fd / 64] >> (fd % 64)) & 1))
			continue;
		if (!fd_get(fd))
			return -EBADF;
	}
	for (size_t w = 0; w < bytes / 8; w++) {
		if (nfds % 64 && w == bytes / 8 - 1) {
			uint64_t mask = (1ull << (nfds % 64)) - 1;
			sets[0][w] &= mask;
			sets[1][w] &= mask;
		}
		sets[2][w] = 0;          /* no exceptional conditions */
		ready += __builtin_popcountll(sets[0][w]) + __builtin_popcountll(sets[1][w]);
	}
	for (int s = 0; s < 3; s++)
		if (addr[s] && bytes && copy_to_user(addr[s], sets[s], bytes))
			return -EFAULT;
	return ready;
}

long sys_select(int nfds, uint64_t rfds, uint64_t wfds, uint64_t efds, uint64_t tv)
{
	return do_select(nfds, rfds, wfds, efds);
}

long sys_pselect6(int nfds, uint64_t rfds, uint64_t wfds, uint64_t efds, uint64_t ts, uint64_t sig)
{
	return do_select(nfds, rfds, wfds, efds);
}
