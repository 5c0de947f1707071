#include "tcp-table.h"

#include <string.h>

void tcp_table_init(struct tcp_table *t, uint32_t local_ip, const struct tcp_conn_env *env, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->local_ip = local_ip;
	t->env = *env;
	t->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

void tcp_table_clear(struct tcp_table *t)
{
	for (unsigned i = 0; i < TCP_TABLE_MAX; i++)
		if (t->conn[i].used)
			tcp_conn_close(&t->conn[i]);
}

/* xorshift64* (Vigna): initial sequence numbers only need to differ from
 * one connection to the next and not be guessable from outside the guest. */
static uint32_t tcp_table_isn(struct tcp_table *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return (uint32_t)((t->rng * 0x2545f4914f6cdd1dull) >> 32);
}

/* RFC 9293 §3.10.7.1: the RST for seg, which has no connection. */
static void tcp_table_queue_rst(struct tcp_table *t, uint32_t ip, const uint8_t mac[ETH_ADDR_LEN],
				const struct tcp_seg *seg)
{
	struct tcp_rst *r;

	if (seg->flags & TCP_RST || t->rst_count == TCP_RST_QUEUE_MAX)
		return;
	r = &t->rst[(t->rst_head + t->rst_count++) % TCP_RST_QUEUE_MAX];
	r->ip = ip;
	memcpy(r->mac, mac, ETH_ADDR_LEN);
	r->h = (struct tcp_out){ .sport = seg->dport, .dport = seg->sport };
	if (seg->flags & TCP_ACK) {
		r->h.seq = seg->ack;
		r->h.flags = TCP_RST;
	} else {
		r->h.ack = seg->seq + (uint32_t)seg->len + !!(seg->flags & TCP_SYN) + !!(seg->flags & TCP_FIN);
		r->h.flags = TCP_RST | TCP_ACK;
	}
}

static struct tcp_conn *tcp_table_find(struct tcp_table *t, uint32_t ip, uint16_t port)
{
	for (unsigned i = 0; i < TCP_TABLE_MAX; i++)
		if (t->conn[i].used && t->conn[i].ip == ip && t->conn[i].port == port)
			return &t->conn[i];
	return NULL;
}

/* A free slot, or the evictable connection idle longest (reset: its RST
 * goes to the queue), or NULL. *ret_evicted says which. */
static struct tcp_conn *tcp_table_slot(struct tcp_table *t, uint64_t now, bool *ret_evicted)
{
	struct tcp_conn *old = NULL;

	*ret_evicted = false;
	for (unsigned i = 0; i < TCP_TABLE_MAX; i++) {
		struct tcp_conn *c = &t->conn[i];

		if (!c->used)
			return c;
		if (now - c->last_rcv > TCP_IDLE_MS && (!old || c->last_rcv < old->last_rcv))
			old = c;
	}
	if (old && t->rst_count < TCP_RST_QUEUE_MAX) {
		struct tcp_rst *r = &t->rst[(t->rst_head + t->rst_count++) % TCP_RST_QUEUE_MAX];

		*r = (struct tcp_rst){ .ip = old->ip,
				       .h = { .sport = t->env.local_port, .dport = old->port, .seq = old->snd_nxt,
					      .ack = old->rcv_nxt, .flags = TCP_RST | TCP_ACK } };
		memcpy(r->mac, old->mac, ETH_ADDR_LEN);
		tcp_conn_close(old);
		t->destroyed++;
		*ret_evicted = true;
		return old;
	}
	return NULL;
}

static enum tcp_event tcp_table_syn(struct tcp_table *t, uint32_t ip, const uint8_t mac[ETH_ADDR_LEN],
				    const struct tcp_seg *seg, uint64_t now)
{
	bool evicted = false;
	struct tcp_conn *c = seg->mss && seg->mss < TCP_MSS_MIN ? NULL : tcp_table_slot(t, now, &evicted);

	if (!c || tcp_conn_open(c, seg, ip, mac, tcp_table_isn(t), now) < 0) {
		tcp_table_queue_rst(t, ip, mac, seg);
		return TCP_EV_REFUSED;
	}
	t->created++;
	return evicted ? TCP_EV_REPLACED : TCP_EV_CREATED;
}

static void tcp_table_free(struct tcp_table *t, struct tcp_conn *c)
{
	tcp_conn_close(c);
	t->destroyed++;
}

enum tcp_event tcp_table_receive(struct tcp_table *t, uint32_t ip, const uint8_t mac[ETH_ADDR_LEN],
				 const struct tcp_seg *seg, uint64_t now)
{
	struct tcp_conn *c;

	if (seg->dport != t->env.local_port) {
		tcp_table_queue_rst(t, ip, mac, seg);
		return TCP_EV_UNEXPECTED;
	}
	c = tcp_table_find(t, ip, seg->sport);
	if (c && (seg->flags & (TCP_SYN | TCP_RST | TCP_ACK)) == TCP_SYN && c->syn_acked) {
		/* a new connection on a port whose old one we still hold (its last ACK lost) */
		tcp_table_free(t, c);
		return tcp_table_syn(t, ip, mac, seg, now) == TCP_EV_REFUSED ? TCP_EV_DESTROYED : TCP_EV_REPLACED;
	}
	if (c) {
		memcpy(c->mac, mac, ETH_ADDR_LEN);
		tcp_conn_receive(c, &t->env, seg, now);
		if (!c->done)
			return TCP_EV_NOTHING;
		tcp_table_free(t, c);
		return TCP_EV_DESTROYED;
	}
	if ((seg->flags & (TCP_SYN | TCP_RST | TCP_ACK)) == TCP_SYN)
		return tcp_table_syn(t, ip, mac, seg, now);
	tcp_table_queue_rst(t, ip, mac, seg);
	return TCP_EV_UNEXPECTED;
}

bool tcp_table_pending(const struct tcp_table *t)
{
	if (t->rst_count)
		return true;
	for (unsigned i = 0; i < TCP_TABLE_MAX; i++)
		if (t->conn[i].used && tcp_conn_wants_write(&t->conn[i]))
			return true;
	return false;
}

static size_t tcp_table_write_rst(struct tcp_table *t, uint8_t *p, uint32_t *ret_ip, uint8_t ret_mac[ETH_ADDR_LEN])
{
	const struct tcp_rst *r = &t->rst[t->rst_head];

	t->rst_head = (t->rst_head + 1) % TCP_RST_QUEUE_MAX;
	t->rst_count--;
	*ret_ip = r->ip;
	memcpy(ret_mac, r->mac, ETH_ADDR_LEN);
	return tcp_write(p, t->local_ip, r->ip, &r->h, NULL, 0);
}

size_t tcp_table_write(struct tcp_table *t, uint8_t *p, size_t cap, uint64_t now, uint32_t *ret_ip,
		       uint8_t ret_mac[ETH_ADDR_LEN])
{
	if (t->rst_count)
		return tcp_table_write_rst(t, p, ret_ip, ret_mac);
	for (unsigned k = 0; k < TCP_TABLE_MAX; k++) {
		struct tcp_conn *c = &t->conn[(t->next + k) % TCP_TABLE_MAX];
		size_t n;

		if (!c->used || !tcp_conn_wants_write(c))
			continue;
		/* the next call starts after c: one connection cannot starve the rest */
		t->next = (t->next + k + 1) % TCP_TABLE_MAX;
		n = tcp_conn_write(c, &t->env, t->local_ip, p, cap, now);
		*ret_ip = c->ip;
		memcpy(ret_mac, c->mac, ETH_ADDR_LEN);
		if (c->done)
			tcp_table_free(t, c);
		return n;
	}
	return 0;
}

void tcp_table_tick(struct tcp_table *t, uint64_t now)
{
	for (unsigned i = 0; i < TCP_TABLE_MAX; i++)
		if (t->conn[i].used)
			tcp_conn_tick(&t->conn[i], now);
}

uint64_t tcp_table_deadline(const struct tcp_table *t)
{
	uint64_t d = 0;

	for (unsigned i = 0; i < TCP_TABLE_MAX; i++) {
		const struct tcp_conn *c = &t->conn[i];

		if (c->used && c->rto_at && (!d || c->rto_at < d))
			d = c->rto_at;
	}
	return d;
}

unsigned tcp_table_count(const struct tcp_table *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < TCP_TABLE_MAX; i++)
		n += t->conn[i].used;
	return n;
}
