#include "net-probe.h"

#include "probe.h"

#define IP_ICMP 1u
#define IP_UDP 17u
#define UDP_SPORT 40000u

static uint8_t rx_buf[VP_QN][NET_BUF_LEN] __attribute__((aligned(64)));
static uint8_t tx_buf[NET_BUF_LEN] __attribute__((aligned(64)));
static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define get16 pnet_get16
#define put16 pnet_put16
#define csum_add pnet_csum_add
#define csum_fold pnet_csum_fold

uint16_t pnet_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void pnet_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071: the one's-complement sum of big-endian 16-bit words. */
uint32_t pnet_csum_add(uint32_t sum, const uint8_t *p, unsigned len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t pnet_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

bool pnet_parse_ip(const char *s, unsigned len, uint8_t ip[4])
{
	unsigned part = 0, val = 0, digits = 0;

	for (unsigned i = 0; i <= len; i++) {
		if (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
			val = val * 10 + (unsigned)(s[i] - '0');
			digits++;
			continue;
		}
		if (!digits || val > 255 || part > 3 || (i < len && (s[i] != '.' || part == 3)))
			return false;
		ip[part++] = (uint8_t)val;
		val = digits = 0;
	}
	return part == 4;
}

static bool pnet_param_ip(const char *key, uint8_t ip[4])
{
	size_t len;
	const char *v = probe_param(key, &len);

	return v && pnet_parse_ip(v, (unsigned)len, ip);
}

const char *pnet_open(struct pnet *n, uint64_t want)
{
	if (!pnet_param_ip("probe.net_peer", n->peer))
		return "probe.net_ip and probe.net_peer must be IPv4 addresses";
	return pnet_open_peer(n, want, n->peer);
}

const char *pnet_open_peer(struct pnet *n, uint64_t want, const uint8_t peer[4])
{
	uint64_t base[VP_MAX_DEVICES];
	unsigned irq[VP_MAX_DEVICES], count = vp_find(base, irq, VP_MAX_DEVICES);
	uint8_t p[4];
	const char *err;

	memcpy(p, peer, 4); /* peer may be n->peer, which is reset here */
	*n = (struct pnet){ .echo_id = 0x454d };
	memcpy(n->peer, p, 4);
	if (!pnet_param_ip("probe.net_ip", n->ip))
		return "probe.net_ip must be an IPv4 address";
	for (unsigned i = 0; i < count; i++) {
		n->dev.base = base[i];
		if (vp_read(&n->dev, 0x008) != NET_DEVICE_ID)
			continue;
		err = vp_init_queues(&n->dev, base[i], i, want | NET_F_MAC, 2);
		if (err)
			return err;
		n->dev.irq = irq[i];
		if (n->dev.features & NET_F_MAC)
			for (unsigned b = 0; b < 6; b++)
				n->mac[b] = *(volatile uint8_t *)(uintptr_t)(base[i] + VP_MMIO_CONFIG + b);
		else
			n->mac[0] = 0x02, n->mac[5] = 0x01; /* locally administered */
		return 0;
	}
	return "no virtio-net device on the command line";
}

/* Buffer i, whole (a hostile scenario may have posted it shrunk). */
static void pnet_repost(struct pnet *n, unsigned i)
{
	n->dev.q[NET_RXQ].desc[i] = (struct vp_desc){ (uint64_t)(uintptr_t)rx_buf[i], NET_BUF_LEN, VP_DESC_F_WRITE, 0 };
	vp_post(&n->dev, NET_RXQ, (uint16_t)i);
}

void pnet_post_rx(struct pnet *n, unsigned first, unsigned end)
{
	for (unsigned i = first; i < end && i < VP_QN; i++)
		pnet_repost(n, i);
}

uint8_t *pnet_tx_frame(void)
{
	return tx_buf + NET_HDR_LEN;
}

uint8_t *pnet_udp_payload(void)
{
	return tx_buf + NET_HDR_LEN + ETH_LEN + IP_LEN + 8;
}

bool pnet_send(struct pnet *n, const struct net_hdr *h, unsigned len)
{
	uint64_t deadline = probe_deadline_ms(1000);
	uint32_t id, used;

	memcpy(tx_buf, h, sizeof(*h));
	n->dev.q[NET_TXQ].desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)tx_buf, NET_HDR_LEN + len, 0, 0 };
	vp_post(&n->dev, NET_TXQ, 0);
	while (!vp_poll(&n->dev, NET_TXQ, &id, &used))
		if (probe_deadline_passed(deadline))
			return false;
	return true;
}

