#include "ipv4.h"

#include <errno.h>

#include "bytes.h"

#define IPV4_FLAG_MF 0x2000u
#define IPV4_FLAG_DF 0x4000u
#define IPV4_OFFSET_MASK 0x1fffu

uint32_t inet_sum(const uint8_t *p, size_t len, uint32_t acc)
{
	uint64_t s = acc;
	size_t i = 0;

	for (; i + 1 < len; i += 2)
		s += net_get16(p + i);
	if (i < len)
		s += (uint32_t)p[i] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t inet_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

int ipv4_parse(const uint8_t *p, size_t len, struct ipv4_view *ret)
{
	size_t ihl, total;

	if (len < IPV4_HDR_LEN || p[0] >> 4 != 4)
		return -EBADMSG;
	ihl = (size_t)(p[0] & 0xfu) * 4u;
	total = net_get16(p + 2);
	if (ihl < IPV4_HDR_LEN || total < ihl || total > len || ihl > len)
		return -EBADMSG;
	if (inet_fold(inet_sum(p, ihl, 0)) != 0)
		return -EBADMSG;
	if (ihl != IPV4_HDR_LEN || (net_get16(p + 6) & (IPV4_FLAG_MF | IPV4_OFFSET_MASK)))
		return -EOPNOTSUPP;
	*ret = (struct ipv4_view){
		.src = net_get32(p + 12),
		.dst = net_get32(p + 16),
		.proto = p[9],
		.payload = p + ihl,
		.len = total - ihl,
	};
	return 0;
}

bool ipv4_peek_dst(const uint8_t *p, size_t len, uint32_t *ret_dst)
{
	if (len < IPV4_HDR_LEN)
		return false;
	*ret_dst = net_get32(p + 16);
	return true;
}

size_t ipv4_write(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, size_t payload_len)
{
	p[0] = 0x45; /* version 4, five 32-bit words */
	p[1] = 0;
	net_put16(p + 2, (uint16_t)(IPV4_HDR_LEN + payload_len));
	net_put16(p + 4, 0); /* identification: DF is set, no datagram is ever fragmented */
	net_put16(p + 6, IPV4_FLAG_DF);
	p[8] = IPV4_TTL_OUT;
	p[9] = proto;
	net_put16(p + 10, 0);
	net_put32(p + 12, src);
	net_put32(p + 16, dst);
	net_put16(p + 10, inet_fold(inet_sum(p, IPV4_HDR_LEN, 0)));
	return IPV4_HDR_LEN;
}
