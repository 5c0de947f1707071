/* virtio-vsock (virtio 1.2 §5.10): stream connections between guest ports
 * and host unix sockets, Firecracker's way.
 *
 * Host → guest: a host process connects to uds_path and writes
 * `CONNECT <port>\n`; the device sends the guest a REQUEST and, once the
 * guest answers, writes `OK <local_port>\n` back; from then on the socket
 * carries the stream. Guest → host: a REQUEST to CID 2, port P connects to
 * `<uds_path>_<P>`; nobody listening gives the guest a RST.
 *
 * The protocol rules live in the pure layers (vsock-packet.h,
 * vsock-conn.h, vsock-mux.h); this file moves bytes between the queues and
 * the sockets on the vmm loop: every guest length through queue.c, every
 * wake-up within the handle's budget (virtio.h), every host socket
 * non-blocking. At most VSOCK_CONNS_MAX connections (those still reading
 * their CONNECT line included); a connection buffers at most VSOCK_CONN_BUF
 * bytes towards its host socket, which credit enforces. */
#pragma once

#include <stdint.h>

#include "config/vsock.h"
#include "metrics.h"
#include "virtio.h"

#define VIRTIO_ID_VSOCK 19u

/* Firecracker's vsock metrics (test/data/firecracker-metrics.txt). */
#define VSOCK_METRICS(X)                                                                           \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(cfg_fails, METRICS_COUNTER)                                                              \
	X(rx_queue_event_fails, METRICS_COUNTER)                                                   \
	X(tx_queue_event_fails, METRICS_COUNTER)                                                   \
	X(ev_queue_event_fails, METRICS_COUNTER)                                                   \
	X(muxer_event_fails, METRICS_COUNTER)                                                      \
	X(conn_event_fails, METRICS_COUNTER)                                                       \
	X(rx_queue_event_count, METRICS_COUNTER)                                                   \
	X(tx_queue_event_count, METRICS_COUNTER)                                                   \
	X(rx_bytes_count, METRICS_COUNTER)                                                         \
	X(tx_bytes_count, METRICS_COUNTER)                                                         \
	X(rx_packets_count, METRICS_COUNTER)                                                       \
	X(tx_packets_count, METRICS_COUNTER)                                                       \
	X(conns_added, METRICS_COUNTER)                                                            \
	X(conns_killed, METRICS_COUNTER)                                                           \
	X(conns_removed, METRICS_COUNTER)                                                          \
	X(killq_resync, METRICS_COUNTER)                                                           \
	X(tx_flush_fails, METRICS_COUNTER)                                                         \
	X(tx_write_fails, METRICS_COUNTER)                                                         \
	X(rx_read_fails, METRICS_COUNTER)

METRICS_COUNTERS(vsock_metrics, VSOCK_METRICS);
extern const struct metrics_group vsock_metrics_group;

struct device_env;
struct vsock_dev;

/* Host-side knobs; zero values mean the defaults. */
struct vsock_options {
	uint64_t (*clock_ms)(void); /* the connection timeouts' clock (tests) */
};

/* Creates the device for slot (its listener is duplicated: the config keeps
 * its own) and registers the listener and a 1 s timer on env->loop.
 * Returns 0 or -errno; the caller owns *ret. */
int vsock_create(const struct device_env *env, const struct vsock_slot *slot, const struct vsock_options *opts,
		 struct vsock_dev **ret);
/* Closes every connection and the listener; the transport must be gone.
 * Accepts NULL; returns NULL. */
struct vsock_dev *vsock_destroy(struct vsock_dev *v);
struct virtio_dev *vsock_virtio(struct vsock_dev *v);
/* Sends VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue: every
 * connection is closed (the guest resets its sockets itself, so no RST
 * goes out), the listener stays. Returns 0, or -ENOBUFS when the guest
 * posted no event buffer (the connections are closed all the same). */
int vsock_transport_reset(struct vsock_dev *v);
/* Live connections (those reading their CONNECT line included). */
unsigned vsock_conn_count(struct vsock_dev *v);
void vsock_metrics_get(struct vsock_dev *v, struct vsock_metrics *ret);
