/* The balloon's state, shared by balloon.c (queues, config space) and
 * balloon-ops.c (the API's requests). Every field is guarded by the device
 * lock (virtio_lock). */
#pragma once

#include "balloon.h"
#include "virtio.h"

/* Linux's VIRTIO_BALLOON_ARRAY_PFNS_MAX: PFNs in one inflate or deflate buffer. */
#define BALLOON_PFNS_PER_CHAIN 256u
/* PFNs gathered before they are coalesced and discarded (Firecracker's
 * MAX_PAGE_COMPACT_BUFFER). */
#define BALLOON_COMPACT_PFNS 2048u

/* The queues by role; each role's index depends on the negotiated features. */
enum balloon_vq { BVQ_INFLATE, BVQ_DEFLATE, BVQ_STATS, BVQ_HINT, BVQ_REPORT, BVQ_KINDS };

struct balloon {
	struct virtio_dev vdev;
	struct virtio_device_ops ops; /* num_queues follows the features offered */
	uint64_t offered;
	struct event_loop *loop;
	const struct guest_memory *mem; /* from activate */
	bool active;
	int vq[BVQ_KINDS]; /* -1: not negotiated */

	/* The config space, host order. */
	uint32_t num_pages, actual, cmd_id;

	/* Statistics: the held buffer and the last values, by tag. */
	uint16_t interval_s;
	int timer_fd;
	bool timer_armed;
	bool stats_held;
	uint16_t stats_head;
	struct balloon_stats stats;

	/* Free page hinting. */
	uint32_t host_cmd, last_cmd_id, guest_cmd;
	bool guest_cmd_valid, ack_on_stop;

	struct balloon_page_faults faults;
	struct balloon_metrics m;
	int metrics_handle;

	/* Scratch for one wake-up (too large for the stack). */
	struct virtq_elem elem;
	uint32_t pfn[BALLOON_COMPACT_PFNS];
	struct balloon_range range[BALLOON_COMPACT_PFNS];
	uint16_t heads[VIRTQ_MAX_SIZE];
	size_t npfn;
	unsigned nheads;
};

struct balloon *balloon_of(struct virtio_dev *d);
/* Returns the held statistics buffer to the driver, if there is one. */
void balloon_stats_return(struct balloon *b);
/* Arms the stats timer at interval_s (0 disarms); _arm only if not armed. */
void balloon_stats_timer_set(struct balloon *b, uint16_t interval_s);
void balloon_stats_timer_arm(struct balloon *b);
/* Writes free_page_hint_cmd_id (the host's command) and tells the driver. */
void balloon_hint_command(struct balloon *b, uint32_t cmd);

/* Snapshots (balloon-snapshot.c): the device's own state into buf (its
 * length or -errno), and back after the transport activated the device. */
int balloon_snapshot_save(struct balloon *b, uint8_t *buf, size_t size);
int balloon_snapshot_restore(struct balloon *b, const uint8_t *buf, size_t len, char *err, size_t errlen);
