/* The snapshot scenario's device checks (snapshot-devices.h): each device
 * present on the command line is set up before `snapshot.ready` and used
 * again after every restore, through the probe's drivers (net-probe.c,
 * vsock-probe.c, mmds-probe.c, balloon-probe.c). */
#include "snapshot-devices.h"

#include "balloon-probe.h"
#include "mmds-probe.h"
#include "net-probe.h"
#include "probe.h"
#include "vsock-probe.h"

#define VSOCK_ID 19u
#define BALLOON_ID 5u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define ECHO_LEN 64u
#define BALLOON_PAGES 256u
#define BALLOON_BEFORE 16u
#define REQ_MAX 512u

/* struct pvclock_vcpu_time_info (Linux's arch/x86/include/asm/pvclock-abi.h) */
struct pvclock {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags, pad[2];
} __attribute__((packed));

static struct {
	bool net, vsock, balloon, mmds, kvmclock, balloon_zero;
	uint8_t peer[4];
	struct pnet pnet;
	struct mclient mc;
	char token[128];
	uint32_t token_len;
	struct vsv vsv;
	struct bp bp;
	uint32_t vsock_port;
} sd;

static volatile struct pvclock clock_page __attribute__((aligned(4096)));
static char req[REQ_MAX];

static bool device_present(uint32_t id)
{
	uint64_t base[VP_MAX_DEVICES];
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES);

	for (unsigned i = 0; i < n; i++)
		if (mmio_read32(base[i] + 0x008) == id)
			return true;
	return false;
}

