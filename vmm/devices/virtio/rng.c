/* See rng.h. */
#include "rng.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "cleanup.h"
#include "core/device_env.h"
#include "log.h"
#include "throttle.h"
#include "virtio.h"

struct rng_dev {
	struct virtio_dev vdev;
	bool active;
	struct virtio_throttle throttle;
	ssize_t (*fill)(void *buf, size_t len, unsigned flags);
	struct virtq_elem elem;
	struct entropy_metrics m;
	int metrics;
};

#define RNG_COUNT(g, name, n) metrics_local_add((g)->m.name, (n))

METRICS_GROUP(entropy_metrics, "entropy", ENTROPY_METRICS);

static struct rng_dev *rng_of(struct virtio_dev *d)
{
	return (struct rng_dev *)((char *)d - offsetof(struct rng_dev, vdev));
}

static ssize_t rng_getrandom(void *buf, size_t len, unsigned flags)
{
	return getrandom(buf, len, flags);
}

/* Fills one host buffer completely. getrandom() may return short for more
 * than 256 bytes when a signal arrives; a short read is retried, an error
 * (EAGAIN before the host pool is ready: GRND_NONBLOCK) is returned. */
static int rng_fill_all(struct rng_dev *g, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = g->fill(p, len, GRND_NONBLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes `want` random bytes into the chain's writable buffers (straight
 * into guest memory: nothing is staged on the host). Returns the length to
 * report, 0 on failure. */
static uint32_t rng_fill_chain(struct rng_dev *g, uint32_t want)
{
	const struct virtq_elem *e = &g->elem;
	uint32_t done = 0;

	for (unsigned i = e->nr_out; i < e->nr_out + e->nr_in && done < want; i++) {
		size_t c = e->iov[i].iov_len < want - done ? e->iov[i].iov_len : want - done;
		int r = rng_fill_all(g, e->iov[i].iov_base, c);

		if (r < 0) {
			RNG_COUNT(g, host_rng_fails, 1);
			RNG_COUNT(g, entropy_event_fails, 1);
			log_rl(LOG_ERROR, "entropy: getrandom failed: %s", strerror(-r));
			return 0;
		}
		done += (uint32_t)c;
	}
	return done;
}

enum rng_step {
	RNG_NEXT,  /* go on */
	RNG_IDLE,  /* the queue is empty */
	RNG_STOP,  /* parked (rate limiter) or broken */
	RNG_YIELD, /* this wake-up's budget is spent */
};

/* Serves the chain just popped. */
static enum rng_step rng_handle(struct rng_dev *g, struct virtq *q)
{
	uint32_t want, len;

	if (g->elem.nr_out) {
		/* §5.4.6.1: the device only writes; a readable buffer is a driver bug */
		RNG_COUNT(g, entropy_event_fails, 1);
		log_rl(LOG_WARNING, "entropy: request with device-readable buffers refused");
		virtq_push(q, g->elem.head, 0);
		return RNG_NEXT;
	}
	if (!virtio_throttle_admit(&g->throttle, g->elem.in_len, 1)) {
		/* only reached unparked: each refusal is one throttling event */
		RNG_COUNT(g, entropy_rate_limiter_throttled, 1);
		virtq_unpop(q);
		return RNG_STOP;
	}
	want = g->elem.in_len < RNG_MAX_BYTES ? g->elem.in_len : RNG_MAX_BYTES;
	want = (uint32_t)virtio_take_bytes(&g->vdev, want, 1);
	len = rng_fill_chain(g, want);
	virtq_push(q, g->elem.head, len);
	RNG_COUNT(g, entropy_bytes, len);
	return RNG_NEXT;
}

static enum rng_step rng_step(struct rng_dev *g, struct virtq *q)
{
	int r;

	if (virtio_budget_spent(&g->vdev) || !virtio_take_chain(&g->vdev))
		return RNG_YIELD;
	r = virtq_pop(q, &g->elem);
	if (r < 0) {
		RNG_COUNT(g, entropy_event_fails, 1);
		virtio_set_needs_reset(&g->vdev);
		return RNG_STOP;
	}
	if (r == 0)
		return RNG_IDLE;
	RNG_COUNT(g, entropy_event_count, 1);
	return rng_handle(g, q);
}

/* Serves the queue until it is empty, the limiter parks it or this
 * wake-up's budget is spent (then the rest waits behind the loop's other
 * fds, virtio.h). */
static void rng_process(struct rng_dev *g)
{
	struct virtq *q = virtio_queue(&g->vdev, 0);
	enum rng_step step;

	if (!g->active || g->throttle.parked)
		return;
	for (;;) {
		while ((step = rng_step(g, q)) == RNG_NEXT)
			;
		virtio_signal_used(&g->vdev, 0);
		if (step == RNG_YIELD)
			virtio_yield(&g->vdev, 0);
		if (step != RNG_IDLE || !virtq_idle(q))
			return;
	}
}

static void rng_notify(struct virtio_dev *d, uint16_t queue)
{
	rng_process(rng_of(d)); /* parked: the timer comes back for these */
}

void rng_timer_fired(struct rng_dev *g)
{
	virtio_wakeup(&g->vdev); /* a loop handler call of its own */
	RNG_COUNT(g, rate_limiter_event_count, 1);
	virtio_throttle_fired(&g->throttle);
	rng_process(g);
}

static void rng_on_timer(void *ctx, uint32_t events)
{
	struct rng_dev *g = ctx;

	virtio_lock(&g->vdev);
	rng_timer_fired(g);
	virtio_unlock(&g->vdev);
}

static uint64_t rng_features(struct virtio_dev *d)
{
	return (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC);
}

static int rng_activate(struct virtio_dev *d, uint64_t features, const struct guest_memory *mem)
{
	struct rng_dev *g = rng_of(d);

	if (!virtio_queue(d, 0)->ready) {
		metrics_add_shared(g->m.activate_fails, 1); /* a vCPU thread */
		return -EINVAL;
	}
	g->active = true;
	return 0;
}

static void rng_reset(struct virtio_dev *d)
{
	rng_of(d)->active = false;
}

static const struct virtio_device_ops rng_ops = {
	.name = "entropy",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.config_size = 0, /* §5.4.4: no device configuration layout */
	.features = rng_features,
	.activate = rng_activate,
	.reset = rng_reset,
	.notify = rng_notify,
};

int rng_create(const struct device_env *env, const struct entropy_config *cfg, const struct rng_options *opts,
	       struct rng_dev **ret)
{
	_cleanup_free_ struct rng_dev *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	g->metrics = -1;
	g->fill = opts && opts->fill ? opts->fill : rng_getrandom;
	virtio_dev_init(&g->vdev, &rng_ops);
	r = virtio_throttle_init(&g->throttle, env->loop, &cfg->rate_limiter.cfg, opts ? opts->clock : NULL,
				 rng_on_timer, g);
	if (r >= 0)
		r = g->metrics = metrics_register(&entropy_metrics_group, NULL, &g->m);
	if (r < 0) {
		rng_destroy(TAKE_PTR(g));
		return r;
	}
	*ret = TAKE_PTR(g);
	return 0;
}

struct rng_dev *rng_destroy(struct rng_dev *g)
{
	if (!g)
		return NULL;
	metrics_unregister(g->metrics);
	virtio_throttle_destroy(&g->throttle);
	virtio_dev_destroy(&g->vdev);
	free(g);
	return NULL;
}

struct virtio_dev *rng_virtio(struct rng_dev *g)
{
	return &g->vdev;
}

void rng_metrics_get(struct rng_dev *g, struct entropy_metrics *ret)
{
	virtio_lock(&g->vdev);
	*ret = g->m;
	virtio_unlock(&g->vdev);
}

struct rng_saved {
	struct virtio_throttle_saved tokens; /* budget[], then burst[] */
};

int rng_snapshot_save(struct rng_dev *g, uint8_t *buf, size_t size)
{
	struct rng_saved s = { 0 };

	if (size < sizeof(s))
		return -ENOSPC;
	virtio_lock(&g->vdev);
	virtio_throttle_save(&g->throttle, &s.tokens);
	virtio_unlock(&g->vdev);
	memcpy(buf, &s, sizeof(s));
	return (int)sizeof(s);
}

int rng_snapshot_restore(struct rng_dev *g, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct rng_saved s;

	if (len != sizeof(s)) {
		snprintf(err, errlen, "entropy: state of %zu bytes, expected %zu", len, sizeof(s));
		return -EINVAL;
	}
	memcpy(&s, buf, sizeof(s));
	virtio_lock(&g->vdev);
	virtio_throttle_restore(&g->throttle, &s.tokens); /* never above the buckets */
	/* Chains the guest offered while the saved VM was parked or paused get
	 * no new notification: serve them once the restored VM runs. */
	if (g->active)
		virtio_yield(&g->vdev, 0);
	virtio_unlock(&g->vdev);
	return 0;
}
