/* IPv4 (RFC 791) for the MMDS stack (Firecracker: dumbo/pdu/ipv4.rs), and the
 * Internet checksum (RFC 1071) that IPv4 and TCP share.
 *
 * Accepted: version 4, a 20-byte header (no options), a whole datagram (no
 * fragments), a header checksum that verifies, a total length within the
 * frame (Ethernet padding after it is ignored). Written: a 20-byte header,
 * DF set, TTL 1 (the answer never leaves the guest's link). Addresses are in
 * host byte order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPV4_HDR_LEN 20u
#define IPV4_PROTO_TCP 6u
#define IPV4_TTL_OUT 1u

struct ipv4_view {
	uint32_t src;
	uint32_t dst;
	uint8_t proto;
	const uint8_t *payload;
	size_t len; /* payload bytes, from the total length */
};

/* One's-complement sum of len bytes added to acc (not folded). */
uint32_t inet_sum(const uint8_t *p, size_t len, uint32_t acc);
/* Folds a sum into the 16-bit checksum field value (complemented). */
uint16_t inet_fold(uint32_t sum);

/* Views the datagram in p (len bytes). 0; -EBADMSG for a truncated or
 * inconsistent header or a bad header checksum; -EOPNOTSUPP for options or a
 * fragment. */
int ipv4_parse(const uint8_t *p, size_t len, struct ipv4_view *ret);
/* The destination address of anything long enough to be an IPv4 header,
 * well-formed or not (the detour's test). False when too short. */
bool ipv4_peek_dst(const uint8_t *p, size_t len, uint32_t *ret_dst);
/* Writes a header for payload_len bytes of proto at p: IPV4_HDR_LEN bytes. */
size_t ipv4_write(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, size_t payload_len);