/* ---- kvmclock ---- */

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* The guest's kvmclock in ns: system_time plus the TSC since tsc_timestamp,
 * scaled (Linux's pvclock_read_cycles), read under the version protocol. */
static uint64_t kvmclock_ns(void)
{
	uint32_t v;
	uint64_t ns;

	do {
		uint64_t delta;

		v = clock_page.version;
		__asm__ volatile("" ::: "memory");
		delta = rdtsc() - clock_page.tsc_timestamp;
		if (clock_page.tsc_shift < 0)
			delta >>= -clock_page.tsc_shift;
		else
			delta <<= clock_page.tsc_shift;
		ns = clock_page.system_time + (uint64_t)(((unsigned __int128)delta * clock_page.tsc_to_system_mul) >> 32);
		__asm__ volatile("" ::: "memory");
	} while ((v & 1) || v != clock_page.version);
	return ns;
}

static void kvmclock_info(void)
{
	if (sd.kvmclock)
		probe_info("snapshot.kvmclock_ns", "%lu", kvmclock_ns());
}

/* ---- net ---- */

static bool peer_known(const struct pnet *n)
{
	return n->peer_known;
}

static bool pinged(const struct pnet *n)
{
	return (n->echo_seen & 7u) == 7u;
}

static bool net_arp_ping(void)
{
	struct pnet *n = &sd.pnet;

	memcpy(n->peer, sd.peer, 4);
	n->peer_known = false;
	n->echo_seen = 0;
	for (unsigned i = 0; i < 4 && !n->peer_known; i++) {
		pnet_send_arp_request(n);
		pnet_wait(n, peer_known, 500);
	}
	for (uint16_t seq = 0; n->peer_known && seq < 3; seq++)
		pnet_send_echo(n, seq);
	return n->peer_known && pnet_wait(n, pinged, 3000);
}

/* ---- MMDS (over the net device) ---- */

static const uint8_t mmds_ip[4] = { 169, 254, 169, 254 };

static uint32_t mmds_build(const char *method, const char *path, const char *hdr_name, const char *hdr, uint32_t hlen)
{
	uint32_t n = 0;

	n += probe_fmt(req + n, REQ_MAX - n, "%s %s HTTP/1.1\r\nHost: mmds\r\n", method, path);
	if (hdr_name && n + strlen(hdr_name) + hlen + 8 < REQ_MAX) {
		n += probe_fmt(req + n, REQ_MAX - n, "%s: ", hdr_name);
		memcpy(req + n, hdr, hlen);
		n += hlen;
		n += probe_fmt(req + n, REQ_MAX - n, "\r\n");
	}
	return n + probe_fmt(req + n, REQ_MAX - n, "\r\n");
}

/* One request on a fresh connection: its status (0: no answer), and the
 * body into sd.token when keep_token. */
static int mmds_request(uint32_t len, bool keep_token)
{
	struct mconn *c = mc_connect(&sd.mc);
	const char *body;
	uint32_t blen = 0;
	int status = 0;

	if (!c)
		return 0;
	if (mc_wait_open(&sd.mc, c, 3000)) {
		uint64_t deadline = probe_deadline_ms(8000);

		c->req = req;
		c->req_len = len;
		mc_send_request(&sd.mc, c, false);
		while (!mc_finished(c) && !probe_deadline_passed(deadline))
			mc_poll(&sd.mc);
		status = mc_status(c, &body, &blen);
		if (keep_token && status == 200 && blen < sizeof(sd.token)) {
			memcpy(sd.token, body, blen);
			sd.token_len = blen;
		}
	}
	mc_close(&sd.mc, c);
	return status;
}

static int mmds_token(void)
{
	static const char ttl[] = "600";

	sd.token_len = 0;
	return mmds_request(mmds_build("PUT", "/latest/api/token", "X-metadata-token-ttl-seconds", ttl, 3), true);
}

static int mmds_get(const char *tok, uint32_t tlen)
{
	return mmds_request(mmds_build("GET", "/", "X-metadata-token", tok, tlen), false);
}

/* The MMDS answers ARP for its address (the client's peer while it talks). */
static bool mmds_arp(void)
{
	mc_init(&sd.mc, &sd.pnet, mmds_ip);
	return mc_arp(&sd.mc);
}

static void mmds_after(void)
{
	char old[sizeof(sd.token)];
	uint32_t old_len = sd.token_len;
	int st_old = 0, st_tok = 0, st_new = 0;

	memcpy(old, sd.token, old_len);
	if (mmds_arp()) {
		st_old = mmds_get(old, old_len);
		st_tok = mmds_token();
		st_new = sd.token_len ? mmds_get(sd.token, sd.token_len) : 0;
	}
	probe_check("snapshot.mmds", st_old == 401 && st_tok == 200 && st_new == 200,
		    "the token from before the snapshot answered %d (401 expected), a new token %d, a GET with it %d",
		    st_old, st_tok, st_new);
}

/* ---- vsock ---- */

/* A new connection to the host's port: REQUEST, RESPONSE, ECHO_LEN bytes
 * out and back, then RST. True when every byte came back. */
static bool vsock_echo(uint32_t host_port, uint32_t port)
{
	static uint8_t out[ECHO_LEN];
	uint64_t deadline = probe_deadline_ms(5000);
	uint32_t got = 0, bad = 0;
	bool open = false;
	struct vsv_pkt p;

	for (unsigned i = 0; i < ECHO_LEN; i++)
		out[i] = (uint8_t)((i * 7 + 3) & 0xff); /* vsock-peer.py's pattern */
	vsv_send(&sd.vsv, VSV_OP_REQUEST, port, host_port, 65536, 0, 0, NULL, 0);
	while (got < ECHO_LEN && !probe_deadline_passed(deadline)) {
		if (!vsv_recv(&sd.vsv, &p))
			continue;
		if (p.hdr.dst_port == port && p.hdr.op == VSV_OP_RESPONSE && !open) {
			open = true;
			vsv_send(&sd.vsv, VSV_OP_RW, port, host_port, 65536, 0, 0, out, ECHO_LEN);
		} else if (p.hdr.dst_port == port && p.hdr.op == VSV_OP_RW) {
			for (uint32_t i = 0; i < p.hdr.len && got + i < ECHO_LEN; i++)
				bad += p.data[i] != out[got + i];
			got += p.hdr.len;
		} else if (p.hdr.dst_port == port && p.hdr.op == VSV_OP_RST) {
			vsv_recv_done(&sd.vsv, &p);
			break;
		}
		vsv_recv_done(&sd.vsv, &p);
	}
	if (open)
		vsv_send(&sd.vsv, VSV_OP_RST, port, host_port, 65536, got, 0, NULL, 0);
	return open && got == ECHO_LEN && !bad;
}

static void vsock_after(unsigned gen)
{
	uint64_t deadline = probe_deadline_ms(2000);
	uint32_t id = 1;
	bool reset = false;

	while (!reset && !probe_deadline_passed(deadline))
		if (vsv_event(&sd.vsv, &id))
			reset = id == 0;
	if (!reset) {
		probe_fail("snapshot.vsock", "no TRANSPORT_RESET on the event queue (last event id %u)", id);
		return;
	}
	probe_check("snapshot.vsock", vsock_echo(sd.vsock_port, 3000 + gen),
		    "a new connection to host port %u was not echoed", sd.vsock_port);
}

/* ---- balloon ---- */

static bool pages_zero(uint64_t gpa, uint64_t pages)
{
	for (uint64_t p = 0; p < pages; p++)
		for (uint64_t o = 0; o < BP_PAGE; o += 512)
			if (*(volatile uint64_t *)(uintptr_t)(gpa + p * BP_PAGE + o))
				return false;
	return true;
}

/* Before the snapshot BALLOON_BEFORE pages are inflated (actual says so,
 * and the host reads it back from the restored device); after each restore
 * BALLOON_PAGES more, touched first, are inflated and deflated again. */
static bool balloon_before(void)
{
	bool in;

	bp_touch(sd.bp.region, BALLOON_BEFORE * BP_PAGE);
	in = bp_send_range(&sd.bp, 0, 0, BALLOON_BEFORE);
	bp_cfg_write(&sd.bp, BP_CFG_ACTUAL, BALLOON_BEFORE);
	return in;
}

static void balloon_after(void)
{
	uint64_t at = sd.bp.region + BALLOON_BEFORE * BP_PAGE;
	bool in, out, zero = true;

	bp_touch(at, BALLOON_PAGES * BP_PAGE);
	in = bp_send_range(&sd.bp, 0, BALLOON_BEFORE, BALLOON_PAGES);
	bp_cfg_write(&sd.bp, BP_CFG_ACTUAL, BALLOON_BEFORE + BALLOON_PAGES);
	out = bp_send_range(&sd.bp, 1, BALLOON_BEFORE, BALLOON_PAGES);
	bp_cfg_write(&sd.bp, BP_CFG_ACTUAL, BALLOON_BEFORE);
	if (sd.balloon_zero)
		zero = pages_zero(at, BALLOON_PAGES);
	probe_check("snapshot.balloon", in && out && zero, "inflate %s, deflate %s, deflated pages %s",
		    in ? "returned" : "not returned", out ? "returned" : "not returned", zero ? "zero" : "not zero");
}

/* ---- the scenario's hooks ---- */

void snapdev_setup(void)
{
	const char *err;
	uint64_t port = 53;

	sd.kvmclock = probe_param_is("probe.snap_kvmclock", "1");
	if (sd.kvmclock)
		wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&clock_page | 1);
	if (device_present(NET_DEVICE_ID)) {
		err = pnet_open(&sd.pnet, 0);
		if (err)
			probe_fail("snapshot.net", "%s", err);
		else {
			memcpy(sd.peer, sd.pnet.peer, 4);
			pnet_post_rx(&sd.pnet, 0, VP_QN);
			sd.net = true;
		}
	}
	sd.mmds = sd.net && probe_param_is("probe.snap_mmds", "1");
	if (sd.mmds && (!mmds_arp() || mmds_token() != 200 || !sd.token_len)) {
		probe_fail("snapshot.mmds", "no V2 token from the MMDS before the snapshot");
		sd.mmds = false;
	}
	if (device_present(VSOCK_ID)) {
		err = vsv_open(&sd.vsv);
		if (err)
			probe_fail("snapshot.vsock", "%s", err);
		sd.vsock = !err;
		probe_param_u64("probe.vsock_connect", &port);
		sd.vsock_port = (uint32_t)port;
	}
	if (device_present(BALLOON_ID)) {
		err = bp_open(&sd.bp, 0);
		if (!err && !balloon_before())
			err = "the inflate before the snapshot was not returned";
		if (err)
			probe_fail("snapshot.balloon", "%s", err);
		sd.balloon = !err;
		sd.balloon_zero = probe_param_is("probe.snap_balloon_zero", "1");
	}
}

void snapdev_ready(void)
{
	kvmclock_info();
}

void snapdev_restored(unsigned gen)
{
	kvmclock_info();
	if (sd.net)
		probe_check("snapshot.net", net_arp_ping(), "peer %u.%u.%u.%u: %s", sd.peer[0], sd.peer[1], sd.peer[2],
			    sd.peer[3], sd.pnet.peer_known ? "no echo reply to 3 pings in 3 s" : "no ARP reply in 2 s");
	if (sd.mmds)
		mmds_after();
	if (sd.vsock)
		vsock_after(gen);
	if (sd.balloon)
		balloon_after();
}
