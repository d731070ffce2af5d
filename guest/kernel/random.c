/* getrandom: the virtio-rng device; without one, a xoshiro256** generator seeded from the FDT's /chosen/rng-seed (host entropy). */
#include "syscalls.h"
#include "platform.h"
#include "uaccess.h"
#include "mm.h"
#include "lib.h"
#include "errno.h"
#include "fdt_prop.h"
#include "random.h"

static uint64_t s[4];
static bool seeded;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(void)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static void seed(void)
{
	uint32_t len = 0;
	const uint8_t *p = fdt_prop_find(P2V(boot_info->fdt), boot_info->fdt_size, "/chosen",
					 "rng-seed", &len);
	for (uint32_t i = 0; p && i < len; i++)
		((uint8_t *)s)[i % sizeof(s)] ^= p[i];
	s[0] ^= boot_info->boot_tsc;
	if (!(s[0] | s[1] | s[2] | s[3]))
		s[0] = 1;
	seeded = true;
}

#define GRND_NONBLOCK 1
#define GRND_RANDOM 2
#define GRND_INSECURE 4

long sys_getrandom(uint64_t buf, size_t len, unsigned flags)
{
	if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	if (len > 33554431)
		len = 33554431; /* as Linux: at most INT_MAX >> 6 per call */
	if (len == 0)
		return 0;
	long r = virtio_rng_read(buf, len);
	if (r != -ENODEV)
		return r;
	if (!seeded)
		seed();
	uint64_t chunk[32];
	size_t done = 0;
	while (done < len) {
		size_t n = MIN(len - done, sizeof(chunk));
		for (size_t i = 0; i < (n + 7) / 8; i++)
			chunk[i] = next();
		if (copy_to_user(buf + done, chunk, n))
			return done ? (long)done : -EFAULT;
		done += n;
	}
	return (long)done;
}
