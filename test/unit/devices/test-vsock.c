/* The pure vsock layers: packet header checks, the connection state machine
 * and its credit accounting, the CONNECT line and the port allocator. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/virtio/vsock-conn.h"
#include "devices/virtio/vsock-mux.h"
#include "devices/virtio/vsock-packet.h"

#define GUEST_CID 3u

static struct vsock_hdr guest_pkt(uint16_t op, uint32_t len)
{
	return (struct vsock_hdr){ .src_cid = GUEST_CID, .dst_cid = VSOCK_HOST_CID, .src_port = 1000,
				   .dst_port = 53, .len = len, .type = VSOCK_TYPE_STREAM, .op = op,
				   .buf_alloc = 65536 };
}

static void test_header_roundtrip(void **state)
{
	struct vsock_hdr h = { 0x1122334455667788ull, 2, 0xaabbccdd, 7, 9, 1, 5, 3, 65536, 42 }, back;
	uint8_t raw[VSOCK_HDR_SIZE];

	vsock_hdr_encode(&h, raw);
	assert_int_equal(raw[0], 0x88); /* little endian on the wire */
	assert_int_equal(raw[16], 0xdd);
	assert_int_equal(raw[30], 5);
	memset(&back, 0, sizeof(back));
	vsock_hdr_decode(raw, &back);
	assert_true(back.src_cid == h.src_cid && back.dst_cid == h.dst_cid && back.src_port == h.src_port);
	assert_true(back.dst_port == h.dst_port && back.len == h.len && back.type == h.type && back.op == h.op);
	assert_true(back.flags == h.flags && back.buf_alloc == h.buf_alloc && back.fwd_cnt == h.fwd_cnt);
}

static void test_tx_check(void **state)
{
	enum vsock_tx_fault f;
	struct vsock_hdr h = guest_pkt(VSOCK_OP_RW, 100), rst;

	assert_int_equal(vsock_tx_check(&h, GUEST_CID, 100, &f), VSOCK_TX_OK);
	assert_int_equal(vsock_tx_check(&h, GUEST_CID, 99, &f), VSOCK_TX_DROP); /* longer than its buffer */
	assert_int_equal(f, VSOCK_FAULT_LEN);
	h.len = VSOCK_PKT_MAX + 1;
	assert_int_equal(vsock_tx_check(&h, GUEST_CID, 1u << 20, &f), VSOCK_TX_DROP);
	h = guest_pkt(VSOCK_OP_REQUEST, 0);
	h.src_cid = 7;
	assert_int_equal(vsock_tx_check(&h, GUEST_CID, 0, &f), VSOCK_TX_RST);
	assert_int_equal(f, VSOCK_FAULT_SRC_CID);
	h = guest_pkt(VSOCK_OP_REQUEST, 0);
	h.dst_cid = 5;
	assert_int_equal(vsock_tx_check(&h, GUEST_CID, 0, &f), VSOCK_TX_RST);
	assert_int_equal(f, VSOCK_FAULT_DST_CID);
	h = guest_pkt(99, 0);
	assert_int_equal(vsock_tx_check(&h, GUEST_CID, 0, &f), VSOCK_TX_RST);
	assert_int_equal(f, VSOCK_FAULT_OP);
	h = guest_pkt(VSOCK_OP_REQUEST, 0);
	h.type = 2; /* SEQPACKET: not offered */
	assert_int_equal(vsock_tx_check(&h, GUEST_CID, 0, &f), VSOCK_TX_RST);
	assert_int_equal(f, VSOCK_FAULT_TYPE);
	h = guest_pkt(VSOCK_OP_RST, 0);
	h.dst_cid = 9; /* a bad RST is dropped, never answered */
	assert_int_equal(vsock_tx_check(&h, GUEST_CID, 0, &f), VSOCK_TX_DROP);
	h = guest_pkt(VSOCK_OP_REQUEST, 0);
	h.src_cid = 1234;
	vsock_hdr_rst_for(&h, GUEST_CID, &rst);
	assert_int_equal(rst.op, VSOCK_OP_RST);
	assert_int_equal(rst.dst_cid, GUEST_CID);
	assert_int_equal(rst.src_cid, VSOCK_HOST_CID);
	assert_int_equal(rst.dst_port, 1000);
	assert_int_equal(rst.src_port, 53);
}

