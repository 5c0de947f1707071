#include "net-internal.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/loop.h"
#include "core/device_env.h"
#include "log.h"
#include "net/link.h"
#include "net-frame.h"
#include "queue.h"
#include "tap.h"
#include "throttle.h"

#define NET_COUNT(n, name, v) metrics_local_add((n)->m.name, (v))
#define NET_COUNT_SHARED(n, name, v) metrics_add_shared((n)->m.name, (v))
#define BIT(b) (1ull << (b))

static const struct virtio_device_ops net_ops;

static struct net *net_of(struct virtio_dev *d)
{
	return (struct net *)((char *)d - offsetof(struct net, vdev));
}

static uint64_t net_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- receive ---- */

/* Chains queue.c dropped (zero length, a loop, outside guest memory) count
 * as the device's own failures: rx_fails, or tx_malformed_frames. */
static void net_count_queue_drops(struct net *n, const struct virtq *q, unsigned qi)
{
	uint64_t d = q->stats.dropped - n->q_dropped_seen[qi];

	n->q_dropped_seen[qi] = q->stats.dropped;
	if (qi == RXQ)
		NET_COUNT(n, rx_fails, d);
	else
		NET_COUNT(n, tx_malformed_frames, d);
}

static void net_rx_forget(struct net *n)
{
	n->rx_first = n->rx_chains = 0;
	n->rx_iov_first = n->rx_iovs = 0;
	n->rx_cap = 0;
	n->rx_held = 0;
	n->rx_gap = false;
}

/* Whether the held buffers can take any frame: without MRG_RXBUF each frame
 * goes into one chain, else as many as it needs. */
static bool net_rx_enough(const struct net *n)
{
	if (n->rx_chains == VIRTQ_MAX_SIZE)
		return true;
	return n->mergeable ? n->rx_cap >= n->rx_need : n->rx_chains > 0;
}

/* Moves the held chains and their iovecs to the start of their arrays. */
static void net_rx_compact(struct net *n)
{
	unsigned f = n->rx_first, c = n->rx_chains;

	memmove(&n->rx_head[0], &n->rx_head[f], c * sizeof(n->rx_head[0]));
	memmove(&n->rx_niov[0], &n->rx_niov[f], c * sizeof(n->rx_niov[0]));
	memmove(&n->rx_caps[0], &n->rx_caps[f], c * sizeof(n->rx_caps[0]));
	memmove(&n->rx_iov[0], &n->rx_iov[n->rx_iov_first], n->rx_iovs * sizeof(n->rx_iov[0]));
	n->rx_first = 0;
	n->rx_iov_first = 0;
}

/* Adds a popped chain at the end of the held ones; the caller checked
 * that its iovecs fit NET_RX_IOVS, and fewer than VIRTQ_MAX_SIZE are held. */
static void net_rx_hold(struct net *n, const struct virtq_elem *e)
{
	struct iovec *to;
	unsigned at;

	if (n->rx_first + n->rx_chains == VIRTQ_MAX_SIZE || n->rx_iov_first + n->rx_iovs + e->nr_in > NET_RX_IOVS)
		net_rx_compact(n);
	at = n->rx_first + n->rx_chains++;
	n->rx_head[at] = e->head;
	n->rx_niov[at] = (uint16_t)e->nr_in;
	n->rx_caps[at] = e->in_len;
	/* Usually one iovec: a loop, not a library call. */
	to = &n->rx_iov[n->rx_iov_first + n->rx_iovs];
	for (unsigned i = 0; i < e->nr_in; i++)
		to[i] = e->iov[i];
	n->rx_iovs += e->nr_in;
	n->rx_cap += e->in_len;
}

/* Takes receive chains from the ring until net_rx_enough(). A chain with
 * readable parts or less room than a vnet header is returned empty and
 * counted. Returns false when the queue is broken. */
