/* bench/net: virtio-net frames per second through queue.c + the mmio
 * transport + net.c to a TAP in a private network namespace, with guest
 * memory built in-process and no KVM, against raw writev/read of the same
 * frames on the same TAP fd from this one thread, in the same run.
 *
 * TX: the bench driver offers chains (vnet header + frame) and kicks the
 * transmitq; the kernel takes each frame in on the TAP and drops it (it is
 * addressed to another host), the same sink as for the raw writev.
 * RX: frames are queued into the TAP from the kernel side through an
 * AF_PACKET socket (with a vnet header, so 64 KiB TSO frames stay whole),
 * then drained either by the device into posted receive buffers (merged) or
 * by raw read; only the drain is timed.
 * CPU per frame is this process's CPU time (user + system) over the frames. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/memory.h"
#include "core/device_env.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net-frame.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"
#include "log.h"

#define QN 256u
#define TAP_NAME "embench0"
#define MEM_BYTES (64ull << 20)
#define RING(q) (0x10000ull + 0x4000ull * (q))
#define RX_BUF(i) (0x100000ull + 4096ull * (i))
#define RX_BUF_LEN 4096u
#define TX_SLOT(i) (0x400000ull + 0x11000ull * (i))
#define BIT(b) (1ull << (b))

struct bench {
	struct guest_memory *m;
	struct event_loop *loop;
	struct virtio_mmio *t;
	struct net *dev;
	int tap_fd;
	int pkt_fd;
	int ifindex;
	uint16_t avail[2], used_seen[2];
};

struct frame_kind {
	const char *label;
	uint32_t len;  /* Ethernet frame bytes */
	bool tso;
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

/* ---- the TAP, made here (ember itself never makes one) ---- */

static void make_tap(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), s;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TAP_NAME);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		die("creating the TAP");
	close(fd);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS");
	close(s);
}

/* ---- frames ---- */

/* An IPv4 frame of f->len bytes to another host's MAC, after a vnet header:
 * UDP (NEEDS_CSUM) for the plain sizes, TCP with TSO for 64 KiB. */
static void build_frame(uint8_t *p, const struct frame_kind *f)
{
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)p;
	uint8_t *e = p + sizeof(*h), *ip = e + 14;
	uint16_t iplen = (uint16_t)(f->len - 14);

	memset(p, 0, sizeof(*h) + f->len);
	memcpy(e, "\x02\x00\x00\x00\x00\x99\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	ip[0] = 0x45;
	*(uint16_t *)(ip + 2) = htons(iplen);
	ip[8] = 64;
	ip[9] = f->tso ? 6 : 17;
	memcpy(ip + 12, "\x0a\x4d\x00\x02\x0a\x4d\x00\x09", 8);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = htole16(34);
	if (f->tso) {
		ip[20 + 12] = 5 << 4; /* TCP data offset */
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = htole16(1448);
		h->hdr_len = htole16(54);
		h->csum_offset = htole16(16);
	} else {
		*(uint16_t *)(ip + 24) = htons((uint16_t)(iplen - 20));
		h->csum_offset = htole16(6);
	}
}

/* ---- the bench driver ---- */

static void reg_write(struct bench *B, uint64_t off, uint32_t v)
{
	virtio_mmio_write(B->t, off, (const uint8_t *)&v, 4);
}

