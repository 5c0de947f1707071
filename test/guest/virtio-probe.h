/* A polling virtio-mmio driver for the probe guest, shaped like Linux's
 * virtio_mmio + virtio_ring: it finds devices from the virtio_mmio.device=
 * entries on the command line, negotiates features, sets up one split queue
 * in the probe's own memory and submits chains, then polls the used ring. No
 * interrupts: the interrupt status register is read and acknowledged. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define VP_QN 16u
/* Kata attaches 11: its rootfs, a pool of 8 drives, a net device and vsock. */
#define VP_MAX_DEVICES 16u

/* virtio-mmio registers the scenarios read themselves (virtio 1.2 §4.2.2). */
#define VP_MMIO_INTERRUPT_STATUS 0x060u
#define VP_MMIO_INTERRUPT_ACK 0x064u
#define VP_MMIO_DRIVER_FEATURES 0x020u
#define VP_MMIO_DRIVER_FEATURES_SEL 0x024u
#define VP_MMIO_STATUS 0x070u
#define VP_MMIO_CONFIG 0x100u

#define VP_DESC_F_NEXT 1u
#define VP_DESC_F_WRITE 2u

/* virtio-blk (virtio 1.2 §5.2): request types, status values, features, header. */
#define BLK_T_IN 0u
#define BLK_T_OUT 1u
#define BLK_T_FLUSH 4u
#define BLK_T_GET_ID 8u
#define BLK_S_OK 0u
#define BLK_S_IOERR 1u
#define BLK_F_RO (1ull << 5)
#define BLK_F_FLUSH (1ull << 9)
#define VP_F_EVENT_IDX (1ull << 29)

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct vp_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One split queue of VP_QN entries in the probe's static memory. */
struct vp_queue {
	uint16_t avail_idx;
	uint16_t used_seen;
	struct vp_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[VP_QN], used_event */
	volatile uint8_t *used;   /* flags, idx, ring[VP_QN]{id,len}, avail_event */
};

#define VP_MAX_QUEUES 3u /* the balloon: inflate, deflate and one optional queue */

struct vp_dev {
	uint64_t base;
	unsigned irq;
	uint64_t features; /* negotiated */
	union {
		struct vp_queue q[VP_MAX_QUEUES];
		/* Queue 0 under its own names, for the single-queue scenarios
		 * (the same members in the same order as struct vp_queue). */
		struct {
			uint16_t avail_idx;
			uint16_t used_seen;
			struct vp_desc *desc;
			volatile uint16_t *avail;
			volatile uint8_t *used;
		};
	};
};

/* Lists the windows named on the command line: returns how many (<= max). */
unsigned vp_find(uint64_t base[], unsigned irq[], unsigned max);
uint32_t vp_read(const struct vp_dev *d, uint32_t off);
void vp_write(const struct vp_dev *d, uint32_t off, uint32_t v);
/* Resets, checks magic/version, negotiates `want` ∩ offered (+VERSION_1),
 * sets up queue 0 in static memory slot `slot` (< VP_MAX_DEVICES) and sets
 * DRIVER_OK. Returns an error text, or NULL on success. */
const char *vp_init(struct vp_dev *d, uint64_t base, unsigned slot, uint64_t want);
/* The same with nq queues (<= VP_MAX_QUEUES), all set up before DRIVER_OK,
 * as a device with several queues (virtio-net: receiveq, transmitq) needs. */
const char *vp_init_queues(struct vp_dev *d, uint64_t base, unsigned slot, uint64_t want, unsigned nq);
/* Makes the chain at head available on queue qi and notifies the device. */
void vp_post(struct vp_dev *d, unsigned qi, uint16_t head);
/* Takes the next used element of queue qi if there is one (no waiting). */
bool vp_poll(struct vp_dev *d, unsigned qi, uint32_t *ret_id, uint32_t *ret_len);
/* Offers the chain starting at head, kicks, and polls for the next used
 * element. Returns true with *ret_id and *ret_len set, false on a timeout. */
bool vp_submit(struct vp_dev *d, uint16_t head, uint32_t *ret_id, uint32_t *ret_len);
/* Initialises the first virtio-blk device on the command line (EVENT_IDX
 * only). false when there is none or it cannot be set up. */
bool vp_open_first_blk(struct vp_dev *d);
