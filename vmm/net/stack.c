#include "stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arp.h"
#include "devices/virtio/queue.h"
#include "bytes.h"
#include "ipv4.h"
#include "tcp-table.h"

#define STACK_COUNT(s, name, v) metrics_local_add((s)->m->name, (v))
/* Room for up to two VLAN tags before the ARP or IPv4 header in the peek. */
#define STACK_PEEK (ETH_HDR_LEN + 2 * ETH_VLAN_LEN + ARP_LEN)

const uint8_t MMDS_MAC[ETH_ADDR_LEN] = { 0x06, 0x01, 0x23, 0x45, 0x67, 0x01 };
/* The virtio-net header of an answer: no offloads (12 bytes; more is never asked). */
static const uint8_t stack_zeros[16];

struct mmds_stack {
	uint32_t ipv4;
	uint16_t mss_cap;
	struct mmds_metrics *m;
	bool arp_pending;
	struct arp_request arp; /* the latest request for our address */
	uint64_t created_seen, destroyed_seen;
	uint8_t in[MMDS_RX_FRAME_MAX];
	uint8_t out[MMDS_FRAME_MAX];
	struct tcp_table tcp;
};

int mmds_stack_new(const struct mmds_stack_config *cfg, struct mmds_stack **ret)
{
	struct mmds_stack *s = calloc(1, sizeof(*s));
	uint16_t mtu = cfg->mtu && cfg->mtu < 1500 ? cfg->mtu : 1500;
	struct tcp_conn_env env = { .local_port = MMDS_TCP_PORT, .respond = cfg->respond, .ctx = cfg->ctx };

	if (!s)
		return -ENOMEM;
	s->ipv4 = cfg->ipv4;
	s->m = cfg->m;
	/* an MTU below what IPv4 and TCP need still gets the smallest MSS TCP allows */
	s->mss_cap = mtu > IPV4_HDR_LEN + TCP_HDR_LEN + TCP_MSS_MIN ? mtu - IPV4_HDR_LEN - TCP_HDR_LEN : TCP_MSS_MIN;
	env.mss_cap = s->mss_cap;
	tcp_table_init(&s->tcp, cfg->ipv4, &env, cfg->seed);
	*ret = s;
	return 0;
}

struct mmds_stack *mmds_stack_free(struct mmds_stack *s)
{
	if (!s)
		return NULL;
	tcp_table_clear(&s->tcp);
	free(s);
	return NULL;
}

enum stack_class { CLASS_PASS, CLASS_ARP, CLASS_IPV4, CLASS_DROP };

/* Which way a frame goes, from its address fields alone (see stack.h). */
static enum stack_class stack_classify(const struct mmds_stack *s, const uint8_t *f, size_t len)
{
	bool to_mac = len >= ETH_ADDR_LEN && !memcmp(f, MMDS_MAC, ETH_ADDR_LEN);
	size_t off = 2 * ETH_ADDR_LEN;
	unsigned tags = 0;
	uint16_t type;
	uint32_t a;

	if (len < ETH_HDR_LEN)
		return to_mac ? CLASS_DROP : CLASS_PASS;
	type = net_get16(f + off);
	while ((type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) && tags < 2 && len >= off + 2 + ETH_VLAN_LEN) {
		off += ETH_VLAN_LEN;
		type = net_get16(f + off);
		tags++;
	}
	off += 2;
	if (type == ETHERTYPE_ARP && arp_target(f + off, len - off, &a) && a == s->ipv4)
		return tags ? CLASS_DROP : CLASS_ARP;
	if (type == ETHERTYPE_IPV4 && ipv4_peek_dst(f + off, len - off, &a) && a == s->ipv4)
		return tags ? CLASS_DROP : CLASS_IPV4;
	return to_mac ? CLASS_DROP : CLASS_PASS;
}

static void stack_arp(struct mmds_stack *s, const struct eth_view *e)
{
	struct arp_request r;

	if (arp_parse_request(e->payload, e->len, &r) < 0) {
		STACK_COUNT(s, rx_accepted_err, 1);
		return;
	}
	s->arp = r; /* only the latest request waits (Firecracker's pending_arp_reply_dest) */
	s->arp_pending = true;
}

static void stack_tcp_events(struct mmds_stack *s)
{
	STACK_COUNT(s, connections_created, s->tcp.created - s->created_seen);
	STACK_COUNT(s, connections_destroyed, s->tcp.destroyed - s->destroyed_seen);
	s->created_seen = s->tcp.created;
	s->destroyed_seen = s->tcp.destroyed;
}

