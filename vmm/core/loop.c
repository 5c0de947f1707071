#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

#define LOOP_MAX_EVENTS 32

struct loop_entry {
	int fd;
	bool removed;
	loop_handler_fn fn;
	void *ctx;
	struct loop_entry *next;
};

struct event_loop {
	int epfd;
	bool stop;
	bool dispatching;
	struct loop_entry *entries;
	pthread_t owner;      /* the thread that made the loop and runs it */
	unsigned foreign_calls; /* registrations changed from another thread */
};

/* The entries list is not locked, and a handler's ctx may be freed only on
 * the thread that dispatches it: a registration changed from another thread
 * (a vCPU thread's register write, say) is a bug that corrupts the list or
 * frees what a handler is about to use. It is said and counted, loudly,
 * since it may otherwise show only as a crash much later. */
static void loop_check_owner(struct event_loop *loop, const char *what)
{
	if (pthread_equal(pthread_self(), loop->owner))
		return;
	__atomic_add_fetch(&loop->foreign_calls, 1, __ATOMIC_RELAXED);
	log_rl(LOG_ERROR, "event loop: %s from a thread that does not run the loop (a bug: registrations are the vmm "
			"thread's)", what);
}

int loop_create(struct event_loop **ret)
{
	_cleanup_free_ struct event_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->owner = pthread_self();
	*ret = TAKE_PTR(loop);
	return 0;
}

static void loop_reap(struct event_loop *loop)
{
	struct loop_entry **pp = &loop->entries;

	while (*pp) {
		struct loop_entry *e = *pp;

		if (e->removed) {
			*pp = e->next;
			free(e);
		} else {
			pp = &e->next;
		}
	}
}

struct event_loop *loop_destroy(struct event_loop *loop)
{
	if (!loop)
		return NULL;
	for (struct loop_entry *e = loop->entries; e; e = e->next)
		e->removed = true;
	loop_reap(loop);
	close(loop->epfd);
	free(loop);
	return NULL;
}

static struct loop_entry *loop_find(struct event_loop *loop, int fd)
{
	for (struct loop_entry *e = loop->entries; e; e = e->next)
		if (e->fd == fd && !e->removed)
			return e;
	return NULL;
}

int loop_add(struct event_loop *loop, int fd, uint32_t events, loop_handler_fn fn, void *ctx)
{
	struct loop_entry *e;
	struct epoll_event ev = { .events = events };

	loop_check_owner(loop, "loop_add");
	if (loop_find(loop, fd))
		return -EEXIST;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	*e = (struct loop_entry){ .fd = fd, .fn = fn, .ctx = ctx, .next = loop->entries };
	ev.data.ptr = e;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(e);
		return err;
	}
	loop->entries = e;
	return 0;
}

int loop_modify(struct event_loop *loop, int fd, uint32_t events)
{
	struct loop_entry *e = loop_find(loop, fd);
	struct epoll_event ev = { .events = events };

	loop_check_owner(loop, "loop_modify");
	if (!e)
		return -ENOENT;
	ev.data.ptr = e;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_add_timer(struct event_loop *loop, unsigned period_s, loop_handler_fn fn, void *ctx)
{
	struct itimerspec its = { .it_interval = { .tv_sec = period_s }, .it_value = { .tv_sec = period_s } };
	_cleanup_close_ int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		return -errno;
	r = loop_add(loop, fd, EPOLLIN, fn, ctx);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

int loop_remove(struct event_loop *loop, int fd)
{
	struct loop_entry *e;

	loop_check_owner(loop, "loop_remove");
	e = loop_find(loop, fd);
	if (!e)
		return -ENOENT;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* Freed only after dispatch: a later event in the same batch may still point at it. */
	e->removed = true;
	if (!loop->dispatching)
		loop_reap(loop);
	return 0;
}

int loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->dispatching = true;
	for (int i = 0; i < n; i++) {
		struct loop_entry *e = evs[i].data.ptr;

		if (!e->removed)
			e->fn(e->ctx, evs[i].events);
	}
	loop->dispatching = false;
	loop_reap(loop);
	return n;
}

int loop_run(struct event_loop *loop)
{
	while (!loop->stop) {
		int r = loop_run_once(loop, -1);

		if (r < 0)
			return r;
	}
	return 0;
}

unsigned loop_foreign_calls(const struct event_loop *loop)
{
	return __atomic_load_n(&loop->foreign_calls, __ATOMIC_RELAXED);
}

void loop_stop(struct event_loop *loop)
{
	loop->stop = true;
}

bool loop_stopped(const struct event_loop *loop)
{
	return loop->stop;
}
