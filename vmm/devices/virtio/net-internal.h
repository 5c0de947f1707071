/* Internal to net.c and net-snapshot.c: the device's state. Every field is
 * guarded by the device lock (virtio_lock). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "net.h"
#include "queue.h"
#include "throttle.h"

struct mmds_link;

#define RXQ 0u
#define TXQ 1u
/* The receive buffers held at once may use this many iovecs in all. */
#define NET_RX_IOVS (2u * VIRTQ_MAX_SIZE)
/* A GSO frame from the TAP: 64 KiB of IP plus Ethernet and a VLAN tag. */
#define NET_RX_GSO_MAX 65550u

struct net {
	struct virtio_dev vdev;
	char id[NET_IFACE_ID_MAX + 1];
	int tap_fd;
	struct event_loop *loop;
	bool has_mac;
	uint8_t mac[NET_MAC_LEN];
	uint16_t mtu;
	uint64_t acked;
	bool active;
	bool mergeable;
	size_t rx_need; /* header + the largest frame the TAP may hand over */
	struct rate_limiter_spec rx_spec, tx_spec;
	struct virtio_throttle rx_throttle, tx_throttle;
	/* Receive chains popped and not yet used, in the order the guest
	 * posted them: rx_chains of them from rx_first, each with its head,
	 * its iovec count and its writable bytes. Their iovecs run together
	 * in rx_iov from rx_iov_first, so one readv can fill several
	 * (MRG_RXBUF). A used frame's chains leave from the front by moving
	 * the two starts; new ones are added at the end, and the arrays are
	 * moved down only when the end is reached (net_rx_compact). */
	uint16_t rx_head[VIRTQ_MAX_SIZE];
	uint16_t rx_niov[VIRTQ_MAX_SIZE];
	uint32_t rx_caps[VIRTQ_MAX_SIZE];
	unsigned rx_first, rx_chains;
	struct iovec rx_iov[NET_RX_IOVS];
	unsigned rx_iov_first, rx_iovs;
	struct iovec rx_read_iov[NET_RX_IOVS]; /* the held iovecs joined for readv (net_iov_join) */
	uint64_t rx_cap;
	uint32_t rx_held; /* a frame read but refused by the limiter: its length */
	/* A chain was returned (refused, or dropped by queue.c) while others
	 * were held: the held ones are no longer the last popped, so a
	 * snapshot cannot rewind the ring over them (net_snapshot_quiesce). */
	bool rx_gap;
	uint64_t q_dropped_seen[2]; /* each queue's virtq_stats.dropped already counted */
	struct virtq_elem elem; /* scratch for virtq_pop (4 KiB: not on the stack) */
	struct net_metrics m;   /* also the metrics group net_<id> */
	struct mmds_link *mmds; /* the MMDS detour, on interfaces the MMDS config enables */
	int metrics_group;
};

/* Snapshots (net-snapshot.c): before saving, the frame held by the rate
 * limiter goes to the guest and the receive chains popped and not used are
 * put back on the ring (net.c, which owns the receive path); then the
 * device's own state into buf (its length or -errno), and back. */
void net_snapshot_quiesce(struct net *n);
int net_snapshot_save(struct net *n, uint8_t *buf, size_t size);
int net_snapshot_restore(struct net *n, const uint8_t *buf, size_t len, char *err, size_t errlen);
