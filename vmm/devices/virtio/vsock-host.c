/* See vsock.h. The host side: the listener on uds_path and the CONNECT
 * lines, connecting to <uds_path>_<port>, flushing buffered bytes, the
 * timeouts, and the device's life cycle. Every socket is non-blocking, so
 * a host peer that stalls (half a line, never reading) holds up nothing. */
#include "vsock-dev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/loop.h"
#include "core/device_env.h"
#include "log.h"

#define VSOCK_CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

static unsigned vsock_in_use(const struct vsock_dev *v)
{
	return v->table.count + v->npending;
}

/* ---- established connections ---- */

static void vsock_host_failed(struct vsock_dev *v, struct vsock_conn *c)
{
	VSOCK_COUNT(v, tx_flush_fails, 1);
	vsock_conn_host_closed(c, vsock_now_ms(v));
	vsock_conn_close_host(v, c);
}

/* The guest shut its send side and everything it sent is written: pass
 * the shutdown on; when it shut both sides, the connection ends (Linux
 * waits for this RST after its SHUTDOWN). */
static void vsock_host_drained(struct vsock_dev *v, struct vsock_conn *c)
{
	if (!(c->peer_shut & VSOCK_SHUTDOWN_SEND) || c->fd < 0)
		return;
	if (c->peer_shut == VSOCK_SHUTDOWN_BOTH) {
		vsock_conn_reset(c);
		vsock_kill(v, c);
		return;
	}
	if (!c->host_shut_wr && shutdown(c->fd, SHUT_WR) == 0)
		c->host_shut_wr = true;
}

void vsock_host_flush(struct vsock_dev *v, struct vsock_conn *c)
{
	struct iovec iov[2];
	int n;

	while (c->fd >= 0 && (n = vsock_txbuf_peek(&c->txbuf, iov)) > 0) {
		ssize_t w = writev(c->fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				vsock_host_failed(v, c);
			return; /* EPOLLOUT brings the rest */
		}
		vsock_txbuf_pop(&c->txbuf, (uint32_t)w);
		vsock_conn_forwarded(c, (uint32_t)w);
	}
	vsock_host_drained(v, c);
}

void vsock_host_want_write(struct vsock_dev *v, struct vsock_conn *c)
{
	vsock_host_flush(v, c);
}

void vsock_host_established(struct vsock_dev *v, struct vsock_conn *c)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "OK %u\n", c->local_port);

	/* A fresh socket's buffer takes a few bytes; anything else means the
	 * host is gone. */
	if (c->fd < 0 || write(c->fd, line, (size_t)len) != len) {
		vsock_conn_reset(c);
		vsock_kill(v, c);
	}
}

/* ---- after a reset: the orphans (vmm thread, lock held) ---- */

static void vsock_host_reap_orphans(struct vsock_dev *v)
{
	while (v->orphans) {
		struct vsock_conn *c = v->orphans;

		v->orphans = c->next_orphan;
		vsock_conn_close_host(v, c);
		vsock_conn_clear(c);
		free(c);
		VSOCK_COUNT(v, conns_removed, 1);
	}
}

