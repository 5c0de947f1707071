#include "vsock-conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void vsock_conn_init_local(struct vsock_conn *c, uint32_t local_port, uint32_t peer_port, uint64_t now_ms)
{
	*c = (struct vsock_conn){
		.local_port = local_port,
		.peer_port = peer_port,
		.state = VSOCK_CONN_LOCAL_INIT,
		.pending = VSOCK_PEND_REQUEST,
		.deadline_ms = now_ms + VSOCK_CONNECT_TIMEOUT_MS,
		.fd = -1,
	};
}

void vsock_conn_init_peer(struct vsock_conn *c, const struct vsock_hdr *req)
{
	*c = (struct vsock_conn){
		.local_port = req->dst_port,
		.peer_port = req->src_port,
		.state = VSOCK_CONN_PEER_INIT,
		.peer_buf_alloc = req->buf_alloc,
		.peer_fwd_cnt = req->fwd_cnt,
		.fd = -1,
	};
}

static void vsock_conn_kill(struct vsock_conn *c, bool rst)
{
	c->state = VSOCK_CONN_DEAD;
	/* A RST replaces whatever else was still to be said. */
	c->pending = rst ? VSOCK_PEND_RST : 0;
	c->deadline_ms = 0;
}

void vsock_conn_host_connected(struct vsock_conn *c, bool ok)
{
	if (c->state != VSOCK_CONN_PEER_INIT)
		return;
	if (!ok) {
		vsock_conn_kill(c, true);
		return;
	}
	c->state = VSOCK_CONN_ESTABLISHED;
	c->pending |= VSOCK_PEND_RESPONSE;
}

void vsock_conn_clear(struct vsock_conn *c)
{
	free(c->txbuf.data);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	/* A guest may shrink buf_alloc below what it has not consumed yet, or
	 * report a fwd_cnt ahead of what it was sent (in_flight wraps to a
	 * huge value): no credit then. */
	if (in_flight >= c->peer_buf_alloc)
		return 0;
	return c->peer_buf_alloc - in_flight;
}

/* The guest's idea of ember's free buffer is below the threshold while
 * ember has freed more since: tell it. */
static void vsock_conn_check_credit_update(struct vsock_conn *c)
{
	uint32_t seen_free = VSOCK_CONN_BUF - (c->rx_cnt - c->fwd_cnt_told);

	if (c->state == VSOCK_CONN_ESTABLISHED && c->fwd_cnt != c->fwd_cnt_told && seen_free < VSOCK_CREDIT_THRESHOLD)
		c->pending |= VSOCK_PEND_CREDIT_UPDATE;
}

static enum vsock_recv_action vsock_conn_recv_rw(struct vsock_conn *c, const struct vsock_hdr *h)
{
	uint32_t buffered = c->rx_cnt - c->fwd_cnt;

	/* Data is only valid on an open connection whose sender has not shut
	 * its send side; past its credit it is an overrun. Either way the
	 * guest broke the protocol: RST. */
	if (c->state != VSOCK_CONN_ESTABLISHED || (c->peer_shut & VSOCK_SHUTDOWN_SEND) ||
	    h->len > VSOCK_CONN_BUF - buffered) {
		vsock_conn_kill(c, true);
		return VSOCK_RECV_KILL;
	}
	return h->len ? VSOCK_RECV_DATA : VSOCK_RECV_NONE;
}

static enum vsock_recv_action vsock_conn_recv_shutdown(struct vsock_conn *c, const struct vsock_hdr *h)
{
	c->peer_shut |= h->flags & VSOCK_SHUTDOWN_BOTH;
	if (c->state == VSOCK_CONN_CLOSING && c->peer_shut == VSOCK_SHUTDOWN_BOTH) {
		vsock_conn_kill(c, true);
		return VSOCK_RECV_KILL;
	}
	return (c->peer_shut & VSOCK_SHUTDOWN_SEND) ? VSOCK_RECV_SHUT_HOST : VSOCK_RECV_NONE;
}

