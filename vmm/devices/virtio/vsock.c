/* See vsock.h. The queue side: the guest's TX packets into the muxer, and
 * RX buffers filled with control packets and host data. The host side
 * (listener, CONNECT lines, connect, flushing) is vsock-host.c. */
#include "vsock-dev.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/loop.h"
#include "core/device_env.h"
#include "log.h"

#define BIT(b) (1ull << (b))
/* struct virtio_vsock_event (§5.10.6.5): le32 id. */
#define VSOCK_EVENT_TRANSPORT_RESET 0u

struct vsock_dev *vsock_of(struct virtio_dev *d)
{
	return (struct vsock_dev *)((char *)d - offsetof(struct vsock_dev, vdev));
}

uint64_t vsock_now_ms(const struct vsock_dev *v)
{
	struct timespec ts;

	if (v->clock_ms)
		return v->clock_ms();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The iovecs of iov[0..n) from byte off on, at most len bytes, into out. */
static unsigned vsock_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		out[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + off, take };
		len -= take;
		off = 0;
	}
	return k;
}

/* ---- connections ---- */

void vsock_conn_close_host(struct vsock_dev *v, struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	if (v->loop)
		loop_remove(v->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

/* Removes dead connections whose last word (a RST) has been said. */
static void vsock_reap(struct vsock_dev *v)
{
	for (unsigned i = v->table.count; i-- > 0;) {
		struct vsock_conn *c = v->table.conn[i];

		if (c->state != VSOCK_CONN_DEAD || c->pending)
			continue;
		vsock_conn_close_host(v, c);
		vsock_conn_table_remove(&v->table, i);
		VSOCK_COUNT(v, conns_removed, 1);
	}
}

void vsock_kill(struct vsock_dev *v, struct vsock_conn *c)
{
	VSOCK_COUNT(v, conns_killed, 1);
	vsock_conn_close_host(v, c);
}

void vsock_queue_rst(struct vsock_dev *v, const struct vsock_hdr *h)
{
	if (v->rst_count == VSOCK_RSTQ_MAX) {
		/* The guest floods faster than it reads: its RSTs are the ones lost. */
		VSOCK_COUNT(v, killq_resync, 1);
		return;
	}
	vsock_hdr_rst_for(h, v->cid, &v->rstq[(v->rst_head + v->rst_count) % VSOCK_RSTQ_MAX]);
	v->rst_count++;
}

/* ---- RX: the device's packets into the guest's buffers ---- */

static bool vsock_rx_pop(struct vsock_dev *v, struct virtq *q)
{
	struct virtq_elem *e = &v->elem;

	for (;;) {
		int r = virtq_pop(q, e);

		if (r <= 0)
			return false;
		if (!e->nr_out && e->in_len >= VSOCK_HDR_SIZE)
			return true;
		/* A buffer the header cannot go into: returned empty, counted. */
		VSOCK_COUNT(v, rx_queue_event_fails, 1);
		log_rl(LOG_WARNING, "vsock: RX buffer of %u bytes (%u readable) refused", e->in_len, e->out_len);
		virtq_push(q, e->head, 0);
	}
}

static void vsock_rx_put(struct vsock_dev *v, struct virtq *q, const struct vsock_hdr *h)
{
	uint8_t raw[VSOCK_HDR_SIZE];

	vsock_hdr_encode(h, raw);
	virtq_iov_write(v->elem.iov, v->elem.nr_in, 0, raw, sizeof(raw));
	virtq_push(q, v->elem.head, VSOCK_HDR_SIZE + h->len);
	VSOCK_COUNT(v, rx_packets_count, 1);
	v->rx_pushed = true;
}

/* Host bytes for c into the popped buffer: 1 when a packet went out, 0 when
 * c's state changed instead (EOF, nothing to read, an error), -1 when
 * nothing can go into this buffer now (budget spent, no room for data). */
static int vsock_rx_data(struct vsock_dev *v, struct virtq *q, struct vsock_conn *c)
{
	struct virtq_elem *e = &v->elem;
	uint64_t room = e->in_len - VSOCK_HDR_SIZE, credit = vsock_conn_peer_credit(c), want;
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct vsock_hdr h;
	unsigned n;
	ssize_t got;

	want = room < credit ? room : credit;
	want = want < VSOCK_PKT_MAX ? want : VSOCK_PKT_MAX;
	want = virtio_take_bytes(&v->vdev, want, 1);
	if (!want)
		return -1;
	n = vsock_iov_slice(e->iov, e->nr_in, VSOCK_HDR_SIZE, want, iov);
	got = readv(c->fd, iov, (int)n);
	if (got > 0) {
		vsock_conn_fill_hdr(c, v->cid, VSOCK_OP_RW, (uint32_t)got, 0, &h);
		vsock_rx_put(v, q, &h);
		VSOCK_COUNT(v, rx_bytes_count, (uint64_t)got);
		return 1;
	}
	if (got == 0)
		vsock_conn_host_eof(c);
	else if (errno == EAGAIN || errno == EWOULDBLOCK)
		c->readable = false;
	else if (errno != EINTR) {
		VSOCK_COUNT(v, rx_read_fails, 1);
		vsock_conn_host_closed(c, vsock_now_ms(v));
		vsock_conn_close_host(v, c);
	}
	if (got == 0)
		c->readable = false;
	return 0;
}

/* What c has for the guest: a control packet first, then host data (as
 * vsock_rx_data() answers). */
static int vsock_rx_conn(struct vsock_dev *v, struct virtq *q, struct vsock_conn *c)
{
	struct vsock_hdr h;

	if (vsock_conn_next_ctrl(c, v->cid, &h)) {
		vsock_rx_put(v, q, &h);
		return 1;
	}
	if (c->fd >= 0 && c->readable && vsock_conn_wants_host_data(c))
		return vsock_rx_data(v, q, c);
	return 0;
}

static bool vsock_conn_has_rx(const struct vsock_conn *c)
{
	return c->pending || (c->fd >= 0 && c->readable && vsock_conn_wants_host_data(c));
}

/* The next connection with something for the guest, round robin so one
 * busy connection does not starve the others; NULL when none. */
static struct vsock_conn *vsock_rx_next(struct vsock_dev *v)
{
	for (unsigned k = 0; k < v->table.count; k++) {
		unsigned i = (v->rr + k) % v->table.count;

		if (vsock_conn_has_rx(v->table.conn[i])) {
			v->rr = i + 1;
			return v->table.conn[i];
		}
	}
	return NULL;
}

/* One packet into the popped buffer: 1 sent, 0 nothing left to send, -1
 * this buffer cannot be used now. */
static int vsock_rx_one(struct vsock_dev *v, struct virtq *q)
{
	struct vsock_conn *c;
	int r;

	if (v->rst_count) {
		struct vsock_hdr h = v->rstq[v->rst_head];

		v->rst_head = (v->rst_head + 1) % VSOCK_RSTQ_MAX;
		v->rst_count--;
		vsock_rx_put(v, q, &h);
		return 1;
	}
	/* Each 0 turned a connection's flag off, so this ends. */
	while ((c = vsock_rx_next(v)))
		if ((r = vsock_rx_conn(v, q, c)) != 0)
			return r;
	return 0;
}

void vsock_rx(struct vsock_dev *v)
{
	struct virtq *q = virtio_queue(&v->vdev, VSOCK_RXQ);
	int r;

	if (!v->active || !q)
		return;
	for (;;) {
		if (!v->rst_count && !vsock_rx_next(v))
			break;
		if (!virtio_take_chain(&v->vdev)) {
			virtio_yield(&v->vdev, VSOCK_RXQ);
			break;
		}
		if (!vsock_rx_pop(v, q))
			break; /* no buffer: the guest's next RX notification resumes */
		r = vsock_rx_one(v, q);
		if (r <= 0)
			virtq_unpop(q);
		if (r < 0) {
			if (virtio_budget_spent(&v->vdev))
				virtio_yield(&v->vdev, VSOCK_RXQ);
			break;
		}
	}
	vsock_reap(v);
	if (v->rx_pushed) {
		v->rx_pushed = false;
		virtio_signal_used(&v->vdev, VSOCK_RXQ);
	}
}

/* ---- TX: the guest's packets ---- */

/* Guest data for c: straight to the host socket while nothing waits before
 * it, the rest into the connection's buffer. */
static void vsock_tx_data(struct vsock_dev *v, struct vsock_conn *c, const struct vsock_hdr *h)
{
	struct virtq_elem *e = &v->elem;
	struct iovec iov[VIRTQ_MAX_SIZE];
	unsigned n = vsock_iov_slice(e->iov, e->nr_out, VSOCK_HDR_SIZE, h->len, iov);
	ssize_t wrote = 0;
	size_t off = 0;

	if (c->fd >= 0 && !vsock_conn_has_buffered(c)) {
		wrote = writev(c->fd, iov, (int)n);
		if (wrote < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			VSOCK_COUNT(v, tx_write_fails, 1);
			vsock_conn_host_closed(c, vsock_now_ms(v));
			vsock_conn_close_host(v, c);
			return;
		}
		wrote = wrote < 0 ? 0 : wrote;
	}
	vsock_conn_accept_data(c, h->len, (uint32_t)wrote);
	VSOCK_COUNT(v, tx_bytes_count, h->len);
	for (unsigned i = 0; i < n; i++) {
		size_t skip = (size_t)wrote > off ? (size_t)wrote - off : 0;

		if (skip < iov[i].iov_len &&
		    vsock_txbuf_push(&c->txbuf, (uint8_t *)iov[i].iov_base + skip, (uint32_t)(iov[i].iov_len - skip)) < 0) {
			/* Only out of memory: credit keeps the buffer within its size. */
			VSOCK_COUNT(v, tx_flush_fails, 1);
			vsock_conn_host_closed(c, vsock_now_ms(v));
			vsock_conn_close_host(v, c);
			return;
		}
		off += iov[i].iov_len;
	}
	vsock_host_want_write(v, c);
}

static void vsock_tx_conn(struct vsock_dev *v, struct vsock_conn *c, const struct vsock_hdr *h)
{
	switch (vsock_conn_recv(c, h)) {
	case VSOCK_RECV_DATA:
		vsock_tx_data(v, c, h);
		break;
	case VSOCK_RECV_ESTABLISHED:
		vsock_host_established(v, c);
		break;
	case VSOCK_RECV_SHUT_HOST:
		vsock_host_flush(v, c);
		break;
	case VSOCK_RECV_KILL:
		vsock_kill(v, c);
		break;
	case VSOCK_RECV_NONE:
		break;
	}
}

static void vsock_tx_packet(struct vsock_dev *v, const struct vsock_hdr *h)
{
	struct vsock_conn *c = vsock_conn_table_find(&v->table, h->dst_port, h->src_port);

	if (c) {
		vsock_tx_conn(v, c, h);
		return;
	}
	if (h->op == VSOCK_OP_REQUEST) {
		vsock_host_connect(v, h);
		return;
	}
	/* Not ours: unknown connections get a RST (a RST itself is dropped). */
	if (h->op != VSOCK_OP_RST)
		vsock_queue_rst(v, h);
}

static void vsock_tx_chain(struct vsock_dev *v)
{
	struct virtq_elem *e = &v->elem;
	uint8_t raw[VSOCK_HDR_SIZE];
	enum vsock_tx_fault f;
	struct vsock_hdr h;

	if (e->out_len < VSOCK_HDR_SIZE) {
		VSOCK_COUNT(v, tx_queue_event_fails, 1);
		log_rl(LOG_WARNING, "vsock: TX chain of %u bytes has no header", e->out_len);
		return;
	}
	virtq_iov_read(e->iov, e->nr_out, 0, raw, sizeof(raw));
	vsock_hdr_decode(raw, &h);
	switch (vsock_tx_check(&h, v->cid, e->out_len - VSOCK_HDR_SIZE, &f)) {
	case VSOCK_TX_OK:
		VSOCK_COUNT(v, tx_packets_count, 1);
		vsock_tx_packet(v, &h);
		break;
	case VSOCK_TX_RST:
		vsock_queue_rst(v, &h);
		__attribute__((fallthrough)); /* counted as refused too */
	case VSOCK_TX_DROP:
		VSOCK_COUNT(v, tx_queue_event_fails, 1);
		log_rl(LOG_WARNING, "vsock: guest packet refused (op %u, len %u, fault %d)", h.op, h.len, (int)f);
		break;
	}
}

static void vsock_tx(struct vsock_dev *v)
{
	struct virtq *q = virtio_queue(&v->vdev, VSOCK_TXQ);
	bool pushed = false;

	if (!v->active || !q)
		return;
	for (;;) {
		uint64_t bytes;
		int r;

		if (!virtio_take_chain(&v->vdev)) {
			virtio_yield(&v->vdev, VSOCK_TXQ);
			break;
		}
		r = virtq_pop(q, &v->elem);
		if (r <= 0)
			break;
		/* The payload counts against the wake-up's bytes; a packet is at
		 * most 64 KiB, so it is taken whole (unit 1, never split). */
		bytes = virtio_take_bytes(&v->vdev, v->elem.out_len, 1);
		(void)bytes;
		vsock_tx_chain(v);
		virtq_push(q, v->elem.head, 0);
		pushed = true;
		if (virtio_budget_spent(&v->vdev)) {
			virtio_yield(&v->vdev, VSOCK_TXQ);
			break;
		}
	}
	if (pushed)
		virtio_signal_used(&v->vdev, VSOCK_TXQ);
	/* Answers (RESPONSE, RST, credit) and freed credit go out now. */
	vsock_rx(v);
}

/* ---- the event queue ---- */

/* An event buffer: device-writable, room for the event. Linux posts
 * buffers of exactly sizeof(struct virtio_vsock_event), 4 bytes, so an RX
 * buffer's 44-byte minimum must not apply here. */
static bool vsock_ev_pop(struct vsock_dev *v, struct virtq *q)
{
	struct virtq_elem *e = &v->elem;

	for (;;) {
		if (virtq_pop(q, e) <= 0)
			return false;
		if (!e->nr_out && e->in_len >= sizeof(uint32_t))
			return true;
		log_rl(LOG_WARNING, "vsock: event buffer of %u bytes (%u readable) refused", e->in_len, e->out_len);
		virtq_push(q, e->head, 0);
	}
}

int vsock_transport_reset(struct vsock_dev *v)
{
	struct virtq *q;
	uint32_t id = htole32(VSOCK_EVENT_TRANSPORT_RESET);
	int r = -ENOBUFS;

	virtio_lock(&v->vdev);
	for (unsigned i = 0; i < v->table.count; i++)
		vsock_conn_close_host(v, v->table.conn[i]);
	VSOCK_COUNT(v, conns_removed, v->table.count);
	vsock_conn_table_clear(&v->table);
	v->rst_count = 0;
	q = virtio_queue(&v->vdev, VSOCK_EVQ);
	if (v->active && q && vsock_ev_pop(v, q)) {
		virtq_iov_write(v->elem.iov, v->elem.nr_in, 0, &id, sizeof(id));
		virtq_push(q, v->elem.head, sizeof(id));
		virtio_signal_used(&v->vdev, VSOCK_EVQ);
		r = 0;
	}
	if (r < 0)
		VSOCK_COUNT(v, ev_queue_event_fails, 1);
	virtio_unlock(&v->vdev);
	return r;
}

/* ---- virtio ---- */

static void vsock_notify(struct virtio_dev *d, uint16_t queue)
{
	struct vsock_dev *v = vsock_of(d);

	if (queue == VSOCK_TXQ) {
		VSOCK_COUNT(v, tx_queue_event_count, 1);
		vsock_tx(v);
	} else if (queue == VSOCK_RXQ) {
		VSOCK_COUNT(v, rx_queue_event_count, 1);
		vsock_rx(v);
	}
	/* The event queue only holds buffers for vsock_transport_reset(). */
}

static uint64_t vsock_features(struct virtio_dev *d)
{
	return BIT(VIRTIO_F_VERSION_1);
}

/* struct virtio_vsock_config (§5.10.4): le64 guest_cid. */
#define VSOCK_CONFIG_SIZE 8u

static void vsock_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	uint64_t cid = htole64(vsock_of(d)->cid);

	memcpy(data, (uint8_t *)&cid + off, len);
}

static void vsock_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	/* guest_cid is read-only (§5.10.4). */
	VSOCK_COUNT_SHARED(vsock_of(d), cfg_fails, 1);
	log_rl(LOG_WARNING, "vsock: guest wrote read-only config space at %u", off);
}

