/* The MMDS stack of one interface: the detour against every frame class (a
 * frame for the MMDS that would reach the TAP fails), ARP answers, a whole
 * TCP exchange in frames, what the answers look like, the counters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/arp.h"
#include "net/bytes.h"
#include "net/ipv4.h"
#include "net/stack.h"

#define MMDS_IP 0xa9fea9feu
#define GUEST_IP 0xc0a80002u

static const uint8_t gmac[6] = { 2, 0, 0, 0, 0, 7 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t gw_mac[6] = { 2, 0, 0, 0, 0, 1 };

struct world {
	struct mmds_stack *s;
	struct mmds_metrics m;
	uint64_t now;
	int calls;
};

static int respond(void *ctx, const char *req, size_t len, char **ret, size_t *ret_len)
{
	struct world *w = ctx;

	w->calls++;
	*ret = strdup("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok");
	*ret_len = strlen(*ret);
	return 0;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct mmds_stack_config cfg = { .ipv4 = MMDS_IP, .respond = respond, .seed = 7, .m = &w->m };

	cfg.ctx = w;
	assert_int_equal(mmds_stack_new(&cfg, &w->s), 0);
	w->now = 5000;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	mmds_stack_free(w->s);
	free(w);
	return 0;
}

static size_t arp_frame(uint8_t *f, const uint8_t *dst, uint16_t op, uint32_t tpa)
{
	size_t n = eth_write(f, dst, gmac, ETHERTYPE_ARP);

	n += arp_write_reply(f + n, gmac, GUEST_IP, bcast, tpa);
	net_put16(f + ETH_HDR_LEN + 6, op);
	return n;
}

/* An IPv4 datagram of proto with plen payload bytes (a TCP segment when
 * seg is given) from the guest to dst. */
static size_t ip_frame(uint8_t *f, const uint8_t *dmac, uint32_t dst, uint8_t proto, const struct tcp_out *seg,
		       const char *data)
{
	size_t n = eth_write(f, dmac, gmac, ETHERTYPE_IPV4), l;

	if (seg)
		l = tcp_write(f + n + IPV4_HDR_LEN, GUEST_IP, dst, seg, (const uint8_t *)data, data ? strlen(data) : 0);
	else
		memset(f + n + IPV4_HDR_LEN, 0x11, l = 8);
	ipv4_write(f + n, GUEST_IP, dst, proto, l);
	f[n + 8] = 64; /* a guest's TTL */
	net_put16(f + n + 10, 0);
	net_put16(f + n + 10, inet_fold(inet_sum(f + n, IPV4_HDR_LEN, 0)));
	return n + IPV4_HDR_LEN + l;
}

static bool detour(struct world *w, const uint8_t *f, size_t n)
{
	return mmds_stack_detour(w->s, f, n, false, w->now);
}

/* Every class of frame, and where it must go. */
static void test_frame_classes(void **state)
{
	struct world *w = *state;
	uint8_t f[256];
	struct tcp_out syn = { .sport = 4000, .dport = 80, .seq = 1, .flags = TCP_SYN, .window = 1000 };
	size_t n;

	/* to the TAP */
	assert_false(detour(w, f, arp_frame(f, bcast, ARP_OP_REQUEST, 0xc0a80001)));
	assert_false(detour(w, f, ip_frame(f, gw_mac, 0x08080808, IPV4_PROTO_TCP, &syn, NULL)));
	assert_false(detour(w, f, ip_frame(f, gw_mac, 0x08080808, 17, NULL, NULL)));
	n = ip_frame(f, gw_mac, MMDS_IP, 17, NULL, NULL);
	net_put16(f + 12, 0x86dd); /* IPv6 (the bytes where an IPv4 destination would be mean nothing) */
	assert_false(detour(w, f, n));
	assert_false(detour(w, f, 13)); /* shorter than Ethernet */
	assert_int_equal(w->m.rx_bad_eth, 1);
	n = ip_frame(f, gw_mac, MMDS_IP, 17, NULL, NULL);
	assert_false(detour(w, f, ETH_HDR_LEN + 19)); /* no whole IPv4 destination field */
	assert_int_equal(w->m.rx_accepted, 0);
	assert_false(mmds_stack_pending(w->s));

	/* to the MMDS, whatever their state */
	assert_true(detour(w, f, arp_frame(f, bcast, ARP_OP_REQUEST, MMDS_IP)));
	assert_true(detour(w, f, arp_frame(f, bcast, ARP_OP_REPLY, MMDS_IP)));
	assert_true(detour(w, f, ip_frame(f, gw_mac, MMDS_IP, 17, NULL, NULL))); /* UDP */
	assert_true(detour(w, f, ip_frame(f, gw_mac, MMDS_IP, 1, NULL, NULL)));  /* ICMP */
	n = ip_frame(f, gw_mac, MMDS_IP, IPV4_PROTO_TCP, &syn, NULL);
	f[ETH_HDR_LEN + 6] = 0x20; /* a fragment */
	assert_true(detour(w, f, n));
	f[ETH_HDR_LEN] = 0x46; /* options, and now a bad header checksum */
	assert_true(detour(w, f, n));
	f[ETH_HDR_LEN] = 0x65; /* not even version 4 */
	assert_true(detour(w, f, n));
	assert_true(detour(w, f, ETH_HDR_LEN + 20)); /* truncated after the destination */
	n = ip_frame(f, MMDS_MAC, 0x08080808, 17, NULL, NULL);
	assert_true(detour(w, f, n)); /* to the MMDS MAC */
	net_put16(f + 12, 0x88b5);
	assert_true(detour(w, f, n)); /* any type to the MMDS MAC */
	assert_true(detour(w, f, 8)); /* even a runt */
	/* 802.1Q-tagged frames for the MMDS IP */
	n = ip_frame(f + 4, gw_mac, MMDS_IP, IPV4_PROTO_TCP, &syn, NULL);
	memmove(f, f + 4, 12);
	net_put16(f + 12, ETHERTYPE_VLAN);
	net_put16(f + 14, 5);
	assert_true(detour(w, f, n + 4));
	net_put16(f + 16 + 16 + 2, 0x0808); /* ...and not: another destination */
	assert_false(detour(w, f, n + 4));
	assert_int_equal(w->m.rx_accepted, 12);
	assert_int_equal(w->m.rx_count, 0);
	assert_int_equal(w->m.connections_created, 0);
	/* the one well-formed request among them gets its answer */
	assert_true(mmds_stack_pending(w->s));
}

