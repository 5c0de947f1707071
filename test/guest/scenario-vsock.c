/* probe=vsock: a polling virtio-vsock driver (virtio 1.2 §5.10) against
 * ember's device and a host peer on its unix sockets.
 *
 *   probe.vsock_listen=P     the port host connections come to (default 52)
 *   probe.vsock_connect=Q    the host port the guest connects to (default 53)
 *   probe.vsock_bytes=N      bytes sent to Q and expected back (default 65536)
 *   probe.vsock_serve_ms=T   how long host connections are served (default 3000)
 *
 * In order: listen on P; connect to Q, send N bytes of (i * 7 + 3) & 0xff,
 * read as many back and check them (vsock.guest_connect), the IRR check
 * (irq.vsock); connect to Q + 1, where nobody listens, and expect a RST
 * (vsock.rst); echo host connections to P for T ms, one
 * `PROBE-INFO vsock.echoed <bytes>` per connection when it ends; vsock.done.
 * Credit is kept both ways: the guest offers VSOCK_BUF and never sends past
 * what the host offered. */
#include "scenarios.h"
#include "vsock-probe.h"

#define VSOCK_BUF 65536u
#define VSOCK_CONNS 4u

/* An echo connection: what came in and was not yet sent back. The state
 * is apart from the buffer: clearing 64 KiB per connection would cost the
 * emulator most of a second. */
struct echo_state {
	bool used;
	uint32_t host_port, guest_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt; /* the host's credit */
	uint32_t tx_cnt;                       /* bytes sent to the host */
	uint32_t rx_cnt;                       /* bytes received */
	uint32_t fwd_cnt;                      /* bytes echoed (our consumed count) */
	bool host_shut;
	bool shut_sent;
};

struct echo_conn {
	struct echo_state s;
	uint8_t buf[VSOCK_BUF];
};

static struct echo_conn conns[VSOCK_CONNS];

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i * 7 + 3) & 0xff);
}

static uint32_t credit(uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t tx_cnt)
{
	uint32_t in_flight = tx_cnt - fwd_cnt;

	return in_flight >= buf_alloc ? 0 : buf_alloc - in_flight;
}

/* ---- guest → host: connect, send the pattern, check the echo ---- */

struct client {
	uint32_t port, host_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt, rx_cnt, told;
	uint64_t bad_at; /* first mismatching offset + 1 */
	bool established, reset;
};

static void client_rx(struct vsv *v, struct client *c, const struct vsv_pkt *p)
{
	c->peer_buf_alloc = p->hdr.buf_alloc;
	c->peer_fwd_cnt = p->hdr.fwd_cnt;
	if (p->hdr.op == VSV_OP_RESPONSE)
		c->established = true;
	else if (p->hdr.op == VSV_OP_RST)
		c->reset = true;
	else if (p->hdr.op == VSV_OP_RW) {
		for (uint32_t i = 0; i < p->hdr.len; i++)
			if (p->data[i] != pattern(c->rx_cnt + i) && !c->bad_at)
				c->bad_at = c->rx_cnt + i + 1;
		c->rx_cnt += p->hdr.len;
		/* Consumed at once: tell the host before its view of our buffer runs low. */
		if (c->rx_cnt - c->told >= VSOCK_BUF / 4) {
			vsv_send(v, VSV_OP_CREDIT_UPDATE, c->port, c->host_port, VSOCK_BUF, c->rx_cnt, 0, NULL, 0);
			c->told = c->rx_cnt;
		}
	}
}

/* Waits for packets of c until done() says so or the deadline passes. */
static bool client_wait(struct vsv *v, struct client *c, bool (*done)(const struct client *), uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);
	struct vsv_pkt p;

	while (!done(c) && !probe_deadline_passed(deadline))
		if (vsv_recv(v, &p)) {
			if (p.hdr.dst_port == c->port)
				client_rx(v, c, &p);
			vsv_recv_done(v, &p);
		}
	return done(c);
}

static bool client_answered(const struct client *c)
{
	return c->established || c->reset;
}

static uint64_t want_bytes;

static bool client_echoed(const struct client *c)
{
	return c->reset || c->rx_cnt >= want_bytes;
}

