/* Split virtqueues (virtio 1.2 §2.7): the one place where guest descriptors
 * become host iovecs.
 *
 * Everything the guest wrote is hostile. Ring addresses are checked once when
 * the queue is enabled; every descriptor is copied out of guest memory before
 * it is looked at (the guest cannot change it under us), and each buffer it
 * names is turned into a host pointer by guest_memory_slice(). A chain is
 * bounded by the queue size (direct and indirect descriptors together), so a
 * loop ends there. A chain that breaks any rule is dropped: it is counted,
 * returned to the used ring with length 0 so the driver can reclaim it, and
 * never reaches the device. An avail index that runs more than the queue size
 * ahead of the device marks the queue broken (the transport then sets
 * DEVICE_NEEDS_RESET). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_memory;

#define VIRTQ_MAX_SIZE 256u

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Why a chain was dropped; each has a counter. */
enum virtq_fault {
	VIRTQ_FAULT_NONE = 0,
	VIRTQ_FAULT_HEAD_RANGE,     /* avail ring entry >= queue size */
	VIRTQ_FAULT_NEXT_RANGE,     /* next >= table size */
	VIRTQ_FAULT_TOO_LONG,       /* more descriptors than the queue size: a loop */
	VIRTQ_FAULT_ADDRESS,        /* buffer not wholly inside guest RAM */
	VIRTQ_FAULT_ZERO_LENGTH,
	VIRTQ_FAULT_LENGTH,         /* a direction's total exceeds 4 GiB - 1 */
	VIRTQ_FAULT_ORDER,          /* device-readable after device-writable */
	VIRTQ_FAULT_INDIRECT,       /* nested, chained, empty, misaligned or oversized table */
	VIRTQ_FAULT_KINDS,
};

struct virtq_stats {
	uint64_t popped;
	uint64_t dropped;                 /* chains dropped, all reasons */
	uint64_t fault[VIRTQ_FAULT_KINDS];
	uint64_t broken;                  /* times the queue was declared broken */
};

/* One validated chain. iov[0, nr_out) are device-readable, iov[nr_out,
 * nr_out + nr_in) device-writable; each points into guest RAM and is only
 * valid while the guest memory lives. */
struct virtq_elem {
	uint16_t head;
	uint16_t nr_out;
	uint16_t nr_in;
	uint32_t out_len;
	uint32_t in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

struct virtq {
	/* Set by the driver through the transport. */
	uint16_t size;
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */

	/* Device state. */
	const struct guest_memory *mem;
	uint8_t *desc;  /* host views, checked by virtq_enable() */
	uint8_t *avail;
	uint8_t *used;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used; /* used_idx when we last interrupted */
	bool signalled_valid;
	bool broken;
	struct virtq_stats stats;
};

/* Back to the reset state (size max, not ready, addresses 0); stats are kept. */
void virtq_reset(struct virtq *q);
/* Validates size (power of two, 1..VIRTQ_MAX_SIZE), ring alignment and that
 * the three rings lie in guest RAM, then caches their host views.
 * Returns 0, or -EINVAL (size or alignment) or -EFAULT (not in RAM); the
 * queue is left untouched on error. */
int virtq_enable(struct virtq *q, const struct guest_memory *mem);

/* Takes the next available chain into *ret. Malformed chains on the way are
 * dropped (counted, returned with length 0). Returns 1 with *ret filled, 0
 * when no chain is available, -EIO when the queue is broken. */
int virtq_pop(struct virtq *q, struct virtq_elem *ret);
/* Puts the last popped chain back (the device could not serve it yet). */
void virtq_unpop(struct virtq *q);
/* Returns a chain to the driver with `len` bytes written. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for what was pushed since the last
 * call (VIRTQ_AVAIL_F_NO_INTERRUPT or used_event). */
bool virtq_needs_interrupt(struct virtq *q);
/* Before the device goes idle: publishes avail_event (or clears NO_NOTIFY)
 * and returns true when more chains arrived meanwhile. */
bool virtq_idle(struct virtq *q);
/* Chains available and not yet popped. */
uint16_t virtq_pending(const struct virtq *q);

/* Copies up to len bytes between a flat buffer and an iovec list (a chain's
 * iovecs), starting at byte off of the list: out of the list into dst, or
 * into the list from src. Returns the bytes copied, short when the list ends
 * first. Headers that straddle descriptors are read and written this way. */
size_t virtq_iov_read(const struct iovec *iov, unsigned n, size_t off, void *dst, size_t len);
size_t virtq_iov_write(const struct iovec *iov, unsigned n, size_t off, const void *src, size_t len);
/* Dirty tracking (core/memory.h): the first len bytes of a popped chain's
 * writable iovecs were written now. virtq_pop() already marked them; a
 * device that holds chains across a snapshot (net's receive buffers) marks
 * again when it fills them, since the snapshot cleared the bits. */
void virtq_mark_written(const struct virtq *q, const struct iovec *iov, unsigned n, size_t len);