static bool net_rx_refill(struct net *n, struct virtq *q)
{
	struct virtq_elem *e = &n->elem;

	while (!net_rx_enough(n)) {
		uint64_t dropped = q->stats.dropped;
		int r = virtq_pop(q, e);

		if (q->stats.dropped != dropped && n->rx_chains)
			n->rx_gap = true;
		if (r == 0)
			return true;
		if (r < 0)
			return false;
		if (e->nr_out || e->in_len < TAP_VNET_HDR_LEN) {
			n->rx_gap = n->rx_gap || n->rx_chains;
			NET_COUNT(n, rx_fails, 1);
			log_rl(LOG_WARNING, "net %s: receive buffer of %u bytes (%u readable) refused", n->id, e->in_len,
			       e->out_len);
			virtq_push(q, e->head, 0);
			continue;
		}
		if (n->rx_iovs + e->nr_in > NET_RX_IOVS) {
			virtq_unpop(q);
			return true;
		}
		net_rx_hold(n, e);
	}
	return true;
}

/* Drops the first k chains (used) from the held list. */
static void net_rx_consume(struct net *n, unsigned k)
{
	unsigned iovs = 0;

	for (unsigned i = n->rx_first; i < n->rx_first + k; i++) {
		iovs += n->rx_niov[i];
		n->rx_cap -= n->rx_caps[i];
	}
	n->rx_first += k;
	n->rx_chains -= k;
	n->rx_iov_first += iovs;
	n->rx_iovs -= iovs;
	if (!n->rx_chains) {
		n->rx_first = n->rx_iov_first = 0;
		n->rx_gap = false;
	}
}

/* The frame of len bytes now in the held buffers goes to the guest: header
 * made right (net-frame.h), chains pushed in order. */
static void net_rx_deliver(struct net *n, struct virtq *q, uint32_t len)
{
	const struct iovec *iov = &n->rx_iov[n->rx_iov_first];
	uint32_t used[VIRTQ_MAX_SIZE];
	struct virtio_net_hdr hdr;
	int k;

	k = net_rx_split(len, &n->rx_caps[n->rx_first], n->mergeable ? n->rx_chains : 1, n->mergeable, used);
	virtq_iov_read(iov, n->rx_iovs, 0, &hdr, sizeof(hdr));
	if (k <= 0 || !net_rx_hdr_fixup(&hdr, n->acked, (uint16_t)k)) {
		NET_COUNT(n, rx_fails, 1);
		log_rl(LOG_WARNING, "net %s: a %u-byte frame from the TAP did not fit the guest's offloads", n->id, len);
		return; /* the buffers stay held for the next frame */
	}
	virtq_iov_write(iov, n->rx_iovs, 0, &hdr, sizeof(hdr));
	virtq_mark_written(q, iov, n->rx_iovs, len);
	for (int i = 0; i < k; i++)
		virtq_push(q, n->rx_head[n->rx_first + (unsigned)i], used[i]);
	net_rx_consume(n, (unsigned)k);
	NET_COUNT(n, rx_count, 1);
	NET_COUNT(n, rx_packets_count, 1);
	NET_COUNT(n, rx_bytes_count, len - TAP_VNET_HDR_LEN);
}

/* The limiter pays for a frame already read, or holds it (parked). */
static bool net_rx_admit(struct net *n, struct virtq *q, uint32_t len)
{
	if (!virtio_throttle_admit(&n->rx_throttle, len - TAP_VNET_HDR_LEN, 1)) {
		NET_COUNT(n, rx_rate_limiter_throttled, 1);
		n->rx_held = len;
		return false;
	}
	n->rx_held = 0;
	virtio_take_bytes(&n->vdev, len, 1);
	net_rx_deliver(n, q, len);
	return true;
}

enum net_step { NET_NEXT, NET_IDLE, NET_STOP, NET_YIELD };

/* The next frame for the guest: the MMDS's answers first (they wait for
 * buffers like any frame, never dropped), then the TAP's. */
static ssize_t net_rx_read(struct net *n)
{
	const struct iovec *iov = &n->rx_iov[n->rx_iov_first];
	unsigned iovs = n->mergeable ? n->rx_iovs : n->rx_niov[n->rx_first];
	size_t got = 0;

	if (n->mmds)
		got = mmds_link_read(n->mmds, iov, iovs, n->mergeable ? n->rx_cap : n->rx_caps[n->rx_first],
				     TAP_VNET_HDR_LEN);
	if (got)
		return (ssize_t)got;
	iovs = net_iov_join(iov, iovs, n->rx_read_iov);
	return readv(n->tap_fd, n->rx_read_iov, (int)iovs);
}

