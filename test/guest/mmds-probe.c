#include "mmds-probe.h"

#include "probe.h"

#define get16 pnet_get16
#define put16 pnet_put16
#define IP_TCP 6u
#define TCP_LEN 20u
#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u
#define MC_WINDOW 16384u
#define MC_RTO_MS 1000u
#define MC_RETRIES 5u
#define MC_DEFAULT_MSS 536u /* RFC 9293 3.7.1: without the option */

const uint8_t mc_mmds_mac[6] = { 0x06, 0x01, 0x23, 0x45, 0x67, 0x01 };

static char resp_pool[MC_CONNS][MC_RESP_MAX];
static struct mclient *client; /* the one client, for the rx hook */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static void mc_bad(struct mclient *m, const char *why)
{
	if (!m->bad_frames++)
		probe_fmt(m->bad_why, sizeof(m->bad_why), "%s", why);
}

/* One TCP segment to the MMDS on c, seq given; a SYN carries our MSS. */
static void mc_send_seg(struct mclient *m, struct mconn *c, uint8_t flags, uint32_t seq, const void *data,
			unsigned len, bool bad_csum)
{
	static const struct net_hdr plain;
	struct pnet *n = m->net;
	unsigned opt = flags & TCP_SYN ? 4 : 0, tl = TCP_LEN + opt + len;
	uint8_t *f = pnet_tx_frame(), *t = f + ETH_LEN + IP_LEN;
	uint16_t sum;

	pnet_ip_header(n, f, n->peer_mac, m->ip, IP_TCP, tl);
	put16(t, c->lport);
	put16(t + 2, 80);
	put32(t + 4, seq);
	put32(t + 8, flags & TCP_ACK ? c->rcv_nxt : 0);
	t[12] = (uint8_t)((TCP_LEN + opt) / 4 << 4);
	t[13] = flags;
	put16(t + 14, MC_WINDOW);
	put32(t + 16, 0); /* checksum, urgent pointer */
	if (opt) {
		t[20] = 2, t[21] = 4;
		put16(t + 22, MC_MSS);
	}
	memcpy(t + TCP_LEN + opt, data, len);
	sum = pnet_csum_fold(pnet_csum_add(pnet_csum_add(0, n->ip, 4), m->ip, 4) + IP_TCP + tl);
	sum = (uint16_t)~pnet_csum_fold(pnet_csum_add(sum, t, tl));
	put16(t + 16, bad_csum ? (uint16_t)(sum ^ 0x5a5a) : sum);
	pnet_send(n, &plain, ETH_LEN + IP_LEN + tl);
}

static void mc_ack(struct mclient *m, struct mconn *c)
{
	mc_send_seg(m, c, TCP_ACK, c->snd_nxt, NULL, 0, false);
}

/* Sends what the window and MSS allow of c->req from snd_nxt on. */
static void mc_push(struct mclient *m, struct mconn *c, bool bad_csum)
{
	uint32_t mss = c->peer_mss < MC_MSS ? c->peer_mss : MC_MSS;

	while (c->state == MC_OPEN) {
		uint32_t off = c->snd_nxt - (c->iss + 1), inflight = c->snd_nxt - c->snd_una, len;

		if (off >= c->req_len || inflight >= c->peer_wnd)
			break;
		len = c->req_len - off;
		len = len < mss ? len : mss;
		len = len < c->peer_wnd - inflight ? len : c->peer_wnd - inflight;
		mc_send_seg(m, c, TCP_ACK | TCP_PSH, c->snd_nxt, c->req + off, len, bad_csum);
		bad_csum = false;
		c->snd_nxt += len;
		if (!c->rto)
			c->rto = probe_deadline_ms(MC_RTO_MS);
	}
}

/* ARP from the MMDS: a reply from its MAC for its address. */
static void mc_check_arp(struct mclient *m, const uint8_t *f, unsigned len)
{
	const uint8_t *a = f + ETH_LEN;

	if (len < ETH_LEN + 28 || memcmp(a + 14, m->ip, 4) != 0)
		return;
	m->frames++;
	if (memcmp(f + 6, mc_mmds_mac, 6) != 0 || memcmp(a + 8, mc_mmds_mac, 6) != 0)
		mc_bad(m, "ARP reply not from the MMDS MAC");
	else if (get16(a + 6) != 2 || memcmp(f, m->net->mac, 6) != 0)
		mc_bad(m, "ARP frame from the MMDS is not a reply to us");
}

