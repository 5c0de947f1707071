/* TCP segments (RFC 9293 §3.1) for the MMDS stack: read one, checksum
 * included, and write one (Firecracker: dumbo/pdu/tcp.rs). The connection
 * logic is tcp-conn.c; the table of connections tcp-table.c.
 *
 * Only the MSS option is understood (on a SYN); other options are skipped,
 * malformed ones refuse the segment. Written segments carry no option but
 * the MSS on a SYN-ACK. Addresses are in host byte order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_HDR_LEN 20u
#define TCP_MSS_OPT_LEN 4u
#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u
#define TCP_URG 0x20u

struct tcp_seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint16_t mss; /* 0: no MSS option */
	const uint8_t *data;
	size_t len;
};

/* What a segment to write says. */
struct tcp_out {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint16_t mss; /* 0: no option */
};

/* Views the segment in p (len bytes: the IPv4 payload) sent from src to dst.
 * With verify, the checksum over the pseudo-header must hold (without: the
 * guest asked for checksum offload, so the field is partial, and nothing
 * came over a wire). 0, or -EBADMSG (too short, bad data offset, bad
 * checksum, a malformed option). */
int tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst, bool verify, struct tcp_seg *ret);
/* Writes the segment h with len bytes of data at p, checksum included.
 * Returns its length: TCP_HDR_LEN (+ TCP_MSS_OPT_LEN with h->mss) + len. */
size_t tcp_write(uint8_t *p, uint32_t src, uint32_t dst, const struct tcp_out *h, const uint8_t *data, size_t len);

/* Sequence space comparisons (RFC 9293 §3.4), modulo 2^32. */
static inline bool tcp_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool tcp_seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}
