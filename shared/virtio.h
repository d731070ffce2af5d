/* virtio 1.x as both sides see it: virtio-mmio v2 registers, status and feature bits, split-ring layouts (virtio spec v1.2). */
#ifndef KVMBOX_VIRTIO_H
#define KVMBOX_VIRTIO_H
#include "abi.h"

/* ---- virtio-mmio version 2 register offsets (spec 4.2.2, Table 4.1) ---- */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000 /* "virt" */
#define VIRTIO_MMIO_VERSION             0x004 /* 2 */
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090 /* the available ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0 /* the used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100 /* device-specific configuration space */

#define VIRTIO_MMIO_MAGIC   0x74726976u       /* little-endian "virt" */
#define VIRTIO_MMIO_VERSION_2 2u
#define VIRTIO_MMIO_VENDOR  0x584f424bu       /* "KBOX": ours */
#define VIRTIO_MMIO_REGION_SIZE 0x200u        /* registers + 256 bytes of config space */

/* InterruptStatus bits (spec 4.2.2). */
#define VIRTIO_MMIO_INT_VRING  (1u << 0)      /* used buffer notification */
#define VIRTIO_MMIO_INT_CONFIG (1u << 1)      /* configuration change */

/* ---- device status (spec 2.1) ---- */
#define VIRTIO_STATUS_ACKNOWLEDGE        1u
#define VIRTIO_STATUS_DRIVER             2u
#define VIRTIO_STATUS_DRIVER_OK          4u
#define VIRTIO_STATUS_FEATURES_OK        8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED             128u

/* ---- feature bits (spec 6 "Reserved Feature Bits") ---- */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

/* ---- device IDs (spec 5) ---- */
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

/* ---- split virtqueues (spec 2.7) ---- */
#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u              /* device-writable */
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY     1u
#define VIRTQ_MAX_SIZE 32768u                 /* queue sizes are powers of 2 up to 32768 (2.7) */

