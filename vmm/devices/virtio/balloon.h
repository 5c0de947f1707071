/* virtio-balloon (virtio 1.3 §5.5, device ID 5), Firecracker's device.
 *
 * Queues, numbered from the negotiated features as Linux's
 * drivers/virtio/virtio_balloon.c numbers them (a queue whose feature was
 * not negotiated takes no index): inflate 0, deflate 1, then stats
 * (STATS_VQ), free_page_vq (FREE_PAGE_HINT) and reporting_vq
 * (PAGE_REPORTING), each present only when negotiated. Config space (12
 * bytes): le32 num_pages (the host's target), le32 actual (written by the
 * guest), le32 free_page_hint_cmd_id.
 *
 * Inflated PFNs and hinted or reported ranges are checked against guest RAM
 * (balloon-pages.h) and returned to the host with madvise(MADV_DONTNEED);
 * statistics are parsed by tag (balloon-stats.h) and the buffer held until
 * the stats timer (on the vmm loop) returns it. All queue work runs on the
 * vmm thread; balloon_request() (the API's post-boot calls) takes the
 * device lock too. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "balloon-pages.h"
#include "balloon-stats.h"
#include "config/balloon.h"
#include "metrics.h"

struct device_env;
struct balloon;
struct virtio_dev;

#define VIRTIO_ID_BALLOON 5u
#define BALLOON_F_STATS_VQ 1u
#define BALLOON_F_DEFLATE_ON_OOM 2u
#define BALLOON_F_FREE_PAGE_HINT 3u
#define BALLOON_F_PAGE_REPORTING 5u
/* free_page_hint_cmd_id values with a meaning (Linux's
 * VIRTIO_BALLOON_CMD_ID_STOP and _DONE); a run's ids start at 2. The guest
 * ends its hints by sending STOP; the host ends a run by writing DONE,
 * after which the guest frees the pages it hinted. */
#define BALLOON_CMD_ID_STOP 0u
#define BALLOON_CMD_ID_DONE 1u
#define BALLOON_CONFIG_SIZE 12u

/* The field list of tools/firecracker-metrics-fields.py's output at v1.16.1. */
#define BALLOON_METRICS(X)                                                                         \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(inflate_count, METRICS_COUNTER)                                                          \
	X(stats_updates_count, METRICS_COUNTER)                                                    \
	X(stats_update_fails, METRICS_COUNTER)                                                     \
	X(deflate_count, METRICS_COUNTER)                                                          \
	X(event_fails, METRICS_COUNTER)                                                            \
	X(free_page_report_count, METRICS_COUNTER)                                                 \
	X(free_page_report_freed, METRICS_COUNTER)                                                 \
	X(free_page_report_fails, METRICS_COUNTER)                                                 \
	X(free_page_hint_count, METRICS_COUNTER)                                                   \
	X(free_page_hint_freed, METRICS_COUNTER)                                                   \
	X(free_page_hint_fails, METRICS_COUNTER)

METRICS_COUNTERS(balloon_metrics, BALLOON_METRICS);
extern const struct metrics_group balloon_metrics_group;

/* The API's post-boot calls, each one request. */
enum balloon_op {
	BALLOON_OP_RESIZE,         /* PATCH /balloon: amount_mib */
	BALLOON_OP_STATS_INTERVAL, /* PATCH /balloon/statistics: interval_s */
	BALLOON_OP_STATS,          /* GET /balloon/statistics: stats_json */
	BALLOON_OP_HINT_START,     /* PATCH /balloon/hinting/start: ack_on_stop */
	BALLOON_OP_HINT_STATUS,    /* GET /balloon/hinting/status: hint_json */
	BALLOON_OP_HINT_STOP,      /* PATCH /balloon/hinting/stop */
};

struct balloon_request {
	enum balloon_op op;
	uint32_t amount_mib;
	uint16_t interval_s;
	bool ack_on_stop;
	/* Answers: a new reference for the GETs (the caller owns it). */
	json_t *reply;
	/* On error: Firecracker's text of the device's error, without the
	 * API's prefix ("Balloon: Device not activated yet."). */
	char fault[128];
};

/* Creates the device for cfg on env. 0 or -errno; the caller owns *ret. */
int balloon_create(const struct device_env *env, const struct balloon_config *cfg, struct balloon **ret);
/* Accepts NULL; returns NULL. After its transport has gone. */
struct balloon *balloon_destroy(struct balloon *b);
struct virtio_dev *balloon_virtio(struct balloon *b);
/* Runs one API request (vmm thread). 0, or -errno with req->fault. */
int balloon_request(struct balloon *b, struct balloon_request *req);
/* What was skipped so far (for tests and the log). */
struct balloon_page_faults balloon_faults(struct balloon *b);
