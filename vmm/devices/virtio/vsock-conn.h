/* One vsock stream connection between a guest port and a host unix socket:
 * its state, credit accounting both ways (virtio 1.2 §5.10.6.3) and its
 * guest → host byte buffer. Pure: the device feeds it packet headers and byte
 * counts and asks it which control packet to send next; it owns no fd.
 *
 * Credit, as Linux's virtio_transport_common.c keeps it:
 * - guest → host: ember offers buf_alloc = VSOCK_CONN_BUF and reports
 *   fwd_cnt, the bytes written to the host socket. The guest may have at most
 *   buf_alloc - (received - fwd_cnt) bytes in flight; a packet past that is
 *   an overrun and gets the connection a RST. What the host socket does not
 *   take at once waits in the connection's buffer, which credit keeps within
 *   VSOCK_CONN_BUF: a host peer that stops reading stalls only its own
 *   connection.
 * - host → guest: the guest's buf_alloc and fwd_cnt (in every header it
 *   sends) bound what ember reads from the host socket for it: a guest that
 *   stops reading makes ember stop reading that socket. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vsock-packet.h"

/* ember's receive buffer per connection (its buf_alloc). */
#define VSOCK_CONN_BUF 65536u
/* A CREDIT_UPDATE goes out when the guest's view of ember's free buffer
 * falls below this (Firecracker's CONN_CREDIT_UPDATE_THRESHOLD). */
#define VSOCK_CREDIT_THRESHOLD 4096u
/* Firecracker's CONN_REQUEST_TIMEOUT_MS and CONN_SHUTDOWN_TIMEOUT_MS. */
#define VSOCK_CONNECT_TIMEOUT_MS 2000u
#define VSOCK_SHUTDOWN_TIMEOUT_MS 2000u

enum vsock_conn_state {
	VSOCK_CONN_LOCAL_INIT,  /* host-initiated: REQUEST to the guest, waiting for its RESPONSE */
	VSOCK_CONN_PEER_INIT,   /* guest-initiated: the host socket is being connected */
	VSOCK_CONN_ESTABLISHED,
	VSOCK_CONN_CLOSING,     /* host side gone: SHUTDOWN sent, waiting for the guest's RST */
	VSOCK_CONN_DEAD,        /* to be removed once its pending RST is sent */
};

/* Control packets waiting for an RX buffer, one bit each. */
enum {
	VSOCK_PEND_RST = 1u << 0,
	VSOCK_PEND_RESPONSE = 1u << 1,
	VSOCK_PEND_REQUEST = 1u << 2,
	VSOCK_PEND_CREDIT_UPDATE = 1u << 3,
	VSOCK_PEND_SHUTDOWN = 1u << 4,
	VSOCK_PEND_CREDIT_REQUEST = 1u << 5,
};

/* A ring of VSOCK_CONN_BUF bytes, allocated on first use; head and tail are
 * free-running byte counts. */
struct vsock_txbuf {
	uint8_t *data;
	uint32_t head; /* bytes pushed */
	uint32_t tail; /* bytes popped */
};

struct vsock_conn {
	uint32_t local_port; /* the host side's port, as the guest sees it */
	uint32_t peer_port;  /* the guest's port */
	enum vsock_conn_state state;
	unsigned pending;     /* VSOCK_PEND_* */
	uint32_t shut_flags;  /* SHUTDOWN flags to send */
	uint32_t peer_shut;   /* SHUTDOWN flags the guest sent */
	/* guest → host */
	uint32_t rx_cnt;      /* payload bytes accepted from the guest */
	uint32_t fwd_cnt;     /* of those, written to the host socket */
	uint32_t fwd_cnt_told; /* fwd_cnt in the last packet sent to the guest */
	struct vsock_txbuf txbuf;
	/* host → guest */
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
	uint32_t tx_cnt;      /* payload bytes sent to the guest */
	uint64_t deadline_ms; /* 0: none */
	/* The device's side, which this module never touches: the host
	 * socket (-1 once closed), whether it has unread bytes, the device. */
	int fd;
	bool readable;
	bool host_shut_wr;
	void *owner;
	/* Left behind by a device reset (a vCPU thread): out of the table,
	 * its socket still to close on the vmm thread (vsock_host_reap_orphans). */
	bool orphaned;
	struct vsock_conn *next_orphan;
};

