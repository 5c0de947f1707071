#include "queue.h"

#include <errno.h>
#include <string.h>

#include "core/memory.h"
#include "log.h"

/* Ring layouts (virtio 1.2 §2.7.2): descriptor table 16·n bytes, 16-aligned;
 * avail: flags, idx, ring[n], used_event; used: flags, idx, ring[n]{id, len},
 * avail_event. */
#define DESC_SIZE 16u
#define AVAIL_BYTES(n) (6u + 2u * (n))
#define USED_BYTES(n) (6u + 8u * (n))

static uint16_t *avail_field(const struct virtq *q, unsigned i)
{
	return (uint16_t *)(q->avail + 2u * i); /* 0 flags, 1 idx, 2.. ring, 2+n used_event */
}

static uint16_t *used_field(const struct virtq *q, unsigned i)
{
	return (uint16_t *)(q->used + 2u * i); /* 0 flags, 1 idx */
}

static uint16_t *used_avail_event(const struct virtq *q)
{
	return (uint16_t *)(q->used + 4u + 8u * q->size);
}

void virtq_reset(struct virtq *q)
{
	struct virtq_stats stats = q->stats;

	*q = (struct virtq){ .size = VIRTQ_MAX_SIZE, .stats = stats };
}

static bool gpa_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int virtq_enable(struct virtq *q, const struct guest_memory *mem)
{
	uint8_t *desc, *avail, *used;
	unsigned n = q->size;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return -EINVAL;
	desc = guest_memory_slice(mem, q->desc_gpa, (uint64_t)DESC_SIZE * n);
	avail = guest_memory_slice(mem, q->avail_gpa, AVAIL_BYTES(n));
	used = guest_memory_slice(mem, q->used_gpa, USED_BYTES(n));
	if (!desc || !avail || !used)
		return -EFAULT;
	/* The device writes the used ring: over the available ring or the
	 * descriptor table, each entry it returns would change what the driver
	 * offers, and a device that returns a refused chain and pops the next
	 * would never run out (a vmm thread spinning forever). No driver lays
	 * its rings out so (virtio 1.2 §2.7: three separate parts). */
	if (gpa_overlap(q->used_gpa, USED_BYTES(n), q->avail_gpa, AVAIL_BYTES(n)) ||
	    gpa_overlap(q->used_gpa, USED_BYTES(n), q->desc_gpa, (uint64_t)DESC_SIZE * n))
		return -EINVAL;
	q->mem = mem;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->broken = false;
	q->ready = true;
	return 0;
}

uint16_t virtq_pending(const struct virtq *q)
{
	if (!q->ready)
		return 0;
	return (uint16_t)(__atomic_load_n(avail_field(q, 1), __ATOMIC_ACQUIRE) - q->last_avail);
}

/* A chain under construction: where the next descriptor comes from. */
struct chain_walk {
	const uint8_t *table;
	uint32_t table_size;
	uint16_t idx;
	bool in_indirect;
};

static enum virtq_fault chain_enter_indirect(const struct virtq *q, struct chain_walk *w, const struct virtq_desc *d)
{
	const uint8_t *table;

	/* §2.7.5.3.1: no INDIRECT inside an indirect table, no NEXT with INDIRECT. */
	if (!q->indirect || w->in_indirect || (d->flags & VIRTQ_DESC_F_NEXT))
		return VIRTQ_FAULT_INDIRECT;
	if (d->len == 0 || d->len % DESC_SIZE || d->len / DESC_SIZE > q->size)
		return VIRTQ_FAULT_INDIRECT;
	table = guest_memory_slice(q->mem, d->addr, d->len);
	if (!table)
		return VIRTQ_FAULT_ADDRESS;
	*w = (struct chain_walk){ .table = table, .table_size = d->len / DESC_SIZE, .idx = 0, .in_indirect = true };
	return VIRTQ_FAULT_NONE;
}

static enum virtq_fault chain_add_buffer(const struct virtq *q, struct virtq_elem *e, const struct virtq_desc *d)
{
	unsigned n = e->nr_out + e->nr_in;
	void *p;

	/* Every step adds a buffer (an indirect hop happens at most once), so
	 * this bound also ends any loop. */
	if (n >= q->size)
		return VIRTQ_FAULT_TOO_LONG;
	if (d->len == 0)
		return VIRTQ_FAULT_ZERO_LENGTH;
	p = guest_memory_slice(q->mem, d->addr, d->len);
	if (!p)
		return VIRTQ_FAULT_ADDRESS;
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		if (__builtin_add_overflow(e->in_len, d->len, &e->in_len))
			return VIRTQ_FAULT_LENGTH;
		e->nr_in++;
		/* Dirty tracking: the device may write all of it, from now on
		 * (a superset: marking costs a bit, missing a page loses data).
		 * A chain a device keeps across a snapshot marks again when it
		 * writes (virtq_mark_written). */
		guest_memory_mark_host(q->mem, p, d->len);
	} else {
		/* §2.7.4.2: device-readable descriptors come first. */
		if (e->nr_in)
			return VIRTQ_FAULT_ORDER;
		if (__builtin_add_overflow(e->out_len, d->len, &e->out_len))
			return VIRTQ_FAULT_LENGTH;
		e->nr_out++;
	}
	e->iov[n] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	return VIRTQ_FAULT_NONE;
}