/* Soundness of an IPv4 frame from the MMDS: its MAC and IP, no options or
 * fragments, TTL 1, both checksums, port 80. The first fault is kept. */
static void mc_check_ipv4(struct mclient *m, const uint8_t *f, unsigned total)
{
	const uint8_t *ip = f + ETH_LEN;
	uint32_t sum = pnet_csum_add(pnet_csum_add(0, ip + 12, 4), ip + 16, 4) + IP_TCP + total - IP_LEN;

	m->frames++;
	if (memcmp(f + 6, mc_mmds_mac, 6) != 0 || memcmp(ip + 12, m->ip, 4) != 0)
		mc_bad(m, "source MAC or IP is not the MMDS's");
	else if (ip[0] != 0x45 || (pnet_get16(ip + 6) & 0x3fff) != 0)
		mc_bad(m, "IPv4 options or a fragment");
	else if (pnet_csum_fold(pnet_csum_add(0, ip, IP_LEN)) != 0xffff)
		mc_bad(m, "bad IPv4 header checksum");
	else if (ip[8] != 1)
		mc_bad(m, "TTL is not 1");
	else if (memcmp(f, m->net->mac, 6) != 0)
		mc_bad(m, "not addressed to this guest's MAC");
	else if (pnet_csum_fold(pnet_csum_add(sum, ip + IP_LEN, total - IP_LEN)) != 0xffff)
		mc_bad(m, "bad TCP checksum");
	else if (pnet_get16(ip + IP_LEN) != 80)
		mc_bad(m, "TCP source port is not 80");
}

/* The IPv4 total length of a TCP segment to this guest that the client can
 * read (header length 20, whole in the frame), or 0. */
static unsigned mc_tcp_total(const struct mclient *m, const uint8_t *f, unsigned len)
{
	const uint8_t *ip = f + ETH_LEN;
	unsigned total = pnet_get16(ip + 2);

	if (ip[0] != 0x45 || ip[9] != IP_TCP || total < IP_LEN + TCP_LEN || total > len - ETH_LEN ||
	    memcmp(ip + 16, m->net->ip, 4) != 0)
		return 0;
	return total;
}

static struct mconn *mc_find(struct mclient *m, uint16_t lport)
{
	for (unsigned i = 0; i < MC_CONNS; i++)
		if (m->c[i].state != MC_FREE && m->c[i].lport == lport)
			return &m->c[i];
	return NULL;
}

/* The MSS option of a SYN-ACK (RFC 9293 3.2), or the default. */
static uint16_t mc_parse_mss(const uint8_t *o, unsigned len)
{
	for (unsigned i = 0; i < len;) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			break;
		if (o[i] == 2 && o[i + 1] == 4)
			return get16(o + i + 2);
		i += o[i + 1];
	}
	return MC_DEFAULT_MSS;
}

static void mc_rx_synack(struct mclient *m, struct mconn *c, const uint8_t *t, unsigned doff)
{
	if ((t[13] & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK) || get32(t + 8) != c->iss + 1)
		return;
	c->rcv_nxt = get32(t + 4) + 1;
	c->snd_una = c->snd_nxt = c->iss + 1;
	c->peer_wnd = get16(t + 14);
	c->peer_mss = mc_parse_mss(t + TCP_LEN, doff - TCP_LEN);
	if (c->peer_mss == 0)
		c->peer_mss = MC_DEFAULT_MSS;
	c->state = MC_OPEN;
	c->rto = 0;
	c->retries = 0;
	mc_ack(m, c);
}

static void mc_rx_data(struct mclient *m, struct mconn *c, const uint8_t *t, const uint8_t *data, unsigned dlen)
{
	if (get32(t + 4) == c->rcv_nxt) {
		if (dlen && c->rst_on_data) {
			mc_reset(m, c);
			return;
		}
		for (unsigned i = 0; i < dlen && c->resp_len + i < MC_RESP_MAX; i++)
			c->resp[c->resp_len + i] = (char)data[i];
		c->resp_len += dlen;
		c->rcv_nxt += dlen;
		if (t[13] & TCP_FIN) {
			c->rcv_nxt++;
			c->fin = true;
		}
	}
	mc_ack(m, c); /* in order or not: the peer learns where we are */
}