static void client_send_all(struct vsv *v, struct client *c, uint64_t n)
{
	static uint8_t chunk[VSV_DATA_MAX];
	uint64_t sent = 0, deadline = probe_deadline_ms(10000);
	struct vsv_pkt p;

	while (sent < n && !c->reset && !probe_deadline_passed(deadline)) {
		uint32_t room = credit(c->peer_buf_alloc, c->peer_fwd_cnt, c->tx_cnt), len;

		len = n - sent < VSV_DATA_MAX ? (uint32_t)(n - sent) : VSV_DATA_MAX;
		len = len < room ? len : room;
		if (len) {
			for (uint32_t i = 0; i < len; i++)
				chunk[i] = pattern(sent + i);
			vsv_send(v, VSV_OP_RW, c->port, c->host_port, VSOCK_BUF, c->rx_cnt, 0, chunk, len);
			c->tx_cnt += len;
			sent += len;
		}
		while (vsv_recv(v, &p)) {
			if (p.hdr.dst_port == c->port)
				client_rx(v, c, &p);
			vsv_recv_done(v, &p);
		}
	}
}

static void vsock_guest_connect(struct vsv *v, uint32_t q, uint64_t n)
{
	struct client c = { .port = 2000, .host_port = q };

	vsv_send(v, VSV_OP_REQUEST, c.port, q, VSOCK_BUF, 0, 0, NULL, 0);
	if (!client_wait(v, &c, client_answered, 3000) || c.reset) {
		probe_fail("vsock.guest_connect", "no RESPONSE from host port %u (%s)", q, c.reset ? "RST" : "timeout");
		return;
	}
	want_bytes = n;
	client_send_all(v, &c, n);
	client_wait(v, &c, client_echoed, 10000);
	if (probe_check("vsock.guest_connect", c.rx_cnt == n && !c.bad_at,
			"%u of %lu bytes back, first mismatch at %lu", c.rx_cnt, n, c.bad_at ? c.bad_at - 1 : 0))
		probe_info("vsock.guest_sent", "%lu", n);
	/* Half-close first (the host socket's write side follows), then both. */
	vsv_send(v, VSV_OP_SHUTDOWN, c.port, q, VSOCK_BUF, c.rx_cnt, 2, NULL, 0);
	vsv_send(v, VSV_OP_SHUTDOWN, c.port, q, VSOCK_BUF, c.rx_cnt, 3, NULL, 0);
	c.established = false;
	client_wait(v, &c, client_answered, 3000); /* the host's RST ends it */
}

static void vsock_rst(struct vsv *v, uint32_t port)
{
	struct client c = { .port = 2001, .host_port = port };

	vsv_send(v, VSV_OP_REQUEST, c.port, port, VSOCK_BUF, 0, 0, NULL, 0);
	client_wait(v, &c, client_answered, 3000);
	probe_check("vsock.rst", c.reset, "port %u without listener answered %s", port,
		    c.established ? "RESPONSE" : "nothing");
}

/* ---- host → guest: echo ---- */

static struct echo_conn *echo_find(uint32_t host_port, uint32_t guest_port)
{
	for (unsigned i = 0; i < VSOCK_CONNS; i++)
		if (conns[i].s.used && conns[i].s.host_port == host_port && conns[i].s.guest_port == guest_port)
			return &conns[i];
	return NULL;
}

static void echo_end(struct echo_conn *e)
{
	probe_info("vsock.echoed", "%u", e->s.fwd_cnt);
	e->s.used = false;
}

static void echo_request(struct vsv *v, const struct vsv_pkt *p, uint32_t listen)
{
	struct echo_conn *e = NULL;

	for (unsigned i = 0; i < VSOCK_CONNS && !e; i++)
		if (!conns[i].s.used)
			e = &conns[i];
	if (p->hdr.dst_port != listen || !e) {
		vsv_send(v, VSV_OP_RST, p->hdr.dst_port, p->hdr.src_port, 0, 0, 0, NULL, 0);
		return;
	}
	e->s = (struct echo_state){ .used = true, .host_port = p->hdr.src_port, .guest_port = p->hdr.dst_port,
				    .peer_buf_alloc = p->hdr.buf_alloc, .peer_fwd_cnt = p->hdr.fwd_cnt };
	vsv_send(v, VSV_OP_RESPONSE, e->s.guest_port, e->s.host_port, VSOCK_BUF, 0, 0, NULL, 0);
}

static void echo_store(struct echo_conn *e, const uint8_t *data, uint32_t len)
{
	uint32_t at = e->s.rx_cnt % VSOCK_BUF, first = VSOCK_BUF - at < len ? VSOCK_BUF - at : len;

	vsv_copy(e->buf + at, data, first);
	vsv_copy(e->buf, data + first, len - first);
	e->s.rx_cnt += len;
}