static void stack_ipv4(struct mmds_stack *s, const struct eth_view *e, bool csum_partial, uint64_t now)
{
	struct ipv4_view ip;
	struct tcp_seg seg;
	int r = ipv4_parse(e->payload, e->len, &ip);

	if (r == -EOPNOTSUPP || (r == 0 && ip.proto != IPV4_PROTO_TCP)) {
		STACK_COUNT(s, rx_accepted_unusual, 1);
		return;
	}
	if (r < 0 || tcp_parse(ip.payload, ip.len, ip.src, ip.dst, !csum_partial, &seg) < 0) {
		STACK_COUNT(s, rx_accepted_err, 1);
		return;
	}
	STACK_COUNT(s, rx_count, 1);
	tcp_table_receive(&s->tcp, ip.src, e->src, &seg, now);
	stack_tcp_events(s);
}

bool mmds_stack_detour(struct mmds_stack *s, const uint8_t *frame, size_t len, bool csum_partial, uint64_t now)
{
	enum stack_class c = stack_classify(s, frame, len);
	struct eth_view e;

	if (c == CLASS_PASS) {
		if (len < ETH_HDR_LEN)
			STACK_COUNT(s, rx_bad_eth, 1);
		return false;
	}
	STACK_COUNT(s, rx_accepted, 1);
	if (c == CLASS_DROP || eth_parse(frame, len, &e) < 0) {
		STACK_COUNT(s, rx_accepted_unusual, 1);
		return true;
	}
	if (c == CLASS_ARP)
		stack_arp(s, &e);
	else
		stack_ipv4(s, &e, csum_partial, now);
	return true;
}

bool mmds_stack_detour_iov(struct mmds_stack *s, const struct iovec *iov, unsigned n, size_t skip,
			   bool csum_partial, uint64_t now)
{
	uint8_t peek[STACK_PEEK];
	size_t got = virtq_iov_read(iov, n, skip, peek, sizeof(peek));

	/* Most frames are decided by their first bytes, without copying the rest. */
	if (got < sizeof(peek) || stack_classify(s, peek, got) != CLASS_PASS) {
		got = virtq_iov_read(iov, n, skip, s->in, sizeof(s->in));
		return mmds_stack_detour(s, s->in, got, csum_partial, now);
	}
	return false; /* the peek holds every byte the classification reads */
}

bool mmds_stack_pending(const struct mmds_stack *s)
{
	return s->arp_pending || tcp_table_pending(&s->tcp);
}

static size_t stack_write_arp(struct mmds_stack *s, uint8_t *f)
{
	size_t n = eth_write(f, s->arp.sha, MMDS_MAC, ETHERTYPE_ARP);

	n += arp_write_reply(f + n, MMDS_MAC, s->ipv4, s->arp.sha, s->arp.spa);
	s->arp_pending = false;
	return n;
}

size_t mmds_stack_write(struct mmds_stack *s, uint8_t *frame, size_t cap, uint64_t now)
{
	const size_t hdrs = ETH_HDR_LEN + IPV4_HDR_LEN;
	uint8_t mac[ETH_ADDR_LEN];
	uint32_t ip;
	size_t n;

	if (cap > MMDS_FRAME_MAX)
		cap = MMDS_FRAME_MAX;
	if (s->arp_pending) {
		if (cap < ETH_HDR_LEN + ARP_LEN)
			return 0;
		n = stack_write_arp(s, frame);
	} else {
		if (cap < hdrs + TCP_HDR_LEN + TCP_MSS_OPT_LEN)
			return 0;
		n = tcp_table_write(&s->tcp, frame + hdrs, cap - hdrs, now, &ip, mac);
		stack_tcp_events(s);
		if (!n)
			return 0;
		eth_write(frame, mac, MMDS_MAC, ETHERTYPE_IPV4);
		ipv4_write(frame + ETH_HDR_LEN, s->ipv4, ip, IPV4_PROTO_TCP, n);
		n += hdrs;
	}
	STACK_COUNT(s, tx_count, 1);
	STACK_COUNT(s, tx_frames, 1);
	STACK_COUNT(s, tx_bytes, n);
	return n;
}

size_t mmds_stack_write_iov(struct mmds_stack *s, const struct iovec *iov, unsigned n, size_t cap, size_t hdr_len,
			    uint64_t now)
{
	size_t len;

	if (cap <= hdr_len || hdr_len > sizeof(stack_zeros))
		return 0;
	len = mmds_stack_write(s, s->out, cap - hdr_len, now);
	if (!len)
		return 0;
	virtq_iov_write(iov, n, 0, stack_zeros, hdr_len);
	virtq_iov_write(iov, n, hdr_len, s->out, len);
	return hdr_len + len;
}

void mmds_stack_tick(struct mmds_stack *s, uint64_t now)
{
	tcp_table_tick(&s->tcp, now);
}

uint64_t mmds_stack_deadline(const struct mmds_stack *s)
{
	return tcp_table_deadline(&s->tcp);
}

unsigned mmds_stack_connections(const struct mmds_stack *s)
{
	return tcp_table_count(&s->tcp);
}