static void mc_rx_tcp(struct mclient *m, const uint8_t *ip, unsigned total)
{
	const uint8_t *t = ip + IP_LEN;
	unsigned tlen = total - IP_LEN, doff = (t[12] >> 4) * 4u;
	struct mconn *c = mc_find(m, get16(t + 2));
	uint32_t ack = get32(t + 8);

	if (!c || doff < TCP_LEN || doff > tlen || c->state == MC_DONE)
		return;
	if (t[13] & TCP_RST) {
		c->reset = true;
		c->state = MC_DONE;
		return;
	}
	if (c->state == MC_SYN_SENT) {
		mc_rx_synack(m, c, t, doff);
		return;
	}
	if ((t[13] & TCP_ACK) && seq_after(ack, c->snd_una) && !seq_after(ack, c->snd_nxt)) {
		c->snd_una = ack;
		c->retries = 0;
		c->rto = c->snd_una == c->snd_nxt ? 0 : probe_deadline_ms(MC_RTO_MS);
	}
	c->peer_wnd = get16(t + 14);
	if (tlen > doff || (t[13] & TCP_FIN))
		mc_rx_data(m, c, t, t + doff, tlen - doff);
}

/* Every received frame passes here first: frames from the MMDS are checked;
 * TCP to this guest is taken; the rest (ARP) goes on to net-probe.c. */
static bool mc_rx_hook(struct pnet *n, const uint8_t *f, unsigned len)
{
	struct mclient *m = client;
	const uint8_t *ip = f + ETH_LEN;
	bool from_mac = len >= ETH_LEN && memcmp(f + 6, mc_mmds_mac, 6) == 0;
	unsigned total;

	if (len < ETH_LEN)
		return false;
	if (get16(f + 12) == ETH_ARP) {
		mc_check_arp(m, f, len);
		return false;
	}
	if (get16(f + 12) != ETH_IPV4) {
		if (from_mac)
			m->frames++, mc_bad(m, "neither ARP nor IPv4 from the MMDS MAC");
		return false;
	}
	if (len < ETH_LEN + IP_LEN || (!from_mac && memcmp(ip + 12, m->ip, 4) != 0))
		return false;
	total = mc_tcp_total(m, f, len);
	if (!total) {
		m->frames++;
		mc_bad(m, "an IPv4 frame from the MMDS that is not a whole TCP segment to this guest");
		return true;
	}
	/* A peer that is not ember's stack (a host server across the TAP) is
	 * still talked to; its frames just do not count as sound. */
	mc_check_ipv4(m, f, total);
	mc_rx_tcp(m, ip, total);
	return true;
}

void mc_init(struct mclient *m, struct pnet *net, const uint8_t ip[4])
{
	*m = (struct mclient){ .net = net };
	memcpy(m->ip, ip, 4);
	memcpy(net->peer, ip, 4);
	net->peer_known = false;
	m->next_port = (uint16_t)(40000u + (rdtsc() & 0x3fffu));
	for (unsigned i = 0; i < MC_CONNS; i++)
		m->c[i].resp = resp_pool[i];
	client = m;
	net->rx_hook = mc_rx_hook;
}

static bool peer_known(const struct pnet *n)
{
	return n->peer_known;
}

bool mc_arp(struct mclient *m)
{
	for (unsigned i = 0; i < 4 && !m->net->peer_known; i++) {
		pnet_send_arp_request(m->net);
		pnet_wait(m->net, peer_known, 500);
	}
	return m->net->peer_known;
}

struct mconn *mc_connect(struct mclient *m)
{
	for (unsigned i = 0; i < MC_CONNS; i++) {
		struct mconn *c = &m->c[i];

		if (c->state != MC_FREE)
			continue;
		*c = (struct mconn){ .state = MC_SYN_SENT, .resp = resp_pool[i], .peer_mss = MC_DEFAULT_MSS };
		c->lport = m->next_port;
		m->next_port = (uint16_t)(m->next_port >= 60000u ? 40000u : m->next_port + 1u);
		c->iss = (uint32_t)rdtsc() * 2654435761u;
		c->snd_una = c->snd_nxt = c->iss;
		mc_send_seg(m, c, TCP_SYN, c->iss, NULL, 0, false);
		c->rto = probe_deadline_ms(MC_RTO_MS);
		return c;
	}
	return NULL;
}

/* Retransmission: the SYN, or go back to the first unacknowledged byte. */
static void mc_timers(struct mclient *m)
{
	for (unsigned i = 0; i < MC_CONNS; i++) {
		struct mconn *c = &m->c[i];

		if ((c->state != MC_SYN_SENT && c->state != MC_OPEN) || !c->rto || !probe_deadline_passed(c->rto))
			continue;
		if (++c->retries > MC_RETRIES) {
			c->state = MC_DONE; /* timed out: neither answer nor reset */
			continue;
		}
		c->rto = probe_deadline_ms(MC_RTO_MS);
		if (c->state == MC_SYN_SENT) {
			mc_send_seg(m, c, TCP_SYN, c->iss, NULL, 0, false);
			continue;
		}
		c->snd_nxt = c->snd_una;
		mc_push(m, c, false);
	}
}

