#include "throttle.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"

int virtio_throttle_init(struct virtio_throttle *t, struct event_loop *loop, const struct rate_limiter_config *cfg,
			 tb_clock_fn clock, loop_handler_fn on_timer, void *ctx)
{
	int r;

	*t = (struct virtio_throttle){ .timer_fd = -1 };
	rate_limiter_init(&t->rl, cfg, clock);
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->timer_fd < 0)
		return -errno;
	t->has_timer = true;
	if (loop) {
		r = loop_add(loop, t->timer_fd, EPOLLIN, on_timer, ctx);
		if (r < 0)
			return r;
		t->loop = loop;
	}
	return 0;
}

void virtio_throttle_destroy(struct virtio_throttle *t)
{
	if (!t->has_timer)
		return;
	if (t->loop)
		loop_remove(t->loop, t->timer_fd);
	close(t->timer_fd);
	t->timer_fd = -1;
	t->has_timer = false;
	t->loop = NULL;
}

static void virtio_throttle_arm(struct virtio_throttle *t, uint64_t ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) },
	};

	if (ns >= (uint64_t)INT64_MAX)
		its.it_value = (struct timespec){ .tv_sec = INT32_MAX };
	if (timerfd_settime(t->timer_fd, 0, &its, NULL) < 0)
		log_rl(LOG_ERROR, "rate limiter: timerfd_settime: %m");
}

bool virtio_throttle_admit(struct virtio_throttle *t, uint64_t bytes, uint64_t ops)
{
	if (t->parked)
		return false;
	if (rate_limiter_consume(&t->rl, bytes, ops))
		return true;
	t->parked = true;
	t->throttled_events++;
	virtio_throttle_arm(t, rate_limiter_wait_ns(&t->rl, bytes, ops));
	return false;
}

void virtio_throttle_fired(struct virtio_throttle *t)
{
	uint64_t expirations;

	if (t->timer_fd >= 0 && read(t->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_rl(LOG_WARNING, "rate limiter: timerfd read: %m");
	t->parked = false;
}

void virtio_throttle_replace(struct virtio_throttle *t, const struct rate_limiter_config *cfg)
{
	rate_limiter_init(&t->rl, cfg, t->rl.clock);
	if (t->timer_fd >= 0)
		virtio_throttle_arm(t, 0); /* a zero it_value disarms */
	t->parked = false;
}

void virtio_throttle_patch(struct virtio_throttle *t, const struct rate_limiter_spec *patch)
{
	struct rate_limiter_config cfg;

	for (unsigned i = 0; i < RATE_LIMITER_KINDS; i++)
		cfg.bucket[i] = patch->bucket_present[i] ? patch->cfg.bucket[i] : t->rl.bucket[i].cfg;
	virtio_throttle_replace(t, &cfg);
}

void virtio_throttle_save(const struct virtio_throttle *t, struct virtio_throttle_saved *ret)
{
	for (unsigned k = 0; k < RATE_LIMITER_KINDS; k++) {
		ret->budget[k] = t->rl.bucket[k].budget;
		ret->burst[k] = t->rl.bucket[k].burst;
	}
}

void virtio_throttle_restore(struct virtio_throttle *t, const struct virtio_throttle_saved *s)
{
	for (unsigned k = 0; k < RATE_LIMITER_KINDS; k++) {
		struct token_bucket *tb = &t->rl.bucket[k];

		tb->budget = s->budget[k] < tb->cfg.size ? s->budget[k] : tb->cfg.size;
		tb->burst = s->burst[k] < tb->cfg.one_time_burst ? s->burst[k] : tb->cfg.one_time_burst;
	}
}
