/* Scenario mmds: the guest side of the MMDS over the first virtio-net device,
 * through mmds-probe.c's TCP client (ARP, TCP, HTTP/1.1).
 * Parameters:
 *   probe.net_ip=A.B.C.D     this guest's address
 *   probe.mmds_ip=A.B.C.D    the MMDS address (default 169.254.169.254)
 *   probe.mmds_get=/path     repeatable: one GET each, in order
 *   probe.mmds_accept=json   send Accept: application/json
 *   probe.mmds_v2=TTL        first PUT /latest/api/token with that TTL, then
 *                            the token in every GET
 *   probe.mmds_bad=1         also the hostile requests (no token, a bad token,
 *                            DELETE, oversized, a bad checksum, RST
 *                            mid-response, 40 parallel connections), then a
 *                            good GET and PROBE mmds.alive
 * Lines: PROBE mmds.arp; per request
 *   PROBE-INFO mmds <METHOD> <path>[ (<what>)] -> <status> <body>
 * with `\` written `\\`, newlines `\n` and other control bytes `\xHH`; the
 * token PUT prints the body's length instead of the body; a request without
 * an HTTP answer prints status 000 and what happened (reset, reset sent,
 * closed, timeout). Last PROBE mmds.done: every request got an answer or the
 * expected reset, and every frame from the MMDS was sound. */
#include "mmds-probe.h"
#include "probe.h"

#define REQ_MAX 3200u
#define OVERSIZED 3000u
#define PARALLEL 40u
#define PATH_MAX_LEN 200u
#define OPEN_MS 3000u
#define ANSWER_MS 8000u

enum outcome { ANSWERED, RESET, RESET_SENT, CLOSED, TIMEOUT };

static struct pnet net;
static struct mclient mc;
static char req[REQ_MAX];
static char token[128];
static uint32_t token_len;
static bool accept_json, use_token;
static unsigned requests, unexpected;

static uint32_t append(uint32_t at, const char *s, size_t len)
{
	if (at + len < REQ_MAX) {
		memcpy(req + at, s, len);
		at += (uint32_t)len;
	}
	return at;
}

static uint32_t append_str(uint32_t at, const char *s)
{
	return append(at, s, strlen(s));
}

/* "<method> <path> HTTP/1.1" and the headers this run sends; pad bytes of an
 * X-Pad header make it oversized; tok is the token header's value (NULL: none). */
static uint32_t build(const char *method, const char *path, size_t plen, const char *tok, uint32_t tlen,
		      uint32_t pad)
{
	uint32_t n = append_str(0, method);

	n = append(append_str(n, " "), path, plen);
	n = append_str(n, " HTTP/1.1\r\nHost: mmds\r\n");
	if (accept_json)
		n = append_str(n, "Accept: application/json\r\n");
	if (tok)
		n = append_str(append(append_str(n, "X-metadata-token: "), tok, tlen), "\r\n");
	if (pad) {
		n = append_str(n, "X-Pad: ");
		for (uint32_t i = 0; i < pad && n < REQ_MAX - 8; i++)
			req[n++] = 'p';
		n = append_str(n, "\r\n");
	}
	return append_str(n, "\r\n");
}

/* The body, escaped, onto the line being written. */
static void write_escaped(const char *s, uint32_t len)
{
	static const char hex[] = "0123456789abcdef";
	char buf[64];
	unsigned n = 0;

	for (uint32_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (n > sizeof(buf) - 4) {
			uart_write(buf, n);
			n = 0;
		}
		if (ch == '\\' || ch == '\n') {
			buf[n++] = '\\';
			buf[n++] = ch == '\n' ? 'n' : '\\';
		} else if (ch < 0x20 || ch == 0x7f) {
			buf[n++] = '\\', buf[n++] = 'x', buf[n++] = hex[ch >> 4], buf[n++] = hex[ch & 15];
		} else {
			buf[n++] = (char)ch;
		}
	}
	uart_write(buf, n);
}

static enum outcome outcome_of(const struct mconn *c)
{
	if (mc_status(c, &(const char *){ 0 }, &(uint32_t){ 0 }))
		return ANSWERED;
	if (c->sent_rst)
		return RESET_SENT;
	if (c->reset)
		return RESET;
	return c->fin ? CLOSED : TIMEOUT;
}