struct virtq_desc {
	uint64_t addr;   /* guest-physical */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
KVMBOX_ASSERT_SIZE(struct virtq_desc, 16);

/* The available ring: flags, idx, ring[num], then used_event (with EVENT_IDX). */
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used_elem {
	uint32_t id;     /* head of the chain */
	uint32_t len;    /* bytes written into the device-writable part */
};
KVMBOX_ASSERT_SIZE(struct virtq_used_elem, 8);

/* The used ring: flags, idx, ring[num], then avail_event (with EVENT_IDX). */
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

/* Sizes of the three parts for a queue of num entries (2.7, with the event words). */
#define VIRTQ_DESC_BYTES(num)  ((uint64_t)(num) * 16)
#define VIRTQ_AVAIL_BYTES(num) (6 + (uint64_t)(num) * 2)
#define VIRTQ_USED_BYTES(num)  (6 + (uint64_t)(num) * 8)

/*
 * EVENT_IDX (2.7.10): notify when the index moves past event, counting from
 * old. The same test serves the device (used_event) and the driver (avail_event).
 */
static inline int virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* ---- virtio-rng (spec 5.4): one request queue, device-writable buffers, no config ---- */

/* ---- virtio-blk (spec 5.2): one request queue; sizes in 512-byte sectors ---- */
#define VIRTIO_BLK_F_SIZE_MAX 1       /* size_max: largest data segment */
#define VIRTIO_BLK_F_SEG_MAX  2       /* seg_max: data segments per request */
#define VIRTIO_BLK_F_RO       5       /* read-only: writes fail with IOERR (5.2.6.2) */
#define VIRTIO_BLK_F_BLK_SIZE 6       /* blk_size */
#define VIRTIO_BLK_F_FLUSH    9       /* VIRTIO_BLK_T_FLUSH */
#define VIRTIO_BLK_F_DISCARD  13      /* VIRTIO_BLK_T_DISCARD with max_discard_* */

#define VIRTIO_BLK_T_IN      0
#define VIRTIO_BLK_T_OUT     1
#define VIRTIO_BLK_T_FLUSH   4
#define VIRTIO_BLK_T_GET_ID  8
#define VIRTIO_BLK_T_DISCARD 11

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR_SIZE 512u
#define VIRTIO_BLK_ID_BYTES    20u    /* GET_ID: NUL-terminated unless exactly 20 bytes */
#define VIRTIO_BLK_DISCARD_F_UNMAP 1u /* write-zeroes only: UNSUPP on a discard (5.2.6.2) */

/* The configuration space up to the discard fields (5.2.4); little-endian, x86 only here. */
struct virtio_blk_config {
	uint64_t capacity;                 /* 0: in 512-byte sectors */
	uint32_t size_max;                 /* 8 */
	uint32_t seg_max;                  /* 12 */
	uint16_t cylinders;                /* 16: geometry (not offered) */
	uint8_t heads, sectors;
	uint32_t blk_size;                 /* 20 */
	uint8_t physical_block_exp, alignment_offset; /* 24: topology (not offered) */
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;                 /* 32 */
	uint8_t unused0;
	uint16_t num_queues;               /* 34 */
	uint32_t max_discard_sectors;      /* 36 */
	uint32_t max_discard_seg;          /* 40 */
	uint32_t discard_sector_alignment; /* 44 */
};
KVMBOX_ASSERT_SIZE(struct virtio_blk_config, 48);

/* Every request starts with this (device-readable) and ends with a status byte (device-writable). */
struct virtio_blk_outhdr {
	uint32_t type;                     /* VIRTIO_BLK_T_* */
	uint32_t reserved;
	uint64_t sector;
};
KVMBOX_ASSERT_SIZE(struct virtio_blk_outhdr, 16);

/* VIRTIO_BLK_T_DISCARD data: an array of these. */
struct virtio_blk_discard {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};
KVMBOX_ASSERT_SIZE(struct virtio_blk_discard, 16);

/* ---- virtio-console (spec 5.3) ---- */
#define VIRTIO_CONSOLE_F_SIZE      0
#define VIRTIO_CONSOLE_F_MULTIPORT 1

/* Device configuration (5.3.4). */
struct virtio_console_config {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
};
KVMBOX_ASSERT_SIZE(struct virtio_console_config, 12);

/*
 * Queues with MULTIPORT (5.3.2): port 0 receiveq/transmitq, then the
 * control receiveq/transmitq, then ports 1.. two by two.
 */
#define VIRTIO_CONSOLE_CTRL_RX 2
#define VIRTIO_CONSOLE_CTRL_TX 3
static inline unsigned virtio_console_rxq(unsigned port) { return port ? 2 + 2 * port : 0; }
static inline unsigned virtio_console_txq(unsigned port) { return port ? 3 + 2 * port : 1; }

/* Control messages (5.3.6.2). */
struct virtio_console_control {
	uint32_t id;     /* port number */
	uint16_t event;
	uint16_t value;
};
KVMBOX_ASSERT_SIZE(struct virtio_console_control, 8);
#define VIRTIO_CONSOLE_DEVICE_READY 0
#define VIRTIO_CONSOLE_DEVICE_ADD   1
#define VIRTIO_CONSOLE_DEVICE_REMOVE 2
#define VIRTIO_CONSOLE_PORT_READY   3
#define VIRTIO_CONSOLE_CONSOLE_PORT 4
#define VIRTIO_CONSOLE_RESIZE       5   /* followed by struct virtio_console_resize */
#define VIRTIO_CONSOLE_PORT_OPEN    6   /* value 0: the host side closed (our stdin EOF, a closed stdout) */
#define VIRTIO_CONSOLE_PORT_NAME    7
struct virtio_console_resize {
	uint16_t cols;
	uint16_t rows;
};

/* kvmbox's ports: the program's stdin, stdout and stderr, backed by kvmbox's own fds 0, 1, 2. */
#define KVMBOX_CONSOLE_PORTS 3
#endif
