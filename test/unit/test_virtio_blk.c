/*
 * Unit test of devices/virtio_blk.c: requests built by hand in a fake guest
 * memory and fed through the transport, real io_uring I/O on a temporary
 * image. Good requests (read, write, flush, get-id, discard) and hostile
 * ones (short header, no status byte, wrong directions, partial sectors,
 * out of range, overflowing sectors, read-only writes, discard flags and
 * counts, unknown types) with the status the spec asks for (5.2.6).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"

#define MEM (1ull << 20)
#define NUM 8
#define DESC 0x1000ull
#define AVAIL 0x2000ull
#define USED 0x3000ull
#define HDR 0x8000ull
#define STATUS 0x9000ull
#define DATA 0x10000ull
#define SECTORS 128

static struct vm vm;
static struct virtq_desc *desc;
static struct virtq_avail *avail;
static struct virtq_used *used;
static char image[] = "/tmp/kvmbox-test-blk-XXXXXX";

static void wr(struct virtio_device *d, uint32_t off, uint32_t v) { virtio_mmio_write(d, off, &v, 4); }
static uint32_t rd(struct virtio_device *d, uint32_t off)
{
	uint32_t v;
	virtio_mmio_read(d, off, &v, 4);
	return v;
}

static void start(struct virtio_device *d)
{
	memset(vm.mem, 0, MEM);
	desc = (void *)(vm.mem + DESC);
	avail = (void *)(vm.mem + AVAIL);
	used = (void *)(vm.mem + USED);
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
		     (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_DISCARD);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, NUM);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* A chain: buffers (gpa, len, writable) in order, offered as the next available entry. */
struct buf { uint64_t gpa; uint32_t len; bool w; };
static unsigned nbuf;
static struct buf bufs[8];
static void chain(struct buf b) { bufs[nbuf++] = b; }

/* Offer the chain, notify, wait for io_uring; the status byte (0xee: none written), *len the used length. */
static int run(struct virtio_device *d, uint32_t *len)
{
	for (unsigned i = 0; i < nbuf; i++)
		desc[i] = (struct virtq_desc){ bufs[i].gpa, bufs[i].len,
			(uint16_t)((bufs[i].w ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < nbuf ? VIRTQ_DESC_F_NEXT : 0)),
			(uint16_t)(i + 1) };
	nbuf = 0;
	vm.mem[STATUS] = 0xee;
	uint16_t before = used->idx;
	avail->ring[avail->idx % NUM] = 0;
	avail->idx++;
	virtio_device_notify(d, 0);
	for (int tries = 0; used->idx == before && tries < 100; tries++) {
		struct pollfd p = { virtio_blk_event_fd(d), POLLIN, 0 };
		if (poll(&p, 1, 50) > 0)
			virtio_blk_complete(d);
	}
	if (used->idx == before)
		return -1;
	if (len)
		*len = used->ring[before % NUM].len;
	return vm.mem[STATUS];
}

static void hdr(uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { type, 0, sector };
	memcpy(vm.mem + HDR, &h, sizeof(h));
}

/* The usual shape: header, data (direction by type), status. */
static int simple(struct virtio_device *d, uint32_t type, uint64_t sector, uint32_t data_len, bool w, uint32_t *len)
{
	hdr(type, sector);
	chain((struct buf){ HDR, 16, false });
	if (data_len)
		chain((struct buf){ DATA, data_len, w });
	chain((struct buf){ STATUS, 1, true });
	return run(d, len);
}

