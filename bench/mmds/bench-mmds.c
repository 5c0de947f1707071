/* bench/mmds: MMDS requests per second and CPU per request through
 * virtio-net's transmit path (queue.c + the mmio transport + net.c's detour
 * + net/ + the HTTP server) and back through its receive path, no KVM, with
 * a driver in this thread that speaks TCP as a guest does: SYN, ACK, the
 * request, an ACK per batch of answer segments, FIN, the last ACK (its
 * virtio headers ask for checksum offload, as Linux's do).
 *
 * Baseline, same run, same request and the same answer bytes: a minimal C
 * server thread on Linux's loopback TCP, a connection per request (connect,
 * write, read the answer, close), as the MMDS is driven.
 *
 * CPU is this process's (user + system, both threads for the baseline) per
 * request; the ratio is the baseline's CPU per request over the MMDS's (the
 * goal per core is >= 2). */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/mmds.h"
#include "core/device_env.h"
#include "core/loop.h"
#include "core/memory.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net-frame.h"
#include "devices/virtio/net.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/tap.h"
#include "log.h"
#include "tap-netns.h"
#include "virtio-driver.h"
#include "mmds/guest.h"
#include "mmds/store.h"
#include "net/bytes.h"
#include "net/eth.h"
#include "net/ipv4.h"
#include "net/stack.h"
#include "net/tcp.h"

#define QN 256u
#define TAP_NAME "embmmds0"
#define MEM_BYTES (16ull << 20)
#define RING_BASE 0x10000ull /* queue q's rings at RING_BASE + VD_RING_STRIDE * q */
#define RX_BUF(i) (0x100000ull + 4096ull * (i))
#define RX_BUF_LEN 4096u
#define TX_SLOT(i) (0x400000ull + 4096ull * (i))
#define BIT(b) (1ull << (b))
#define GUEST_IP 0x0a4d0002u
#define MMDS_IP 0xa9fea9feu

static const uint8_t guest_mac[6] = { 2, 0, 0, 0, 0, 2 };

struct bench {
	struct guest_memory *m;
	struct virtio_mmio *t;
	struct net *dev;
	struct vd_driver drv;
	unsigned tx_next;
	uint16_t port;
	/* the driver's TCP view of the current connection */
	uint32_t snd_nxt, rcv_nxt;
	size_t got;      /* answer bytes received */
	bool fin;        /* the MMDS's FIN came */
};

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *gpa(struct bench *B, uint64_t a, size_t len)
{
	void *p = guest_memory_slice(B->m, a, len);

	if (!p)
		die("guest_memory_slice");
	return p;
}

/* ---- the virtio driver ---- */

static void driver_init(struct bench *B, uint64_t want)
{
	if (vd_start(&B->drv, B->m, B->t, 2, QN, RING_BASE, want) < 0)
		die("the device did not accept the driver");
}

/* ---- the driver's TCP ---- */

/* One segment from the guest: a TX chain, then the transmitq kicked (the
 * answers come back through the receive path in the same call). */
static void send_seg(struct bench *B, uint8_t flags, const char *data, size_t len)
{
	uint16_t slot = (uint16_t)(B->tx_next++ % QN);
	uint8_t *p = gpa(B, TX_SLOT(slot), 4096), *ip = p + 12 + ETH_HDR_LEN, *t = ip + IPV4_HDR_LEN;
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)p;
	struct tcp_out o = { .sport = B->port, .dport = 80, .seq = B->snd_nxt, .ack = B->rcv_nxt, .flags = flags,
			     .window = 65535, .mss = flags & TCP_SYN ? 1460 : 0 };
	size_t tl;

	memset(h, 0, sizeof(*h));
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM; /* as Linux with CSUM: the pseudo-header sum only */
	h->csum_start = htole16(ETH_HDR_LEN + IPV4_HDR_LEN);
	h->csum_offset = htole16(16);
	eth_write(p + 12, MMDS_MAC, guest_mac, ETHERTYPE_IPV4);
	tl = TCP_HDR_LEN + (o.mss ? 4 : 0) + len;
	/* the header, then the data, without the full checksum a NIC would fill */
	net_put16(t, o.sport);
	net_put16(t + 2, o.dport);
	net_put32(t + 4, o.seq);
	net_put32(t + 8, o.ack);
	t[12] = (uint8_t)((tl - len) / 4 << 4);
	t[13] = flags;
	net_put16(t + 14, o.window);
	net_put32(t + 16, 0);
	if (o.mss) {
		t[20] = 2, t[21] = 4;
		net_put16(t + 22, o.mss);
	}
	memcpy(t + tl - len, data, len);
	ipv4_write(ip, GUEST_IP, MMDS_IP, IPV4_PROTO_TCP, tl);
	B->snd_nxt += (uint32_t)len + !!(flags & (TCP_SYN | TCP_FIN));
	vd_desc(&B->drv, 1, slot, TX_SLOT(slot), (uint32_t)(12 + ETH_HDR_LEN + IPV4_HDR_LEN + tl), 0, 0);
	vd_offer(&B->drv, 1, slot);
	vd_kick(&B->drv, 1);
}