/* One frame from the TAP into the guest. */
static enum net_step net_rx_step(struct net *n, struct virtq *q)
{
	ssize_t got;

	if (n->rx_held)
		return net_rx_admit(n, q, n->rx_held) ? NET_NEXT : NET_STOP;
	if (n->rx_throttle.parked)
		return NET_STOP;
	if (!virtio_take_chain(&n->vdev) || virtio_budget_spent(&n->vdev))
		return NET_YIELD;
	if (!net_rx_refill(n, q)) {
		virtio_set_needs_reset(&n->vdev);
		return NET_STOP;
	}
	if (!net_rx_enough(n)) {
		NET_COUNT(n, no_rx_avail_buffer, 1);
		return NET_IDLE; /* frames wait in the TAP for the guest's next buffers */
	}
	got = net_rx_read(n);
	if (got < 0 && errno == EAGAIN)
		return NET_STOP; /* the TAP is empty: its next frame is an edge */
	if (got < 0 && errno == EFAULT) {
		/* tun drops a frame larger than the buffers it was given */
		NET_COUNT(n, rx_fails, 1);
		log_rl(LOG_WARNING, "net %s: a frame larger than the guest's receive buffers was dropped", n->id);
		return NET_NEXT;
	}
	if (got < 0) {
		NET_COUNT(n, tap_read_fails, 1);
		log_rl(LOG_ERROR, "net %s: reading the TAP failed: %m", n->id);
		return NET_STOP;
	}
	if ((size_t)got <= TAP_VNET_HDR_LEN) {
		NET_COUNT(n, rx_fails, 1);
		return NET_NEXT;
	}
	return net_rx_admit(n, q, (uint32_t)got) ? NET_NEXT : NET_STOP;
}

static void net_rx(struct net *n)
{
	struct virtq *q = virtio_queue(&n->vdev, RXQ);
	enum net_step step;

	if (!n->active || !q)
		return;
	for (;;) {
		while ((step = net_rx_step(n, q)) == NET_NEXT)
			;
		net_count_queue_drops(n, q, RXQ);
		virtio_signal_used(&n->vdev, RXQ);
		if (step == NET_YIELD)
			virtio_yield(&n->vdev, RXQ);
		if (step != NET_IDLE || !virtq_idle(q))
			return;
	}
}

/* ---- transmit ---- */

static void net_tx_count_spoof(struct net *n, const struct virtq_elem *e)
{
	uint8_t eth[NET_ETH_HLEN];
	size_t got = virtq_iov_read(e->iov, e->nr_out, TAP_VNET_HDR_LEN, eth, sizeof(eth));

	if (n->has_mac && net_tx_spoofed(eth, got, n->mac))
		NET_COUNT(n, tx_spoofed_mac_count, 1);
}

/* One chain, one writev. */
static void net_tx_write(struct net *n, const struct virtq_elem *e)
{
	uint64_t t0 = net_now_us();
	ssize_t w = writev(n->tap_fd, e->iov, e->nr_out);

	metrics_record_latency(&n->m.tap_write_agg__min_us, net_now_us() - t0);
	if (w < 0) {
		NET_COUNT(n, tap_write_fails, 1);
		NET_COUNT(n, tx_fails, 1);
		log_rl(LOG_WARNING, "net %s: writing a %u-byte frame to the TAP failed: %m", n->id, e->out_len);
		return;
	}
	NET_COUNT(n, tx_count, 1);
	NET_COUNT(n, tx_packets_count, 1);
	NET_COUNT(n, tx_bytes_count, e->out_len - TAP_VNET_HDR_LEN);
}

static enum net_step net_tx_step(struct net *n, struct virtq *q)
{
	struct virtq_elem *e = &n->elem;
	struct virtio_net_hdr hdr = { 0 };
	enum net_tx_fault fault;
	int r;