static void open_peer_conn(struct vsock_conn *c)
{
	struct vsock_hdr req = guest_pkt(VSOCK_OP_REQUEST, 0), out;

	vsock_conn_init_peer(c, &req);
	assert_int_equal(c->state, VSOCK_CONN_PEER_INIT);
	vsock_conn_host_connected(c, true);
	assert_true(vsock_conn_next_ctrl(c, GUEST_CID, &out));
	assert_int_equal(out.op, VSOCK_OP_RESPONSE);
	assert_int_equal(out.buf_alloc, VSOCK_CONN_BUF);
	assert_int_equal(out.dst_port, 1000);
	assert_int_equal(out.src_port, 53);
	assert_false(vsock_conn_next_ctrl(c, GUEST_CID, &out));
}

static void test_overrun(void **state)
{
	struct vsock_conn c;
	struct vsock_hdr h = guest_pkt(VSOCK_OP_RW, 60000), out;

	open_peer_conn(&c);
	/* The host socket takes nothing: 60000 bytes wait in the buffer. */
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_DATA);
	vsock_conn_accept_data(&c, 60000, 0);
	h.len = VSOCK_CONN_BUF - 60000;
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_DATA); /* exactly the credit left */
	vsock_conn_accept_data(&c, h.len, 0);
	h.len = 1;
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_KILL); /* one byte past it */
	assert_int_equal(c.state, VSOCK_CONN_DEAD);
	assert_true(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	assert_int_equal(out.op, VSOCK_OP_RST);
	assert_false(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	vsock_conn_clear(&c);
}

static void test_credit_update_threshold(void **state)
{
	struct vsock_conn c;
	struct vsock_hdr h = guest_pkt(VSOCK_OP_RW, VSOCK_CONN_BUF - VSOCK_CREDIT_THRESHOLD), out;

	open_peer_conn(&c);
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_DATA);
	vsock_conn_accept_data(&c, h.len, 0);
	/* The guest sees exactly the threshold free: no update yet. */
	vsock_conn_forwarded(&c, 100);
	assert_false(c.pending & VSOCK_PEND_CREDIT_UPDATE);
	h.len = 1;
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_DATA);
	vsock_conn_accept_data(&c, 1, 0);
	/* Below the threshold in the guest's view, and ember freed bytes: update. */
	vsock_conn_forwarded(&c, 1);
	assert_true(c.pending & VSOCK_PEND_CREDIT_UPDATE);
	assert_true(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	assert_int_equal(out.op, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(out.fwd_cnt, 101);
	assert_int_equal(out.buf_alloc, VSOCK_CONN_BUF);
	/* A CREDIT_REQUEST is answered with an update too. */
	h = guest_pkt(VSOCK_OP_CREDIT_REQUEST, 0);
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_NONE);
	assert_true(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	assert_int_equal(out.op, VSOCK_OP_CREDIT_UPDATE);
	vsock_conn_clear(&c);
}

static void test_peer_credit(void **state)
{
	struct vsock_conn c;
	struct vsock_hdr h = guest_pkt(VSOCK_OP_CREDIT_UPDATE, 0), out;

	open_peer_conn(&c);
	assert_int_equal(vsock_conn_peer_credit(&c), 65536);
	vsock_conn_fill_hdr(&c, GUEST_CID, VSOCK_OP_RW, 65000, 0, &out);
	assert_int_equal(vsock_conn_peer_credit(&c), 536);
	assert_true(vsock_conn_wants_host_data(&c));
	vsock_conn_fill_hdr(&c, GUEST_CID, VSOCK_OP_RW, 536, 0, &out);
	/* A guest that stops reading gets no more: ember stops reading the host. */
	assert_int_equal(vsock_conn_peer_credit(&c), 0);
	assert_false(vsock_conn_wants_host_data(&c));
	h.fwd_cnt = 4096;
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_NONE);
	assert_int_equal(vsock_conn_peer_credit(&c), 4096);
	/* A lying fwd_cnt (ahead of what was sent) or a shrunk buffer: none. */
	h.fwd_cnt = 70000;
	vsock_conn_recv(&c, &h);
	assert_int_equal(vsock_conn_peer_credit(&c), 0);
	h.fwd_cnt = 4096;
	h.buf_alloc = 100;
	vsock_conn_recv(&c, &h);
	assert_int_equal(vsock_conn_peer_credit(&c), 0);
	vsock_conn_clear(&c);
}

