/*
 * Unit test of devices/: the split-virtqueue walker fed every hostile case
 * directly (virtio spec v1.2, 2.7), and the virtio-mmio transport with the
 * virtio-rng device driven through its registers (4.2.2, 3.1.1).
 */
#include <stdint.h>
#include "unit.h"
#include "devices/virtio_console.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_rng.h"
#include "devices/virtqueue.h"

#define MEM (1ull << 20)
#define NUM 8
#define DESC 0x1000ull
#define AVAIL 0x2000ull
#define USED 0x3000ull
#define BUF 0x10000ull

static struct vm vm;
static struct virtq_desc *desc;
static struct virtq_avail *avail;
static struct virtq_used *used;

static void reset_rings(void)
{
	memset(vm.mem, 0, MEM);
	desc = (void *)(vm.mem + DESC);
	avail = (void *)(vm.mem + AVAIL);
	used = (void *)(vm.mem + USED);
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc[i] = (struct virtq_desc){ addr, len, flags, next };
}

/* Offer chain head as the next available entry. */
static void offer(uint16_t head)
{
	avail->ring[avail->idx % NUM] = head;
	avail->idx++;
}

/* Set up a queue over the rings and pop once: the walker's result, error text in vq->error. */
static int pop_once(struct virtq *vq, bool indirect, struct virtq_chain *c)
{
	static struct virtq_iov iov[2 * NUM];
	if (virtq_setup(vq, &vm, NUM, DESC, AVAIL, USED, true, indirect))
		return -2;
	/* The device starts at the driver's index: rewind to see what was offered. */
	vq->last_avail = 0;
	c->iov = iov;
	c->cap = 2 * NUM;
	return virtq_pop(vq, c);
}

#define EXPECT_BROKEN(what, indirect) do { \
	struct virtq vq; struct virtq_chain c; \
	int r = pop_once(&vq, indirect, &c); \
	CHECK_MSG(r == -1, "%s -> broken (%d: %s)", what, r, vq.error); \
} while (0)