	if (n->tx_throttle.parked)
		return NET_STOP;
	if (!virtio_take_chain(&n->vdev))
		return NET_YIELD;
	r = virtq_pop(q, e);
	if (r <= 0) {
		if (r < 0)
			virtio_set_needs_reset(&n->vdev);
		return r < 0 ? NET_STOP : NET_IDLE;
	}
	virtq_iov_read(e->iov, e->nr_out, 0, &hdr, sizeof(hdr));
	fault = net_tx_check(e->out_len, e->in_len, &hdr, n->acked);
	if (fault != NET_TX_OK) {
		NET_COUNT(n, tx_malformed_frames, 1);
		log_rl(LOG_WARNING, "net %s: malformed transmit chain (%u bytes, reason %d) dropped", n->id, e->out_len,
		       (int)fault);
		virtq_push(q, e->head, 0);
		return NET_NEXT;
	}
	/* Before the TAP and the rate limiter: MMDS frames never leave (net/stack.h). */
	if (n->mmds && mmds_link_detour(n->mmds, e->iov, e->nr_out, TAP_VNET_HDR_LEN,
					hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		virtq_push(q, e->head, 0);
		return NET_NEXT;
	}
	if (virtio_budget_bytes(&n->vdev) < e->out_len) {
		virtq_unpop(q);
		return NET_YIELD;
	}
	if (!virtio_throttle_admit(&n->tx_throttle, e->out_len - TAP_VNET_HDR_LEN, 1)) {
		NET_COUNT(n, tx_rate_limiter_throttled, 1);
		virtq_unpop(q);
		return NET_STOP;
	}
	virtio_take_bytes(&n->vdev, e->out_len, 1);
	net_tx_count_spoof(n, e);
	net_tx_write(n, e);
	virtq_push(q, e->head, 0);
	return NET_NEXT;
}

static void net_tx(struct net *n)
{
	struct virtq *q = virtio_queue(&n->vdev, TXQ);
	enum net_step step;

	if (!n->active || !q)
		return;
	for (;;) {
		while ((step = net_tx_step(n, q)) == NET_NEXT)
			;
		if (n->mmds && mmds_link_pending(n->mmds))
			net_rx(n); /* the MMDS answered: its frames go out now */
		net_count_queue_drops(n, q, TXQ);
		virtio_signal_used(&n->vdev, TXQ);
		if (step == NET_YIELD) {
			NET_COUNT(n, tx_remaining_reqs_count, 1);
			virtio_yield(&n->vdev, TXQ);
		}
		if (step != NET_IDLE || !virtq_idle(q))
			return;
	}
}

/* ---- events ---- */

static void net_notify(struct virtio_dev *d, uint16_t queue)
{
	struct net *n = net_of(d);

	if (queue == RXQ) {
		NET_COUNT(n, rx_queue_event_count, 1);
		net_rx(n);
	} else {
		NET_COUNT(n, tx_queue_event_count, 1);
		net_tx(n);
	}
}

static void net_on_tap(void *ctx, uint32_t events)
{
	struct net *n = ctx;

	virtio_lock(&n->vdev);
	virtio_wakeup(&n->vdev);
	NET_COUNT(n, rx_tap_event_count, 1);
	net_rx(n);
	virtio_unlock(&n->vdev);
}

static void net_on_rx_timer(void *ctx, uint32_t events)
{
	struct net *n = ctx;

	virtio_lock(&n->vdev);
	virtio_wakeup(&n->vdev);
	NET_COUNT(n, rx_event_rate_limiter_count, 1);
	virtio_throttle_fired(&n->rx_throttle);
	net_rx(n);
	virtio_unlock(&n->vdev);
}

static void net_on_tx_timer(void *ctx, uint32_t events)
{
	struct net *n = ctx;

	virtio_lock(&n->vdev);
	virtio_wakeup(&n->vdev);
	NET_COUNT(n, tx_rate_limiter_event_count, 1);
	virtio_throttle_fired(&n->tx_throttle);
	net_tx(n);
	virtio_unlock(&n->vdev);
}

/* The MMDS's TCP timer fired. */
static void net_on_mmds_timer(void *ctx)
{
	struct net *n = ctx;

	virtio_lock(&n->vdev);
	virtio_wakeup(&n->vdev);
	mmds_link_tick(n->mmds);
	net_rx(n);
	virtio_unlock(&n->vdev);
}

/* ---- virtio ---- */

static uint64_t net_features(struct virtio_dev *d)
{
	struct net *n = net_of(d);
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) | BIT(VIRTIO_NET_F_CSUM) |
		     BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
		     BIT(VIRTIO_NET_F_GUEST_UFO) | BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
		     BIT(VIRTIO_NET_F_HOST_UFO) | BIT(VIRTIO_NET_F_MRG_RXBUF);