/* PROBE-INFO mmds <method> <path>[ (<what>)] -> <status> <body | length | what happened> */
static enum outcome report(const char *method, const char *path, size_t plen, const char *what,
			   const struct mconn *c, bool length_only)
{
	static const char *const happened[] = { "", "reset", "reset sent", "closed", "timeout" };
	enum outcome o = outcome_of(c);
	const char *body;
	uint32_t blen;
	int status = mc_status(c, &body, &blen);
	char head[64];

	uart_write("PROBE-INFO mmds ", 16);
	uart_write(method, strlen(method));
	uart_write(" ", 1);
	write_escaped(path, (uint32_t)plen);
	if (what) {
		uart_write(" (", 2);
		uart_write(what, strlen(what));
		uart_write(")", 1);
	}
	if (o != ANSWERED)
		probe_fmt(head, sizeof(head), " -> 000 %s\n", happened[o]);
	else if (length_only)
		probe_fmt(head, sizeof(head), " -> %03d %u\n", status, blen);
	else
		probe_fmt(head, sizeof(head), " -> %03d ", status);
	uart_write(head, strlen(head));
	if (o == ANSWERED && !length_only) {
		write_escaped(body, blen);
		uart_write("\n", 1);
	}
	return o;
}

/* Polls until c finished or ms passed. */
static void wait_finished(struct mconn *c, uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);

	while (!mc_finished(c) && !probe_deadline_passed(deadline))
		mc_poll(&mc);
}

static void expect(enum outcome got, enum outcome want)
{
	requests++;
	if (got != want)
		unexpected++;
}

/* One request on a fresh connection, reported; returns its outcome. */
static enum outcome request(const char *method, const char *path, size_t plen, const char *what, uint32_t len,
			    bool bad_csum, bool rst_mid, bool length_only, struct mconn **keep)
{
	struct mconn *c = mc_connect(&mc);
	enum outcome o;

	if (!c)
		return TIMEOUT;
	if (mc_wait_open(&mc, c, OPEN_MS)) {
		c->req = req;
		c->req_len = len;
		c->rst_on_data = rst_mid;
		mc_send_request(&mc, c, bad_csum);
		wait_finished(c, ANSWER_MS);
	}
	o = report(method, path, plen, what, c, length_only);
	if (keep)
		*keep = c;
	else
		mc_close(&mc, c);
	return o;
}

static enum outcome get(const char *path, size_t plen, const char *what, bool bad_csum)
{
	uint32_t n = build("GET", path, plen, use_token ? token : NULL, token_len, 0);
	enum outcome o = request("GET", path, plen, what, n, bad_csum, false, false, NULL);

	expect(o, ANSWERED);
	return o;
}

static void v2_token(uint64_t ttl)
{
	char hdr[64];
	struct mconn *c;
	const char *body;
	uint32_t n;

	probe_fmt(hdr, sizeof(hdr), "X-metadata-token-ttl-seconds: %lu\r\n\r\n", ttl);
	n = append_str(append_str(0, "PUT /latest/api/token HTTP/1.1\r\nHost: mmds\r\n"), hdr);
	expect(request("PUT", "/latest/api/token", 17, NULL, n, false, false, true, &c), ANSWERED);
	if (mc_status(c, &body, &token_len) == 200 && token_len < sizeof(token)) {
		memcpy(token, body, token_len);
		use_token = true;
	}
	mc_close(&mc, c);
}