static void test_arp_latest_only(void **state)
{
	struct world *w = *state;
	uint8_t f[128], out[MMDS_FRAME_MAX];
	struct arp_request r;
	size_t n;

	assert_true(detour(w, f, arp_frame(f, bcast, ARP_OP_REQUEST, MMDS_IP)));
	n = arp_frame(f, bcast, ARP_OP_REQUEST, MMDS_IP);
	net_put32(f + ETH_HDR_LEN + 14, 0xc0a80009); /* a second asker */
	assert_true(detour(w, f, n));
	assert_int_equal(mmds_stack_write(w->s, out, ETH_HDR_LEN + ARP_LEN - 1, w->now), 0); /* does not fit */
	n = mmds_stack_write(w->s, out, sizeof(out), w->now);
	assert_int_equal(n, ETH_HDR_LEN + ARP_LEN);
	assert_memory_equal(out, gmac, 6);
	assert_memory_equal(out + 6, MMDS_MAC, 6);
	assert_int_equal(net_get16(out + 12), ETHERTYPE_ARP);
	assert_int_equal(net_get16(out + ETH_HDR_LEN + 6), ARP_OP_REPLY);
	assert_memory_equal(out + ETH_HDR_LEN + 8, MMDS_MAC, 6);
	assert_int_equal(net_get32(out + ETH_HDR_LEN + 14), MMDS_IP);
	assert_int_equal(net_get32(out + ETH_HDR_LEN + 24), 0xc0a80009);
	(void)r;
	assert_int_equal(mmds_stack_write(w->s, out, sizeof(out), w->now), 0);
	assert_int_equal(w->m.tx_frames, 1);
	assert_int_equal(w->m.tx_bytes, ETH_HDR_LEN + ARP_LEN);
}

/* Reads the next answer frame as the guest would, checking what the issue
 * asks of every frame: MMDS MAC and IP as source, TTL 1, checksums. */
static size_t next_tcp(struct world *w, struct tcp_seg *seg, uint8_t *out)
{
	struct ipv4_view ip;
	size_t n = mmds_stack_write(w->s, out, MMDS_FRAME_MAX, w->now);

	if (!n)
		return 0;
	assert_memory_equal(out, gmac, 6);
	assert_memory_equal(out + 6, MMDS_MAC, 6);
	assert_int_equal(net_get16(out + 12), ETHERTYPE_IPV4);
	assert_int_equal(ipv4_parse(out + ETH_HDR_LEN, n - ETH_HDR_LEN, &ip), 0);
	assert_int_equal(out[ETH_HDR_LEN + 8], 1);
	assert_int_equal(ip.src, MMDS_IP);
	assert_int_equal(ip.dst, GUEST_IP);
	assert_int_equal(tcp_parse(ip.payload, ip.len, ip.src, ip.dst, true, seg), 0);
	assert_int_equal(seg->sport, 80);
	return n;
}