static int vsock_activate(struct virtio_dev *d, uint64_t features, const struct guest_memory *mem)
{
	struct vsock_dev *v = vsock_of(d);

	for (uint16_t i = 0; i < VSOCK_QUEUES; i++)
		if (!virtio_queue(d, i)->ready) {
			VSOCK_COUNT_SHARED(v, activate_fails, 1);
			return -EINVAL;
		}
	v->active = true;
	return 0;
}

/* The driver reset the device: its connections are gone with its rings.
 * This is a register write, so it runs on a vCPU thread, but the host
 * sockets are the vmm thread's: they sit in its event loop (not thread-safe),
 * its handlers may be about to run for them, and the vcpu seccomp role has
 * neither close nor epoll_ctl (closing them here killed ember with SIGSYS
 * whenever a host connection was open at the reset, as when an engine dials
 * its agent before the guest's driver starts). So the connections only
 * leave the table here; the vmm thread closes and frees them. */
static void vsock_reset(struct virtio_dev *d)
{
	struct vsock_dev *v = vsock_of(d);

	v->active = false;
	v->reset_posted = false;
	while (v->table.count) {
		struct vsock_conn *c = vsock_conn_table_take(&v->table, v->table.count - 1);

		c->orphaned = true;
		c->next_orphan = v->orphans;
		v->orphans = c;
	}
	v->rst_count = 0;
	if (v->orphans)
		vsock_host_orphans_ready(v);
}

const struct virtio_device_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = VSOCK_QUEUES,
	.config_size = VSOCK_CONFIG_SIZE,
	.features = vsock_features,
	.config_read = vsock_config_read,
	.config_write = vsock_config_write,
	.activate = vsock_activate,
	.reset = vsock_reset,
	.notify = vsock_notify,
};