/* Reads what the MMDS sent into the receive buffers (and posts them again).
 * Returns the segments seen. */
static unsigned drain(struct bench *B)
{
	unsigned segs = 0;
	uint32_t id, len;

	while (vd_used(&B->drv, 0, &id, &len)) {
		struct ipv4_view v;
		struct tcp_seg s;
		uint8_t *f;

		f = gpa(B, RX_BUF(id), RX_BUF_LEN) + 12;
		if (ipv4_parse(f + ETH_HDR_LEN, len - 12 - ETH_HDR_LEN, &v) < 0 ||
		    tcp_parse(v.payload, v.len, v.src, v.dst, false, &s) < 0)
			die("an answer frame that does not parse");
		if (s.flags & TCP_SYN)
			B->rcv_nxt = s.seq + 1;
		if (s.seq == B->rcv_nxt && s.len) {
			B->rcv_nxt += (uint32_t)s.len;
			B->got += s.len;
		}
		if (s.flags & TCP_FIN) {
			B->rcv_nxt = s.seq + (uint32_t)s.len + 1;
			B->fin = true;
		}
		if (s.flags & TCP_RST)
			die("the MMDS reset the connection");
		vd_offer(&B->drv, 0, (uint16_t)id);
		segs++;
	}
	return segs;
}

/* One whole request on a new connection; the answer is want bytes. */
static void mmds_request(struct bench *B, const char *req, size_t want)
{
	B->port = (uint16_t)(B->port % 50000 + 1024);
	B->port++;
	B->snd_nxt = 1000;
	B->rcv_nxt = 0;
	B->got = 0;
	B->fin = false;
	send_seg(B, TCP_SYN, NULL, 0);
	if (!drain(B))
		die("no SYN-ACK");
	send_seg(B, TCP_ACK, NULL, 0);
	send_seg(B, TCP_ACK | TCP_PSH, req, strlen(req));
	while (B->got < want) {
		if (!drain(B))
			die("the answer stopped");
		send_seg(B, TCP_ACK, NULL, 0);
	}
	send_seg(B, TCP_ACK | TCP_FIN, NULL, 0);
	while (!B->fin)
		if (!drain(B))
			die("no FIN");
	send_seg(B, TCP_ACK, NULL, 0);
	drain(B);
}

/* ---- the loopback baseline ---- */

struct server {
	int lfd;
	const char *resp;
	size_t resp_len;
};

static void *server_main(void *arg)
{
	struct server *S = arg;
	char buf[4096];

	for (;;) {
		int c = accept4(S->lfd, NULL, NULL, SOCK_CLOEXEC);
		size_t have = 0;

		if (c < 0)
			return NULL;
		while (!memmem(buf, have, "\r\n\r\n", 4)) {
			ssize_t n = read(c, buf + have, sizeof(buf) - have);

			if (n <= 0)
				break;
			have += (size_t)n;
		}
		if (write(c, S->resp, S->resp_len) != (ssize_t)S->resp_len)
			die("server write");
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
}

static void loopback_request(const struct sockaddr_in *to, const char *req, size_t want)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[16384];
	size_t got = 0;

	if (fd < 0 || connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0)
		die("loopback connect");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		die("loopback write");
	while (got < want) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			die("loopback read");
		got += (size_t)n;
	}
	close(fd);
}

/* ---- the run ---- */

struct kind {
	const char *label;
	const char *req;
};

