/* A drive's part of a snapshot (block.h): what the transport does not hold.
 * The drive's configuration (path, read-only, cache, engine, limiter sizes)
 * is in the state file's config section and re-creates the drive; this is
 * its run-time state: the capacity the guest was told, the features it
 * acked, and what is left in the rate limiter's buckets. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "block-internal.h"
#include "block.h"
#include "queue.h"

struct block_saved {
	uint64_t capacity; /* sectors */
	uint64_t acked_features;
	struct virtio_throttle_saved tokens; /* budget[], then burst[] */
	uint8_t active, pad[7];
};

void block_snapshot_quiesce(struct block *b)
{
	/* Requests with io_uring finish and reach the used ring (the VM is
	 * paused: their interrupts wait in the irqchip, which is saved after). */
	if (b->uring)
		blk_uring_drain(b->uring, true);
	virtio_lock(&b->vdev);
	if (b->open) {
		/* A chain served in pieces is put back whole: the restored device
		 * serves it again from its start (reads and writes of the same
		 * sectors give the same result). */
		struct virtq *q = virtio_queue(&b->vdev, 0);

		if (q)
			virtq_unpop(q);
		b->open = false;
		b->open_failed = false;
		b->piece_inflight = false;
		if (q)
			virtio_yield(&b->vdev, 0); /* served again if this VM resumes */
	}
	virtio_unlock(&b->vdev);
}

int block_snapshot_save(struct block *b, uint8_t *buf, size_t size)
{
	struct block_saved s = { 0 };

	if (size < sizeof(s))
		return -ENOSPC;
	virtio_lock(&b->vdev);
	s.capacity = b->capacity;
	s.acked_features = b->acked_features;
	s.active = b->active;
	virtio_throttle_save(&b->throttle, &s.tokens);
	virtio_unlock(&b->vdev);
	memcpy(buf, &s, sizeof(s));
	return (int)sizeof(s);
}

/* The configuration re-created the drive, and the transport's restore (run
 * before) activated it with the features the saved driver acked
 * (block_activate): the saved state must say the same, as net's and
 * vsock's must. It is checked, not copied over: the transport's values are
 * the ones it validated against what the device offers. */
static int block_snapshot_check(const struct block *b, const struct block_saved *s, char *err, size_t errlen)
{
	if (s->capacity != b->capacity) {
		snprintf(err, errlen, "drive %s: the backing file holds %" PRIu64 " sectors, the snapshot's guest was "
			 "told %" PRIu64, b->id, b->capacity, s->capacity);
		return -EINVAL;
	}
	if (!!s->active != b->active || (s->active && s->acked_features != b->acked_features)) {
		snprintf(err, errlen, "drive %s: the saved state (%s, features 0x%" PRIx64 ") is not the transport's "
			 "(%s, features 0x%" PRIx64 ")", b->id, s->active ? "active" : "inactive", s->acked_features,
			 b->active ? "active" : "inactive", b->acked_features);
		return -EINVAL;
	}
	return 0;
}

int block_snapshot_restore(struct block *b, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct block_saved s;
	int r;

	if (len != sizeof(s)) {
		snprintf(err, errlen, "drive %s: state of %zu bytes, expected %zu", b->id, len, sizeof(s));
		return -EINVAL;
	}
	memcpy(&s, buf, sizeof(s));
	virtio_lock(&b->vdev);
	r = block_snapshot_check(b, &s, err, errlen);
	if (r >= 0)
		virtio_throttle_restore(&b->throttle, &s.tokens); /* never above the buckets */
	virtio_unlock(&b->vdev);
	return r;
}
