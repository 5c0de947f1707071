/* probe=hostile-vsock: a guest that breaks the vsock rules, then checks that
 * the device still serves a well-behaved connection.
 *
 *   probe.vsock_connect=Q      a host port with a listener (default 53): the
 *                              credit overrun, the REQUEST flood and the final
 *                              connection go there
 *   probe.vsock_flood=N        REQUESTs in the flood (default 1100: past the
 *                              device's 1023 connections)
 *
 * Checks: a wrong source CID and an unknown op are answered with a RST
 * (hostile-vsock.wrong_cid, .unknown_op); a length larger than its buffer is
 * dropped without an answer (.short_buffer); sending past the host's credit
 * gets the connection a RST (.credit_overrun); a flood of REQUESTs gets RSTs
 * for those past the limit (.flood); finally a normal connection to Q is
 * answered (hostile-vsock.alive). */
#include "scenarios.h"
#include "vsock-probe.h"

#define BUF 65536u
#define FLOOD_BASE 10000u

/* Waits up to ms for a packet to guest port `port`; returns its op, 0 if none. */
static uint16_t wait_op(struct vsv *v, uint32_t port, uint64_t ms, struct vsv_hdr *ret)
{
	uint64_t deadline = probe_deadline_ms(ms);
	struct vsv_pkt p;

	while (!probe_deadline_passed(deadline))
		if (vsv_recv(v, &p)) {
			uint16_t op = p.hdr.op;
			bool mine = p.hdr.dst_port == port;

			if (mine && ret)
				*ret = p.hdr;
			vsv_recv_done(v, &p);
			if (mine)
				return op;
		}
	return 0;
}

static void wrong_cid_and_op(struct vsv *v, uint32_t q)
{
	struct vsv_hdr h = { .src_cid = v->cid + 1, .dst_cid = VSV_HOST_CID, .src_port = 3000, .dst_port = q,
			     .type = 1, .op = VSV_OP_REQUEST, .buf_alloc = BUF };
	uint16_t op;

	vsv_send_raw(v, &h, sizeof(h));
	op = wait_op(v, 3000, 2000, NULL);
	probe_check("hostile-vsock.wrong_cid", op == VSV_OP_RST, "a REQUEST from CID %lu got op %u", v->cid + 1, op);
	h.src_cid = v->cid;
	h.src_port = 3001;
	h.op = 99;
	vsv_send_raw(v, &h, sizeof(h));
	op = wait_op(v, 3001, 2000, NULL);
	probe_check("hostile-vsock.unknown_op", op == VSV_OP_RST, "op 99 got op %u", op);
}

static void short_buffer(struct vsv *v, uint32_t q)
{
	struct vsv_hdr h = { .src_cid = v->cid, .dst_cid = VSV_HOST_CID, .src_port = 3002, .dst_port = q,
			     .len = 1000, .type = 1, .op = VSV_OP_RW, .buf_alloc = BUF };
	uint8_t raw[sizeof(h) + 10];
	uint16_t op;

	memcpy(raw, &h, sizeof(h));
	memset(raw + sizeof(h), 0, 10);
	vsv_send_raw(v, raw, sizeof(raw)); /* says 1000 bytes, carries 10 */
	op = wait_op(v, 3002, 500, NULL);
	probe_check("hostile-vsock.short_buffer", op == 0, "a packet longer than its buffer got op %u", op);
}

static bool open_conn(struct vsv *v, uint32_t port, uint32_t q, struct vsv_hdr *ret)
{
	vsv_send(v, VSV_OP_REQUEST, port, q, BUF, 0, 0, NULL, 0);
	return wait_op(v, port, 3000, ret) == VSV_OP_RESPONSE;
}

static void credit_overrun(struct vsv *v, uint32_t q)
{
	static uint8_t junk[VSV_DATA_MAX];
	struct vsv_hdr resp;
	uint32_t sent = 0;
	uint16_t op = 0;

	if (!open_conn(v, 3003, q, &resp)) {
		probe_fail("hostile-vsock.credit_overrun", "no connection to host port %u", q);
		return;
	}
	/* Never waiting for credit: once the host socket's own buffer is full
	 * (the listener never reads), the device buffers buf_alloc and no more. */
	while (sent < (4u << 20) && op != VSV_OP_RST) {
		vsv_send(v, VSV_OP_RW, 3003, q, BUF, 0, 0, junk, VSV_DATA_MAX);
		sent += VSV_DATA_MAX;
		op = wait_op(v, 3003, 1, NULL);
	}
	if (op != VSV_OP_RST)
		op = wait_op(v, 3003, 2000, NULL);
	probe_check("hostile-vsock.credit_overrun", op == VSV_OP_RST,
		    "%u bytes against a buf_alloc of %u got op %u", sent, resp.buf_alloc, op);
}

/* REQUESTs from n ports without waiting; counts the answers of each kind. */
static void flood(struct vsv *v, uint32_t q, uint32_t n)
{
	uint32_t resp = 0, rst = 0, sent = 0;
	uint64_t deadline = probe_deadline_ms(30000);
	struct vsv_pkt p;

	while ((sent < n || resp + rst < n) && !probe_deadline_passed(deadline)) {
		if (sent < n)
			vsv_send(v, VSV_OP_REQUEST, FLOOD_BASE + sent++, q, BUF, 0, 0, NULL, 0);
		while (vsv_recv(v, &p)) {
			if (p.hdr.dst_port >= FLOOD_BASE && p.hdr.dst_port < FLOOD_BASE + n) {
				resp += p.hdr.op == VSV_OP_RESPONSE;
				rst += p.hdr.op == VSV_OP_RST;
			}
			vsv_recv_done(v, &p);
		}
	}
	probe_info("hostile-vsock.flood", "%u REQUESTs: %u RESPONSE, %u RST", n, resp, rst);
	probe_check("hostile-vsock.flood", resp <= 1023 && resp + rst == n && (n <= 1023 || rst >= n - 1023),
		    "%u REQUESTs got %u RESPONSE and %u RST", n, resp, rst);
	/* Close what was opened; the device answers nothing to a RST. */
	for (uint32_t i = 0; i < n; i++)
		vsv_send(v, VSV_OP_RST, FLOOD_BASE + i, q, 0, 0, 0, NULL, 0);
}

void scenario_hostile_vsock(void)
{
	static struct vsv v;
	uint64_t q = 53, n = 1100;
	const char *why = vsv_open(&v);
	struct vsv_hdr resp;

	probe_param_u64("probe.vsock_connect", &q);
	probe_param_u64("probe.vsock_flood", &n);
	if (why) {
		probe_fail("hostile-vsock.device", "%s", why);
		return;
	}
	wrong_cid_and_op(&v, (uint32_t)q);
	short_buffer(&v, (uint32_t)q);
	credit_overrun(&v, (uint32_t)q);
	flood(&v, (uint32_t)q, (uint32_t)n);
	probe_check("hostile-vsock.alive", open_conn(&v, 3999, (uint32_t)q, &resp),
		    "a normal connection to host port %lu was not answered", q);
	vsv_send(&v, VSV_OP_RST, 3999, (uint32_t)q, 0, 0, 0, NULL, 0);
}
