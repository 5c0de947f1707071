/* A driver-side view of a split virtqueue in in-process guest memory, shared
 * by the queue, block and mmio unit tests. */
#pragma once

#include <stdint.h>
#include <string.h>

#include "core/memory.h"
#include "devices/virtio/queue.h"

#define H_DESC 0x1000ull
#define H_AVAIL 0x2000ull
#define H_USED 0x3000ull
#define H_INDIRECT 0x8000ull
#define H_BUF 0x10000ull

static inline void h_desc_at(struct guest_memory *m, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	guest_memory_write(m, table + 16ull * i, &d, sizeof(d));
}

static inline void h_desc(struct guest_memory *m, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
			  uint16_t next)
{
	h_desc_at(m, H_DESC, i, addr, len, flags, next);
}

static inline uint16_t h_avail_idx(struct guest_memory *m)
{
	uint16_t idx;

	guest_memory_read(m, H_AVAIL + 2, &idx, 2);
	return idx;
}

/* Offers head at the next avail slot of an n-entry queue. */
static inline void h_offer(struct guest_memory *m, uint16_t n, uint16_t head)
{
	uint16_t idx = h_avail_idx(m);

	guest_memory_write(m, H_AVAIL + 4 + 2ull * (idx % n), &head, 2);
	idx++;
	guest_memory_write(m, H_AVAIL + 2, &idx, 2);
}

static inline void h_set_avail_idx(struct guest_memory *m, uint16_t idx)
{
	guest_memory_write(m, H_AVAIL + 2, &idx, 2);
}

static inline uint16_t h_used_idx(struct guest_memory *m)
{
	uint16_t idx;

	guest_memory_read(m, H_USED + 2, &idx, 2);
	return idx;
}

/* The used element at ring position pos (mod n). */
static inline void h_used_elem(struct guest_memory *m, uint16_t n, uint16_t pos, uint32_t *id, uint32_t *len)
{
	guest_memory_read(m, H_USED + 4 + 8ull * (pos % n), id, 4);
	guest_memory_read(m, H_USED + 8 + 8ull * (pos % n), len, 4);
}

static inline void h_queue_setup(struct virtq *q, uint16_t n)
{
	virtq_reset(q);
	q->size = n;
	q->desc_gpa = H_DESC;
	q->avail_gpa = H_AVAIL;
	q->used_gpa = H_USED;
}