	if (n->has_mac)
		f |= BIT(VIRTIO_NET_F_MAC);
	if (n->mtu)
		f |= BIT(VIRTIO_NET_F_MTU);
	return f;
}

/* struct virtio_net_config: mac[6], status, max_virtqueue_pairs, mtu (§5.1.4). */
#define NET_CONFIG_SIZE 12u

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct net *n = net_of(d);
	uint8_t cfg[NET_CONFIG_SIZE] = { 0 };
	uint16_t status = htole16(1), pairs = htole16(1), mtu = htole16(n->mtu);

	memcpy(cfg, n->mac, NET_MAC_LEN);
	memcpy(cfg + 6, &status, 2); /* VIRTIO_NET_S_LINK_UP */
	memcpy(cfg + 8, &pairs, 2);
	memcpy(cfg + 10, &mtu, 2);
	memcpy(data, cfg + off, len);
}

static void net_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct net *n = net_of(d);

	/* §5.1.4.2: with VERSION_1 the driver must not write the MAC; nothing here is writable. */
	NET_COUNT_SHARED(n, cfg_fails, 1);
	log_rl(LOG_WARNING, "net %s: guest wrote read-only config space at %u", n->id, off);
}

static size_t net_rx_need(uint64_t f, uint16_t mtu)
{
	uint64_t gso = BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_UFO);
	size_t frame = (mtu > 1500 ? mtu : 1500) + NET_ETH_HLEN + 4u;

	return TAP_VNET_HDR_LEN + ((f & gso) ? NET_RX_GSO_MAX : frame);
}

/* vCPU thread (DRIVER_OK): the TAP's offloads follow what the driver took. */
static int net_activate(struct virtio_dev *d, uint64_t features, const struct guest_memory *mem)
{
	struct net *n = net_of(d);
	int r;

	if (!virtio_queue(d, RXQ)->ready || !virtio_queue(d, TXQ)->ready) {
		NET_COUNT_SHARED(n, activate_fails, 1);
		return -EINVAL;
	}
	r = tap_set_offload(n->tap_fd, net_offload_flags(features));
	if (r < 0) {
		NET_COUNT_SHARED(n, activate_fails, 1);
		log_rl(LOG_ERROR, "net %s: TUNSETOFFLOAD failed: %s", n->id, strerror(-r));
		return r;
	}
	n->acked = features;
	n->mergeable = features & BIT(VIRTIO_NET_F_MRG_RXBUF);
	n->rx_need = net_rx_need(features, n->mtu);
	net_rx_forget(n);
	n->active = true;
	return 0;
}

static void net_reset(struct virtio_dev *d)
{
	struct net *n = net_of(d);

	/* Held buffers belong to rings that no longer exist; a held frame is lost. */
	net_rx_forget(n);
	n->active = false;
	n->acked = 0;
}

static const struct virtio_device_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.config_size = NET_CONFIG_SIZE,
	.features = net_features,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.activate = net_activate,
	.reset = net_reset,
	.notify = net_notify,
};

/* ---- snapshots ---- */

void net_snapshot_quiesce(struct net *n)
{
	struct virtq *q;

	virtio_lock(&n->vdev);
	q = virtio_queue(&n->vdev, RXQ);
	if (n->active && q && q->ready) {
		/* A frame the limiter held is in the guest's buffers already: it
		 * goes to the guest now, unpaid, rather than be lost. */
		if (n->rx_held) {
			uint32_t len = n->rx_held;

			n->rx_held = 0;
			net_rx_deliver(n, q, len);
		}
		/* Chains popped and not used: the ring is rewound over them, so
		 * the driver's buffers are not lost, and the device that runs
		 * next (this one if the VM resumes, or the restored one) pops
		 * them again in the guest's order. After a chain was returned
		 * among them they are not the last popped: then they go back
		 * used and empty, which the driver takes as a dropped frame and
		 * posts again. */
		for (unsigned i = 0; i < n->rx_chains; i++) {
			if (n->rx_gap)
				virtq_push(q, n->rx_head[n->rx_first + i], 0);
			else
				virtq_unpop(q);
		}
		net_rx_forget(n);
		virtio_signal_used(&n->vdev, RXQ);
		virtio_yield(&n->vdev, RXQ); /* served again if this VM resumes */
	}
	virtio_unlock(&n->vdev);
}

