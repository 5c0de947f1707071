/* The device side of a rate limiter: a token-bucket pair plus a timerfd on
 * the vmm loop. When the buckets cannot pay, the device parks the queue (it
 * stops popping; kicks are still drained) and the timer is armed for exactly
 * the time the buckets need to refill; its handler unparks and reprocesses.
 * Shared by block now and by net and entropy later. vmm thread only, or under
 * the owning device's lock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/rate_limiter.h"
#include "core/loop.h"
#include "token_bucket.h"

struct virtio_throttle {
	struct rate_limiter rl;
	struct event_loop *loop;
	int timer_fd;
	bool has_timer; /* timer_fd is ours: a zeroed struct's 0 is not (it would be stdin) */
	bool parked;
	uint64_t throttled_events; /* times a request found the buckets dry */
};

/* Creates the timerfd and registers it on loop with on_timer(ctx) (loop may be
 * NULL for host harnesses, which then call virtio_throttle_fired() themselves).
 * Returns 0 or -errno. */
int virtio_throttle_init(struct virtio_throttle *t, struct event_loop *loop, const struct rate_limiter_config *cfg,
			 tb_clock_fn clock, loop_handler_fn on_timer, void *ctx);
/* Unregisters and closes the timer; safe on a zeroed or half-initialised struct. */
void virtio_throttle_destroy(struct virtio_throttle *t);
/* Pays for one request. false: the buckets are dry, the queue is now parked
 * and the timer armed; the caller puts the request back. Parked means false. */
bool virtio_throttle_admit(struct virtio_throttle *t, uint64_t bytes, uint64_t ops);
/* The timer fired (or a harness says so): consumes the expiry and unparks. */
void virtio_throttle_fired(struct virtio_throttle *t);
/* Live replacement (PATCH): new full buckets, disarmed timer, unparked. */
void virtio_throttle_replace(struct virtio_throttle *t, const struct rate_limiter_config *cfg);
/* Firecracker's PATCH: a bucket named in the patch is replaced (size 0
 * disables it), a bucket left out keeps its configuration; then as replace. */
void virtio_throttle_patch(struct virtio_throttle *t, const struct rate_limiter_spec *patch);

/* What a snapshot keeps of a limiter: the tokens left in each bucket. */
struct virtio_throttle_saved {
	uint64_t budget[RATE_LIMITER_KINDS], burst[RATE_LIMITER_KINDS];
};

void virtio_throttle_save(const struct virtio_throttle *t, struct virtio_throttle_saved *ret);
/* Puts saved tokens back, each bucket capped at what its configuration
 * holds (a snapshot is not trusted to grant more). */
void virtio_throttle_restore(struct virtio_throttle *t, const struct virtio_throttle_saved *s);
