/* The TCP endpoint on a fake clock: handshake, requests and responses,
 * segmentation by MSS and window, retransmission and its limit, the
 * request bound, the connection and reset limits, eviction, close. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/tcp-table.h"

#define GUEST 0xc0a80002u
#define MMDS 0xa9fea9feu

static const uint8_t gmac[6] = { 2, 0, 0, 0, 0, 1 };

struct world {
	struct tcp_table t;
	uint64_t now;
	size_t resp_len; /* each response is this many bytes of 'r' */
	int calls;
	char last_req[TCP_RCV_BUF + 1];
	int fail;
};

static int respond(void *ctx, const char *req, size_t len, char **ret, size_t *ret_len)
{
	struct world *w = ctx;

	if (w->fail)
		return w->fail;
	w->calls++;
	memcpy(w->last_req, req, len);
	w->last_req[len] = 0;
	*ret = malloc(w->resp_len ? w->resp_len : 1);
	memset(*ret, 'r', w->resp_len);
	*ret_len = w->resp_len;
	return 0;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct tcp_conn_env env = { .local_port = 80, .mss_cap = 1460, .respond = respond, .ctx = w };

	tcp_table_init(&w->t, MMDS, &env, 42);
	w->now = 1000;
	w->resp_len = 100;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	tcp_table_clear(&w->t);
	free(w);
	return 0;
}

static enum tcp_event send_seg(struct world *w, uint16_t port, uint32_t seq, uint32_t ack, uint8_t flags,
			       const char *data, uint16_t window, uint16_t mss)
{
	struct tcp_seg s = { .sport = port, .dport = 80, .seq = seq, .ack = ack, .flags = flags, .window = window,
			     .mss = mss, .data = (const uint8_t *)data, .len = data ? strlen(data) : 0 };

	return tcp_table_receive(&w->t, GUEST, gmac, &s, w->now);
}

/* The next segment from the stack, checked as the guest would; 0 if none. */
static size_t next_seg(struct world *w, uint8_t *buf, struct tcp_seg *s)
{
	uint32_t ip = 0;
	uint8_t mac[6];
	size_t n = tcp_table_write(&w->t, buf, 1600, w->now, &ip, mac);

	if (!n)
		return 0;
	assert_int_equal(ip, GUEST);
	assert_memory_equal(mac, gmac, 6);
	assert_int_equal(tcp_parse(buf, n, MMDS, GUEST, true, s), 0);
	return n;
}

/* Opens a connection from port; returns the stack's ISN. */
static uint32_t open_conn(struct world *w, uint16_t port, uint16_t window)
{
	uint8_t buf[1600];
	struct tcp_seg s;

	assert_int_equal(send_seg(w, port, 1000, 0, TCP_SYN, NULL, window, 1460), TCP_EV_CREATED);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(s.ack, 1001);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.window, TCP_RCV_BUF);
	assert_int_equal(send_seg(w, port, 1001, s.seq + 1, TCP_ACK, NULL, window, 0), TCP_EV_NOTHING);
	return s.seq;
}

static void test_request_response_close(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn = open_conn(w, 40000, 65535);
	const char *req = "GET / HTTP/1.1\r\n\r\n";

	assert_int_equal(send_seg(w, 40000, 1001, isn + 1, TCP_ACK | TCP_PSH, req, 65535, 0), TCP_EV_NOTHING);
	assert_int_equal(w->calls, 1);
	assert_string_equal(w->last_req, req);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags, TCP_ACK | TCP_PSH);
	assert_int_equal(s.seq, isn + 1);
	assert_int_equal(s.ack, 1001 + strlen(req));
	assert_int_equal(s.len, 100);
	assert_int_equal(next_seg(w, buf, &s), 0);
	assert_int_equal(tcp_table_deadline(&w->t), w->now + TCP_RTO_MS);
	/* the guest acknowledges and closes */
	assert_int_equal(send_seg(w, 40000, 1001 + 18, isn + 101, TCP_ACK | TCP_FIN, NULL, 65535, 0), TCP_EV_NOTHING);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags, TCP_ACK | TCP_FIN);
	assert_int_equal(s.ack, 1001 + 18 + 1);
	assert_int_equal(next_seg(w, buf, &s), 0);
	assert_int_equal(send_seg(w, 40000, 1020, isn + 102, TCP_ACK, NULL, 65535, 0), TCP_EV_DESTROYED);
	assert_int_equal(tcp_table_count(&w->t), 0);
	assert_int_equal(w->t.created, 1);
	assert_int_equal(w->t.destroyed, 1);
	assert_int_equal(tcp_table_deadline(&w->t), 0);
}

