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
#include <poll.h>
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
#include "tap-netns.h"
#include "virtio-driver.h"

#define QN 256u
#define TAP_NAME "embench0"
#define MEM_BYTES (64ull << 20)
#define RING_BASE 0x10000ull /* queue q's rings at RING_BASE + VD_RING_STRIDE * q */
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
	struct vd_driver drv;
	uint64_t raw_off; /* rx_raw's place in the receive area */
	double dev_wall;  /* this batch's wall time inside the device (dev_notify, dev_loop) */
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

/* The driver polls the used rings (as Linux's NAPI does under load,
 * callbacks disabled): no interrupt wanted. */
static void driver_init(struct bench *B, uint64_t want)
{
	if (vd_start(&B->drv, B->m, B->t, 2, QN, RING_BASE, want) < 0)
		die("the device did not accept the driver");
	vd_no_interrupt(&B->drv, 0);
	vd_no_interrupt(&B->drv, 1);
}

/* Used entries since the last call; their ids in ret. */
static unsigned reap(struct bench *B, unsigned q, uint16_t *ret)
{
	uint32_t id, len;
	unsigned n = 0;

	while (vd_used(&B->drv, q, &id, &len))
		ret[n++] = (uint16_t)id;
	return n;
}

/* ---- the device's side, timed ---- */

/* What runs on the vmm thread: a queue notification's handler and one
 * pass of the event loop. Only these are timed for virtio-net: reaping
 * used entries and offering buffers is the guest driver's work, done on
 * its own vCPU, and the raw side has no counterpart to it. */
static void dev_notify(struct bench *B, unsigned q)
{
	double t0 = now(CLOCK_MONOTONIC);

	virtio_mmio_notify(B->t, (uint16_t)q);
	B->dev_wall += now(CLOCK_MONOTONIC) - t0;
}

static void dev_loop(struct bench *B)
{
	double t0 = now(CLOCK_MONOTONIC);

	loop_run_once(B->loop, 0);
	B->dev_wall += now(CLOCK_MONOTONIC) - t0;
}

/* ---- TX ---- */

/* One batch: a writev per frame from the slots the device's chains use. */
static void tx_raw(struct bench *B, const struct frame_kind *f, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		struct iovec iov = { gpa(B, TX_SLOT(i), 12 + f->len), 12 + f->len };

		if (writev(B->tap_fd, &iov, 1) != (ssize_t)iov.iov_len)
			die("raw writev");
	}
}

/* One batch: count chains offered at once, one kick, served to the end. */
static void tx_virtio(struct bench *B, const struct frame_kind *f, unsigned count)
{
	uint16_t back[QN];
	unsigned done = 0;

	for (unsigned i = 0; i < count; i++) {
		vd_desc(&B->drv, 1, (uint16_t)i, TX_SLOT(i), 12 + f->len, 0, 0);
		vd_offer(&B->drv, 1, (uint16_t)i);
	}
	dev_notify(B, 1);
	while ((done += reap(B, 1, back)) < count)
		dev_loop(B); /* the device yielded: its requeued kick */
}

/* ---- RX ---- */

/* Queues count frames into the TAP from the kernel side (not timed). */
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

/* The TAP's qdisc may hand injected frames over from a softirq a little
 * later (it stops after 64 at a time): wait for them as the device waits
 * for its edge. The fd is ember's, non-blocking. */
