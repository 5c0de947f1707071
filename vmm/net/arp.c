#include "arp.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"

/* Offsets in the Ethernet/IPv4 body (RFC 826). */
#define ARP_HTYPE 0
#define ARP_PTYPE 2
#define ARP_HLEN 4
#define ARP_PLEN 5
#define ARP_OP 6
#define ARP_SHA 8
#define ARP_SPA 14
#define ARP_THA 18
#define ARP_TPA 24
#define ARP_HTYPE_ETHERNET 1u

int arp_parse_request(const uint8_t *body, size_t len, struct arp_request *ret)
{
	if (len < ARP_LEN)
		return -EBADMSG;
	if (net_get16(body + ARP_HTYPE) != ARP_HTYPE_ETHERNET || net_get16(body + ARP_PTYPE) != ETHERTYPE_IPV4 ||
	    body[ARP_HLEN] != ETH_ADDR_LEN || body[ARP_PLEN] != 4)
		return -EPROTONOSUPPORT;
	if (net_get16(body + ARP_OP) != ARP_OP_REQUEST)
		return -EOPNOTSUPP;
	memcpy(ret->sha, body + ARP_SHA, ETH_ADDR_LEN);
	ret->spa = net_get32(body + ARP_SPA);
	ret->tpa = net_get32(body + ARP_TPA);
	return 0;
}

bool arp_target(const uint8_t *body, size_t len, uint32_t *ret_tpa)
{
	if (len < ARP_TPA + 4)
		return false;
	*ret_tpa = net_get32(body + ARP_TPA);
	return true;
}

size_t arp_write_reply(uint8_t *body, const uint8_t sha[ETH_ADDR_LEN], uint32_t spa, const uint8_t tha[ETH_ADDR_LEN],
		       uint32_t tpa)
{
	net_put16(body + ARP_HTYPE, ARP_HTYPE_ETHERNET);
	net_put16(body + ARP_PTYPE, ETHERTYPE_IPV4);
	body[ARP_HLEN] = ETH_ADDR_LEN;
	body[ARP_PLEN] = 4;
	net_put16(body + ARP_OP, ARP_OP_REPLY);
	memcpy(body + ARP_SHA, sha, ETH_ADDR_LEN);
	net_put32(body + ARP_SPA, spa);
	memcpy(body + ARP_THA, tha, ETH_ADDR_LEN);
	net_put32(body + ARP_TPA, tpa);
	return ARP_LEN;
}
