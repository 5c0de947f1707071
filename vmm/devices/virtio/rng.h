/* virtio-rng, the entropy device (virtio 1.2 §5.4): device ID 4, one
 * requestq, no feature bits and no config space.
 *
 * The driver posts device-writable buffers; the device fills each from the
 * host's getrandom() (GRND_NONBLOCK: the vmm thread never waits for the
 * pool) and returns it with the length written. A chain is served up to
 * RNG_MAX_BYTES, as Firecracker caps it, and never beyond this wake-up's
 * data budget (virtio.h); the driver asks again for the rest. A chain with
 * device-readable buffers is refused (entropy_event_fails, length 0); a
 * getrandom() failure counts host_rng_fails and returns length 0, as
 * Firecracker does.
 *
 * The optional rate limiter (bytes and ops buckets, virtio/throttle.h) is
 * paid per chain with its whole writable length: when it cannot pay, the
 * chain goes back, the queue parks and the loop's timer brings it back. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "config/entropy.h"
#include "metrics.h"
#include "token_bucket.h"

#define VIRTIO_ID_RNG 4u
#define RNG_MAX_BYTES (64u * 1024u)

/* Firecracker's entropy metrics (test/data/firecracker-metrics.txt). */
#define ENTROPY_METRICS(X)                                                                         \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(entropy_event_fails, METRICS_COUNTER)                                                    \
	X(entropy_event_count, METRICS_COUNTER)                                                    \
	X(entropy_bytes, METRICS_COUNTER)                                                          \
	X(host_rng_fails, METRICS_COUNTER)                                                         \
	X(entropy_rate_limiter_throttled, METRICS_COUNTER)                                         \
	X(rate_limiter_event_count, METRICS_COUNTER)
METRICS_COUNTERS(entropy_metrics, ENTROPY_METRICS);
extern const struct metrics_group entropy_metrics_group;

struct device_env;
struct rng_dev;
struct virtio_dev;

/* For host-side tests: a clock for the limiter and a getrandom() stand-in
 * (same contract: bytes written or -1 with errno). NULL: the real ones. */
struct rng_options {
	tb_clock_fn clock;
	ssize_t (*fill)(void *buf, size_t len, unsigned flags);
};

/* Creates the device (its limiter's timer on env->loop when there is one)
 * and registers its counters as the "entropy" group. 0 or -errno; the caller
 * owns *ret and frees it with rng_destroy() after its transport is gone. */
int rng_create(const struct device_env *env, const struct entropy_config *cfg, const struct rng_options *opts,
	       struct rng_dev **ret);
/* Accepts NULL; returns NULL. */
struct rng_dev *rng_destroy(struct rng_dev *g);
struct virtio_dev *rng_virtio(struct rng_dev *g);
/* A copy of the counters, under the device lock (tests). */
void rng_metrics_get(struct rng_dev *g, struct entropy_metrics *ret);
/* For a harness without a loop: the limiter's timer fired. */
void rng_timer_fired(struct rng_dev *g);
/* Its part of a snapshot (the transport's is saved apart): what is left in
 * the rate limiter's buckets. The device finishes every chain it pops in
 * one go, so nothing is in flight to save. save: bytes written or -ENOSPC;
 * restore: 0 or -EINVAL with err filled. */
int rng_snapshot_save(struct rng_dev *g, uint8_t *buf, size_t size);
int rng_snapshot_restore(struct rng_dev *g, const uint8_t *buf, size_t len, char *err, size_t errlen);