static void test_local_handshake_and_timeout(void **state)
{
	struct vsock_conn c;
	struct vsock_hdr h = guest_pkt(VSOCK_OP_RESPONSE, 0), out;

	vsock_conn_init_local(&c, VSOCK_LOCAL_PORT_FIRST, 52, 1000);
	assert_true(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	assert_int_equal(out.op, VSOCK_OP_REQUEST);
	assert_int_equal(out.dst_port, 52);
	assert_int_equal(out.src_port, VSOCK_LOCAL_PORT_FIRST);
	assert_false(vsock_conn_check_deadline(&c, 2999));
	h.src_port = 52;
	h.dst_port = VSOCK_LOCAL_PORT_FIRST;
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_ESTABLISHED);
	assert_false(vsock_conn_check_deadline(&c, 10000)); /* answered: no deadline */

	vsock_conn_init_local(&c, VSOCK_LOCAL_PORT_FIRST, 52, 1000);
	assert_true(vsock_conn_check_deadline(&c, 3000)); /* the guest never answered */
	assert_int_equal(c.state, VSOCK_CONN_DEAD);
	assert_true(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	assert_int_equal(out.op, VSOCK_OP_RST);

	/* A RST from the guest refuses it: nothing is sent back. */
	vsock_conn_init_local(&c, VSOCK_LOCAL_PORT_FIRST, 52, 1000);
	vsock_conn_next_ctrl(&c, GUEST_CID, &out);
	h.op = VSOCK_OP_RST;
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_KILL);
	assert_false(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	vsock_conn_clear(&c);
}

static void test_shutdown(void **state)
{
	struct vsock_conn c;
	struct vsock_hdr h = guest_pkt(VSOCK_OP_SHUTDOWN, 0), out;

	/* Host EOF: SHUTDOWN(SEND) to the guest, which may still send. */
	open_peer_conn(&c);
	vsock_conn_host_eof(&c);
	assert_true(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	assert_int_equal(out.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(out.flags, VSOCK_SHUTDOWN_SEND);
	assert_false(vsock_conn_wants_host_data(&c));
	h.flags = VSOCK_SHUTDOWN_SEND;
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_SHUT_HOST);
	h = guest_pkt(VSOCK_OP_RW, 1);
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_KILL); /* data after its own SHUTDOWN(SEND) */
	vsock_conn_clear(&c);

	/* Host gone: SHUTDOWN both, the guest's RST or the timeout ends it. */
	open_peer_conn(&c);
	vsock_conn_host_closed(&c, 500);
	assert_true(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	assert_int_equal(out.flags, VSOCK_SHUTDOWN_BOTH);
	assert_false(vsock_conn_check_deadline(&c, 2499));
	assert_true(vsock_conn_check_deadline(&c, 2500));
	assert_true(vsock_conn_next_ctrl(&c, GUEST_CID, &out));
	assert_int_equal(out.op, VSOCK_OP_RST);
	vsock_conn_clear(&c);

	/* A REQUEST on a live connection: the states disagree, RST. */
	open_peer_conn(&c);
	h = guest_pkt(VSOCK_OP_REQUEST, 0);
	assert_int_equal(vsock_conn_recv(&c, &h), VSOCK_RECV_KILL);
	vsock_conn_clear(&c);
}

static void test_txbuf_wrap(void **state)
{
	struct vsock_txbuf b = { .head = UINT32_MAX - 10, .tail = UINT32_MAX - 10 };
	static uint8_t data[VSOCK_CONN_BUF], back[VSOCK_CONN_BUF];
	struct iovec iov[2];
	size_t got = 0;
	int n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(vsock_txbuf_push(&b, data, 1000), 0);
	vsock_txbuf_pop(&b, 1000);
	assert_int_equal(vsock_txbuf_push(&b, data, VSOCK_CONN_BUF), 0);
	assert_int_equal(vsock_txbuf_push(&b, data, 1), -ENOBUFS);
	n = vsock_txbuf_peek(&b, iov);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		memcpy(back + got, iov[i].iov_base, iov[i].iov_len);
		got += iov[i].iov_len;
	}
	assert_int_equal(got, VSOCK_CONN_BUF);
	assert_memory_equal(back, data, VSOCK_CONN_BUF);
	vsock_txbuf_pop(&b, VSOCK_CONN_BUF + 5);
	assert_int_equal(vsock_txbuf_len(&b), 0);
	free(b.data);
}

static int line(const char *s, uint32_t *port)
{
	size_t used = 0;

	return vsock_connect_line_parse(s, strlen(s), port, &used);
}

static void test_connect_line(void **state)
{
	uint32_t port = 0;
	size_t used;
	char big[40];

	assert_int_equal(line("CONNECT 52\n", &port), 1);
	assert_int_equal(port, 52);
	assert_int_equal(line("connect 10789\r\n", &port), 1);
	assert_int_equal(port, 10789);
	assert_int_equal(line("CoNnEcT\t4294967295 \n", &port), 1);
	assert_int_equal(port, UINT32_MAX);
	assert_int_equal(vsock_connect_line_parse("CONNECT 52\nxyz", 14, &port, &used), 1);
	assert_int_equal(used, 11);
	/* Partial lines wait for more. */
	assert_int_equal(line("", &port), 0);
	assert_int_equal(line("CONN", &port), 0);
	assert_int_equal(line("CONNECT 5", &port), 0);
	assert_int_equal(line("CONNECT 5\r", &port), 0);
	/* Bad ones fail as soon as they are bad. */
	assert_int_equal(line("CONNECT abc\n", &port), -EINVAL);
	assert_int_equal(line("HELLO 52 x\n", &port), -EINVAL);
	assert_int_equal(line("CONNECT 52 x\n", &port), -EINVAL);
	assert_int_equal(line("CONNECT52\n", &port), -EINVAL);
	assert_int_equal(line("CONNECT \n", &port), -EINVAL);
	assert_int_equal(line("CONNECT -1\n", &port), -EINVAL);
	assert_int_equal(line("CONNECT 4294967296\n", &port), -EINVAL);
	assert_int_equal(line("CONNECT 5\r\r\n", &port), -EINVAL);
	/* 32 bytes without a newline. */
	snprintf(big, sizeof(big), "CONNECT %024d", 5);
	assert_int_equal(strlen(big), 32);
	assert_int_equal(line(big, &port), -EINVAL);
	snprintf(big, sizeof(big), "CONNECT %023d\n", 5);
	assert_int_equal(line(big, &port), 1); /* 32 bytes with the newline */
	snprintf(big, sizeof(big), "CONNECT %024d\n", 5);
	assert_int_equal(line(big, &port), -EINVAL);
}

static void test_port_alloc(void **state)
{
	struct vsock_conn_table t;
	struct vsock_conn *c;
	uint32_t port, a, b;

	vsock_conn_table_init(&t);
	assert_int_equal(vsock_local_port_alloc(&t, &port), 0);
	assert_int_equal(port, VSOCK_LOCAL_PORT_FIRST); /* the first is 2^30 */
	assert_int_equal(vsock_local_port_alloc(&t, &port), 0);
	assert_int_equal(port, VSOCK_LOCAL_PORT_FIRST + 1);
	/* Near the end: it wraps to 2^30, skipping ports still in use. */
	for (uint32_t p = VSOCK_LOCAL_PORT_FIRST; p < VSOCK_LOCAL_PORT_FIRST + 3; p++) {
		c = vsock_conn_table_add(&t);
		assert_non_null(c);
		c->local_port = p;
		c->peer_port = 52;
	}
	t.next_local_port = VSOCK_LOCAL_PORT_END - 1;
	assert_int_equal(vsock_local_port_alloc(&t, &a), 0);
	assert_int_equal(a, VSOCK_LOCAL_PORT_END - 1);
	assert_int_equal(vsock_local_port_alloc(&t, &b), 0);
	assert_int_equal(b, VSOCK_LOCAL_PORT_FIRST + 3);
	assert_non_null(vsock_conn_table_find(&t, VSOCK_LOCAL_PORT_FIRST + 1, 52));
	assert_null(vsock_conn_table_find(&t, VSOCK_LOCAL_PORT_FIRST + 1, 53));
	vsock_conn_table_clear(&t);
	assert_int_equal(t.count, 0);
}

static void test_table_cap(void **state)
{
	struct vsock_conn_table t;
	uint32_t port;

	vsock_conn_table_init(&t);
	for (unsigned i = 0; i < VSOCK_CONNS_MAX; i++) {
		struct vsock_conn *c = vsock_conn_table_add(&t);

		assert_non_null(c);
		assert_int_equal(vsock_local_port_alloc(&t, &c->local_port) == 0 || i == VSOCK_CONNS_MAX - 1, 1);
	}
	assert_null(vsock_conn_table_add(&t));
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(vsock_local_port_alloc(&t, &port), -ENOSPC);
	vsock_conn_table_remove(&t, 5);
	assert_int_equal(t.count, VSOCK_CONNS_MAX - 1);
	assert_int_equal(vsock_local_port_alloc(&t, &port), 0);
	vsock_conn_table_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_tx_check),
		cmocka_unit_test(test_overrun),
		cmocka_unit_test(test_credit_update_threshold),
		cmocka_unit_test(test_peer_credit),
		cmocka_unit_test(test_local_handshake_and_timeout),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_txbuf_wrap),
		cmocka_unit_test(test_connect_line),
		cmocka_unit_test(test_port_alloc),
		cmocka_unit_test(test_table_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