enum vsock_recv_action vsock_conn_recv(struct vsock_conn *c, const struct vsock_hdr *h)
{
	if (c->state == VSOCK_CONN_DEAD)
		return VSOCK_RECV_NONE;
	/* Linux puts its current credit in every header it sends. */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VSOCK_OP_RST:
		vsock_conn_kill(c, false);
		return VSOCK_RECV_KILL;
	case VSOCK_OP_RESPONSE:
		if (c->state != VSOCK_CONN_LOCAL_INIT)
			break;
		c->state = VSOCK_CONN_ESTABLISHED;
		c->deadline_ms = 0;
		return VSOCK_RECV_ESTABLISHED;
	case VSOCK_OP_RW:
		return vsock_conn_recv_rw(c, h);
	case VSOCK_OP_SHUTDOWN:
		if (c->state != VSOCK_CONN_ESTABLISHED && c->state != VSOCK_CONN_CLOSING)
			break;
		return vsock_conn_recv_shutdown(c, h);
	case VSOCK_OP_CREDIT_REQUEST:
		if (c->state != VSOCK_CONN_ESTABLISHED)
			break;
		c->pending |= VSOCK_PEND_CREDIT_UPDATE;
		return VSOCK_RECV_NONE;
	case VSOCK_OP_CREDIT_UPDATE:
		return VSOCK_RECV_NONE; /* the credit was taken above */
	default:
		break;
	}
	/* A REQUEST for a live connection, a RESPONSE it did not ask for, ...:
	 * the guest and ember disagree on the state; reset it. */
	vsock_conn_kill(c, true);
	return VSOCK_RECV_KILL;
}

void vsock_conn_forwarded(struct vsock_conn *c, uint32_t n)
{
	c->fwd_cnt += n;
	vsock_conn_check_credit_update(c);
}

void vsock_conn_accept_data(struct vsock_conn *c, uint32_t n, uint32_t wrote)
{
	c->rx_cnt += n;
	vsock_conn_forwarded(c, wrote);
}

void vsock_conn_reset(struct vsock_conn *c)
{
	vsock_conn_kill(c, c->state != VSOCK_CONN_DEAD || (c->pending & VSOCK_PEND_RST));
}

void vsock_conn_host_eof(struct vsock_conn *c)
{
	if (c->state != VSOCK_CONN_ESTABLISHED || (c->shut_flags & VSOCK_SHUTDOWN_SEND))
		return;
	c->shut_flags |= VSOCK_SHUTDOWN_SEND;
	c->pending |= VSOCK_PEND_SHUTDOWN;
}

void vsock_conn_host_closed(struct vsock_conn *c, uint64_t now_ms)
{
	if (c->state != VSOCK_CONN_ESTABLISHED) {
		/* Not open yet (or already closing): nothing to wind down. */
		if (c->state != VSOCK_CONN_CLOSING)
			vsock_conn_kill(c, true);
		return;
	}
	c->state = VSOCK_CONN_CLOSING;
	c->shut_flags = VSOCK_SHUTDOWN_BOTH;
	c->pending = (c->pending & VSOCK_PEND_CREDIT_UPDATE) | VSOCK_PEND_SHUTDOWN;
	c->deadline_ms = now_ms + VSOCK_SHUTDOWN_TIMEOUT_MS;
}

bool vsock_conn_check_deadline(struct vsock_conn *c, uint64_t now_ms)
{
	if (!c->deadline_ms || now_ms < c->deadline_ms || c->state == VSOCK_CONN_DEAD)
		return false;
	vsock_conn_kill(c, true);
	return true;
}

bool vsock_conn_wants_host_data(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONN_ESTABLISHED && !(c->peer_shut & VSOCK_SHUTDOWN_RCV) &&
	       !(c->shut_flags & VSOCK_SHUTDOWN_SEND) && vsock_conn_peer_credit(c) > 0;
}