static void test_walker(void)
{
	struct virtq vq;
	struct virtq_chain c;

	/* Setup: size, alignment, placement. */
	reset_rings();
	CHECK(virtq_setup(&vq, &vm, 6, DESC, AVAIL, USED, true, true) == -1);
	CHECK(virtq_setup(&vq, &vm, 0, DESC, AVAIL, USED, true, true) == -1);
	CHECK(virtq_setup(&vq, &vm, 65536, DESC, AVAIL, USED, true, true) == -1);
	CHECK(virtq_setup(&vq, &vm, NUM, DESC + 8, AVAIL, USED, true, true) == -1);
	CHECK(virtq_setup(&vq, &vm, NUM, DESC, AVAIL + 1, USED, true, true) == -1);
	CHECK(virtq_setup(&vq, &vm, NUM, DESC, AVAIL, USED + 2, true, true) == -1);
	CHECK(virtq_setup(&vq, &vm, NUM, MEM - 16, AVAIL, USED, true, true) == -1);
	CHECK(virtq_setup(&vq, &vm, NUM, DESC, AVAIL, UINT64_MAX - 3, true, true) == -1);
	CHECK(virtq_setup(&vq, &vm, NUM, DESC, AVAIL, USED, true, true) == 0);

	/* A good chain: 2 readable, 1 writable. */
	reset_rings();
	set_desc(0, BUF, 10, VIRTQ_DESC_F_NEXT, 3);
	set_desc(3, BUF + 100, 20, VIRTQ_DESC_F_NEXT, 5);
	set_desc(5, BUF + 200, 30, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	int r = pop_once(&vq, false, &c);
	CHECK(r == 1 && c.head == 0 && c.nr_out == 2 && c.nr_in == 1);
	CHECK(c.out_len == 30 && c.in_len == 30 && c.iov[2].base == vm.mem + BUF + 200);
	CHECK(virtq_pop(&vq, &c) == 0); /* nothing more */
	virtq_push(&vq, 0, 30);
	CHECK(used->idx == 1 && used->ring[0].id == 0 && used->ring[0].len == 30);
	/* EVENT_IDX: used_event 0 asks for an interrupt at the first used entry. */
	CHECK(virtq_should_interrupt(&vq));
	CHECK(!virtq_should_interrupt(&vq)); /* nothing new since */
	avail->ring[NUM] = 5;                /* used_event: not before entry 5 */
	offer(0);
	CHECK(virtq_pop(&vq, &c) == 1);
	virtq_push(&vq, 0, 1);
	CHECK(!virtq_should_interrupt(&vq));
	/* avail_event is written when the device goes idle, and a late buffer is seen. */
	CHECK(!virtq_enable_notify(&vq));
	CHECK(*(uint16_t *)&used->ring[NUM] == 2);
	offer(0);
	CHECK(virtq_enable_notify(&vq));

	/* Ring indexes. */
	reset_rings();
	set_desc(0, BUF, 10, 0, 0);
	avail->idx = NUM + 1;
	EXPECT_BROKEN("available index more than the queue size ahead", false);
	reset_rings();
	offer(NUM);
	EXPECT_BROKEN("head past the queue size", false);
	reset_rings();
	set_desc(0, BUF, 10, VIRTQ_DESC_F_NEXT, NUM);
	offer(0);
	EXPECT_BROKEN("next past the queue size", false);

	/* Loops and over-long chains. */
	reset_rings();
	set_desc(0, BUF, 10, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 10, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	EXPECT_BROKEN("a loop of two", false);
	reset_rings();
	set_desc(2, BUF, 10, VIRTQ_DESC_F_NEXT, 2);
	offer(2);
	EXPECT_BROKEN("a descriptor pointing at itself", false);

	/* Addresses and lengths. */
	reset_rings();
	set_desc(0, MEM - 4, 8, 0, 0);
	offer(0);
	EXPECT_BROKEN("buffer crossing the end of memory", false);
	reset_rings();
	set_desc(0, UINT64_MAX - 3, 8, 0, 0);
	offer(0);
	EXPECT_BROKEN("buffer address + length wrapping around", false);
	reset_rings();
	set_desc(0, 1ull << 40, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	EXPECT_BROKEN("buffer far outside memory", false);
	reset_rings();
	set_desc(0, BUF, UINT32_MAX, 0, 0);
	offer(0);
	EXPECT_BROKEN("4 GiB buffer in 1 MiB of memory", false);

	/* Direction: readable after writable (2.7.4.2). */
	reset_rings();
	set_desc(0, BUF, 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 10, 0, 0);
	offer(0);
	EXPECT_BROKEN("readable after writable", false);

	/* More buffers than the caller can take. */
	reset_rings();
	for (unsigned i = 0; i < NUM; i++)
		set_desc(i, BUF, 1, i + 1 < NUM ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	offer(0);
	{
		struct virtq_iov small[4];
		virtq_setup(&vq, &vm, NUM, DESC, AVAIL, USED, true, false);
		vq.last_avail = 0;
		c.iov = small;
		c.cap = 4;
		CHECK(virtq_pop(&vq, &c) == -1);
	}
	/* ... while a chain of exactly the queue size is fine. */
	CHECK(pop_once(&vq, false, &c) == 1 && c.nr_out == NUM);

	/* Indirect descriptors (2.7.5.3). */
	struct virtq_desc *table = (void *)(vm.mem + 0x4000);
	reset_rings();
	table[0] = (struct virtq_desc){ BUF, 4, VIRTQ_DESC_F_NEXT, 1 };
	table[1] = (struct virtq_desc){ BUF + 8, 4, VIRTQ_DESC_F_WRITE, 0 };
	set_desc(0, 0x4000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	r = pop_once(&vq, true, &c);
	CHECK(r == 1 && c.nr_out == 1 && c.nr_in == 1 && c.iov[1].base == vm.mem + BUF + 8);
	EXPECT_BROKEN("indirect without VIRTIO_RING_F_INDIRECT_DESC", false);
	set_desc(0, 0x4000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	EXPECT_BROKEN("indirect with NEXT", true);
	set_desc(0, 0x4000, 24, VIRTQ_DESC_F_INDIRECT, 0);
	EXPECT_BROKEN("indirect table length not a multiple of 16", true);
	set_desc(0, 0x4000, 0, VIRTQ_DESC_F_INDIRECT, 0);
	EXPECT_BROKEN("empty indirect table", true);
	set_desc(0, MEM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	EXPECT_BROKEN("indirect table crossing the end of memory", true);
	set_desc(0, 0x4000, 16 * (NUM + 1), VIRTQ_DESC_F_INDIRECT, 0);
	EXPECT_BROKEN("indirect table longer than the queue", true);
	set_desc(0, 0x4000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	table[1] = (struct virtq_desc){ 0x4000, 32, VIRTQ_DESC_F_INDIRECT, 0 };
	EXPECT_BROKEN("nested indirect", true);
	table[1] = (struct virtq_desc){ BUF, 4, VIRTQ_DESC_F_NEXT, 0 };
	EXPECT_BROKEN("indirect loop", true);
	table[1] = (struct virtq_desc){ BUF, 4, VIRTQ_DESC_F_NEXT, 2 };
	EXPECT_BROKEN("indirect next past the table", true);
	table[1] = (struct virtq_desc){ BUF, 4, 0, 0 };
	table[0] = (struct virtq_desc){ BUF, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1 };
	EXPECT_BROKEN("indirect: readable after writable", true);
}

/* ---- the transport and a device, through registers ---- */

static unsigned signals, kicks;
static void count_signal(struct virtio_device *d) { (void)d; signals++; }
static void count_kick(struct virtio_device *d, uint16_t q) { (void)d; (void)q; kicks++; }

static uint32_t rd(struct virtio_device *d, uint32_t off)
{
	uint32_t v;
	virtio_mmio_read(d, off, &v, 4);
	return v;
}

static void wr(struct virtio_device *d, uint32_t off, uint32_t v)
{
	virtio_mmio_write(d, off, &v, 4);
}

static bool needs_reset(struct virtio_device *d)
{
	return rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

/* The driver's init sequence up to FEATURES_OK with these features; the status read back. */
static uint32_t negotiate(struct virtio_device *d, uint64_t features)
{
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return rd(d, VIRTIO_MMIO_STATUS);
}

/* Queue q on the test's rings (DESC, AVAIL, USED), made ready. */
static void setup_queue(struct virtio_device *d, uint32_t q)
{
	wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, NUM);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

static const uint64_t GOOD = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX);
static const uint32_t RUNNING = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

static void start(struct virtio_device *d)
{
	reset_rings();
	negotiate(d, GOOD);
	setup_queue(d, 0);
	wr(d, VIRTIO_MMIO_STATUS, RUNNING);
}

static void test_transport(void)
{
	struct virtio_device *d = virtio_rng_create(&vm, 0x5a);
	d->signal = count_signal;
	d->kick = count_kick;

	CHECK(rd(d, VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC);
	CHECK(rd(d, VIRTIO_MMIO_VERSION) == 2);
	CHECK(rd(d, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_RNG);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK(rd(d, VIRTIO_MMIO_DEVICE_FEATURES) & 1); /* VERSION_1 is bit 32 */
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(rd(d, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_RING_F_EVENT_IDX));

	/* Feature negotiation (2.2, 3.1.1): FEATURES_OK stays clear on a bad subset. */
	CHECK(!(negotiate(d, GOOD | (1ull << 40)) & VIRTIO_STATUS_FEATURES_OK));
	CHECK(!(negotiate(d, 1ull << VIRTIO_RING_F_EVENT_IDX) & VIRTIO_STATUS_FEATURES_OK)); /* no VERSION_1 */
	CHECK(negotiate(d, GOOD) & VIRTIO_STATUS_FEATURES_OK);
	CHECK(!needs_reset(d));
	/* QueueNumMax: 0 for a queue that does not exist. */
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) >= NUM);

	/* A request served, with an interrupt (used_event 0). */
	start(d);
	CHECK(rd(d, VIRTIO_MMIO_STATUS) == RUNNING);
	set_desc(0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	kicks = signals = 0;
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(kicks == 1);            /* QueueNotify only kicks: the work is the I/O thread's */
	CHECK(used->idx == 0);
	virtio_device_notify(d, 0);   /* ... which does this */
	CHECK(used->idx == 1 && used->ring[0].len == 16 && vm.mem[BUF] == 0x5a && vm.mem[BUF + 15] == 0x5a);
	CHECK(vm.mem[BUF + 16] == 0);
	CHECK(signals == 1 && (rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING));
	wr(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
	CHECK(*(uint16_t *)&used->ring[NUM] == 1); /* avail_event: notify me at the next one */

	/* Hostile driver, each case from a fresh start: NEEDS_RESET, no crash, no more work. */
	start(d);
	set_desc(0, BUF, 16, 0, 0); /* device-readable buffer for virtio-rng (5.4.6.1) */
	offer(0);
	signals = 0;
	virtio_device_notify(d, 0);
	CHECK(needs_reset(d) && used->idx == 0);
	CHECK(signals == 1 && (rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG));
	set_desc(0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	virtio_device_notify(d, 0);
	CHECK(used->idx == 0); /* a broken device does nothing until reset */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	CHECK(rd(d, VIRTIO_MMIO_STATUS) == 0 && rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) == 0);

	start(d);
	set_desc(0, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	virtio_device_notify(d, 0);
	CHECK_MSG(needs_reset(d), "a looping chain breaks the device");

	start(d);
	uint16_t half;
	virtio_mmio_read(d, VIRTIO_MMIO_STATUS, &half, 2);
	CHECK_MSG(needs_reset(d), "a 16-bit register read breaks the device");
	start(d);
	uint8_t byte = 0;
	virtio_mmio_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, &byte, 1);
	CHECK_MSG(needs_reset(d), "an 8-bit register write breaks the device");
	start(d);
	uint32_t v;
	virtio_mmio_read(d, VIRTIO_MMIO_STATUS + 2, &v, 4);
	CHECK_MSG(needs_reset(d), "a misaligned register read breaks the device");
	start(d);
	virtio_mmio_read(d, VIRTIO_MMIO_CONFIG, &v, 4);
	CHECK_MSG(needs_reset(d), "config space read past the device's config (virtio-rng has none)");
	start(d);
	wr(d, VIRTIO_MMIO_MAGIC_VALUE, 1);
	CHECK_MSG(needs_reset(d), "a write to a read-only register breaks the device");
	start(d);
	rd(d, VIRTIO_MMIO_QUEUE_NOTIFY);
	CHECK_MSG(needs_reset(d), "a read of a write-only register breaks the device");
	start(d);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	CHECK_MSG(needs_reset(d), "QueueNotify for a queue that does not exist");
	start(d);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, 4);
	CHECK_MSG(needs_reset(d), "QueueNum written while the queue is ready");
	start(d);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_MSG(needs_reset(d), "clearing status bits without a reset");

	/* Queue setup errors. */
	reset_rings();
	negotiate(d, GOOD);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, 6);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_MSG(needs_reset(d) && rd(d, VIRTIO_MMIO_QUEUE_READY) == 0, "queue size 6 refused");
	negotiate(d, GOOD);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, NUM);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x100);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_MSG(needs_reset(d), "ring outside guest memory refused");
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	setup_queue(d, 0);
	CHECK_MSG(needs_reset(d), "queue made ready before FEATURES_OK");
	negotiate(d, GOOD);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	CHECK_MSG(needs_reset(d), "DRIVER_OK without FEATURES_OK");
	free(d);
}

/* virtio-console: its config space and its hostile cases (5.3). */
static void test_console(void)
{
	struct virtio_device *d = virtio_console_create(&vm);
	d->signal = count_signal;
	d->kick = count_kick;
	CHECK(rd(d, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_CONSOLE);
	CHECK(rd(d, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_CONSOLE_F_MULTIPORT));
	CHECK(rd(d, VIRTIO_MMIO_CONFIG + 4) == KVMBOX_CONSOLE_PORTS); /* max_nr_ports */
	uint16_t cols = 1;
	virtio_mmio_read(d, VIRTIO_MMIO_CONFIG, &cols, 2);
	CHECK(cols == 0 && !needs_reset(d));
	uint64_t wide;
	virtio_mmio_read(d, VIRTIO_MMIO_CONFIG, &wide, 8);
	CHECK_MSG(needs_reset(d), "an 8-byte config read breaks the device");

	/* The control transmitq (queue 3): a message for a port that does not exist. */
	start(d); /* queue 0 only: set up queue 3 on the same rings */
	setup_queue(d, VIRTIO_CONSOLE_CTRL_TX);
	struct virtio_console_control m = { 9, VIRTIO_CONSOLE_PORT_READY, 1 };
	memcpy(vm.mem + BUF, &m, sizeof(m));
	set_desc(0, BUF, sizeof(m), 0, 0);
	offer(0);
	virtio_device_notify(d, VIRTIO_CONSOLE_CTRL_TX);
	CHECK_MSG(needs_reset(d), "a control message for port 9 breaks the device");
	/* A device-writable buffer on a transmitq (5.3.6.1). */
	start(d);
	setup_queue(d, 1);
	set_desc(0, BUF, 4, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	virtio_device_notify(d, 1);
	CHECK_MSG(needs_reset(d) && used->idx == 0, "a device-writable transmit buffer breaks the device");
	free(d);
}

int main(void)
{
	vm.mem = calloc(1, MEM);
	vm.mem_size = MEM;
	test_walker();
	test_transport();
	test_console();
	UNIT_DONE();
}