static void echo_rx(struct vsv *v, struct echo_conn *e, const struct vsv_pkt *p)
{
	e->s.peer_buf_alloc = p->hdr.buf_alloc;
	e->s.peer_fwd_cnt = p->hdr.fwd_cnt;
	switch (p->hdr.op) {
	case VSV_OP_RW:
		if (p->hdr.len > VSOCK_BUF - (e->s.rx_cnt - e->s.fwd_cnt)) { /* the host broke our credit */
			vsv_send(v, VSV_OP_RST, e->s.guest_port, e->s.host_port, 0, 0, 0, NULL, 0);
			echo_end(e);
			return;
		}
		echo_store(e, p->data, p->hdr.len);
		break;
	case VSV_OP_SHUTDOWN:
		e->s.host_shut = true;
		break;
	case VSV_OP_RST:
		echo_end(e);
		break;
	case VSV_OP_CREDIT_REQUEST:
		vsv_send(v, VSV_OP_CREDIT_UPDATE, e->s.guest_port, e->s.host_port, VSOCK_BUF, e->s.fwd_cnt, 0, NULL, 0);
		break;
	default:
		break;
	}
}

/* Sends back what came in, as far as the host's credit goes; once the host
 * shut down and everything is echoed, shuts down too (the host's RST ends it). */
static void echo_pump(struct vsv *v, struct echo_conn *e)
{
	while (e->s.rx_cnt != e->s.fwd_cnt) {
		uint32_t at = e->s.fwd_cnt % VSOCK_BUF, len = e->s.rx_cnt - e->s.fwd_cnt;
		uint32_t room = credit(e->s.peer_buf_alloc, e->s.peer_fwd_cnt, e->s.tx_cnt);

		len = len < VSV_DATA_MAX ? len : VSV_DATA_MAX;
		len = len < room ? len : room;
		len = len < VSOCK_BUF - at ? len : VSOCK_BUF - at; /* one piece of the ring */
		if (!len)
			return;
		e->s.fwd_cnt += len;
		e->s.tx_cnt += len;
		vsv_send(v, VSV_OP_RW, e->s.guest_port, e->s.host_port, VSOCK_BUF, e->s.fwd_cnt, 0, e->buf + at, len);
	}
	if (e->s.host_shut && !e->s.shut_sent) {
		vsv_send(v, VSV_OP_SHUTDOWN, e->s.guest_port, e->s.host_port, VSOCK_BUF, e->s.fwd_cnt, 3, NULL, 0);
		e->s.shut_sent = true;
	}
}

static void vsock_serve(struct vsv *v, uint32_t listen, uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);
	struct vsv_pkt p;

	while (!probe_deadline_passed(deadline)) {
		while (vsv_recv(v, &p)) {
			struct echo_conn *e = echo_find(p.hdr.src_port, p.hdr.dst_port);

			if (e)
				echo_rx(v, e, &p);
			else if (p.hdr.op == VSV_OP_REQUEST)
				echo_request(v, &p, listen);
			else if (p.hdr.op != VSV_OP_RST)
				vsv_send(v, VSV_OP_RST, p.hdr.dst_port, p.hdr.src_port, 0, 0, 0, NULL, 0);
			vsv_recv_done(v, &p);
		}
		for (unsigned i = 0; i < VSOCK_CONNS; i++)
			if (conns[i].s.used)
				echo_pump(v, &conns[i]);
	}
	for (unsigned i = 0; i < VSOCK_CONNS; i++)
		if (conns[i].s.used)
			echo_end(&conns[i]);
}

static uint64_t param(const char *key, uint64_t def)
{
	uint64_t v;

	return probe_param_u64(key, &v) ? v : def;
}

void scenario_vsock(void)
{
	static struct vsv v;
	uint64_t listen = param("probe.vsock_listen", 52), q = param("probe.vsock_connect", 53);
	const char *why = vsv_open(&v);

	if (why) {
		probe_fail("vsock.device", "%s", why);
		return;
	}
	probe_info("vsock.cid", "%lu", v.cid);
	vsock_guest_connect(&v, (uint32_t)q, param("probe.vsock_bytes", 65536));
	vsv_irq_check(&v);
	vsock_rst(&v, (uint32_t)q + 1);
	vsock_serve(&v, (uint32_t)listen, param("probe.vsock_serve_ms", 3000));
	probe_ok("vsock.done");
}