bool vsock_conn_has_buffered(const struct vsock_conn *c)
{
	return vsock_txbuf_len(&c->txbuf) > 0;
}

void vsock_conn_fill_hdr(struct vsock_conn *c, uint32_t guest_cid, uint16_t op, uint32_t len, uint32_t flags,
			 struct vsock_hdr *ret)
{
	*ret = (struct vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = guest_cid,
		.src_port = c->local_port,
		.dst_port = c->peer_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = VSOCK_CONN_BUF,
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_cnt_told = c->fwd_cnt;
	c->pending &= ~VSOCK_PEND_CREDIT_UPDATE; /* this header carries the credit */
	if (op == VSOCK_OP_RW)
		c->tx_cnt += len;
}

/* In the order they must reach the guest: a RST ends everything; the
 * handshake before data-related packets; a SHUTDOWN after them. */
static const struct {
	unsigned bit;
	uint16_t op;
} vsock_ctrl_order[] = {
	{ VSOCK_PEND_RST, VSOCK_OP_RST },
	{ VSOCK_PEND_RESPONSE, VSOCK_OP_RESPONSE },
	{ VSOCK_PEND_REQUEST, VSOCK_OP_REQUEST },
	{ VSOCK_PEND_CREDIT_UPDATE, VSOCK_OP_CREDIT_UPDATE },
	{ VSOCK_PEND_SHUTDOWN, VSOCK_OP_SHUTDOWN },
	{ VSOCK_PEND_CREDIT_REQUEST, VSOCK_OP_CREDIT_REQUEST },
};

bool vsock_conn_next_ctrl(struct vsock_conn *c, uint32_t guest_cid, struct vsock_hdr *ret)
{
	for (size_t i = 0; i < sizeof(vsock_ctrl_order) / sizeof(vsock_ctrl_order[0]); i++) {
		if (!(c->pending & vsock_ctrl_order[i].bit))
			continue;
		c->pending &= ~vsock_ctrl_order[i].bit;
		vsock_conn_fill_hdr(c, guest_cid, vsock_ctrl_order[i].op, 0,
				    vsock_ctrl_order[i].op == VSOCK_OP_SHUTDOWN ? c->shut_flags : 0, ret);
		return true;
	}
	return false;
}

uint32_t vsock_txbuf_len(const struct vsock_txbuf *b)
{
	return b->head - b->tail;
}

int vsock_txbuf_push(struct vsock_txbuf *b, const void *data, uint32_t len)
{
	uint32_t off, first;

	if (len > VSOCK_CONN_BUF - vsock_txbuf_len(b))
		return -ENOBUFS;
	if (!len)
		return 0;
	if (!b->data) {
		b->data = malloc(VSOCK_CONN_BUF);
		if (!b->data)
			return -ENOMEM;
	}
	off = b->head % VSOCK_CONN_BUF;
	first = len < VSOCK_CONN_BUF - off ? len : VSOCK_CONN_BUF - off;
	memcpy(b->data + off, data, first);
	memcpy(b->data, (const uint8_t *)data + first, len - first);
	b->head += len;
	return 0;
}

int vsock_txbuf_peek(const struct vsock_txbuf *b, struct iovec iov[2])
{
	uint32_t len = vsock_txbuf_len(b), off = b->tail % VSOCK_CONN_BUF, first;

	if (!len)
		return 0;
	first = len < VSOCK_CONN_BUF - off ? len : VSOCK_CONN_BUF - off;
	iov[0] = (struct iovec){ b->data + off, first };
	if (first == len)
		return 1;
	iov[1] = (struct iovec){ b->data, len - first };
	return 2;
}

void vsock_txbuf_pop(struct vsock_txbuf *b, uint32_t n)
{
	uint32_t len = vsock_txbuf_len(b);

	b->tail += n < len ? n : len;
}
