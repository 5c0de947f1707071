#include "tcp-conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char tcp_request_end[] = "\r\n\r\n";

int tcp_conn_open(struct tcp_conn *c, const struct tcp_seg *seg, uint32_t ip, const uint8_t mac[ETH_ADDR_LEN],
		  uint32_t iss, uint64_t now)
{
	uint16_t mss = seg->mss ? seg->mss : TCP_DEFAULT_MSS;

	if (mss < TCP_MSS_MIN)
		return -EINVAL;
	memset(c, 0, offsetof(struct tcp_conn, rbuf));
	c->used = true;
	c->ip = ip;
	c->port = seg->sport;
	memcpy(c->mac, mac, ETH_ADDR_LEN);
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1; /* data on a SYN is not taken: the guest sends it again */
	c->iss = c->snd_una = c->snd_nxt = c->snd_max = iss;
	c->snd_wnd = seg->window;
	c->mss = mss;
	c->last_rcv = now;
	return 0;
}

void tcp_conn_reset(struct tcp_conn *c)
{
	c->rst_owed = true;
	c->rto_at = 0;
}

void tcp_conn_close(struct tcp_conn *c)
{
	free(c->resp);
	c->resp = NULL;
	c->used = false;
}

static uint32_t tcp_conn_resp_end(const struct tcp_conn *c)
{
	return c->resp_seq + (uint32_t)c->resp_len;
}

/* Bytes the guest's window still takes at snd_nxt. */
static uint32_t tcp_conn_usable(const struct tcp_conn *c)
{
	uint32_t wend = c->snd_una + c->snd_wnd;

	return tcp_seq_lt(c->snd_nxt, wend) ? wend - c->snd_nxt : 0;
}

static bool tcp_conn_data_unsent(const struct tcp_conn *c)
{
	return c->resp && tcp_seq_lt(c->snd_nxt, tcp_conn_resp_end(c));
}

static bool tcp_conn_fin_due(const struct tcp_conn *c)
{
	return c->fin_rcvd && c->syn_acked && !c->resp && (!c->fin_sent || c->snd_nxt == c->fin_seq);
}

/* A shut window with nothing in flight needs the persist timer: its probe
 * makes the guest say when the window opens again. */
static void tcp_conn_arm_persist(struct tcp_conn *c, uint64_t now)
{
	if (!c->rto_at && c->snd_una == c->snd_max && tcp_conn_data_unsent(c) && !tcp_conn_usable(c))
		c->rto_at = now + TCP_RTO_MS;
}

