/* One passive TCP connection of the MMDS stack, with the HTTP framing on top
 * (Firecracker: dumbo/tcp/connection.rs and endpoint.rs; lwIP tcp_in.c for
 * the receive checks written in C).
 *
 * It opens on the guest's SYN, takes the request bytes in order into a
 * 2500-byte buffer (the advertised window is what is left of it), hands each
 * request (up to its empty line) to the responder and sends one response at a
 * time in segments of at most the guest's MSS and its window. There is no
 * congestion control (the peer is the guest on a virtual link): unacked data
 * is sent again from the first unacked byte every TCP_RTO_MS, at most
 * TCP_MAX_RETRANSMITS times, then the connection is reset. A request that
 * does not fit the buffer resets it too. It closes after the guest's FIN,
 * once the answers and our own FIN are acknowledged.
 *
 * Time is passed in (monotonic ms), so the tests run on a fake clock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eth.h"
#include "tcp.h"

#define TCP_RCV_BUF 2500u       /* Firecracker's receive buffer: requests up to 2499 bytes */
#define TCP_DEFAULT_MSS 536u    /* RFC 9293 §3.7.1, when the SYN has no MSS option */
#define TCP_MSS_MIN 100u        /* a smaller MSS is refused (Firecracker's MSS_MIN) */
#define TCP_RTO_MS 300u         /* Firecracker's ~1.2e9 TSC cycles */
#define TCP_MAX_RETRANSMITS 15u
#define TCP_IDLE_MS 10000u      /* Firecracker's ~4e10 cycles: evictable after this long idle */

/* The request handler: req (len bytes, up to and including the empty line)
 * in, the whole response in *ret (malloc'd; the connection frees it). 0 or
 * -errno (the connection is then reset). */
typedef int (*tcp_respond_fn)(void *ctx, const char *req, size_t len, char **ret, size_t *ret_len);

struct tcp_conn {
	bool used;
	bool done;       /* closed or reset: the table frees it */
	bool rst_owed;   /* reset: send one RST, then done */
	bool need_ack;
	bool syn_acked;
	bool fin_rcvd;
	bool fin_sent;
	bool probe;      /* the guest's window is shut: one byte may go past it */
	uint32_t ip;     /* the guest's end */
	uint16_t port;
	uint8_t mac[ETH_ADDR_LEN];
	uint32_t irs, rcv_nxt;
	uint32_t iss, snd_una, snd_nxt, snd_max, fin_seq;
	uint16_t snd_wnd, mss;
	unsigned retransmits;
	uint64_t rto_at;   /* 0: no timer */
	uint64_t last_rcv; /* for idle eviction */
	char *resp;        /* the pending response, its first byte at resp_seq */
	size_t resp_len;
	uint32_t resp_seq;
	size_t rlen;
	uint8_t rbuf[TCP_RCV_BUF];
};

struct tcp_conn_env {
	uint16_t local_port;
	uint16_t mss_cap; /* the largest segment the link carries */
	tcp_respond_fn respond;
	void *ctx;
};

/* Opens c for the SYN seg from ip:seg->sport (mac); iss is our initial
 * sequence number. 0, or -EINVAL for an MSS below TCP_MSS_MIN (the caller
 * answers with a RST). */
int tcp_conn_open(struct tcp_conn *c, const struct tcp_seg *seg, uint32_t ip, const uint8_t mac[ETH_ADDR_LEN],
		  uint32_t iss, uint64_t now);
/* Takes a segment of this connection; afterwards c->done may be set. */
void tcp_conn_receive(struct tcp_conn *c, const struct tcp_conn_env *env, const struct tcp_seg *seg, uint64_t now);
/* Whether tcp_conn_write() has a segment to write now. */
bool tcp_conn_wants_write(const struct tcp_conn *c);
/* Writes the next segment into p (room for cap bytes, at least
 * TCP_HDR_LEN + TCP_MSS_OPT_LEN) from local_ip to c->ip. Returns its length,
 * or 0 when there is nothing to send. */
size_t tcp_conn_write(struct tcp_conn *c, const struct tcp_conn_env *env, uint32_t local_ip, uint8_t *p, size_t cap,
		      uint64_t now);
/* Runs the retransmission timer: at c->rto_at the unacked data is due again
 * (or the connection reset after TCP_MAX_RETRANSMITS). */
void tcp_conn_tick(struct tcp_conn *c, uint64_t now);
/* Resets c: one RST goes out, then it is done. */
void tcp_conn_reset(struct tcp_conn *c);
/* Frees the response; c is unused afterwards. */
void tcp_conn_close(struct tcp_conn *c);