static bool needs_reset(struct virtio_device *d)
{
	return rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

static void file_read(off_t off, void *buf, size_t n)
{
	int fd = open(image, O_RDONLY);
	if (pread(fd, buf, n, off) != (ssize_t)n)
		memset(buf, 0xaa, n);
	close(fd);
}

static void test_images(void)
{
	struct blk_image img;
	char err[512];
	CHECK(blk_image_open("/nonexistent/x.img", &img, err, sizeof(err)) == -1 && strstr(err, "No such file"));
	CHECK(blk_image_open("/tmp", &img, err, sizeof(err)) == -1);
	CHECK(blk_image_open("/tmp,ro", &img, err, sizeof(err)) == -1 && strstr(err, "not a regular file"));
	char spec[600];
	snprintf(spec, sizeof(spec), "%s,rw", image);
	CHECK(blk_image_open(spec, &img, err, sizeof(err)) == -1 && strstr(err, "unknown flag \"rw\""));
	CHECK(blk_image_open(",ro", &img, err, sizeof(err)) == -1 && strstr(err, "empty path"));
	snprintf(spec, sizeof(spec), "%s,ro", image);
	CHECK(blk_image_open(spec, &img, err, sizeof(err)) == 0 && img.ro && img.size == SECTORS * 512);
	close(img.fd);
	/* A path with a comma that exists is taken whole. */
	char comma[] = "/tmp/kvmbox-test-blk,ro-XXXXXX";
	int fd = mkstemp(comma);
	CHECK(fd >= 0 && blk_image_open(comma, &img, err, sizeof(err)) == 0 && !img.ro);
	close(img.fd);
	close(fd);
	unlink(comma);
}

static void test_requests(bool ro)
{
	struct blk_image img;
	char err[512], spec[600];
	snprintf(spec, sizeof(spec), "%s%s", image, ro ? ",ro" : "");
	CHECK(blk_image_open(spec, &img, err, sizeof(err)) == 0);
	struct virtio_device *d = virtio_blk_create(&vm, &img, 0, err, sizeof(err));
	CHECK_MSG(d != NULL, "virtio_blk_create: %s", d ? "ok" : err);
	if (!d)
		return;
	start(d);
	uint32_t len = 0;
	uint8_t file[2048], mem[2048];

	/* Config space (5.2.4). */
	uint32_t cap_lo = rd(d, VIRTIO_MMIO_CONFIG), seg_max = rd(d, VIRTIO_MMIO_CONFIG + 12);
	CHECK(cap_lo == SECTORS && rd(d, VIRTIO_MMIO_CONFIG + 4) == 0);
	CHECK(seg_max == 126 && rd(d, VIRTIO_MMIO_CONFIG + 20) == 512);
	CHECK(rd(d, VIRTIO_MMIO_CONFIG + 36) > 0 && rd(d, VIRTIO_MMIO_CONFIG + 40) == 16);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(!!(rd(d, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO)) == ro);

	/* Reads: one buffer; three odd pieces adding up to two sectors. */
	CHECK(simple(d, VIRTIO_BLK_T_IN, 1, 1024, true, &len) == VIRTIO_BLK_S_OK && len == 1025);
	file_read(512, file, 1024);
	CHECK(!memcmp(vm.mem + DATA, file, 1024));
	hdr(VIRTIO_BLK_T_IN, 0);
	chain((struct buf){ HDR, 16, false });
	chain((struct buf){ DATA + 0x3000, 100, true });
	chain((struct buf){ DATA + 0x5000, 412, true });
	chain((struct buf){ DATA + 0x7000, 512, true });
	chain((struct buf){ STATUS, 1, true });
	CHECK(run(d, &len) == VIRTIO_BLK_S_OK && len == 1025);
	file_read(0, file, 1024);
	memcpy(mem, vm.mem + DATA + 0x3000, 100);
	memcpy(mem + 100, vm.mem + DATA + 0x5000, 412);
	memcpy(mem + 512, vm.mem + DATA + 0x7000, 512);
	CHECK(!memcmp(mem, file, 1024));

	/* Hostile or malformed: an error status, no host I/O out of range. */
	CHECK(simple(d, VIRTIO_BLK_T_IN, SECTORS - 1, 1024, true, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(simple(d, VIRTIO_BLK_T_IN, SECTORS, 512, true, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(simple(d, VIRTIO_BLK_T_IN, UINT64_MAX, 512, true, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(simple(d, VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, 512, true, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(simple(d, VIRTIO_BLK_T_IN, SECTORS, 0, true, NULL) == VIRTIO_BLK_S_OK); /* nothing to do */
	CHECK(simple(d, VIRTIO_BLK_T_IN, 0, 500, true, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(simple(d, VIRTIO_BLK_T_IN, 0, 512, false, NULL) == VIRTIO_BLK_S_IOERR); /* data readable */
	CHECK(simple(d, VIRTIO_BLK_T_OUT, 0, 512, true, NULL) == VIRTIO_BLK_S_IOERR); /* data writable */
	CHECK(simple(d, 99, 0, 0, false, NULL) == VIRTIO_BLK_S_UNSUPP);
	CHECK(simple(d, VIRTIO_BLK_T_FLUSH, 5, 0, false, NULL) == VIRTIO_BLK_S_IOERR);
	hdr(VIRTIO_BLK_T_IN, 0); /* a short header */
	chain((struct buf){ HDR, 8, false });
	chain((struct buf){ DATA, 512, true });
	chain((struct buf){ STATUS, 1, true });
	CHECK(run(d, NULL) == VIRTIO_BLK_S_IOERR);
	hdr(VIRTIO_BLK_T_IN, 0); /* the header split over two buffers is fine */
	chain((struct buf){ HDR, 5, false });
	chain((struct buf){ HDR + 5, 11, false });
	chain((struct buf){ DATA, 512, true });
	chain((struct buf){ STATUS, 1, true });
	CHECK(run(d, NULL) == VIRTIO_BLK_S_OK);
	CHECK(!needs_reset(d));

	/* GET_ID: 20 bytes at most, NUL-terminated when shorter. */
	memset(vm.mem + DATA, 0x55, 64);
	CHECK(simple(d, VIRTIO_BLK_T_GET_ID, 0, 20, true, &len) == VIRTIO_BLK_S_OK && len == 21);
	CHECK(!strcmp((char *)vm.mem + DATA, "kvmbox-disk0"));
	CHECK(simple(d, VIRTIO_BLK_T_GET_ID, 0, 4, true, &len) == VIRTIO_BLK_S_OK && len == 5);

	/* Writes: to the file, or IOERR and nothing written on a read-only device (5.2.6.2). */
	file_read(1024, file, 512);
	memset(vm.mem + DATA, ro ? 0x11 : 0x22, 512);
	int st = simple(d, VIRTIO_BLK_T_OUT, 2, 512, false, &len);
	file_read(1024, mem, 512);
	if (ro) {
		CHECK(st == VIRTIO_BLK_S_IOERR && !memcmp(file, mem, 512));
	} else {
		CHECK(st == VIRTIO_BLK_S_OK && len == 1 && mem[0] == 0x22 && mem[511] == 0x22);
		file_read(1536, mem, 1);
		CHECK(mem[0] != 0x22);
	}
	CHECK(simple(d, VIRTIO_BLK_T_OUT, SECTORS, 512, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(simple(d, VIRTIO_BLK_T_FLUSH, 0, 0, false, &len) == VIRTIO_BLK_S_OK && len == 1);

	/* Discard (5.2.6): zeros after; flags are UNSUPP; counts and ranges checked. */
	struct virtio_blk_discard seg[17];
	for (int i = 0; i < 17; i++)
		seg[i] = (struct virtio_blk_discard){ 8 + i, 1, 0 };
	memcpy(vm.mem + DATA, seg, sizeof(seg));
	st = simple(d, VIRTIO_BLK_T_DISCARD, 0, 32, false, NULL);
	file_read(8 * 512, mem, 1024);
	if (ro) {
		CHECK(st == VIRTIO_BLK_S_IOERR && mem[0] != 0);
	} else {
		CHECK(st == VIRTIO_BLK_S_OK && mem[0] == 0 && mem[1023] == 0);
	}
	CHECK(simple(d, VIRTIO_BLK_T_DISCARD, 0, 17 * 16, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(simple(d, VIRTIO_BLK_T_DISCARD, 0, 24, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(simple(d, VIRTIO_BLK_T_DISCARD, 0, 0, false, NULL) == VIRTIO_BLK_S_IOERR);
	if (!ro) {
		seg[0] = (struct virtio_blk_discard){ 0, 1, VIRTIO_BLK_DISCARD_F_UNMAP };
		memcpy(vm.mem + DATA, seg, 16);
		CHECK(simple(d, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL) == VIRTIO_BLK_S_UNSUPP);
		seg[0] = (struct virtio_blk_discard){ SECTORS - 1, 2, 0 };
		memcpy(vm.mem + DATA, seg, 16);
		CHECK(simple(d, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL) == VIRTIO_BLK_S_IOERR);
		seg[0] = (struct virtio_blk_discard){ UINT64_MAX, 1, 0 };
		memcpy(vm.mem + DATA, seg, 16);
		CHECK(simple(d, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL) == VIRTIO_BLK_S_IOERR);
	}
	CHECK(!needs_reset(d));

	/* No status byte at all: nothing to report on, so the device breaks (one line on stderr). */
	hdr(VIRTIO_BLK_T_IN, 0);
	chain((struct buf){ HDR, 16, false });
	chain((struct buf){ DATA, 512, false });
	CHECK(run(d, NULL) == -1 && needs_reset(d));
	/* A reset brings it back. */
	start(d);
	CHECK(!needs_reset(d) && simple(d, VIRTIO_BLK_T_IN, 0, 512, true, NULL) == VIRTIO_BLK_S_OK);
}

int main(void)
{
	vm.mem = calloc(1, MEM);
	vm.mem_size = MEM;
	int fd = mkstemp(image);
	uint8_t sector[512];
	for (int s = 0; s < SECTORS; s++) {
		for (int i = 0; i < 512; i++)
			sector[i] = (uint8_t)(s * 7 + i + 1) | 1; /* never 0: discards show */
		if (write(fd, sector, 512) != 512)
			return 2;
	}
	close(fd);
	test_images();
	test_requests(true);
	test_requests(false);
	unlink(image);
	UNIT_DONE();
}