/* 40 connections at once: each gets an answer or is reset (30 at most live). */
static void parallel(void)
{
	struct mconn *cs[PARALLEL];
	uint32_t n = build("GET", "/", 1, use_token ? token : NULL, token_len, 0);
	uint64_t deadline;
	char what[16];

	for (unsigned i = 0; i < PARALLEL; i++) {
		cs[i] = mc_connect(&mc);
		mc_poll(&mc);
	}
	deadline = probe_deadline_ms(OPEN_MS * 2);
	for (unsigned i = 0; i < PARALLEL; i++)
		while (cs[i] && cs[i]->state == MC_SYN_SENT && !probe_deadline_passed(deadline))
			mc_poll(&mc);
	for (unsigned i = 0; i < PARALLEL; i++)
		if (cs[i] && cs[i]->state == MC_OPEN) {
			cs[i]->req = req, cs[i]->req_len = n;
			mc_send_request(&mc, cs[i], false);
		}
	deadline = probe_deadline_ms(ANSWER_MS);
	for (unsigned i = 0; i < PARALLEL; i++)
		while (cs[i] && !mc_finished(cs[i]) && !probe_deadline_passed(deadline))
			mc_poll(&mc);
	for (unsigned i = 0; i < PARALLEL; i++) {
		enum outcome o;

		probe_fmt(what, sizeof(what), "parallel %u", i + 1);
		o = cs[i] ? report("GET", "/", 1, what, cs[i], false) : TIMEOUT;
		expect(o == RESET ? ANSWERED : o, ANSWERED); /* a reset is Firecracker's eviction */
	}
	for (unsigned i = 0; i < PARALLEL; i++)
		if (cs[i])
			mc_close(&mc, cs[i]);
}

static void hostile(const char *path, size_t plen)
{
	static const char bogus[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	uint32_t n;

	n = build("GET", path, plen, NULL, 0, 0);
	expect(request("GET", path, plen, "no token", n, false, false, false, NULL), ANSWERED);
	n = build("GET", path, plen, bogus, sizeof(bogus) - 1, 0);
	expect(request("GET", path, plen, "bad token", n, false, false, false, NULL), ANSWERED);
	n = build("DELETE", path, plen, use_token ? token : NULL, token_len, 0);
	expect(request("DELETE", path, plen, NULL, n, false, false, false, NULL), ANSWERED);
	n = build("GET", path, plen, use_token ? token : NULL, token_len, OVERSIZED);
	expect(request("GET", path, plen, "3000-byte request", n, false, false, false, NULL), RESET);
	get(path, plen, "bad checksum first", true);
	n = build("GET", path, plen, use_token ? token : NULL, token_len, 0);
	expect(request("GET", path, plen, "RST mid-response", n, false, true, false, NULL), RESET_SENT);
	parallel();
}

static void done(void)
{
	probe_check("mmds.done", !unexpected && !mc.bad_frames && mc.frames,
		    "%u of %u requests without the expected answer; %u unsound frames of %u from the MMDS%s%s",
		    unexpected, requests, mc.bad_frames, mc.frames, mc.bad_frames ? ", first: " : "", mc.bad_why);
}

void scenario_mmds(void)
{
	static const uint8_t mmds_default[4] = { 169, 254, 169, 254 };
	uint8_t ip[4];
	size_t len = 0, alive_len = 1;
	const char *v = probe_param("probe.mmds_ip", &len), *path, *alive = "/";
	uint64_t ttl;
	const char *err;

	memcpy(ip, mmds_default, 4);
	if (v && !pnet_parse_ip(v, (unsigned)len, ip)) {
		probe_fail("mmds.init", "probe.mmds_ip is not an IPv4 address");
		return;
	}
	err = pnet_open_peer(&net, 0, ip);
	if (err) {
		probe_fail("mmds.init", "%s", err);
		return;
	}
	pnet_post_rx(&net, 0, VP_QN);
	mc_init(&mc, &net, ip);
	accept_json = probe_param_is("probe.mmds_accept", "json");
	if (!probe_check("mmds.arp", mc_arp(&mc), "no ARP reply for the MMDS address in 2 s")) {
		done();
		return;
	}
	if (probe_param_u64("probe.mmds_v2", &ttl))
		v2_token(ttl);
	for (unsigned i = 0; (path = probe_param_nth("probe.mmds_get", i, &len)); i++) {
		if (i == 0 && len <= PATH_MAX_LEN)
			alive = path, alive_len = len;
		get(path, len, NULL, false);
	}
	if (probe_param_is("probe.mmds_bad", "1")) {
		hostile(alive, alive_len);
		probe_check("mmds.alive", get(alive, alive_len, NULL, false) == ANSWERED,
			    "the GET after the hostile requests got no answer");
	}
	done();
}