static void test_tcp_exchange(void **state)
{
	struct world *w = *state;
	uint8_t f[256], out[MMDS_FRAME_MAX];
	struct tcp_out h = { .sport = 4000, .dport = 80, .seq = 100, .flags = TCP_SYN, .window = 64000, .mss = 1460 };
	struct tcp_seg s;
	const char *req = "GET /latest HTTP/1.1\r\n\r\n";
	size_t n;

	assert_true(detour(w, f, ip_frame(f, gw_mac, MMDS_IP, IPV4_PROTO_TCP, &h, NULL)));
	assert_true(next_tcp(w, &s, out));
	assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(s.mss, 1460);
	h = (struct tcp_out){ .sport = 4000, .dport = 80, .seq = 101, .ack = s.seq + 1, .flags = TCP_ACK,
			      .window = 64000 };
	assert_true(detour(w, f, ip_frame(f, gw_mac, MMDS_IP, IPV4_PROTO_TCP, &h, req)));
	assert_int_equal(w->calls, 1);
	assert_true(next_tcp(w, &s, out));
	assert_int_equal(s.len, strlen("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"));
	assert_int_equal(s.ack, 101 + strlen(req));
	/* a corrupted checksum is dropped and counted; offloaded, it is not checked */
	h.seq = 101 + (uint32_t)strlen(req);
	h.ack = s.seq + (uint32_t)s.len;
	h.flags = TCP_ACK | TCP_FIN;
	n = ip_frame(f, gw_mac, MMDS_IP, IPV4_PROTO_TCP, &h, NULL);
	f[n - 3] ^= 0xff;
	assert_true(detour(w, f, n));
	assert_int_equal(w->m.rx_accepted_err, 1);
	assert_int_equal(next_tcp(w, &s, out), 0);
	assert_true(mmds_stack_detour(w->s, f, n, true, w->now));
	assert_true(next_tcp(w, &s, out));
	assert_int_equal(s.flags, TCP_ACK | TCP_FIN);
	h.seq++;
	h.ack = s.seq + 1;
	h.flags = TCP_ACK;
	assert_true(detour(w, f, ip_frame(f, gw_mac, MMDS_IP, IPV4_PROTO_TCP, &h, NULL)));
	assert_int_equal(mmds_stack_connections(w->s), 0);
	assert_int_equal(w->m.connections_created, 1);
	assert_int_equal(w->m.connections_destroyed, 1);
	assert_int_equal(w->m.rx_count, 4);
	assert_int_equal(w->m.tx_frames, 3);
	assert_int_equal(mmds_stack_deadline(w->s), 0);
}

/* The iovec entry points: a frame split anywhere, after a 12-byte header. */
static void test_iovecs(void **state)
{
	struct world *w = *state;
	uint8_t f[256], buf[300], out[MMDS_FRAME_MAX];
	struct tcp_out syn = { .sport = 4001, .dport = 80, .seq = 1, .flags = TCP_SYN, .window = 1000 };
	size_t n = ip_frame(f, gw_mac, MMDS_IP, IPV4_PROTO_TCP, &syn, NULL), len;

	memset(buf, 0xaa, 12);
	memcpy(buf + 12, f, n);
	for (size_t cut = 1; cut < n + 12; cut += 7) {
		struct iovec iov[2] = { { buf, cut }, { buf + cut, n + 12 - cut } };

		assert_true(mmds_stack_detour_iov(w->s, iov, 2, 12, false, w->now));
	}
	n = ip_frame(f, gw_mac, 0x08080808, IPV4_PROTO_TCP, &syn, NULL);
	memcpy(buf + 12, f, n);
	{
		struct iovec iov[3] = { { buf, 5 }, { buf + 5, 30 }, { buf + 35, n + 12 - 35 } };

		assert_false(mmds_stack_detour_iov(w->s, iov, 3, 12, false, w->now));
	}
	memset(out, 0xee, sizeof(out));
	{
		struct iovec iov[2] = { { out, 7 }, { out + 7, sizeof(out) - 7 } };

		assert_int_equal(mmds_stack_write_iov(w->s, iov, 2, 12 + 40, 12, w->now), 0); /* too small */
		len = mmds_stack_write_iov(w->s, iov, 2, sizeof(out), 12, w->now);
	}
	assert_int_equal(len, 12 + ETH_HDR_LEN + IPV4_HDR_LEN + TCP_HDR_LEN + TCP_MSS_OPT_LEN);
	for (int i = 0; i < 12; i++)
		assert_int_equal(out[i], 0);
	assert_memory_equal(out + 12 + 6, MMDS_MAC, 6);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_frame_classes),
		T(test_arp_latest_only),
		T(test_tcp_exchange),
		T(test_iovecs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
