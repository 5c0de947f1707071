/* libFuzzer: the guest → host packet path of the vsock device above the
 * virtqueue: header checks, the connection table, the state machine, credit
 * and the per-connection buffer, driven by a stream of guest headers the way
 * the device drives them, with a host socket that takes a fuzzer-chosen part
 * of each write.
 *
 * Input: records of a 44-byte header, one byte of "chain bytes" slack and
 * one byte saying how much the host socket takes. Oracles: the buffer never
 * refuses bytes credit allowed (ember never drops accepted data), never
 * holds more than VSOCK_CONN_BUF, and the table never passes its cap. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/vsock-mux.h"

#define FUZZ_CID 3u
#define RECORD (VSOCK_HDR_SIZE + 2)

static uint8_t payload[VSOCK_PKT_MAX];

static void fuzz_drain(struct vsock_conn *c, uint8_t take)
{
	struct iovec iov[2];
	uint32_t n = vsock_txbuf_len(&c->txbuf) * take / 255;

	if (vsock_txbuf_peek(&c->txbuf, iov) < 0)
		abort();
	vsock_txbuf_pop(&c->txbuf, n);
	vsock_conn_forwarded(c, n);
}

static void fuzz_data(struct vsock_conn *c, uint32_t len, uint8_t take)
{
	uint32_t wrote = vsock_txbuf_len(&c->txbuf) ? 0 : (uint32_t)((uint64_t)len * take / 255);

	vsock_conn_accept_data(c, len, wrote);
	if (vsock_txbuf_push(&c->txbuf, payload, len - wrote) < 0)
		abort(); /* credit allowed it: the buffer must hold it */
	if (vsock_txbuf_len(&c->txbuf) > VSOCK_CONN_BUF || c->rx_cnt - c->fwd_cnt != vsock_txbuf_len(&c->txbuf))
		abort();
}

static void fuzz_packet(struct vsock_conn_table *t, const struct vsock_hdr *h, size_t avail, uint8_t take)
{
	enum vsock_tx_fault f;
	struct vsock_conn *c;
	struct vsock_hdr out;

	if (vsock_tx_check(h, FUZZ_CID, avail, &f) != VSOCK_TX_OK)
		return;
	c = vsock_conn_table_find(t, h->dst_port, h->src_port);
	if (!c) {
		if (h->op != VSOCK_OP_REQUEST || !(c = vsock_conn_table_add(t)))
			return;
		vsock_conn_init_peer(c, h);
		vsock_conn_host_connected(c, take & 1);
	} else {
		switch (vsock_conn_recv(c, h)) {
		case VSOCK_RECV_DATA:
			fuzz_data(c, h->len, take);
			break;
		case VSOCK_RECV_SHUT_HOST:
			if (take & 2) /* the host hangs up after its write side is shut */
				vsock_conn_host_closed(c, take);
			break;
		default:
			break;
		}
		fuzz_drain(c, take);
	}
	while (vsock_conn_next_ctrl(c, FUZZ_CID, &out))
		if (out.dst_cid != FUZZ_CID || out.src_cid != VSOCK_HOST_CID || out.buf_alloc != VSOCK_CONN_BUF)
			abort();
	if (vsock_conn_peer_credit(c) > c->peer_buf_alloc)
		abort();
	if (c->state == VSOCK_CONN_DEAD)
		for (unsigned i = 0; i < t->count; i++)
			if (t->conn[i] == c)
				vsock_conn_table_remove(t, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsock_conn_table t;

	vsock_conn_table_init(&t);
	for (; size >= RECORD; data += RECORD, size -= RECORD) {
		struct vsock_hdr h;
		size_t avail;

		vsock_hdr_decode(data, &h);
		/* Most headers claim our CIDs, so the state machine is reached. */
		if (data[VSOCK_HDR_SIZE] & 0x80) {
			h.src_cid = FUZZ_CID;
			h.dst_cid = VSOCK_HOST_CID;
			h.type = VSOCK_TYPE_STREAM;
			h.len %= VSOCK_PKT_MAX + 2;
		}
		avail = (size_t)h.len + (data[VSOCK_HDR_SIZE] & 0x3f);
		fuzz_packet(&t, &h, avail >= 8 ? avail - 8 : 0, data[VSOCK_HDR_SIZE + 1]);
		if (t.count > VSOCK_CONNS_MAX)
			abort();
	}
	vsock_conn_table_clear(&t);
	return 0;
}