/* The ACK field (RFC 9293 §3.10.7.4). False when the segment must go. */
static bool tcp_conn_ack(struct tcp_conn *c, const struct tcp_seg *seg, uint64_t now)
{
	if (tcp_seq_lt(c->snd_max, seg->ack)) {
		c->need_ack = true; /* acknowledges what was never sent */
		return false;
	}
	if (tcp_seq_lt(c->snd_una, seg->ack)) {
		c->snd_una = seg->ack;
		if (tcp_seq_lt(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		c->retransmits = 0;
		c->rto_at = c->snd_una != c->snd_max ? now + TCP_RTO_MS : 0;
		if (!c->syn_acked && tcp_seq_lt(c->iss, c->snd_una))
			c->syn_acked = true;
		if (c->resp && tcp_seq_le(tcp_conn_resp_end(c), c->snd_una)) {
			free(c->resp);
			c->resp = NULL;
		}
		if (c->fin_sent && c->snd_una == c->fin_seq + 1 && c->fin_rcvd)
			c->done = true;
	}
	if (tcp_seq_le(c->snd_una, seg->ack))
		c->snd_wnd = seg->window;
	return c->syn_acked;
}

/* In-order data and FIN into the receive buffer; anything else is dropped
 * and the ACK it gets tells the guest what is expected. */
static void tcp_conn_data(struct tcp_conn *c, const struct tcp_seg *seg)
{
	bool fin = seg->flags & TCP_FIN;
	uint32_t dup = tcp_seq_lt(seg->seq, c->rcv_nxt) ? c->rcv_nxt - seg->seq : 0;
	size_t len = seg->len, take;

	if (!len && !fin)
		return;
	c->need_ack = true;
	if (c->fin_rcvd || (seg->seq != c->rcv_nxt && !dup) || dup > len)
		return;
	len -= dup;
	take = len < TCP_RCV_BUF - c->rlen ? len : TCP_RCV_BUF - c->rlen;
	if (take) /* a bare FIN may come without data at all */
		memcpy(c->rbuf + c->rlen, seg->data + dup, take);
	c->rlen += take;
	c->rcv_nxt += (uint32_t)take;
	if (fin && take == len) {
		c->rcv_nxt++;
		c->fin_rcvd = true;
	}
}

/* Answers the buffered requests, one pending response at a time. A full
 * buffer without a whole request can never become one: reset. */
static void tcp_conn_serve(struct tcp_conn *c, const struct tcp_conn_env *env)
{
	while (!c->resp && !c->rst_owed) {
		const uint8_t *end = memmem(c->rbuf, c->rlen, tcp_request_end, 4);
		size_t n, before = c->rlen;
		char *resp = NULL;
		size_t resp_len = 0;

		if (!end) {
			if (c->rlen >= TCP_RCV_BUF)
				tcp_conn_reset(c);
			return;
		}
		n = (size_t)(end - c->rbuf) + 4;
		if (env->respond(env->ctx, (const char *)c->rbuf, n, &resp, &resp_len) < 0) {
			tcp_conn_reset(c);
			return;
		}
		memmove(c->rbuf, c->rbuf + n, c->rlen - n);
		c->rlen -= n;
		if (before + c->mss > TCP_RCV_BUF)
			c->need_ack = true; /* the window had (nearly) shut: say it is open */
		if (!resp_len) {
			free(resp);
			continue;
		}
		c->resp = resp;
		c->resp_len = resp_len;
		c->resp_seq = c->snd_max;
	}
}

static bool tcp_conn_rst_acceptable(const struct tcp_conn *c, uint32_t seq)
{
	return tcp_seq_le(c->rcv_nxt, seq) && tcp_seq_le(seq, c->rcv_nxt + (TCP_RCV_BUF - c->rlen));
}

void tcp_conn_receive(struct tcp_conn *c, const struct tcp_conn_env *env, const struct tcp_seg *seg, uint64_t now)
{
	c->last_rcv = now;
	if (seg->flags & TCP_RST) {
		if (tcp_conn_rst_acceptable(c, seg->seq))
			c->done = true; /* RFC 9293 §3.10.7.4: no answer to a RST */
		return;
	}
	if (seg->flags & TCP_SYN) {
		if (!c->syn_acked && seg->seq == c->irs)
			c->snd_nxt = c->iss; /* our SYN-ACK was lost: again */
		else
			c->need_ack = true; /* RFC 5961 §4: a challenge ACK */
		return;
	}
	if (!(seg->flags & TCP_ACK) || !tcp_conn_ack(c, seg, now) || c->done)
		return;
	tcp_conn_data(c, seg);
	tcp_conn_serve(c, env);
	tcp_conn_arm_persist(c, now);
}

bool tcp_conn_wants_write(const struct tcp_conn *c)
{
	if (c->rst_owed || c->need_ack || c->probe)
		return true;
	if (!c->syn_acked)
		return c->snd_nxt == c->iss;
	return (tcp_conn_data_unsent(c) && tcp_conn_usable(c)) || tcp_conn_fin_due(c);
}

/* A segment that took sequence space went out: the timer covers it. */
static void tcp_conn_sent(struct tcp_conn *c, uint64_t now)
{
	if (tcp_seq_lt(c->snd_max, c->snd_nxt))
		c->snd_max = c->snd_nxt;
	if (!c->rto_at)
		c->rto_at = now + TCP_RTO_MS;
}

static size_t tcp_conn_write_data(struct tcp_conn *c, uint32_t local_ip, struct tcp_out *h, uint8_t *p,
				  size_t cap, size_t mss_cap)
{
	size_t off = c->snd_nxt - c->resp_seq, n = c->resp_len - off;
	size_t lim = c->mss < mss_cap ? c->mss : mss_cap;

	if (n > lim)
		n = lim;
	if (n > cap - TCP_HDR_LEN)
		n = cap - TCP_HDR_LEN;
	if (n > tcp_conn_usable(c))
		n = tcp_conn_usable(c);
	if (off + n == c->resp_len)
		h->flags |= TCP_PSH;
	c->snd_nxt += (uint32_t)n;
	return tcp_write(p, local_ip, c->ip, h, (const uint8_t *)c->resp + off, n);
}

size_t tcp_conn_write(struct tcp_conn *c, const struct tcp_conn_env *env, uint32_t local_ip, uint8_t *p, size_t cap,
		      uint64_t now)
{
	struct tcp_out h = { .sport = env->local_port, .dport = c->port, .seq = c->snd_nxt, .ack = c->rcv_nxt,
			     .flags = TCP_ACK, .window = (uint16_t)(TCP_RCV_BUF - c->rlen) };
	size_t n;

	if (!tcp_conn_wants_write(c))
		return 0;
	c->need_ack = false;
	if (c->rst_owed) {
		c->rst_owed = false;
		c->done = true;
		h.flags = TCP_RST | TCP_ACK;
		return tcp_write(p, local_ip, c->ip, &h, NULL, 0);
	}
	if (!c->syn_acked && c->snd_nxt == c->iss) {
		h.flags |= TCP_SYN;
		h.mss = env->mss_cap;
		c->snd_nxt++;
		n = tcp_write(p, local_ip, c->ip, &h, NULL, 0);
	} else if (tcp_conn_data_unsent(c) && tcp_conn_usable(c)) {
		n = tcp_conn_write_data(c, local_ip, &h, p, cap, env->mss_cap);
	} else if (tcp_conn_fin_due(c)) {
		h.flags |= TCP_FIN;
		c->fin_seq = c->snd_nxt++;
		c->fin_sent = true;
		n = tcp_write(p, local_ip, c->ip, &h, NULL, 0);
	} else {
		if (c->probe)
			h.seq = c->snd_una - 1; /* an old sequence number: the guest must answer with its window */
		c->probe = false;
		n = tcp_write(p, local_ip, c->ip, &h, NULL, 0);
		tcp_conn_arm_persist(c, now);
		return n;
	}
	c->probe = false;
	tcp_conn_sent(c, now);
	return n;
}

void tcp_conn_tick(struct tcp_conn *c, uint64_t now)
{
	if (!c->rto_at || now < c->rto_at)
		return;
	c->rto_at = 0;
	if (c->snd_una == c->snd_max) {
		c->probe = true; /* persist: nothing in flight, the window is shut */
		return;
	}
	if (c->retransmits >= TCP_MAX_RETRANSMITS) {
		tcp_conn_reset(c);
		return;
	}
	c->retransmits++;
	c->snd_nxt = c->snd_una; /* go back: everything unacked is sent again */
}