/* Segments: at most the guest's MSS (536 without the option), within its window. */
static void test_segmentation(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn;
	size_t sent = 0;

	w->resp_len = 3000;
	assert_int_equal(send_seg(w, 40001, 5, 0, TCP_SYN, NULL, 1200, 0), TCP_EV_CREATED);
	assert_true(next_seg(w, buf, &s));
	isn = s.seq;
	send_seg(w, 40001, 6, isn + 1, TCP_ACK, "GET /x HTTP/1.1\r\n\r\n", 1200, 0);
	while (next_seg(w, buf, &s)) {
		assert_true(s.len <= TCP_DEFAULT_MSS);
		sent += s.len;
	}
	assert_int_equal(sent, 1200); /* the window */
	send_seg(w, 40001, 6 + 19, isn + 1 + 1200, TCP_ACK, NULL, 4000, 0);
	while (next_seg(w, buf, &s))
		sent += s.len;
	assert_int_equal(sent, 3000);
	assert_int_equal(s.flags & TCP_PSH, TCP_PSH);
}

static void test_retransmit_limit(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn = open_conn(w, 40002, 65535);

	send_seg(w, 40002, 1001, isn + 1, TCP_ACK, "GET / HTTP/1.1\r\n\r\n", 65535, 0);
	assert_true(next_seg(w, buf, &s));
	for (unsigned i = 0; i < TCP_MAX_RETRANSMITS; i++) {
		uint64_t d = tcp_table_deadline(&w->t);

		assert_int_equal(d, w->now + TCP_RTO_MS);
		w->now = d - 1;
		tcp_table_tick(&w->t, w->now);
		assert_int_equal(next_seg(w, buf, &s), 0);
		w->now = d;
		tcp_table_tick(&w->t, w->now);
		assert_true(next_seg(w, buf, &s));
		assert_int_equal(s.seq, isn + 1); /* from the first unacked byte */
		assert_int_equal(s.len, 100);
	}
	w->now = tcp_table_deadline(&w->t);
	tcp_table_tick(&w->t, w->now);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags & TCP_RST, TCP_RST);
	assert_int_equal(tcp_table_count(&w->t), 0);
	assert_int_equal(w->t.destroyed, 1);
}

static void test_synack_retransmitted(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;

	send_seg(w, 40003, 77, 0, TCP_SYN, NULL, 100, 0);
	assert_true(next_seg(w, buf, &s));
	w->now += TCP_RTO_MS;
	tcp_table_tick(&w->t, w->now);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
	/* the guest's SYN again: the SYN-ACK again, the same connection */
	assert_int_equal(send_seg(w, 40003, 77, 0, TCP_SYN, NULL, 100, 0), TCP_EV_NOTHING);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(tcp_table_count(&w->t), 1);
}

static void test_request_too_long(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn = open_conn(w, 40004, 65535);
	char chunk[1251];

	memset(chunk, 'a', 1250);
	chunk[1250] = 0;
	send_seg(w, 40004, 1001, isn + 1, TCP_ACK, chunk, 65535, 0);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.window, TCP_RCV_BUF - 1250);
	send_seg(w, 40004, 1001 + 1250, isn + 1, TCP_ACK, chunk, 65535, 0);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags & TCP_RST, TCP_RST);
	assert_int_equal(w->calls, 0);
	assert_int_equal(tcp_table_count(&w->t), 0);
}

