/* A small polling TCP client for the probe guest, enough to speak HTTP/1.1
 * to the MMDS (or to a host server standing at its address): active open
 * with an MSS option, in-order receive with an immediate ACK per segment,
 * go-back-N retransmission on a 1 s timer, FIN close. It runs over
 * net-probe.h's device and takes every TCP frame from the peer through the
 * device's rx_hook, checking on the way that each frame from the MMDS (its
 * MAC or its IP) is sound: IPv4 and TCP checksums, TTL 1, source MMDS IP
 * and MAC, no IP options or fragments. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "net-probe.h"

#define MC_CONNS 44u       /* 40 parallel connections and a few more */
#define MC_RESP_MAX 8192u  /* bytes of one answer kept (the rest is counted) */
#define MC_MSS 1400u       /* what the client announces and sends at most */

enum mc_state { MC_FREE, MC_SYN_SENT, MC_OPEN, MC_DONE };

struct mconn {
	enum mc_state state;
	uint16_t lport;
	uint32_t iss, snd_una, snd_nxt, rcv_nxt;
	uint32_t peer_wnd;
	uint16_t peer_mss;
	bool reset;          /* the peer reset the connection */
	bool fin;            /* the peer's FIN came */
	bool rst_on_data;    /* answer the first data segment with RST (mid-response) */
	bool sent_rst;
	uint32_t resp_len;   /* bytes received in order (may exceed MC_RESP_MAX) */
	char *resp;          /* MC_RESP_MAX bytes */
	const char *req;     /* what to send, kept by the caller */
	uint32_t req_len;
	uint64_t rto;        /* deadline of the retransmission timer, 0 when idle */
	unsigned retries;
};

struct mclient {
	struct pnet *net;
	uint8_t ip[4];         /* the MMDS address */
	uint16_t next_port;
	struct mconn c[MC_CONNS];
	/* frames from the MMDS, and the first unsound one */
	uint32_t frames;
	uint32_t bad_frames;
	char bad_why[96];
};

/* The MMDS MAC Firecracker answers ARP with. */
extern const uint8_t mc_mmds_mac[6];

/* Sets up the client over an opened device; ip is the MMDS address. */
void mc_init(struct mclient *m, struct pnet *net, const uint8_t ip[4]);
/* ARP for the MMDS address (4 tries, 500 ms each); true when answered. */
bool mc_arp(struct mclient *m);
/* A free connection, SYN sent; NULL when every slot is taken. */
struct mconn *mc_connect(struct mclient *m);
/* Polls until c is open, reset or ms passed; true when open. */
bool mc_wait_open(struct mclient *m, struct mconn *c, uint64_t ms);
/* Sends c->req (within the peer's window and MSS); with bad_csum the first
 * segment goes out with a wrong TCP checksum (and is resent right later by
 * the retransmission timer). */
void mc_send_request(struct mclient *m, struct mconn *c, bool bad_csum);
/* Drives timers and the device once. */
void mc_poll(struct mclient *m);
/* An HTTP answer is complete (headers and Content-Length bytes), or the
 * connection was reset or closed. */
bool mc_finished(const struct mconn *c);
/* Parses the answer: its status (0 when there is no status line) and body. */
int mc_status(const struct mconn *c, const char **ret_body, uint32_t *ret_len);
/* FIN, waits (bounded) for the peer's FIN and ACK, RST if they do not come;
 * the slot is free again. */
void mc_close(struct mclient *m, struct mconn *c);
/* Sends a RST now (the connection is then done). */
void mc_reset(struct mclient *m, struct mconn *c);
