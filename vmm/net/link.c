#include "link.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "log.h"
#include "mmds/guest.h"
#include "stack.h"

struct mmds_link {
	struct mmds_stack *stack;
	struct event_loop *loop;
	int timer_fd;     /* -1 without a loop */
	uint64_t armed;   /* the expiry set (monotonic ms), 0 when disarmed */
	struct mmds_link_ops ops;
};

static uint64_t link_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Arms the timer at the stack's deadline. A later deadline than the armed
 * one is left for the early expiry to find (it then arms again): most ACKs
 * move the deadline forward, and that costs no syscall. */
static void link_rearm(struct mmds_link *l)
{
	uint64_t d = mmds_stack_deadline(l->stack);
	struct itimerspec its = { 0 };

	if (l->timer_fd < 0 || d == l->armed || (d && l->armed && d > l->armed))
		return;
	if (d) {
		its.it_value.tv_sec = (time_t)(d / 1000u);
		its.it_value.tv_nsec = (long)(d % 1000u) * 1000000;
	}
	if (timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		log_rl(LOG_ERROR, "MMDS: arming the TCP timer failed: %m");
		return;
	}
	l->armed = d;
}

static void link_on_timer(void *ctx, uint32_t events)
{
	struct mmds_link *l = ctx;

	l->ops.kick(l->ops.ctx);
}

int mmds_link_new(struct mmds_guest *g, struct event_loop *loop, const char *iface_id, uint16_t mtu,
		  const struct mmds_link_ops *ops, struct mmds_link **ret)
{
	struct mmds_link *l;
	int r;

	*ret = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->timer_fd = -1;
	l->ops = *ops;
	r = mmds_guest_stack(g, iface_id, mtu, &l->stack);
	if (r < 0 || !l->stack) {
		free(l);
		return r;
	}
	if (loop) {
		l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		r = l->timer_fd < 0 ? -errno : loop_add(loop, l->timer_fd, EPOLLIN, link_on_timer, l);
		if (r < 0) {
			mmds_link_free(l);
			return r;
		}
		l->loop = loop;
	}
	*ret = l;
	return 0;
}

struct mmds_link *mmds_link_free(struct mmds_link *l)
{
	if (!l)
		return NULL;
	if (l->loop)
		loop_remove(l->loop, l->timer_fd);
	if (l->timer_fd >= 0)
		close(l->timer_fd);
	mmds_stack_free(l->stack);
	free(l);
	return NULL;
}

bool mmds_link_detour(struct mmds_link *l, const struct iovec *iov, unsigned n, size_t skip, bool csum_partial)
{
	bool taken = mmds_stack_detour_iov(l->stack, iov, n, skip, csum_partial, link_now_ms());

	if (taken)
		link_rearm(l);
	return taken;
}

bool mmds_link_pending(const struct mmds_link *l)
{
	return mmds_stack_pending(l->stack);
}

size_t mmds_link_read(struct mmds_link *l, const struct iovec *iov, unsigned n, size_t cap, size_t hdr_len)
{
	size_t len;

	if (!mmds_stack_pending(l->stack))
		return 0;
	len = mmds_stack_write_iov(l->stack, iov, n, cap, hdr_len, link_now_ms());
	link_rearm(l);
	return len;
}

void mmds_link_tick(struct mmds_link *l)
{
	uint64_t expirations;

	if (l->timer_fd >= 0 && read(l->timer_fd, &expirations, sizeof(expirations)) == sizeof(expirations))
		l->armed = 0;
	mmds_stack_tick(l->stack, link_now_ms());
	link_rearm(l);
}

struct mmds_stack *mmds_link_stack(struct mmds_link *l)
{
	return l->stack;
}

uint64_t mmds_link_armed(const struct mmds_link *l)
{
	return l->armed;
}