static void eth_header(const struct pnet *n, uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, n->mac, 6);
	put16(f + 12, type);
}

static void pnet_send_arp(struct pnet *n, uint16_t op, const uint8_t *tha, const uint8_t *tpa)
{
	static const struct net_hdr plain;
	uint8_t *f = pnet_tx_frame(), *a = f + ETH_LEN;

	eth_header(n, f, op == 1 ? broadcast : tha, ETH_ARP);
	put16(a, 1);
	put16(a + 2, ETH_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, n->mac, 6);
	memcpy(a + 14, n->ip, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
	pnet_send(n, &plain, ETH_LEN + 28);
}

void pnet_send_arp_request(struct pnet *n)
{
	static const uint8_t zero[6];

	pnet_send_arp(n, 1, zero, n->peer);
}

#define ip_header pnet_ip_header

/* The IPv4 header at f + ETH_LEN for a payload of len bytes to dst. */
void pnet_ip_header(struct pnet *n, uint8_t *f, const uint8_t *dst_mac, const uint8_t *dst, uint8_t proto,
		    unsigned len)
{
	uint8_t *ip = f + ETH_LEN;

	eth_header(n, f, dst_mac, ETH_IPV4);
	memset(ip, 0, IP_LEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP_LEN + len));
	put16(ip + 4, n->ip_id++);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, n->ip, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, IP_LEN)));
}

/* An ICMP message (type, code, then rest[len]) to dst. */
static void pnet_send_icmp(struct pnet *n, const uint8_t *dst_mac, const uint8_t *dst, uint8_t type,
			   const uint8_t *rest, unsigned len)
{
	static const struct net_hdr plain;
	uint8_t *f = pnet_tx_frame(), *icmp = f + ETH_LEN + IP_LEN;

	if (len > NET_BUF_LEN - NET_HDR_LEN - ETH_LEN - IP_LEN - 4)
		return;
	ip_header(n, f, dst_mac, dst, IP_ICMP, 4 + len);
	icmp[0] = type;
	icmp[1] = 0;
	put16(icmp + 2, 0);
	memcpy(icmp + 4, rest, len);
	put16(icmp + 2, (uint16_t)~csum_fold(csum_add(0, icmp, 4 + len)));
	pnet_send(n, &plain, ETH_LEN + IP_LEN + 4 + len);
}

void pnet_send_echo(struct pnet *n, uint16_t seq)
{
	uint8_t rest[4 + 32];

	put16(rest, n->echo_id);
	put16(rest + 2, seq);
	for (unsigned i = 0; i < 32; i++)
		rest[4 + i] = (uint8_t)('a' + i % 26);
	pnet_send_icmp(n, n->peer_mac, n->peer, 8, rest, sizeof(rest));
}

uint16_t pnet_send_udp_partial(struct pnet *n, uint16_t dport, unsigned payload_len, uint16_t *ret_partial)
{
	struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM, .csum_start = ETH_LEN + IP_LEN, .csum_offset = 6 };
	uint8_t *f = pnet_tx_frame(), *udp = f + ETH_LEN + IP_LEN;
	uint16_t len = (uint16_t)(8 + payload_len), partial, full;
	uint32_t pseudo;

	ip_header(n, f, n->peer_mac, n->peer, IP_UDP, len);
	put16(udp, UDP_SPORT);
	put16(udp + 2, dport);
	put16(udp + 4, len);
	/* Linux's CHECKSUM_PARTIAL: the field holds the folded pseudo-header
	 * sum; whoever finishes the checksum sums from csum_start and stores
	 * the complement at csum_start + csum_offset. */
	pseudo = csum_add(csum_add(0, n->ip, 4), n->peer, 4) + IP_UDP + len;
	partial = csum_fold(pseudo);
	put16(udp + 6, partial);
	full = (uint16_t)~csum_fold(csum_add(0, udp, len));
	*ret_partial = partial;
	pnet_send(n, &h, ETH_LEN + IP_LEN + len);
	return full ? full : 0xffff;
}