static void vsock_on_reset(void *ctx, uint32_t events)
{
	struct vsock_dev *v = ctx;
	uint64_t n;

	if (read(v->reset_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		VSOCK_COUNT(v, muxer_event_fails, 1);
	virtio_lock(&v->vdev);
	vsock_host_reap_orphans(v);
	virtio_unlock(&v->vdev);
}

void vsock_host_orphans_ready(struct vsock_dev *v)
{
	uint64_t one = 1;

	if (!v->loop) {
		vsock_host_reap_orphans(v);
		return;
	}
	/* An eventfd write fails only when its counter would overflow: then
	 * a wake-up is already pending. */
	if (write(v->reset_fd, &one, sizeof(one)) < 0)
		VSOCK_COUNT_SHARED(v, muxer_event_fails, 1);
}

static void vsock_on_conn(void *ctx, uint32_t events)
{
	struct vsock_conn *c = ctx;
	struct vsock_dev *v = c->owner;

	virtio_lock(&v->vdev);
	/* A reset came first: c is an orphan, still allocated (only this
	 * thread frees orphans); close them all now. */
	if (c->orphaned) {
		vsock_host_reap_orphans(v);
		virtio_unlock(&v->vdev);
		return;
	}
	virtio_wakeup(&v->vdev);
	if (events & EPOLLERR) {
		VSOCK_COUNT(v, conn_event_fails, 1);
		vsock_host_failed(v, c);
	} else {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
			c->readable = true;
		if (events & EPOLLOUT)
			vsock_host_flush(v, c);
	}
	vsock_rx(v); /* may free c */
	virtio_unlock(&v->vdev);
}

static int vsock_conn_watch(struct vsock_dev *v, struct vsock_conn *c, int fd)
{
	c->fd = fd;
	c->owner = v;
	VSOCK_COUNT(v, conns_added, 1);
	return v->loop ? loop_add(v->loop, fd, VSOCK_CONN_EVENTS, vsock_on_conn, c) : 0;
}

/* ---- guest-initiated ---- */

static int vsock_connect_port(const struct vsock_dev *v, uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds_path, port);

	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A unix socket connects at once or not at all (EAGAIN: its backlog
	 * is full), so nothing waits here. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

void vsock_host_connect(struct vsock_dev *v, const struct vsock_hdr *req)
{
	struct vsock_conn *c;
	int fd;

	if (vsock_in_use(v) >= VSOCK_CONNS_MAX) {
		VSOCK_COUNT(v, muxer_event_fails, 1);
		vsock_queue_rst(v, req);
		return;
	}
	fd = vsock_connect_port(v, req->dst_port);
	if (fd < 0) {
		vsock_queue_rst(v, req); /* nobody listening */
		return;
	}
	c = vsock_conn_table_add(&v->table);
	if (!c) {
		close(fd);
		vsock_queue_rst(v, req);
		return;
	}
	vsock_conn_init_peer(c, req);
	vsock_conn_host_connected(c, vsock_conn_watch(v, c, fd) >= 0);
}

/* ---- host-initiated: the listener and the CONNECT line ---- */

static void vsock_pending_drop(struct vsock_dev *v, struct vsock_pending *p)
{
	if (v->loop)
		loop_remove(v->loop, p->fd);
	close(p->fd);
	p->fd = -1;
	v->npending--;
}

void vsock_host_drop_pending(struct vsock_dev *v)
{
	for (unsigned i = 0; i < VSOCK_PENDING_MAX && v->npending; i++)
		if (v->pending[i].fd >= 0)
			vsock_pending_drop(v, &v->pending[i]);
}

/* The line named port: the connection starts with a REQUEST to the guest. */
static void vsock_pending_connect(struct vsock_dev *v, struct vsock_pending *p, uint32_t port)
{
	uint32_t local;
	struct vsock_conn *c;
	int fd = p->fd;

	if (vsock_local_port_alloc(&v->table, &local) < 0 || !(c = vsock_conn_table_add(&v->table))) {
		vsock_pending_drop(v, p);
		return;
	}
	if (v->loop)
		loop_remove(v->loop, fd);
	p->fd = -1;
	v->npending--;
	vsock_conn_init_local(c, local, port, vsock_now_ms(v));
	c->readable = true; /* bytes after the line may be there already */
	if (vsock_conn_watch(v, c, fd) < 0) {
		c->fd = fd;
		vsock_conn_reset(c);
		vsock_kill(v, c);
	}
}

/* Peeks at what arrived (the line is at most 32 bytes) and reads only the
 * line itself: what follows it belongs to the guest. */
static void vsock_pending_read(struct vsock_dev *v, struct vsock_pending *p, uint32_t events)
{
	char buf[VSOCK_CONNECT_LINE_MAX];
	uint32_t port;
	size_t used;
	ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	int r;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	r = n > 0 ? vsock_connect_line_parse(buf, (size_t)n, &port, &used) : -EINVAL;
	if (r == 0 && !(events & (EPOLLRDHUP | EPOLLHUP)))
		return; /* half a line: wait for the rest, holding nothing up */
	if (r <= 0 || read(p->fd, buf, used) != (ssize_t)used) {
		VSOCK_COUNT(v, muxer_event_fails, 1);
		log_rl(LOG_WARNING, "vsock: host connection closed: no valid CONNECT line");
		vsock_pending_drop(v, p);
		return;
	}
	vsock_pending_connect(v, p, port);
}

static void vsock_on_pending(void *ctx, uint32_t events)
{
	struct vsock_pending *p = ctx;
	struct vsock_dev *v = p->v;

	virtio_lock(&v->vdev);
	virtio_wakeup(&v->vdev);
	vsock_pending_read(v, p, events);
	vsock_rx(v);
	virtio_unlock(&v->vdev);
}

static struct vsock_pending *vsock_pending_slot(struct vsock_dev *v)
{
	if (vsock_in_use(v) >= VSOCK_CONNS_MAX)
		return NULL;
	for (unsigned i = 0; i < VSOCK_PENDING_MAX; i++)
		if (v->pending[i].fd < 0)
			return &v->pending[i];
	return NULL;
}

static void vsock_accept_one(struct vsock_dev *v, int fd)
{
	struct vsock_pending *p = vsock_pending_slot(v);

	/* Edge-triggered: a half line stays unread (peeked), so level
	 * triggering would wake the loop again at once, spinning until the
	 * rest or the timeout comes; each new byte is a new edge. */
	if (!p || (v->loop && loop_add(v->loop, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, vsock_on_pending, p) < 0)) {
		/* Past the connection limit: the host sees its socket close. */
		VSOCK_COUNT(v, muxer_event_fails, 1);
		close(fd);
		return;
	}
	*p = (struct vsock_pending){ .v = v, .fd = fd,
				     .deadline_ms = vsock_now_ms(v) + VSOCK_CONNECT_TIMEOUT_MS };
	v->npending++;
}

static void vsock_on_listen(void *ctx, uint32_t events)
{
	struct vsock_dev *v = ctx;
	int fd;

	virtio_lock(&v->vdev);
	/* At most a backlog's worth per wake-up: the loop's other fds get their turn. */
	for (unsigned i = 0; i < 64 && (fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0; i++)
		vsock_accept_one(v, fd);
	virtio_unlock(&v->vdev);
}

/* ---- timeouts ---- */

static void vsock_on_timer(void *ctx, uint32_t events)
{
	struct vsock_dev *v = ctx;
	uint64_t expiries, now;

	if (read(v->timer_fd, &expiries, sizeof(expiries)) < 0 && errno != EAGAIN)
		VSOCK_COUNT(v, muxer_event_fails, 1);
	virtio_lock(&v->vdev);
	virtio_wakeup(&v->vdev);
	now = vsock_now_ms(v);
	for (unsigned i = 0; i < VSOCK_PENDING_MAX; i++)
		if (v->pending[i].fd >= 0 && now >= v->pending[i].deadline_ms)
			vsock_pending_drop(v, &v->pending[i]);
	for (unsigned i = 0; i < v->table.count; i++)
		if (vsock_conn_check_deadline(v->table.conn[i], now))
			vsock_kill(v, v->table.conn[i]);
	vsock_rx(v);
	virtio_unlock(&v->vdev);
}

/* ---- life cycle ---- */

METRICS_GROUP(vsock_metrics, "vsock", VSOCK_METRICS);

int vsock_host_start(struct vsock_dev *v)
{
	int r;

	if (!v->loop)
		return 0;
	v->reset_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->reset_fd < 0)
		return -errno;
	r = loop_add(v->loop, v->reset_fd, EPOLLIN, vsock_on_reset, v);
	if (r < 0)
		return r;
	r = loop_add(v->loop, v->listen_fd, EPOLLIN, vsock_on_listen, v);
	if (r < 0) {
		loop_remove(v->loop, v->reset_fd);
		return r;
	}
	/* Firecracker's 2 s timeouts, checked each second. */
	r = loop_add_timer(v->loop, 1, vsock_on_timer, v);
	if (r < 0) {
		loop_remove(v->loop, v->listen_fd);
		loop_remove(v->loop, v->reset_fd);
		return r;
	}
	v->timer_fd = r;
	return 0;
}

void vsock_host_stop(struct vsock_dev *v)
{
	for (unsigned i = 0; i < VSOCK_PENDING_MAX; i++)
		if (v->pending[i].fd >= 0)
			vsock_pending_drop(v, &v->pending[i]);
	for (unsigned i = 0; i < v->table.count; i++)
		vsock_conn_close_host(v, v->table.conn[i]);
	vsock_conn_table_clear(&v->table);
	vsock_host_reap_orphans(v);
	if (v->loop) {
		loop_remove(v->loop, v->listen_fd);
		if (v->timer_fd >= 0)
			loop_remove(v->loop, v->timer_fd);
		if (v->reset_fd >= 0)
			loop_remove(v->loop, v->reset_fd);
	}
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	if (v->reset_fd >= 0)
		close(v->reset_fd);
	v->timer_fd = -1;
	v->reset_fd = -1;
}

int vsock_create(const struct device_env *env, const struct vsock_slot *slot, const struct vsock_options *opts,
		 struct vsock_dev **ret)
{
	_cleanup_free_ struct vsock_dev *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	v->metrics_group = -1;
	v->timer_fd = -1;
	v->reset_fd = -1;
	virtio_dev_init(&v->vdev, &vsock_ops);
	v->cid = slot->cfg.guest_cid;
	memcpy(v->uds_path, slot->cfg.uds_path, sizeof(v->uds_path));
	v->clock_ms = opts ? opts->clock_ms : NULL;
	vsock_conn_table_init(&v->table);
	for (unsigned i = 0; i < VSOCK_PENDING_MAX; i++)
		v->pending[i].fd = -1;
	v->loop = env->loop;
	v->listen_fd = fcntl(slot->listen_fd, F_DUPFD_CLOEXEC, 3);
	if (v->listen_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = vsock_host_start(v);
	if (r >= 0)
		r = v->metrics_group = metrics_register(&vsock_metrics_group, NULL, &v->m);
	if (r < 0)
		goto fail;
	*ret = TAKE_PTR(v);
	return 0;
fail:
	vsock_destroy(TAKE_PTR(v));
	return r;
}

struct vsock_dev *vsock_destroy(struct vsock_dev *v)
{
	if (!v)
		return NULL;
	metrics_unregister(v->metrics_group);
	if (v->listen_fd >= 0) {
		vsock_host_stop(v);
		close(v->listen_fd);
	}
	virtio_dev_destroy(&v->vdev);
	free(v);
	return NULL;
}

struct virtio_dev *vsock_virtio(struct vsock_dev *v)
{
	return &v->vdev;
}

unsigned vsock_conn_count(struct vsock_dev *v)
{
	unsigned n;

	virtio_lock(&v->vdev);
	n = vsock_in_use(v);
	virtio_unlock(&v->vdev);
	return n;
}

void vsock_metrics_get(struct vsock_dev *v, struct vsock_metrics *ret)
{
	virtio_lock(&v->vdev);
	*ret = v->m;
	virtio_unlock(&v->vdev);
}
