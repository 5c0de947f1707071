#include "tcp.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "ipv4.h"

#define TCP_OPT_END 0u
#define TCP_OPT_NOP 1u
#define TCP_OPT_MSS 2u

static uint32_t tcp_pseudo_sum(uint32_t src, uint32_t dst, size_t len)
{
	uint8_t ph[12];

	net_put32(ph, src);
	net_put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = IPV4_PROTO_TCP;
	net_put16(ph + 10, (uint16_t)len);
	return inet_sum(ph, sizeof(ph), 0);
}

/* Walks the options (RFC 9293 §3.2): the MSS is kept, others skipped. */
static int tcp_parse_options(const uint8_t *o, size_t len, uint16_t *ret_mss)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = o[i], olen;

		if (kind == TCP_OPT_END)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -EBADMSG;
		olen = o[i + 1];
		if (olen < 2 || olen > len - i)
			return -EBADMSG;
		if (kind == TCP_OPT_MSS) {
			if (olen != TCP_MSS_OPT_LEN)
				return -EBADMSG;
			*ret_mss = net_get16(o + i + 2);
		}
		i += olen;
	}
	return 0;
}

int tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst, bool verify, struct tcp_seg *ret)
{
	size_t off;
	uint16_t mss = 0;

	if (len < TCP_HDR_LEN || len > UINT16_MAX)
		return -EBADMSG;
	off = (size_t)(p[12] >> 4) * 4u;
	if (off < TCP_HDR_LEN || off > len)
		return -EBADMSG;
	if (verify && inet_fold(inet_sum(p, len, tcp_pseudo_sum(src, dst, len))) != 0)
		return -EBADMSG;
	if (tcp_parse_options(p + TCP_HDR_LEN, off - TCP_HDR_LEN, &mss) < 0)
		return -EBADMSG;
	*ret = (struct tcp_seg){
		.sport = net_get16(p),
		.dport = net_get16(p + 2),
		.seq = net_get32(p + 4),
		.ack = net_get32(p + 8),
		.flags = p[13],
		.window = net_get16(p + 14),
		.mss = mss,
		.data = p + off,
		.len = len - off,
	};
	return 0;
}

size_t tcp_write(uint8_t *p, uint32_t src, uint32_t dst, const struct tcp_out *h, const uint8_t *data, size_t len)
{
	size_t hlen = TCP_HDR_LEN + (h->mss ? TCP_MSS_OPT_LEN : 0);

	net_put16(p, h->sport);
	net_put16(p + 2, h->dport);
	net_put32(p + 4, h->seq);
	net_put32(p + 8, h->ack);
	p[12] = (uint8_t)(hlen / 4u << 4);
	p[13] = h->flags;
	net_put16(p + 14, h->window);
	net_put16(p + 16, 0);
	net_put16(p + 18, 0); /* urgent pointer: never used */
	if (h->mss) {
		p[20] = TCP_OPT_MSS;
		p[21] = TCP_MSS_OPT_LEN;
		net_put16(p + 22, h->mss);
	}
	if (len)
		memmove(p + hlen, data, len);
	net_put16(p + 16, inet_fold(inet_sum(p, hlen + len, tcp_pseudo_sum(src, dst, hlen + len))));
	return hlen + len;
}