static void setup_queue(struct bench *B, unsigned q)
{
	reg_write(B, VIRTIO_MMIO_QUEUE_SEL, q);
	reg_write(B, VIRTIO_MMIO_QUEUE_NUM, QN);
	reg_write(B, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)RING(q));
	reg_write(B, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(RING(q) + 0x1000));
	reg_write(B, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(RING(q) + 0x2000));
	reg_write(B, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void driver_init(struct bench *B, uint64_t want)
{
	reg_write(B, VIRTIO_MMIO_STATUS, 0);
	reg_write(B, VIRTIO_MMIO_STATUS, 1);
	reg_write(B, VIRTIO_MMIO_STATUS, 3);
	reg_write(B, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(B, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	reg_write(B, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(B, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	reg_write(B, VIRTIO_MMIO_STATUS, 3 | 8);
	memset(gpa(B, RING(0), 0x8000), 0, 0x8000);
	setup_queue(B, 0);
	setup_queue(B, 1);
	reg_write(B, VIRTIO_MMIO_STATUS, 3 | 8 | 4);
	B->avail[0] = B->avail[1] = B->used_seen[0] = B->used_seen[1] = 0;
}

static void set_desc(struct bench *B, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct virtq_desc *d = gpa(B, RING(q) + 16ull * i, 16);

	*d = (struct virtq_desc){ htole64(addr), htole32(len), htole16(flags), 0 };
}

static void offer(struct bench *B, unsigned q, uint16_t head)
{
	uint16_t *avail = gpa(B, RING(q) + 0x1000, 4 + 2 * QN);

	avail[2 + B->avail[q] % QN] = htole16(head);
	__atomic_store_n(&avail[1], htole16(++B->avail[q]), __ATOMIC_RELEASE);
}

/* Used entries since the last call; their ids in ret. */
static unsigned reap(struct bench *B, unsigned q, uint16_t *ret)
{
	uint8_t *used = gpa(B, RING(q) + 0x2000, 4 + 8 * QN);
	uint16_t idx = le16toh(__atomic_load_n((uint16_t *)(used + 2), __ATOMIC_ACQUIRE));
	unsigned n = 0;

	while (B->used_seen[q] != idx) {
		uint32_t id;

		memcpy(&id, used + 4 + 8 * (B->used_seen[q]++ % QN), 4);
		ret[n++] = (uint16_t)le32toh(id);
	}
	return n;
}

/* ---- TX ---- */

static double tx_raw(struct bench *B, const struct frame_kind *f, uint64_t n)
{
	double t0 = now(CLOCK_MONOTONIC);

	for (uint64_t i = 0; i < n; i++) {
		struct iovec iov = { gpa(B, TX_SLOT(i % QN), 12 + f->len), 12 + f->len };

		if (writev(B->tap_fd, &iov, 1) != (ssize_t)iov.iov_len)
			die("raw writev");
	}
	return now(CLOCK_MONOTONIC) - t0;
}

static double tx_virtio(struct bench *B, const struct frame_kind *f, uint64_t n)
{
	uint64_t offered = 0, done = 0;
	uint16_t back[QN], free_ids[QN];
	unsigned nr_free = QN;
	double t0;

	for (unsigned i = 0; i < QN; i++) {
		set_desc(B, 1, (uint16_t)i, TX_SLOT(i), 12 + f->len, 0);
		free_ids[i] = (uint16_t)i;
	}
	t0 = now(CLOCK_MONOTONIC);
	while (done < n) {
		while (nr_free && offered < n) {
			offer(B, 1, free_ids[--nr_free]);
			offered++;
		}
		virtio_mmio_notify(B->t, 1);
		loop_run_once(B->loop, 0);
		for (unsigned i = 0, c = reap(B, 1, back); i < c; i++, done++)
			free_ids[nr_free++] = back[i];
	}
	return now(CLOCK_MONOTONIC) - t0;
}

/* ---- RX ---- */

/* Queues count frames into the TAP from the kernel side. */
static void inject(struct bench *B, const struct frame_kind *f, unsigned count)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = B->ifindex, .sll_halen = 6 };
	uint8_t *p = gpa(B, TX_SLOT(0), 12 + f->len);

	/* PACKET_VNET_HDR takes the 10-byte struct virtio_net_hdr */
	memmove(p + 2, p, 10);
	for (unsigned i = 0; i < count; i++)
		if (sendto(B->pkt_fd, p + 2, 10 + f->len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			die("AF_PACKET sendto");
	memmove(p, p + 2, 10);
}

static double rx_raw(struct bench *B, const struct frame_kind *f, uint64_t n, unsigned batch)
{
	double spent = 0;
	uint64_t got = 0;

	while (got < n) {
		double t0;

		inject(B, f, batch);
		t0 = now(CLOCK_MONOTONIC);
		for (unsigned k = 0; k < batch; k++) {
			struct iovec iov = { gpa(B, TX_SLOT(1), 12 + 65550), 12 + 65550 };

			if (readv(B->tap_fd, &iov, 1) <= 0)
				die("raw read");
		}
		spent += now(CLOCK_MONOTONIC) - t0;
		got += batch;
	}
	return spent;
}

static uint64_t rx_frames(struct bench *B)
{
	struct net_metrics m;

	net_metrics_get(B->dev, &m);
	return m.rx_packets_count;
}

static double rx_virtio(struct bench *B, const struct frame_kind *f, uint64_t n, unsigned batch)
{
	uint64_t base = rx_frames(B), got = 0;
	uint16_t back[QN];
	double spent = 0;

	while (got < n) {
		uint64_t want = got + batch;
		double t0;

		inject(B, f, batch);
		t0 = now(CLOCK_MONOTONIC);
		while ((got = rx_frames(B) - base) < want) {
			virtio_mmio_notify(B->t, 0);
			loop_run_once(B->loop, 0);
			for (unsigned i = 0, c = reap(B, 0, back); i < c; i++)
				offer(B, 0, back[i]);
		}
		spent += now(CLOCK_MONOTONIC) - t0;
	}
	return spent;
}

static void rx_post_all(struct bench *B)
{
	for (unsigned i = 0; i < QN; i++) {
		set_desc(B, 0, (uint16_t)i, RX_BUF(i), RX_BUF_LEN, VIRTQ_DESC_F_WRITE);
		offer(B, 0, (uint16_t)i);
	}
}

/* ---- the run ---- */

static void report(const char *dir, const struct frame_kind *f, uint64_t n, double raw_s, double dev_s, double raw_cpu,
		   double dev_cpu)
{
	double raw_fps = (double)n / raw_s, dev_fps = (double)n / dev_s;

	printf("%s %-7s | raw %9.0f frames/s %6.2f Gbit/s %5.2f us CPU | virtio-net %9.0f frames/s %6.2f Gbit/s "
	       "%5.2f us CPU | %.2fx\n",
	       dir, f->label, raw_fps, raw_fps * f->len * 8 / 1e9, raw_cpu * 1e6 / (double)n, dev_fps,
	       dev_fps * f->len * 8 / 1e9, dev_cpu * 1e6 / (double)n, dev_fps / raw_fps);
	fflush(stdout);
}

static void bench_kind(struct bench *B, const struct frame_kind *f, uint64_t n, unsigned rounds)
{
	unsigned batch = f->tso ? 64 : 256;
	double best[4] = { 1e9, 1e9, 1e9, 1e9 }, cpu[4] = { 0 };

	for (unsigned i = 0; i < QN; i++)
		build_frame(gpa(B, TX_SLOT(i), 12 + f->len), f);
	for (unsigned r = 0; r < rounds; r++) {
		double (*fn[4])(struct bench *, const struct frame_kind *, uint64_t) = { tx_raw, tx_virtio, NULL, NULL };

		for (unsigned v = 0; v < 4; v++) {
			double c0 = now(CLOCK_PROCESS_CPUTIME_ID), t;

			if (v < 2)
				t = fn[v](B, f, n);
			else
				t = v == 2 ? rx_raw(B, f, n, batch) : rx_virtio(B, f, n, batch);
			if (t < best[v]) {
				best[v] = t;
				cpu[v] = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
			}
		}
	}
	report("TX", f, n, best[0], best[1], cpu[0], cpu[1]);
	report("RX", f, n, best[2], best[3], cpu[2], cpu[3]);
}

int main(int argc, char **argv)
{
	static const struct frame_kind kinds[] = { { "64 B", 64, false }, { "1500 B", 1514, false },
						   { "64 KiB", 65014, true } };
	uint64_t scale = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
	struct net_config cfg = { .iface_id = "bench", .host_dev_name = TAP_NAME, .tap_fd = -1 };
	struct bench B = { 0 };
	struct device_env env;
	char err[512];
	int one = 1;

	log_set_level(LOG_WARNING);
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET) (bench/net needs root)");
	make_tap();
	B.tap_fd = cfg.tap_fd = tap_open(TAP_NAME, err, sizeof(err));
	if (B.tap_fd < 0)
		return fprintf(stderr, "%s\n", err), 1;
	B.ifindex = (int)if_nametoindex(TAP_NAME);
	B.pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (B.pkt_fd < 0 || setsockopt(B.pkt_fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
		die("AF_PACKET");
	if (guest_memory_create(MEM_BYTES, &B.m) < 0 || loop_create(&B.loop) < 0)
		die("setup");
	env = (struct device_env){ .vm_fd = -1, .mem = B.m, .loop = B.loop };
	if (net_create(&env, &cfg, NULL, &B.dev) < 0 || virtio_mmio_create(&env, 0, net_virtio(B.dev), &B.t) < 0)
		die("net_create");
	driver_init(&B, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
				BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_MRG_RXBUF));
	rx_post_all(&B);
	printf("bench/net: frames through queue.c + virtio-mmio + net.c (no KVM) against raw writev/read on the\n"
	       "same TAP in a private netns; TSO for 64 KiB; best of 3; ratio virtio-net / raw\n");
	bench_kind(&B, &kinds[0], 100000 * scale, 3);
	bench_kind(&B, &kinds[1], 100000 * scale, 3);
	bench_kind(&B, &kinds[2], 5000 * scale, 3);
	virtio_mmio_destroy(B.t);
	net_destroy(B.dev);
	loop_destroy(B.loop);
	guest_memory_destroy(B.m);
	close(B.tap_fd);
	return 0;
}
