#include "vsock-packet.h"

#include <endian.h>
#include <string.h>

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *ret)
{
	struct vsock_hdr h;
	uint64_t q;
	uint32_t l;
	uint16_t s;

#define GET(field, var, conv, off)                                                                 \
	do {                                                                                       \
		memcpy(&var, raw + (off), sizeof(var));                                            \
		h.field = conv(var);                                                               \
	} while (0)
	GET(src_cid, q, le64toh, 0);
	GET(dst_cid, q, le64toh, 8);
	GET(src_port, l, le32toh, 16);
	GET(dst_port, l, le32toh, 20);
	GET(len, l, le32toh, 24);
	GET(type, s, le16toh, 28);
	GET(op, s, le16toh, 30);
	GET(flags, l, le32toh, 32);
	GET(buf_alloc, l, le32toh, 36);
	GET(fwd_cnt, l, le32toh, 40);
#undef GET
	*ret = h;
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE])
{
	uint64_t q;
	uint32_t l;
	uint16_t s;

#define PUT(field, var, conv, off)                                                                 \
	do {                                                                                       \
		var = conv(h->field);                                                              \
		memcpy(raw + (off), &var, sizeof(var));                                            \
	} while (0)
	PUT(src_cid, q, htole64, 0);
	PUT(dst_cid, q, htole64, 8);
	PUT(src_port, l, htole32, 16);
	PUT(dst_port, l, htole32, 20);
	PUT(len, l, htole32, 24);
	PUT(type, s, htole16, 28);
	PUT(op, s, htole16, 30);
	PUT(flags, l, htole32, 32);
	PUT(buf_alloc, l, htole32, 36);
	PUT(fwd_cnt, l, htole32, 40);
#undef PUT
}

enum vsock_tx_verdict vsock_tx_check(const struct vsock_hdr *h, uint32_t guest_cid, size_t avail,
				     enum vsock_tx_fault *ret_fault)
{
	enum vsock_tx_fault f = VSOCK_FAULT_NONE;

	/* A length the chain cannot back is a broken packet, not a refused
	 * one: its payload is unknown, so nothing about it is trusted. */
	if (h->len > VSOCK_PKT_MAX || h->len > avail)
		f = VSOCK_FAULT_LEN;
	else if (h->op == VSOCK_OP_INVALID || h->op > VSOCK_OP_CREDIT_REQUEST)
		f = VSOCK_FAULT_OP;
	else if (h->len && h->op != VSOCK_OP_RW)
		f = VSOCK_FAULT_OP;
	else if (h->src_cid != guest_cid)
		f = VSOCK_FAULT_SRC_CID;
	else if (h->dst_cid != VSOCK_HOST_CID)
		f = VSOCK_FAULT_DST_CID;
	else if (h->type != VSOCK_TYPE_STREAM)
		f = VSOCK_FAULT_TYPE;
	*ret_fault = f;
	if (f == VSOCK_FAULT_NONE)
		return VSOCK_TX_OK;
	if (f == VSOCK_FAULT_LEN || h->op == VSOCK_OP_RST)
		return VSOCK_TX_DROP;
	return VSOCK_TX_RST;
}

void vsock_hdr_rst_for(const struct vsock_hdr *h, uint32_t guest_cid, struct vsock_hdr *ret)
{
	*ret = (struct vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = guest_cid,
		.src_port = h->dst_port,
		.dst_port = h->src_port,
		.type = VSOCK_TYPE_STREAM,
		.op = VSOCK_OP_RST,
	};
}
