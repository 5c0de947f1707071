/* A network interface's part of a snapshot (net-internal.h): what the
 * transport does not hold. The interface's configuration (TAP name, MAC,
 * MTU, limiter sizes) is in the state file's config section and re-creates
 * the device, the TAP opened by name; this is its run-time state: the
 * features the driver acked (the TAP's offloads follow them), the MAC the
 * guest was given, and what is left in both limiters' buckets. Receive
 * chains held at the save were rewound onto the ring (net_snapshot_quiesce),
 * so none is in flight. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "net-internal.h"

struct net_saved {
	uint64_t acked;
	struct virtio_throttle_saved rx, tx;
	uint8_t has_mac, mac[NET_MAC_LEN], active;
	uint16_t mtu;
	uint8_t pad[6];
};

int net_snapshot_save(struct net *n, uint8_t *buf, size_t size)
{
	struct net_saved s = { 0 };

	if (size < sizeof(s))
		return -ENOSPC;
	virtio_lock(&n->vdev);
	s.acked = n->acked;
	s.active = n->active;
	s.has_mac = n->has_mac;
	memcpy(s.mac, n->mac, NET_MAC_LEN);
	s.mtu = n->mtu;
	virtio_throttle_save(&n->rx_throttle, &s.rx);
	virtio_throttle_save(&n->tx_throttle, &s.tx);
	virtio_unlock(&n->vdev);
	memcpy(buf, &s, sizeof(s));
	return (int)sizeof(s);
}

/* The configuration re-created the device; the saved state must be of that
 * device, and the transport's restore (run before) activated it with the
 * features the saved driver acked. */
static int net_snapshot_check(const struct net *n, const struct net_saved *s, char *err, size_t errlen)
{
	if (!!s->has_mac != n->has_mac || (n->has_mac && memcmp(s->mac, n->mac, NET_MAC_LEN)) || s->mtu != n->mtu) {
		snprintf(err, errlen, "net %s: the saved state's MAC or MTU is not the configuration's", n->id);
		return -EINVAL;
	}
	if (!!s->active != n->active || (s->active && s->acked != n->acked)) {
		snprintf(err, errlen, "net %s: the saved state (%s, features 0x%" PRIx64 ") is not the transport's "
			 "(%s, features 0x%" PRIx64 ")", n->id, s->active ? "active" : "inactive", s->acked,
			 n->active ? "active" : "inactive", n->acked);
		return -EINVAL;
	}
	return 0;
}

int net_snapshot_restore(struct net *n, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct net_saved s;
	int r;

	if (len != sizeof(s)) {
		snprintf(err, errlen, "net %s: state of %zu bytes, expected %zu", n->id, len, sizeof(s));
		return -EINVAL;
	}
	memcpy(&s, buf, sizeof(s));
	virtio_lock(&n->vdev);
	r = net_snapshot_check(n, &s, err, errlen);
	if (r >= 0) {
		virtio_throttle_restore(&n->rx_throttle, &s.rx);
		virtio_throttle_restore(&n->tx_throttle, &s.tx);
		/* Buffers the guest posted before the save, and frames already
		 * waiting in the TAP, are served once the loop runs. */
		if (n->active) {
			virtio_yield(&n->vdev, RXQ);
			virtio_yield(&n->vdev, TXQ);
		}
	}
	virtio_unlock(&n->vdev);
	return r;
}