/* What vsock_conn_recv() asks of the device. */
enum vsock_recv_action {
	VSOCK_RECV_NONE,
	VSOCK_RECV_DATA,        /* take hdr->len payload bytes (vsock_conn_accept_data) */
	VSOCK_RECV_ESTABLISHED, /* a host-initiated connection was accepted: tell the host */
	VSOCK_RECV_SHUT_HOST,   /* the guest sends no more: shut the host socket's write side once drained */
	VSOCK_RECV_KILL,        /* close the host socket; remove the connection after its pending RST */
};

/* Host-initiated: a REQUEST to guest port peer_port goes out; the guest has
 * VSOCK_CONNECT_TIMEOUT_MS to answer. */
void vsock_conn_init_local(struct vsock_conn *c, uint32_t local_port, uint32_t peer_port, uint64_t now_ms);
/* Guest-initiated from its REQUEST req (already checked by vsock_tx_check). */
void vsock_conn_init_peer(struct vsock_conn *c, const struct vsock_hdr *req);
/* The host socket for a PEER_INIT connection connected (RESPONSE) or not (RST). */
void vsock_conn_host_connected(struct vsock_conn *c, bool ok);
/* Frees the buffer; the struct may be reused. */
void vsock_conn_clear(struct vsock_conn *c);

/* A packet from the guest for this connection (addressed to its ports). */
enum vsock_recv_action vsock_conn_recv(struct vsock_conn *c, const struct vsock_hdr *h);
/* Accounts n payload bytes of a RW packet as received (after
 * VSOCK_RECV_DATA): wrote bytes went straight to the host socket, the rest
 * (n - wrote) must be pushed into the buffer by the caller. */
void vsock_conn_accept_data(struct vsock_conn *c, uint32_t n, uint32_t wrote);
/* n bytes were written to the host socket (from the buffer or directly). */
void vsock_conn_forwarded(struct vsock_conn *c, uint32_t n);

/* Ends the connection with a RST (the device's decision: a host that went
 * away, a guest that closed both ways). */
void vsock_conn_reset(struct vsock_conn *c);
/* The host socket read EOF: tell the guest ember sends no more. */
void vsock_conn_host_eof(struct vsock_conn *c);
/* The host socket failed or hung up both ways: SHUTDOWN both and wait
 * VSOCK_SHUTDOWN_TIMEOUT_MS for the guest's RST. */
void vsock_conn_host_closed(struct vsock_conn *c, uint64_t now_ms);
/* Applies a passed deadline (a guest that never answered a REQUEST or a
 * SHUTDOWN): the connection dies with a RST. Returns true when it did. */
bool vsock_conn_check_deadline(struct vsock_conn *c, uint64_t now_ms);

/* Bytes ember may send the guest now (its free receive buffer, 0 when the
 * guest lowered buf_alloc below what is in flight). */
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);
/* Whether ember should read the host socket for this connection: it is
 * established, the guest has credit, and it did not shut its receive side. */
bool vsock_conn_wants_host_data(const struct vsock_conn *c);
/* Whether the device should write buffered bytes or a pending shutdown to the host. */
bool vsock_conn_has_buffered(const struct vsock_conn *c);

/* Fills the header of a packet to the guest (op, payload len, flags) with
 * the connection's ports and credit, and records what it told the guest.
 * A RW of len bytes counts them as sent. */
void vsock_conn_fill_hdr(struct vsock_conn *c, uint32_t guest_cid, uint16_t op, uint32_t len, uint32_t flags,
			 struct vsock_hdr *ret);
/* The next pending control packet: returns true and fills *ret, or false. */
bool vsock_conn_next_ctrl(struct vsock_conn *c, uint32_t guest_cid, struct vsock_hdr *ret);

/* The buffer: push copies (the caller never pushes more than credit allows,
 * which keeps it within VSOCK_CONN_BUF); peek gives up to two iovecs of the
 * buffered bytes; pop drops n of them. */
uint32_t vsock_txbuf_len(const struct vsock_txbuf *b);
int vsock_txbuf_push(struct vsock_txbuf *b, const void *data, uint32_t len);
int vsock_txbuf_peek(const struct vsock_txbuf *b, struct iovec iov[2]);
void vsock_txbuf_pop(struct vsock_txbuf *b, uint32_t n);