static void bench_kind(struct bench *B, struct mmds_guest *g, const struct kind *k, unsigned n)
{
	char *resp;
	size_t resp_len;
	struct server S;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t tl = sizeof(to);
	pthread_t th;
	double t0, c0, mt = 1e9, mc = 0, lt = 1e9, lc = 0;

	if (mmds_guest_respond(g, k->req, strlen(k->req), &resp, &resp_len) < 0)
		die("respond");
	S = (struct server){ socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), resp, resp_len };
	if (S.lfd < 0 || bind(S.lfd, (struct sockaddr *)&to, sizeof(to)) < 0 || listen(S.lfd, 128) < 0 ||
	    getsockname(S.lfd, (struct sockaddr *)&to, &tl) < 0 || pthread_create(&th, NULL, server_main, &S))
		die("loopback server");
	for (unsigned r = 0; r < 3; r++) {
		t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		for (unsigned i = 0; i < n; i++)
			mmds_request(B, k->req, resp_len);
		if (now(CLOCK_MONOTONIC) - t0 < mt)
			mt = now(CLOCK_MONOTONIC) - t0, mc = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
		t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		for (unsigned i = 0; i < n; i++)
			loopback_request(&to, k->req, resp_len);
		if (now(CLOCK_MONOTONIC) - t0 < lt)
			lt = now(CLOCK_MONOTONIC) - t0, lc = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	shutdown(S.lfd, SHUT_RDWR);
	close(S.lfd);
	pthread_join(th, NULL);
	printf("%-17s %5zu B answer | loopback %7.0f req/s %6.1f us CPU | MMDS %7.0f req/s %6.1f us CPU | "
	       "%.2fx per core\n",
	       k->label, resp_len, n / lt, lc * 1e6 / n, n / mt, mc * 1e6 / n, lc / mc);
	fflush(stdout);
	free(resp);
}

static struct mmds_guest *bench_guest(struct mmds_store **ret_store)
{
	struct mmds_config cfg = { .enabled = true, .version = MMDS_V1, .ipv4_address = MMDS_IP, .iface_count = 1 };
	char small[101], big[10241];
	struct mmds_guest *g;
	json_t *data;

	memset(small, 'a', 100), small[100] = 0;
	memset(big, 'b', 10240), big[10240] = 0;
	data = json_pack("{s:s,s:s}", "small", small, "big", big);
	snprintf(cfg.iface_id[0], sizeof(cfg.iface_id[0]), "bench");
	if (mmds_store_new(1 << 20, ret_store) < 0 || mmds_store_put(*ret_store, data) < 0 ||
	    mmds_guest_new(*ret_store, "bench", NULL, &g) < 0)
		die("the MMDS");
	json_decref(data);
	mmds_guest_configure(g, &cfg);
	return g;
}

int main(int argc, char **argv)
{
	static const struct kind kinds[] = {
		{ "100 B IMDS", "GET /small HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n" },
		{ "100 B JSON", "GET /small HTTP/1.1\r\nHost: 169.254.169.254\r\nAccept: application/json\r\n\r\n" },
		{ "10 KiB IMDS", "GET /big HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n" },
		{ "10 KiB JSON", "GET /big HTTP/1.1\r\nHost: 169.254.169.254\r\nAccept: application/json\r\n\r\n" },
	};
	unsigned scale = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
	struct net_config cfg = { .iface_id = "bench", .host_dev_name = TAP_NAME, .tap_fd = -1 };
	struct bench B = { 0 };
	struct mmds_store *store;
	struct mmds_guest *g;
	struct event_loop *loop;
	struct device_env env;
	char err[512];

	log_set_level(LOG_WARNING);
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET) (bench/mmds needs root)");
	/* loopback in the new namespace is down until brought up */
	if (tn_tap_make(TAP_NAME, 0, false) < 0 || tn_link_up("lo") < 0)
		die("the TAP and lo");
	cfg.tap_fd = tap_open(TAP_NAME, err, sizeof(err));
	if (cfg.tap_fd < 0)
		return fprintf(stderr, "%s\n", err), 1;
	g = bench_guest(&store);
	if (guest_memory_create(MEM_BYTES, &B.m) < 0 || loop_create(&loop) < 0)
		die("setup");
	env = (struct device_env){ .vm_fd = -1, .mem = B.m, .loop = loop, .mmds = g };
	if (net_create(&env, &cfg, NULL, &B.dev) < 0 || virtio_mmio_create(&env, 0, net_virtio(B.dev), &B.t) < 0)
		die("net_create");
	driver_init(&B, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
				BIT(VIRTIO_NET_F_MRG_RXBUF));
	for (unsigned i = 0; i < QN; i++) {
		vd_desc(&B.drv, 0, (uint16_t)i, RX_BUF(i), RX_BUF_LEN, VIRTQ_DESC_F_WRITE, 0);
		vd_offer(&B.drv, 0, (uint16_t)i);
	}
	vd_kick(&B.drv, 0);
	printf("bench/mmds: a TCP exchange per request (SYN, ACK, request, ACKs, FIN, ACK) through virtio-net's\n"
	       "TX detour and RX path (no KVM) against the same request and answer over Linux loopback TCP to\n"
	       "a C server thread; best of 3; ratio = loopback CPU per request / MMDS CPU per request\n");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		bench_kind(&B, g, &kinds[i], 5000 * scale);
	virtio_mmio_destroy(B.t);
	net_destroy(B.dev);
	loop_destroy(loop);
	mmds_guest_free(g);
	mmds_store_free(store);
	close(cfg.tap_fd);
	return 0;
}