static void test_largest_request(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn = open_conn(w, 40005, 65535);
	char req[TCP_RCV_BUF];

	memset(req, 'a', sizeof(req));
	memcpy(req + TCP_RCV_BUF - 5, "\r\n\r\n", 5); /* 2499 bytes with the empty line */
	req[1300] = 0;
	send_seg(w, 40005, 1001, isn + 1, TCP_ACK, req, 65535, 0);
	send_seg(w, 40005, 1001 + 1300, isn + 1, TCP_ACK, req + 1301, 65535, 0);
	assert_int_equal(w->calls, 1);
	assert_int_equal(strlen(w->last_req), 1300 + strlen(req + 1301));
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.len, 100);
}

static void test_pipelined_one_at_a_time(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn = open_conn(w, 40006, 65535);
	const char *two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";

	send_seg(w, 40006, 1001, isn + 1, TCP_ACK, two, 65535, 0);
	assert_int_equal(w->calls, 1);
	assert_string_equal(w->last_req, "GET /a HTTP/1.1\r\n\r\n");
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.len, 100);
	assert_int_equal(next_seg(w, buf, &s), 0);
	send_seg(w, 40006, 1001 + 38, isn + 101, TCP_ACK, NULL, 65535, 0);
	assert_int_equal(w->calls, 2);
	assert_string_equal(w->last_req, "GET /b HTTP/1.1\r\n\r\n");
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.seq, isn + 101);
}

static void test_out_of_order_and_old(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn = open_conn(w, 40007, 65535);

	send_seg(w, 40007, 1005, isn + 1, TCP_ACK, "\r\n\r\n", 65535, 0); /* a gap before it */
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.ack, 1001);
	assert_int_equal(w->calls, 0);
	send_seg(w, 40007, 1001, isn + 1, TCP_ACK, "GET ", 65535, 0);
	send_seg(w, 40007, 1001, isn + 1, TCP_ACK, "GET / HTTP/1.1\r\n\r\n", 65535, 0); /* overlaps */
	assert_int_equal(w->calls, 1);
	assert_string_equal(w->last_req, "GET / HTTP/1.1\r\n\r\n");
}

static void test_connection_limit_and_eviction(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;

	for (uint16_t i = 0; i < TCP_TABLE_MAX; i++) {
		assert_int_equal(send_seg(w, (uint16_t)(1000 + i), 1, 0, TCP_SYN, NULL, 1000, 0), TCP_EV_CREATED);
		w->now++;
	}
	while (next_seg(w, buf, &s))
		;
	assert_int_equal(send_seg(w, 2000, 1, 0, TCP_SYN, NULL, 1000, 0), TCP_EV_REFUSED);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags, TCP_RST | TCP_ACK);
	assert_int_equal(s.ack, 2);
	assert_int_equal(s.dport, 2000);
	/* idle past the threshold: the oldest one goes */
	w->now += TCP_IDLE_MS + 1;
	send_seg(w, 1000 + 5, 2, 0, TCP_ACK, NULL, 1000, 0); /* port 1005 was active */
	while (next_seg(w, buf, &s))
		;
	assert_int_equal(send_seg(w, 2001, 1, 0, TCP_SYN, NULL, 1000, 0), TCP_EV_REPLACED);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags & TCP_RST, TCP_RST);
	assert_int_equal(s.dport, 1000);
	assert_int_equal(tcp_table_count(&w->t), TCP_TABLE_MAX);
	assert_int_equal(w->t.destroyed, 1);
}

