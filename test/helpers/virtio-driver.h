/* The host-side virtio driver: unit tests, fuzzers and benches play a
 * device's guest driver with it, without KVM. It talks to the mmio
 * transport through the transport's register functions, exactly as a guest
 * driver would through MMIO exits, and keeps its rings in in-process guest
 * memory (core/memory.h), so everything it writes goes through the same
 * bounds-checked accessor the device reads with.
 *
 * The API, smallest first:
 *   vd_read, vd_write        one 32-bit transport register
 *   vd_start                 reset, negotiate features, lay out and enable
 *                            nq split queues, DRIVER_OK (struct vd_driver)
 *   vd_desc                  write descriptor i of queue q
 *   vd_offer                 put a chain's head on queue q's available ring
 *   vd_kick                  notify queue q (what an ioeventfd makes the
 *                            vmm loop do)
 *   vd_used                  take the next used element of queue q, if any
 *   vd_no_interrupt          ask for no used-buffer notifications on q
 * Queue q's rings sit at base + VD_RING_STRIDE * q: its descriptor table,
 * its available ring at + 0x1000 and its used ring at + 0x2000, so a queue
 * has at most 256 entries. A new device's test needs only this list.
 *
 * The older single-queue helpers stay for the block tests: vd_init and
 * vd_init_at (queue 0 at virtq-harness.h's addresses), vd_blk_request and
 * vd_blk_status. Every function aborts the program on a guest address
 * outside guest memory (a test's own bug), never on what the device did. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/memory.h"
#include "devices/virtio/block.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/queue.h"
#include "virtq-harness.h"

#define VD_MAX_QUEUES 8u
#define VD_RING_STRIDE 0x4000ull
#define VD_MAX_SIZE 256u

struct vd_queue {
	uint16_t size;
	uint16_t next_avail; /* the driver's available index */
	uint16_t seen_used;  /* used elements taken so far */
	uint64_t desc, avail, used;
};

struct vd_driver {
	struct guest_memory *mem;
	struct virtio_mmio *t;
	unsigned nq;
	uint64_t features; /* what was negotiated */
	struct vd_queue q[VD_MAX_QUEUES];
};

uint32_t vd_read(struct virtio_mmio *t, uint64_t off);
void vd_write(struct virtio_mmio *t, uint64_t off, uint32_t v);

/* Drives t from reset to DRIVER_OK with nq queues of size entries at base
 * (zeroed first) and the features want & offered, plus VERSION_1. Returns
 * 0, -EINVAL for nq or size out of range, -EIO when the device refused
 * FEATURES_OK or DRIVER_OK (its status register is then left as it was). */
int vd_start(struct vd_driver *d, struct guest_memory *m, struct virtio_mmio *t, unsigned nq, uint16_t size,
	     uint64_t base, uint64_t want);
void vd_desc(struct vd_driver *d, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void vd_offer(struct vd_driver *d, unsigned q, uint16_t head);
void vd_kick(struct vd_driver *d, unsigned q);
/* The next used element of queue q: true and its id and length, or false
 * when the device used nothing new. */
bool vd_used(struct vd_driver *d, unsigned q, uint32_t *ret_id, uint32_t *ret_len);
void vd_no_interrupt(struct vd_driver *d, unsigned q);

/* Negotiates want (masked by what the device offers, plus VERSION_1) and
 * sets up queue 0 with n entries at the given ring addresses. Returns the
 * status register afterwards. */
uint32_t vd_init_at(struct virtio_mmio *t, uint16_t n, uint64_t want, uint64_t desc, uint64_t avail, uint64_t used);
/* The same at the harness addresses (H_DESC, H_AVAIL, H_USED). */
uint32_t vd_init(struct virtio_mmio *t, uint16_t n, uint64_t want);

/* Request slot k uses descriptors 3k..3k+2, a header at vd_hdr(k), data at
 * vd_data(k) (up to 64 KiB) and the status byte at vd_status(k). */
static inline uint64_t vd_hdr(unsigned k)
{
	return 0x100000ull + 0x20000ull * k;
}

static inline uint64_t vd_data(unsigned k)
{
	return vd_hdr(k) + 0x1000;
}

static inline uint64_t vd_status(unsigned k)
{
	return vd_hdr(k) + 0x800;
}

/* Builds and offers a three-descriptor block request (two when len is 0)
 * on the harness queue. */
void vd_blk_request(struct guest_memory *m, uint16_t n, unsigned k, uint32_t type, uint64_t sector, uint32_t len);
uint8_t vd_blk_status(struct guest_memory *m, unsigned k);
