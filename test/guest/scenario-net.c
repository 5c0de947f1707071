/* Scenario net: the first virtio-net device against the host kernel across
 * its TAP (the test puts probe.net_peer on the TAP, in a private netns).
 * Parameters:
 *   probe.net_ip=A.B.C.D      this guest's address (/24 with the peer)
 *   probe.net_peer=A.B.C.D    the host's address on the TAP
 *   probe.net_token=T         the UDP payload is the line "ember-net-T" repeated
 *   probe.net_udp_port=N      where the host listens (default 9000)
 *   probe.net_serve_ms=N      how long to answer ARP and pings and count UDP
 *                             datagrams to port 9001 at the end (default 0)
 * Lines: PROBE net.arp, PROBE irq.net, PROBE net.ping, PROBE net.tx_csum with
 * PROBE-INFO net.tx_csum <quoted checksum>, PROBE-INFO net.rx <count> <bytes>. */
#include "net-probe.h"
#include "probe.h"

#define UDP_LEN 1400u
#define PINGS 5u

static struct pnet net;

static bool peer_known(const struct pnet *n)
{
	return n->peer_known;
}

static bool all_pings(const struct pnet *n)
{
	return (n->echo_seen & ((1u << PINGS) - 1)) == (1u << PINGS) - 1;
}

static bool unreachable(const struct pnet *n)
{
	return n->unreach_seen;
}

static void net_arp(struct pnet *n)
{
	for (unsigned i = 0; i < 4 && !n->peer_known; i++) {
		pnet_send_arp_request(n);
		pnet_wait(n, peer_known, 500);
	}
	probe_check("net.arp", n->peer_known, "no ARP reply from the peer in 2 s");
}

/* The used-buffer interrupt of a sent frame reaches the LAPIC IRR. */
static void net_trigger_used(void)
{
	pnet_send_arp_request(&net);
	vp_write(&net.dev, VP_MMIO_INTERRUPT_ACK, vp_read(&net.dev, VP_MMIO_INTERRUPT_STATUS));
}

static void net_ping(struct pnet *n)
{
	for (uint16_t seq = 0; seq < PINGS; seq++)
		pnet_send_echo(n, seq);
	pnet_wait(n, all_pings, 3000);
	probe_check("net.ping", all_pings(n), "echo replies seen 0x%x of 0x%x", n->echo_seen, (1u << PINGS) - 1);
}

/* "ember-net-<token>\n" over the whole payload; the token is copied by
 * length (probe_param points into the command line). */
static void fill_payload(void)
{
	static const char prefix[] = "ember-net-";
	size_t tlen = 0, len = sizeof(prefix) - 1;
	const char *token = probe_param("probe.net_token", &tlen);
	uint8_t *p = pnet_udp_payload();
	char line[96];

	if (!token)
		tlen = 0;
	if (tlen > 64)
		tlen = 64;
	memcpy(line, prefix, len);
	if (tlen)
		memcpy(line + len, token, tlen);
	len += tlen;
	line[len++] = '\n';
	for (unsigned i = 0; i < UDP_LEN; i++)
		p[i] = (uint8_t)line[i % len];
}

/* The first datagram goes to the listener; the second to port + 1, where
 * nothing listens: the peer's port unreachable quotes its UDP header, so the
 * checksum the kernel saw can be read back. */
static void net_tx_csum(struct pnet *n, uint16_t port)
{
	uint16_t partial, full;

	n->unreach_want = (uint16_t)(port + 1);
	fill_payload();
	pnet_send_udp_partial(n, port, UDP_LEN, &partial);
	fill_payload();
	full = pnet_send_udp_partial(n, (uint16_t)(port + 1), UDP_LEN, &partial);
	pnet_wait(n, unreachable, 3000);
	if (!n->unreach_seen) {
		probe_fail("net.tx_csum", "no port unreachable for port %u in 3 s (datagram dropped?)", port + 1u);
		return;
	}
	probe_info("net.tx_csum", "0x%04x", n->unreach_csum);
	probe_check("net.tx_csum", n->unreach_port == port + 1u && (n->unreach_csum == full || n->unreach_csum == partial),
		    "quoted port %u checksum 0x%04x, expected 0x%04x (full) or 0x%04x (partial)", n->unreach_port,
		    n->unreach_csum, full, partial);
}

static void net_serve(struct pnet *n)
{
	uint64_t ms = 0, deadline;

	probe_param_u64("probe.net_serve_ms", &ms);
	deadline = probe_deadline_ms(ms);
	while (!probe_deadline_passed(deadline))
		pnet_poll(n);
	probe_info("net.rx", "%u %lu", n->udp_count, n->udp_bytes);
}

void scenario_net(void)
{
	uint64_t port = 9000;
	const char *err = pnet_open(&net, NET_F_CSUM | VP_F_EVENT_IDX);

	if (err) {
		probe_fail("net.init", "%s", err);
		return;
	}
	probe_param_u64("probe.net_udp_port", &port);
	pnet_post_rx(&net, 0, VP_QN);
	net_arp(&net);
	probe_irq_check("irq.net", net.dev.irq, net_trigger_used);
	if (!net.peer_known)
		return;
	net_ping(&net);
	net_tx_csum(&net, (uint16_t)port);
	net_serve(&net);
}
