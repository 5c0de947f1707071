/* Internal to vsock.c and vsock-host.c: the device and what the two halves
 * call of each other. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "vsock-mux.h"
#include "vsock.h"

#define VSOCK_RXQ 0u
#define VSOCK_TXQ 1u
#define VSOCK_EVQ 2u
#define VSOCK_QUEUES 3u
/* RSTs for packets of no connection, waiting for RX buffers (Firecracker's
 * MUXER_RXQ_SIZE); past it they are dropped and counted. */
#define VSOCK_RSTQ_MAX 256u
/* Host connections still reading their CONNECT line; they count against
 * VSOCK_CONNS_MAX with the connections. */
#define VSOCK_PENDING_MAX 64u

#define VSOCK_COUNT(v, name, n) metrics_local_add((v)->m.name, (n))
#define VSOCK_COUNT_SHARED(v, name, n) metrics_add_shared((v)->m.name, (n))

/* A host connection on uds_path before its CONNECT line is complete. */
struct vsock_pending {
	struct vsock_dev *v;
	int fd; /* -1: a free slot */
	uint64_t deadline_ms;
};

struct vsock_dev {
	struct virtio_dev vdev;
	uint32_t cid;
	char uds_path[VSOCK_UDS_PATH_MAX + 1];
	int listen_fd;
	int timer_fd;
	int reset_fd; /* eventfd: a reset left orphans for the vmm thread */
	struct vsock_conn *orphans;
	struct event_loop *loop;
	uint64_t (*clock_ms)(void);
	bool active;
	bool rx_pushed;
	/* A snapshot posted TRANSPORT_RESET on the event queue (vsock-snapshot.c). */
	bool reset_posted;
	struct vsock_conn_table table;
	unsigned rr; /* where the next RX round starts */
	struct vsock_pending pending[VSOCK_PENDING_MAX];
	unsigned npending;
	struct vsock_hdr rstq[VSOCK_RSTQ_MAX];
	unsigned rst_head, rst_count;
	struct virtq_elem elem; /* scratch for virtq_pop (4 KiB: not on the stack) */
	struct vsock_metrics m;
	int metrics_group;
};

extern const struct virtio_device_ops vsock_ops;

struct vsock_dev *vsock_of(struct virtio_dev *d);
uint64_t vsock_now_ms(const struct vsock_dev *v);
/* RX: fills the guest's buffers with what the connections have (lock held). */
void vsock_rx(struct vsock_dev *v);
void vsock_queue_rst(struct vsock_dev *v, const struct vsock_hdr *h);
void vsock_conn_close_host(struct vsock_dev *v, struct vsock_conn *c);
/* The connection died (its RST, if any, still to go out): the host socket closes. */
void vsock_kill(struct vsock_dev *v, struct vsock_conn *c);

/* vsock-host.c */
/* A guest REQUEST for no connection: connect to <uds_path>_<port>. */
void vsock_host_connect(struct vsock_dev *v, const struct vsock_hdr *req);
/* The guest accepted a host-initiated connection: "OK <port>\n" to the host. */
void vsock_host_established(struct vsock_dev *v, struct vsock_conn *c);
/* Writes c's buffered bytes to its host socket, then a pending shutdown. */
void vsock_host_flush(struct vsock_dev *v, struct vsock_conn *c);
/* c has buffered bytes: flush what the socket takes now; EPOLLOUT does the rest. */
void vsock_host_want_write(struct vsock_dev *v, struct vsock_conn *c);
/* A reset (any thread, lock held) moved connections to v->orphans: has the
 * vmm thread close and free them (at once where there is no event loop). */
void vsock_host_orphans_ready(struct vsock_dev *v);
/* Closes the host connections still reading their CONNECT line (vmm thread). */
void vsock_host_drop_pending(struct vsock_dev *v);
int vsock_host_start(struct vsock_dev *v);
void vsock_host_stop(struct vsock_dev *v);

/* vsock-snapshot.c: Firecracker's way. Before saving, TRANSPORT_RESET goes
 * to the guest (its driver closes every connection and reads guest_cid
 * again once it runs) and the host's side of every connection is closed;
 * then the device's own state into buf (its length or -errno), and back. */
void vsock_snapshot_quiesce(struct vsock_dev *v);
int vsock_snapshot_save(struct vsock_dev *v, uint8_t *buf, size_t size);
int vsock_snapshot_restore(struct vsock_dev *v, const uint8_t *buf, size_t len, char *err, size_t errlen);