/* ---- life cycle ---- */

METRICS_GROUP(net_metrics, "net", NET_METRICS);

static int net_setup_events(struct net *n, const struct device_env *env, const struct net_options *opts)
{
	tb_clock_fn clock = opts ? opts->clock : NULL;
	int r;

	r = virtio_throttle_init(&n->rx_throttle, env->loop, &n->rx_spec.cfg, clock, net_on_rx_timer, n);
	if (r >= 0)
		r = virtio_throttle_init(&n->tx_throttle, env->loop, &n->tx_spec.cfg, clock, net_on_tx_timer, n);
	if (r >= 0 && env->loop) {
		/* Edge-triggered: a frame that waits for guest buffers does not wake the loop again. */
		r = loop_add(env->loop, n->tap_fd, EPOLLIN | EPOLLET, net_on_tap, n);
		if (r >= 0)
			n->loop = env->loop;
	}
	return r;
}

int net_create(const struct device_env *env, const struct net_config *cfg, const struct net_options *opts,
	       struct net **ret)
{
	_cleanup_free_ struct net *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	n->metrics_group = -1;
	virtio_dev_init(&n->vdev, &net_ops);
	snprintf(n->id, sizeof(n->id), "%s", cfg->iface_id);
	n->has_mac = cfg->has_mac;
	memcpy(n->mac, cfg->guest_mac, NET_MAC_LEN);
	n->mtu = cfg->mtu;
	n->rx_spec = cfg->rx_rate_limiter;
	n->tx_spec = cfg->tx_rate_limiter;
	n->tap_fd = fcntl(cfg->tap_fd, F_DUPFD_CLOEXEC, 3);
	if (n->tap_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = net_setup_events(n, env, opts);
	if (r >= 0 && env->mmds)
		r = mmds_link_new(env->mmds, env->loop, n->id, n->mtu,
				  &(struct mmds_link_ops){ net_on_mmds_timer, n }, &n->mmds);
	if (r >= 0)
		r = n->metrics_group = metrics_register(&net_metrics_group, n->id, &n->m);
	if (r < 0)
		goto fail;
	*ret = TAKE_PTR(n);
	return 0;
fail:
	net_destroy(TAKE_PTR(n));
	return r;
}

struct net *net_destroy(struct net *n)
{
	if (!n)
		return NULL;
	metrics_unregister(n->metrics_group);
	mmds_link_free(n->mmds);
	if (n->loop)
		loop_remove(n->loop, n->tap_fd);
	virtio_throttle_destroy(&n->rx_throttle);
	virtio_throttle_destroy(&n->tx_throttle);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	virtio_dev_destroy(&n->vdev);
	free(n);
	return NULL;
}

struct virtio_dev *net_virtio(struct net *n)
{
	return &n->vdev;
}

const char *net_id(const struct net *n)
{
	return n->id;
}

void net_metrics_get(struct net *n, struct net_metrics *ret)
{
	virtio_lock(&n->vdev);
	*ret = n->m;
	virtio_unlock(&n->vdev);
}

int net_update(struct net *n, const struct net_update *u)
{
	virtio_lock(&n->vdev);
	if (u->rx_rate_limiter.present) {
		net_limiter_merge(&n->rx_spec, &u->rx_rate_limiter);
		virtio_throttle_replace(&n->rx_throttle, &n->rx_spec.cfg);
	}
	if (u->tx_rate_limiter.present) {
		net_limiter_merge(&n->tx_spec, &u->tx_rate_limiter);
		virtio_throttle_replace(&n->tx_throttle, &n->tx_spec.cfg);
	}
	/* A queue the old limiter had parked runs again now (vmm thread). */
	virtio_wakeup(&n->vdev);
	net_rx(n);
	net_tx(n);
	virtio_unlock(&n->vdev);
	return 0;
}
