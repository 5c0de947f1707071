/* Ethernet II frames (IEEE 802.3 with an EtherType), the MMDS stack's lowest
 * layer (Firecracker: dumbo/pdu/ethernet.rs). No 802.1Q: a tagged frame is
 * only recognised so the detour can keep MMDS traffic inside it off the TAP. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define ETH_ADDR_LEN 6u
#define ETH_HDR_LEN 14u
#define ETH_VLAN_LEN 4u
#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_ARP 0x0806u
#define ETHERTYPE_VLAN 0x8100u
#define ETHERTYPE_QINQ 0x88a8u

struct eth_view {
	const uint8_t *dst;
	const uint8_t *src;
	uint16_t type;
	const uint8_t *payload;
	size_t len; /* payload bytes (padding included: the layer above trims) */
};

/* Views frame (len bytes). 0, or -EBADMSG when shorter than a header. */
int eth_parse(const uint8_t *frame, size_t len, struct eth_view *ret);
/* Writes a header (ETH_HDR_LEN bytes) at frame; returns ETH_HDR_LEN. */
size_t eth_write(uint8_t *frame, const uint8_t dst[ETH_ADDR_LEN], const uint8_t src[ETH_ADDR_LEN], uint16_t type);