static void pnet_rx_arp(struct pnet *n, const uint8_t *a, unsigned len)
{
	if (len < 28 || get16(a) != 1 || get16(a + 2) != ETH_IPV4)
		return;
	if (get16(a + 6) == 1 && memcmp(a + 24, n->ip, 4) == 0)
		pnet_send_arp(n, 2, a + 8, a + 14);
	else if (get16(a + 6) == 2 && memcmp(a + 14, n->peer, 4) == 0) {
		memcpy(n->peer_mac, a + 8, 6);
		n->peer_known = true;
	}
}

/* Port unreachable: the quoted IP header and the first 8 bytes of our UDP datagram. */
static void pnet_rx_unreach(struct pnet *n, const uint8_t *q, unsigned len)
{
	unsigned ihl;

	if (len < IP_LEN || (q[0] >> 4) != 4 || q[9] != IP_UDP)
		return;
	ihl = (q[0] & 15u) * 4;
	if (ihl < IP_LEN || len < ihl + 8 || get16(q + ihl) != UDP_SPORT || get16(q + ihl + 2) != n->unreach_want)
		return; /* another datagram's (the first one, when nothing listens on its port) */
	n->unreach_port = get16(q + ihl + 2);
	n->unreach_csum = get16(q + ihl + 6);
	n->unreach_seen = true;
}

static void pnet_rx_icmp(struct pnet *n, const uint8_t *src_mac, const uint8_t *src, const uint8_t *icmp,
			 unsigned len)
{
	if (len < 8)
		return;
	if (icmp[0] == 8 && icmp[1] == 0)
		pnet_send_icmp(n, src_mac, src, 0, icmp + 4, len - 4); /* echo reply: same id, seq, data */
	else if (icmp[0] == 0 && get16(icmp + 4) == n->echo_id && get16(icmp + 6) < 32)
		n->echo_seen |= 1u << get16(icmp + 6);
	else if (icmp[0] == 3 && icmp[1] == 3)
		pnet_rx_unreach(n, icmp + 8, len - 8);
}

static void pnet_rx_ipv4(struct pnet *n, const uint8_t *f, unsigned len)
{
	const uint8_t *ip = f + ETH_LEN;
	unsigned ihl, total;

	if (len < ETH_LEN + IP_LEN || (ip[0] >> 4) != 4)
		return;
	ihl = (ip[0] & 15u) * 4;
	total = get16(ip + 2);
	if (ihl < IP_LEN || total < ihl || total > len - ETH_LEN || memcmp(ip + 16, n->ip, 4) != 0)
		return;
	if (ip[9] == IP_ICMP)
		pnet_rx_icmp(n, f + 6, ip + 12, ip + ihl, total - ihl);
	else if (ip[9] == IP_UDP && total - ihl >= 8 && get16(ip + ihl + 2) == NET_SERVE_UDP_PORT) {
		n->udp_count++;
		n->udp_bytes += get16(ip + ihl + 4) - 8u;
	}
}

static void pnet_rx_frame(struct pnet *n, const uint8_t *f, unsigned len)
{
	n->rx_frames++;
	if (n->rx_hook && n->rx_hook(n, f, len))
		return;
	if (len < ETH_LEN)
		return;
	if (get16(f + 12) == ETH_ARP)
		pnet_rx_arp(n, f + ETH_LEN, len - ETH_LEN);
	else if (get16(f + 12) == ETH_IPV4)
		pnet_rx_ipv4(n, f, len);
}

void pnet_poll(struct pnet *n)
{
	uint32_t id, len;

	while (vp_poll(&n->dev, NET_RXQ, &id, &len)) {
		if (id >= VP_QN)
			continue;
		if (len > NET_HDR_LEN && len <= NET_BUF_LEN)
			pnet_rx_frame(n, rx_buf[id] + NET_HDR_LEN, len - NET_HDR_LEN);
		else
			n->rx_empty++;
		pnet_repost(n, id);
	}
}

bool pnet_wait(struct pnet *n, bool (*cond)(const struct pnet *n), uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);

	while (!cond(n) && !probe_deadline_passed(deadline)) {
		pnet_poll(n);
		__asm__ volatile("pause");
	}
	return cond(n);
}
