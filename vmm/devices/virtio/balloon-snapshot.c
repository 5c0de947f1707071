/* The balloon's part of a snapshot (balloon-internal.h). Its configuration
 * (amount_mib as last set, deflate_on_oom, stats_polling_interval_s, free
 * page hinting and reporting) is in the state file's config section and
 * re-creates the device; this is its run-time state: the config space
 * (target, actual, hint command id), the statistics interval as last
 * PATCHed, the held statistics buffer and the last values, and the hinting
 * run. Inflated pages need nothing: they were returned to the host, so the
 * memory file holds them as zero pages (holes). PFN batches are flushed at
 * the end of every wake-up, so none is in flight. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "balloon-internal.h"
#include "queue.h"

struct balloon_saved {
	uint64_t offered;
	uint32_t num_pages, actual, cmd_id;
	uint32_t host_cmd, last_cmd_id, guest_cmd;
	uint64_t stats_val[BALLOON_STAT_TAGS];
	uint32_t stats_present;
	uint16_t interval_s, stats_head;
	uint8_t active, stats_held, guest_cmd_valid, ack_on_stop;
	uint8_t pad[4];
};

int balloon_snapshot_save(struct balloon *b, uint8_t *buf, size_t size)
{
	struct balloon_saved s = { 0 };

	if (size < sizeof(s))
		return -ENOSPC;
	virtio_lock(&b->vdev);
	s = (struct balloon_saved){
		.offered = b->offered, .num_pages = b->num_pages, .actual = b->actual, .cmd_id = b->cmd_id,
		.host_cmd = b->host_cmd, .last_cmd_id = b->last_cmd_id, .guest_cmd = b->guest_cmd,
		.stats_present = b->stats.present, .interval_s = b->interval_s, .stats_head = b->stats_head,
		.active = b->active, .stats_held = b->stats_held, .guest_cmd_valid = b->guest_cmd_valid,
		.ack_on_stop = b->ack_on_stop,
	};
	memcpy(s.stats_val, b->stats.val, sizeof(s.stats_val));
	virtio_unlock(&b->vdev);
	memcpy(buf, &s, sizeof(s));
	return (int)sizeof(s);
}

/* What the configuration and the transport re-created must be what was
 * saved, and every index must fit the queues it names. */
static int balloon_snapshot_check(struct balloon *b, const struct balloon_saved *s, char *err, size_t errlen)
{
	struct virtq *q = b->vq[BVQ_STATS] >= 0 ? virtio_queue(&b->vdev, (uint16_t)b->vq[BVQ_STATS]) : NULL;

	if (s->offered != b->offered || !!s->active != b->active) {
		snprintf(err, errlen, "balloon: the saved state (features 0x%" PRIx64 ", %s) is not the "
			 "configuration's and transport's (features 0x%" PRIx64 ", %s)", s->offered,
			 s->active ? "active" : "inactive", b->offered, b->active ? "active" : "inactive");
		return -EINVAL;
	}
	if (s->num_pages > BALLOON_MAX_MIB * BALLOON_PAGES_PER_MIB || (!!s->interval_s != !!b->interval_s)) {
		snprintf(err, errlen, "balloon: the saved target (%" PRIu32 " pages) or statistics interval (%u s) "
			 "is not one the configuration allows", s->num_pages, s->interval_s);
		return -EINVAL;
	}
	if (s->stats_held && (!s->active || !q || !q->ready || s->stats_head >= q->size)) {
		snprintf(err, errlen, "balloon: the saved statistics buffer (head %u) is not on a ready statistics "
			 "queue", s->stats_head);
		return -EINVAL;
	}
	return 0;
}

int balloon_snapshot_restore(struct balloon *b, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct balloon_saved s;
	int r;

	if (len != sizeof(s)) {
		snprintf(err, errlen, "balloon: state of %zu bytes, expected %zu", len, sizeof(s));
		return -EINVAL;
	}
	memcpy(&s, buf, sizeof(s));
	virtio_lock(&b->vdev);
	r = balloon_snapshot_check(b, &s, err, errlen);
	if (r >= 0) {
		b->num_pages = s.num_pages;
		b->actual = s.actual;
		b->cmd_id = s.cmd_id;
		b->host_cmd = s.host_cmd;
		b->last_cmd_id = s.last_cmd_id;
		b->guest_cmd = s.guest_cmd;
		b->guest_cmd_valid = s.guest_cmd_valid;
		b->ack_on_stop = s.ack_on_stop;
		b->interval_s = s.interval_s;
		b->stats.present = s.stats_present & ((1u << BALLOON_STAT_TAGS) - 1);
		memcpy(b->stats.val, s.stats_val, sizeof(b->stats.val));
		b->stats_held = s.stats_held;
		b->stats_head = s.stats_head;
		/* The held buffer goes back at the next tick, as before the save. */
		if (b->stats_held)
			balloon_stats_timer_arm(b);
		/* PFNs the guest queued before the save get a turn. */
		for (unsigned k = BVQ_INFLATE; b->active && k <= BVQ_DEFLATE; k++)
			virtio_yield(&b->vdev, (uint16_t)b->vq[k]);
	}
	virtio_unlock(&b->vdev);
	return r;
}