static void raw_wait(struct bench *B)
{
	struct pollfd p = { .fd = B->tap_fd, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		die("raw read: no frame within 5 s");
}

/* One batch: a read per frame into the same 1 MiB of guest memory the
 * device's posted buffers cover, each frame after the previous one (4 KiB
 * aligned) as a ring, offering room for the largest frame each time. The
 * device writes its frames there too; a read into one small buffer that
 * stays in the cache would compare the TAP against itself at a smaller
 * memory footprint. */
static void rx_raw(struct bench *B, const struct frame_kind *f, unsigned count)
{
	const uint64_t room = 12 + 65550, area = (uint64_t)QN * RX_BUF_LEN;

	for (unsigned k = 0; k < count; k++) {
		struct iovec iov;
		ssize_t got;

		if (B->raw_off + room > area)
			B->raw_off = 0;
		iov = (struct iovec){ gpa(B, RX_BUF(0) + B->raw_off, room), room };
		while ((got = readv(B->tap_fd, &iov, 1)) < 0 && errno == EAGAIN)
			raw_wait(B);
		if (got <= 0)
			die("raw read");
		B->raw_off += ((uint64_t)got + RX_BUF_LEN - 1) & ~(uint64_t)(RX_BUF_LEN - 1);
	}
}

static uint64_t rx_frames(struct bench *B)
{
	struct net_metrics m;

	net_metrics_get(B->dev, &m);
	return m.rx_packets_count;
}

/* One batch: the device drains the TAP into the posted buffers; the driver
 * re-offers each buffer as it comes back, as a guest's refill does. */
static void rx_virtio(struct bench *B, const struct frame_kind *f, unsigned count)
{
	uint64_t want = rx_frames(B) + count;
	uint16_t back[QN];

	dev_notify(B, 0);
	for (;;) {
		for (unsigned i = 0, c = reap(B, 0, back); i < c; i++)
			vd_offer(&B->drv, 0, back[i]);
		if (rx_frames(B) >= want)
			return;
		dev_notify(B, 0); /* buffers offered: the guest kicks */
		dev_loop(B);
	}
}

static void rx_post_all(struct bench *B)
{
	for (unsigned i = 0; i < QN; i++) {
		vd_desc(&B->drv, 0, (uint16_t)i, RX_BUF(i), RX_BUF_LEN, VIRTQ_DESC_F_WRITE, 0);
		vd_offer(&B->drv, 0, (uint16_t)i);
	}
}

/* ---- the run ---- */

/* One side's batches: wall time of each, CPU time in all. */
struct tally {
	double *wall;
	unsigned batches;
	double cpu;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median batch's wall time: a batch the scheduler interrupted (two
 * shared cores here) is an outlier either way, so it does not decide. */
static double median_wall(struct tally *t)
{
	qsort(t->wall, t->batches, sizeof(t->wall[0]), cmp_double);
	return t->wall[t->batches / 2];
}

static void report(const char *dir, const struct frame_kind *f, unsigned batch, struct tally *raw,
		   struct tally *dev)
{
	double raw_fps = batch / median_wall(raw), dev_fps = batch / median_wall(dev);
	double frames = (double)raw->batches * batch;

	printf("%s %-7s | raw %9.0f frames/s %6.2f Gbit/s %5.2f us CPU | virtio-net %9.0f frames/s %6.2f Gbit/s "
	       "%5.2f us CPU | %.2fx (CPU %.2fx)\n",
	       dir, f->label, raw_fps, raw_fps * f->len * 8 / 1e9, raw->cpu * 1e6 / frames, dev_fps,
	       dev_fps * f->len * 8 / 1e9, dev->cpu * 1e6 / frames, dev_fps / raw_fps, raw->cpu / dev->cpu);
	fflush(stdout);
}

typedef void batch_fn(struct bench *, const struct frame_kind *, unsigned);

/* Batches of one direction where raw and virtio-net alternate (which goes
 * first flips every batch), so the machine's other load falls on both
 * alike. Wall time: the raw batch's syscalls, the device's entry points
 * (dev_notify, dev_loop). CPU: this process's over the whole batch, the
 * bench driver's ring work included (so virtio-net's CPU per frame is an
 * upper bound). RX fills the TAP before each batch (not timed). t[0] raw,
 * t[1] virtio-net. */
static void bench_dir(struct bench *B, const struct frame_kind *f, unsigned batches, bool rx, struct tally t[2])
{
	batch_fn *fn[2] = { rx ? rx_raw : tx_raw, rx ? rx_virtio : tx_virtio };
	unsigned batch = f->tso ? 64 : QN;

	for (unsigned b = 0; b < batches; b++) {
		for (unsigned k = 0; k < 2; k++) {
			unsigned v = (b + k) & 1;
			double c0, t0;

			if (rx)
				inject(B, f, batch);
			B->dev_wall = 0;
			c0 = now(CLOCK_PROCESS_CPUTIME_ID);
			t0 = now(CLOCK_MONOTONIC);
			fn[v](B, f, batch);
			t[v].wall[t[v].batches++] = v ? B->dev_wall : now(CLOCK_MONOTONIC) - t0;
			t[v].cpu += now(CLOCK_PROCESS_CPUTIME_ID) - c0;
		}
	}
}

/* dirs: bit 0 TX, bit 1 RX. At least n frames each way and side. */
static void bench_kind(struct bench *B, const struct frame_kind *f, uint64_t n, unsigned dirs)
{
	unsigned batch = f->tso ? 64 : QN, batches = (unsigned)((n + batch - 1) / batch);

	for (unsigned i = 0; i < QN; i++)
		build_frame(gpa(B, TX_SLOT(i), 12 + f->len), f);
	for (unsigned d = 0; d < 2; d++) {
		struct tally t[2] = { { calloc(batches, sizeof(double)), 0, 0 }, { calloc(batches, sizeof(double)), 0, 0 } };

		if (!t[0].wall || !t[1].wall)
			die("calloc");
		if (dirs & (1u << d)) {
			bench_dir(B, f, batches, d == 1, t);
			report(d ? "RX" : "TX", f, batch, &t[0], &t[1]);
		}
		free(t[0].wall);
		free(t[1].wall);
	}
}

/* The optional CASE argument ("tx", "rx", "64", "1500", "64k", or a pair
 * such as "rx-64k"): one direction and/or one size, for profiling. */
static bool case_wanted(const char *only, const struct frame_kind *f, unsigned *dirs)
{
	static const char *const size_names[] = { "64", "1500", "64k" };
	char dir[8] = "", size[8] = "";

	if (sscanf(only, "%7[a-z]-%7s", dir, size) < 1 || (strcmp(dir, "tx") && strcmp(dir, "rx")))
		snprintf(size, sizeof(size), "%s", only), dir[0] = 0;
	if (dir[0])
		*dirs = dir[0] == 't' ? 1u : 2u;
	if (!size[0])
		return true;
	return !strcmp(size, size_names[f->tso ? 2 : f->len == 64 ? 0 : 1]);
}

int main(int argc, char **argv)
{
	static const struct frame_kind kinds[] = { { "64 B", 64, false }, { "1500 B", 1514, false },
						   { "64 KiB", 65014, true } };
	uint64_t scale = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
	const char *only = argc > 2 ? argv[2] : NULL;
	struct net_config cfg = { .iface_id = "bench", .host_dev_name = TAP_NAME, .tap_fd = -1 };
	struct bench B = { 0 };
	struct device_env env;
	char err[512];
	int one = 1;

	log_set_level(LOG_WARNING);
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET) (bench/net needs root)");
	/* no IPv6 on the TAP: its autoconfiguration would send frames of its own */
	if (tn_no_ipv6() < 0 || tn_tap_make(TAP_NAME, 0, false) < 0)
		die("the TAP");
	B.tap_fd = cfg.tap_fd = tap_open(TAP_NAME, err, sizeof(err));
	if (B.tap_fd < 0)
		return fprintf(stderr, "%s\n", err), 1;
	/* up only once ember's fd is attached (carrier on): a link brought up
	 * without carrier gets its qdisc later from linkwatch, and until then
	 * the kernel drops what is sent on it (QDISC_DROP) */
	if (tn_link_up(TAP_NAME) < 0)
		die("SIOCSIFFLAGS");
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
	       "same TAP in a private netns, batches interleaved; TSO for 64 KiB; frames/s of the median batch;\n"
	       "ratio virtio-net / raw, and raw CPU / virtio-net CPU\n");
	for (unsigned k = 0; k < 3; k++) {
		unsigned dirs = 3u;

		if (only && !case_wanted(only, &kinds[k], &dirs))
			continue;
		bench_kind(&B, &kinds[k], (k == 2 ? 15000 : 300000) * scale, dirs);
	}
	virtio_mmio_destroy(B.t);
	net_destroy(B.dev);
	loop_destroy(B.loop);
	guest_memory_destroy(B.m);
	close(B.tap_fd);
	return 0;
}
