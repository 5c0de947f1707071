/* ARP for IPv4 over Ethernet (RFC 826), as much as the MMDS needs: read a
 * request, write a reply (Firecracker: dumbo/pdu/arp.rs). Addresses are in
 * host byte order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eth.h"

#define ARP_LEN 28u /* Ethernet/IPv4 ARP body */
#define ARP_OP_REQUEST 1u
#define ARP_OP_REPLY 2u

struct arp_request {
	uint8_t sha[ETH_ADDR_LEN]; /* who asks */
	uint32_t spa;
	uint32_t tpa;          /* whom it asks for */
};

/* Reads an Ethernet/IPv4 ARP request (htype 1, ptype 0x0800, hlen 6, plen 4,
 * op 1) from body (len bytes, trailing padding allowed). 0; -EBADMSG when
 * shorter than ARP_LEN; -EPROTONOSUPPORT for other hardware or protocol
 * types or lengths; -EOPNOTSUPP for another operation. */
int arp_parse_request(const uint8_t *body, size_t len, struct arp_request *ret);
/* The target protocol address of an Ethernet/IPv4-sized ARP body, whatever
 * else it holds (the detour's test: no well-formedness asked). False when
 * body is too short to have one. */
bool arp_target(const uint8_t *body, size_t len, uint32_t *ret_tpa);
/* Writes the reply that tells tha/tpa that spa is at sha: ARP_LEN bytes. */
size_t arp_write_reply(uint8_t *body, const uint8_t sha[ETH_ADDR_LEN], uint32_t spa, const uint8_t tha[ETH_ADDR_LEN],
		       uint32_t tpa);