static void test_rst_queue_bound(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	unsigned n = 0;

	for (unsigned i = 0; i < 150; i++)
		assert_int_equal(send_seg(w, (uint16_t)(3000 + i), 1, 9, TCP_ACK, NULL, 1000, 0), TCP_EV_UNEXPECTED);
	/* a stray RST gets nothing */
	assert_int_equal(send_seg(w, 4000, 1, 0, TCP_RST, NULL, 0, 0), TCP_EV_UNEXPECTED);
	while (next_seg(w, buf, &s)) {
		assert_int_equal(s.flags, TCP_RST);
		assert_int_equal(s.seq, 9);
		n++;
	}
	assert_int_equal(n, TCP_RST_QUEUE_MAX);
}

static void test_mss_and_port(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	struct tcp_seg syn = { .sport = 5, .dport = 443, .seq = 1, .flags = TCP_SYN, .window = 100 };

	assert_int_equal(send_seg(w, 4001, 1, 0, TCP_SYN, NULL, 1000, TCP_MSS_MIN - 1), TCP_EV_REFUSED);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags, TCP_RST | TCP_ACK);
	assert_int_equal(tcp_table_receive(&w->t, GUEST, gmac, &syn, w->now), TCP_EV_UNEXPECTED);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags, TCP_RST | TCP_ACK);
	assert_int_equal(s.sport, 443);
	assert_int_equal(tcp_table_count(&w->t), 0);
}

static void test_guest_reset_mid_response(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn = open_conn(w, 40008, 65535);

	w->resp_len = 2000;
	send_seg(w, 40008, 1001, isn + 1, TCP_ACK, "GET / HTTP/1.1\r\n\r\n", 65535, 0);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(send_seg(w, 40008, 1019 + 5000, isn + 1, TCP_RST, NULL, 0, 0), TCP_EV_NOTHING); /* outside */
	assert_int_equal(send_seg(w, 40008, 1019, isn + 1, TCP_RST, NULL, 0, 0), TCP_EV_DESTROYED);
	assert_int_equal(next_seg(w, buf, &s), 0);
	assert_int_equal(tcp_table_deadline(&w->t), 0);
}

static void test_zero_window_persist(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn = open_conn(w, 40009, 0);

	send_seg(w, 40009, 1001, isn + 1, TCP_ACK, "GET / HTTP/1.1\r\n\r\n", 0, 0);
	assert_true(next_seg(w, buf, &s)); /* the ACK of the request, no data */
	assert_int_equal(s.len, 0);
	assert_int_equal(next_seg(w, buf, &s), 0);
	w->now = tcp_table_deadline(&w->t);
	assert_true(w->now);
	tcp_table_tick(&w->t, w->now);
	assert_true(next_seg(w, buf, &s)); /* the probe */
	assert_int_equal(s.seq, isn);
	assert_int_equal(s.len, 0);
	send_seg(w, 40009, 1019, isn + 1, TCP_ACK, NULL, 50, 0);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.len, 50);
}

static void test_responder_failure_resets(void **state)
{
	struct world *w = *state;
	uint8_t buf[1600];
	struct tcp_seg s;
	uint32_t isn = open_conn(w, 40010, 65535);

	w->fail = -ENOMEM;
	send_seg(w, 40010, 1001, isn + 1, TCP_ACK, "GET / HTTP/1.1\r\n\r\n", 65535, 0);
	assert_true(next_seg(w, buf, &s));
	assert_int_equal(s.flags & TCP_RST, TCP_RST);
	assert_int_equal(tcp_table_count(&w->t), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_request_response_close),
		T(test_segmentation),
		T(test_retransmit_limit),
		T(test_synack_retransmitted),
		T(test_request_too_long),
		T(test_largest_request),
		T(test_pipelined_one_at_a_time),
		T(test_out_of_order_and_old),
		T(test_connection_limit_and_eviction),
		T(test_rst_queue_bound),
		T(test_mss_and_port),
		T(test_guest_reset_mid_response),
		T(test_zero_window_persist),
		T(test_responder_failure_resets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