void mc_poll(struct mclient *m)
{
	pnet_poll(m->net);
	mc_timers(m);
	for (unsigned i = 0; i < MC_CONNS; i++)
		if (m->c[i].state == MC_OPEN && m->c[i].req)
			mc_push(m, &m->c[i], false);
}

bool mc_wait_open(struct mclient *m, struct mconn *c, uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);

	while (c->state == MC_SYN_SENT && !probe_deadline_passed(deadline))
		mc_poll(m);
	return c->state == MC_OPEN;
}

void mc_send_request(struct mclient *m, struct mconn *c, bool bad_csum)
{
	mc_push(m, c, bad_csum);
}

/* Where the body starts (after the empty line), or 0 when not yet seen. */
static uint32_t mc_header_end(const struct mconn *c)
{
	uint32_t n = c->resp_len < MC_RESP_MAX ? c->resp_len : MC_RESP_MAX;

	for (uint32_t i = 0; i + 3 < n; i++)
		if (c->resp[i] == '\r' && c->resp[i + 1] == '\n' && c->resp[i + 2] == '\r' && c->resp[i + 3] == '\n')
			return i + 4;
	return 0;
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
}

/* Content-Length of the answer's headers, or -1 when there is none. */
static long mc_content_length(const struct mconn *c, uint32_t hdr_end)
{
	static const char name[] = "\ncontent-length:";
	const unsigned nl = sizeof(name) - 1;

	for (uint32_t i = 0; i + nl < hdr_end; i++) {
		unsigned k = 0;
		long v = 0;

		while (k < nl && lower(c->resp[i + k]) == name[k])
			k++;
		if (k < nl)
			continue;
		for (i += nl; i < hdr_end && c->resp[i] == ' '; i++)
			;
		for (; i < hdr_end && c->resp[i] >= '0' && c->resp[i] <= '9' && v < 100000000; i++)
			v = v * 10 + (c->resp[i] - '0');
		return v;
	}
	return -1;
}

bool mc_finished(const struct mconn *c)
{
	uint32_t end = mc_header_end(c);
	long cl;

	if (c->state == MC_DONE || c->fin)
		return true;
	if (!end)
		return false;
	cl = mc_content_length(c, end);
	return cl >= 0 && c->resp_len >= end + (uint32_t)cl;
}

int mc_status(const struct mconn *c, const char **ret_body, uint32_t *ret_len)
{
	uint32_t end = mc_header_end(c), n = c->resp_len < MC_RESP_MAX ? c->resp_len : MC_RESP_MAX;
	int status = 0;

	*ret_body = "";
	*ret_len = 0;
	if (!end || n < 12 || memcmp(c->resp, "HTTP/1.", 7) != 0 || c->resp[8] != ' ')
		return 0;
	for (unsigned i = 9; i < 12; i++) {
		if (c->resp[i] < '0' || c->resp[i] > '9')
			return 0;
		status = status * 10 + (c->resp[i] - '0');
	}
	*ret_body = c->resp + end;
	*ret_len = n - end;
	return status;
}

void mc_reset(struct mclient *m, struct mconn *c)
{
	if (c->state == MC_OPEN || c->state == MC_SYN_SENT)
		mc_send_seg(m, c, TCP_RST | TCP_ACK, c->snd_nxt, NULL, 0, false);
	c->sent_rst = true;
	c->state = MC_DONE;
}

static bool mc_fin_done(const struct mconn *c)
{
	return c->state == MC_DONE || (c->fin && c->snd_una == c->snd_nxt);
}

void mc_close(struct mclient *m, struct mconn *c)
{
	uint64_t deadline = probe_deadline_ms(MC_RTO_MS);

	if (c->state == MC_OPEN) {
		c->req = NULL; /* nothing more to push */
		c->rto = 0;
		mc_send_seg(m, c, TCP_FIN | TCP_ACK, c->snd_nxt, NULL, 0, false);
		c->snd_nxt++;
		while (!mc_fin_done(c) && !probe_deadline_passed(deadline))
			mc_poll(m);
		if (!mc_fin_done(c))
			mc_reset(m, c);
	}
	c->state = MC_FREE;
}