static enum virtq_fault chain_walk(const struct virtq *q, uint16_t head, struct virtq_elem *e)
{
	struct chain_walk w = { .table = q->desc, .table_size = q->size, .idx = head };
	struct virtq_desc d;
	enum virtq_fault r;

	if (head >= q->size)
		return VIRTQ_FAULT_HEAD_RANGE;
	e->head = head;
	e->nr_out = e->nr_in = 0;
	e->out_len = e->in_len = 0;
	for (;;) {
		/* Copy once: the guest may rewrite the descriptor while we look at it. */
		memcpy(&d, w.table + (size_t)w.idx * DESC_SIZE, sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			r = chain_enter_indirect(q, &w, &d);
			if (r)
				return r;
			continue;
		}
		r = chain_add_buffer(q, e, &d);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return VIRTQ_FAULT_NONE;
		if (d.next >= w.table_size)
			return VIRTQ_FAULT_NEXT_RANGE;
		w.idx = d.next;
	}
}

static void virtq_mark_broken(struct virtq *q, uint16_t pending)
{
	if (!q->broken) {
		q->stats.broken++;
		log_rl(LOG_WARNING, "virtq: avail index ran %u entries ahead of a %u-entry queue; queue stopped",
		       (unsigned)pending, (unsigned)q->size);
	}
	q->broken = true;
}

int virtq_pop(struct virtq *q, struct virtq_elem *ret)
{
	static const char *const fault_name[VIRTQ_FAULT_KINDS] = {
		"", "head out of range", "next out of range", "chain longer than the queue",
		"buffer outside guest memory", "zero-length buffer", "length overflow",
		"readable after writable", "bad indirect table",
	};

	if (!q->ready || q->broken)
		return q->broken ? -EIO : 0;
	for (;;) {
		uint16_t pending = virtq_pending(q), head;
		enum virtq_fault r;

		if (pending == 0)
			return 0;
		if (pending > q->size) {
			virtq_mark_broken(q, pending);
			return -EIO;
		}
		/* size is a power of two (virtq_enable): a mask, not a division */
		head = __atomic_load_n(avail_field(q, 2u + (q->last_avail & (q->size - 1u))), __ATOMIC_RELAXED);
		q->last_avail++;
		r = chain_walk(q, head, ret);
		if (r == VIRTQ_FAULT_NONE) {
			q->stats.popped++;
			return 1;
		}
		q->stats.dropped++;
		q->stats.fault[r]++;
		log_rl(LOG_WARNING, "virtq: dropped descriptor chain at head %u: %s", (unsigned)head, fault_name[r]);
		if (head < q->size)
			virtq_push(q, head, 0);
	}
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	/* size is a power of two (virtq_enable): a mask, not a division */
	uint8_t *slot = q->used + 4u + 8u * (q->used_idx & (q->size - 1u));
	uint32_t id = head;

	memcpy(slot, &id, 4);
	memcpy(slot + 4, &len, 4);
	/* Dirty tracking: KVM logs only the guest's own writes. */
	guest_memory_mark_host(q->mem, slot, 8);
	guest_memory_mark_host(q->mem, used_field(q, 1), 2);
	q->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(used_field(q, 1), q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_needs_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx, event;
	bool valid = q->signalled_valid;

	if (!q->ready || old == now)
		return false;
	q->signalled_used = now;
	q->signalled_valid = true;
	/* The used index store must be ordered before reading the driver's
	 * suppression fields, or we can miss its latest request (§2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(__atomic_load_n(avail_field(q, 0), __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	event = __atomic_load_n(avail_field(q, 2u + q->size), __ATOMIC_RELAXED);
	/* vring_need_event(): did now pass event since old? */
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

bool virtq_idle(struct virtq *q)
{
	if (!q->ready || q->broken)
		return false;
	if (q->event_idx) {
		__atomic_store_n(used_avail_event(q), q->last_avail, __ATOMIC_RELAXED);
		guest_memory_mark_host(q->mem, used_avail_event(q), 2);
	}
	/* Publish avail_event before re-reading avail idx, pairing with the
	 * driver's barrier between writing idx and reading avail_event. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_pending(q) != 0;
}

/* The copy loop of virtq_iov_read/write: to_iov chooses the direction. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, uint8_t *buf, size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		uint8_t *p;
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		p = (uint8_t *)iov[i].iov_base + off;
		take = iov[i].iov_len - off < len - done ? iov[i].iov_len - off : len - done;
		if (to_iov)
			memcpy(p, buf + done, take);
		else
			memcpy(buf + done, p, take);
		done += take;
		off = 0;
	}
	return done;
}

size_t virtq_iov_read(const struct iovec *iov, unsigned n, size_t off, void *dst, size_t len)
{
	return iov_copy(iov, n, off, dst, len, false);
}

size_t virtq_iov_write(const struct iovec *iov, unsigned n, size_t off, const void *src, size_t len)
{
	return iov_copy(iov, n, off, (uint8_t *)src, len, true);
}

void virtq_mark_written(const struct virtq *q, const struct iovec *iov, unsigned n, size_t len)
{
	for (unsigned i = 0; i < n && len; i++) {
		size_t take = iov[i].iov_len < len ? iov[i].iov_len : len;

		guest_memory_mark_host(q->mem, iov[i].iov_base, take);
		len -= take;
	}
}
