/* The MMDS stack's TCP endpoint on one port: the table of connections and
 * the queue of resets (Firecracker: dumbo/tcp/handler.rs).
 *
 * Bounds, all Firecracker's: TCP_TABLE_MAX connections (when full, a SYN
 * resets the evictable connection idle longest, one idle over TCP_IDLE_MS;
 * without one the SYN gets a RST), TCP_RST_QUEUE_MAX resets waiting (more are
 * not sent). A segment of no connection that is not a SYN, or any segment to
 * another port, is answered with a RST unless it is one (RFC 9293 §3.10.7.1).
 * Memory is fixed at creation; responses are the only allocations. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcp-conn.h"

#define TCP_TABLE_MAX 30u
#define TCP_RST_QUEUE_MAX 100u

/* What a received segment did (the metrics count created and destroyed). */
enum tcp_event {
	TCP_EV_NOTHING,
	TCP_EV_CREATED,     /* a new connection */
	TCP_EV_REPLACED,    /* a new connection in the place of an evicted one */
	TCP_EV_DESTROYED,   /* a connection ended (RST from the guest, closed) */
	TCP_EV_REFUSED,     /* a SYN answered with a RST (table full, bad MSS) */
	TCP_EV_UNEXPECTED,  /* a segment of no connection (answered with a RST) */
};

struct tcp_rst {
	uint32_t ip;
	uint8_t mac[ETH_ADDR_LEN];
	struct tcp_out h;
};

struct tcp_table {
	uint32_t local_ip;
	struct tcp_conn_env env;
	uint64_t rng;       /* initial sequence numbers (xorshift64*, seeded at creation) */
	unsigned next;      /* where the round robin of tcp_table_write() starts */
	unsigned rst_head, rst_count;
	struct tcp_rst rst[TCP_RST_QUEUE_MAX];
	uint64_t created;   /* connections opened since creation */
	uint64_t destroyed; /* connections freed since creation (done, reset or evicted) */
	struct tcp_conn conn[TCP_TABLE_MAX];
};

/* Sets t up for local_ip:env->local_port; seed (non-zero) feeds the initial
 * sequence numbers. */
void tcp_table_init(struct tcp_table *t, uint32_t local_ip, const struct tcp_conn_env *env, uint64_t seed);
/* Frees every connection's response. */
void tcp_table_clear(struct tcp_table *t);
/* Takes seg, sent from ip (and mac). */
enum tcp_event tcp_table_receive(struct tcp_table *t, uint32_t ip, const uint8_t mac[ETH_ADDR_LEN],
				 const struct tcp_seg *seg, uint64_t now);
/* Whether tcp_table_write() has something to write. */
bool tcp_table_pending(const struct tcp_table *t);
/* Writes the next segment (resets first, then the connections in turn) into
 * p (cap bytes, at least TCP_HDR_LEN + TCP_MSS_OPT_LEN); its guest end in
 * *ret_ip and ret_mac. Returns its length or 0. A connection done after its
 * segment is freed (t->destroyed counts it). */
size_t tcp_table_write(struct tcp_table *t, uint8_t *p, size_t cap, uint64_t now, uint32_t *ret_ip,
		       uint8_t ret_mac[ETH_ADDR_LEN]);
/* Runs the connections' timers at now. */
void tcp_table_tick(struct tcp_table *t, uint64_t now);
/* The earliest timer (monotonic ms), or 0 when none is needed. */
uint64_t tcp_table_deadline(const struct tcp_table *t);
/* Connections in use. */
unsigned tcp_table_count(const struct tcp_table *t);
