/* virtio-net (virtio 1.2 §5.1) on a host TAP: one receiveq/transmitq pair.
 *
 * The TAP (config/net.h: opened at PUT, duplicated here) is read on the vmm
 * loop straight into the guest's receive buffers and written with one
 * writev per transmit chain. Features: VERSION_1, RING_EVENT_IDX, CSUM,
 * GUEST_CSUM, GUEST_TSO4/6, GUEST_UFO, HOST_TSO4/6, HOST_UFO, MRG_RXBUF, MAC
 * (with guest_mac), MTU (with mtu); the TAP's offloads follow what the
 * driver accepted (TUNSETOFFLOAD at activation).
 *
 * Receive: frames wait in the TAP until the guest has posted buffers for
 * them; the TAP is watched edge-triggered, so with no buffers posted nothing
 * spins, and the guest's next receiveq notification resumes reading. Both
 * queues obey the per-wake-up budget (virtio.h) and their rate limiter
 * (ops = frames, bandwidth = bytes); a throttled receive leaves frames in
 * the TAP. Everything the guest hands over goes through queue.c and the
 * frame rules of net-frame.h; a bad chain is returned and counted. */
#pragma once

#include <stdint.h>

#include "config/net.h"
#include "metrics.h"
#include "token_bucket.h"
#include "virtio.h"

#define VIRTIO_ID_NET 1u

/* Firecracker's net metrics (test/data/firecracker-metrics.txt); each device
 * registers its own as net_<iface_id>, the flush sums them as net. */
#define NET_METRICS(X)                                                                             \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(cfg_fails, METRICS_COUNTER)                                                              \
	X(mac_address_updates, METRICS_COUNTER)                                                    \
	X(no_rx_avail_buffer, METRICS_COUNTER)                                                     \
	X(no_tx_avail_buffer, METRICS_COUNTER)                                                     \
	X(event_fails, METRICS_COUNTER)                                                            \
	X(rx_queue_event_count, METRICS_COUNTER)                                                   \
	X(rx_event_rate_limiter_count, METRICS_COUNTER)                                            \
	X(rx_rate_limiter_throttled, METRICS_COUNTER)                                              \
	X(rx_tap_event_count, METRICS_COUNTER)                                                     \
	X(rx_bytes_count, METRICS_COUNTER)                                                         \
	X(rx_packets_count, METRICS_COUNTER)                                                       \
	X(rx_fails, METRICS_COUNTER)                                                               \
	X(rx_count, METRICS_COUNTER)                                                               \
	X(tap_read_fails, METRICS_COUNTER)                                                         \
	X(tap_write_fails, METRICS_COUNTER)                                                        \
	X(tap_write_agg__min_us, METRICS_MIN)                                                      \
	X(tap_write_agg__max_us, METRICS_MAX)                                                      \
	X(tap_write_agg__sum_us, METRICS_COUNTER)                                                  \
	X(tx_bytes_count, METRICS_COUNTER)                                                         \
	X(tx_malformed_frames, METRICS_COUNTER)                                                    \
	X(tx_fails, METRICS_COUNTER)                                                               \
	X(tx_count, METRICS_COUNTER)                                                               \
	X(tx_packets_count, METRICS_COUNTER)                                                       \
	X(tx_queue_event_count, METRICS_COUNTER)                                                   \
	X(tx_rate_limiter_event_count, METRICS_COUNTER)                                            \
	X(tx_rate_limiter_throttled, METRICS_COUNTER)                                              \
	X(tx_spoofed_mac_count, METRICS_COUNTER)                                                   \
	X(tx_remaining_reqs_count, METRICS_COUNTER)

METRICS_COUNTERS(net_metrics, NET_METRICS);
extern const struct metrics_group net_metrics_group;

struct device_env;
struct net;

/* Host-side knobs; zero values mean the defaults. */
struct net_options {
	tb_clock_fn clock; /* rate limiter clock (tests, benchmarks) */
};

/* Creates the device for cfg; a transport then attaches to net_virtio().
 * The TAP is cfg->tap_fd, duplicated (the config keeps its own) and
 * registered on env->loop. Returns 0, -errno, or -ENOMEM. Caller owns *ret. */
int net_create(const struct device_env *env, const struct net_config *cfg, const struct net_options *opts,
	       struct net **ret);
/* Unregisters and frees; the transport must be gone already. Accepts NULL; returns NULL. */
struct net *net_destroy(struct net *n);

struct virtio_dev *net_virtio(struct net *n);
const char *net_id(const struct net *n);
/* Copies the counters (under the device lock). */
void net_metrics_get(struct net *n, struct net_metrics *ret);
/* PATCH: merges the limiters as config/net.h describes and replaces the
 * buckets (full again). Returns 0. */
int net_update(struct net *n, const struct net_update *u);
