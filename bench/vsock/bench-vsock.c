/* bench/vsock: MiB/s through queue.c + the mmio transport + vsock.c, guest
 * to host and host to guest, for 4 KiB and 64 KiB writes, against a raw unix
 * socket pair moving the same bytes in the same run. Guest memory is built
 * in-process and there is no KVM: this program is the guest's driver (it
 * fills the rings and calls the queue notify handler, as an ioeventfd would
 * make the vmm loop do) and the host peer on the unix sockets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config/vsock.h"
#include "core/device_env.h"
#include "core/loop.h"
#include "devices/virtio/vsock-packet.h"
#include "devices/virtio/vsock.h"
#include "fd.h"
#include "log.h"
#include "virtio-driver.h"

#define QN 64u
#define CID 3u
#define GUEST_PORT 1000u
#define HOST_PORT 5000u
#define GUEST_BUF (1u << 20)
#define RING_BASE 0x1000ull /* queue q's rings at RING_BASE + VD_RING_STRIDE * q */
/* A packet is a chain of two descriptors, as Linux's driver builds them
 * (TX always; RX before 6.2): the 44-byte header, then a page-aligned
 * payload of up to 64 KiB. Slot i of a queue uses descriptors 2i and 2i + 1. */
#define SLOTS (QN / 2)
#define HDR(q, i) (0x100000ull + 0x1000000ull * (q) + 0x1000ull * (i))
#define PAY(q, i) (0x200000ull + 0x1000000ull * (q) + 0x10000ull * (i))
/* Every side's buffers span 1 MiB: the guest's RX and TX payloads, and the
 * host peers' and the raw baseline's source and sink buffers. A copy's cost
 * depends on it (a hot 64 KiB source against 4 MiB of guest pages differed
 * by 14 % in the kernel's copy alone), so no side gets a cache advantage. */
#define SPAN (1u << 20)
#define RX_SLOTS (SPAN / VSOCK_PKT_MAX)
#define TX_SLOTS (SPAN / VSOCK_PKT_MAX)

static const uint8_t zeros[VSOCK_PKT_MAX];

struct bench {
	struct guest_memory *m;
	struct event_loop *loop;
	struct virtio_mmio *t;
	struct vsock_dev *dev;
	struct vsock_slot slot;
	char dir[64];
	struct vd_driver drv;
	uint32_t host_credit_fwd, host_buf_alloc, tx_cnt; /* guest → host credit */
	uint32_t rx_cnt;                                  /* host → guest bytes seen */
	uint32_t host_port;                               /* the connection's host side */
	uint32_t last_src_port;                           /* of the last RX packet */
};

/* Both clocks: wall time, and the thread's CPU time. Everything here runs
 * on this one thread (the device's work, the guest's and the host peer's,
 * their syscalls included), so CPU time is the path's cost; on a shared,
 * loaded host it is the figure that does not move with the neighbours. */
struct span {
	double wall, cpu;
};

static struct span now_s(void)
{
	struct timespec w, c;

	clock_gettime(CLOCK_MONOTONIC, &w);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c);
	return (struct span){ (double)w.tv_sec + (double)w.tv_nsec / 1e9, (double)c.tv_sec + (double)c.tv_nsec / 1e9 };
}

/* MiB/s of wall time and MiB per CPU second for bytes moved since t0. */
static struct span rate_since(struct span t0, uint64_t bytes)
{
	struct span t1 = now_s();

	return (struct span){ (double)bytes / (t1.wall - t0.wall) / (1 << 20),
			      (double)bytes / (t1.cpu - t0.cpu) / (1 << 20) };
}

static void die(const char *what)
{
	fprintf(stderr, "bench/vsock: %s\n", what);
	exit(1);
}

/* Slot i's chain: the header and, when len is not 0, len payload bytes. */
static void q_chain(struct bench *B, unsigned q, uint16_t i, uint32_t len, uint16_t flags)
{
	vd_desc(&B->drv, q, 2 * i, HDR(q, i), VSOCK_HDR_SIZE, flags | (len ? VIRTQ_DESC_F_NEXT : 0), 2 * i + 1);
	if (len)
		vd_desc(&B->drv, q, 2 * i + 1, PAY(q, i), len, flags, 0);
}

static void setup_queues(struct bench *B)
{
	if (vd_start(&B->drv, B->m, B->t, 3, QN, RING_BASE, 0) < 0)
		die("the device did not accept the driver");
	for (uint16_t i = 0; i < RX_SLOTS; i++) {
		q_chain(B, 0, i, VSOCK_PKT_MAX, VIRTQ_DESC_F_WRITE);
		vd_offer(&B->drv, 0, 2 * i);
	}
	/* A running guest's buffers are in memory: fault them in before the
	 * clock starts (the raw baseline touches its buffers too). */
	for (unsigned q = 0; q < 2; q++)
		for (uint16_t i = 0; i < SLOTS; i++) {
			guest_memory_write(B->m, HDR(q, i), zeros, VSOCK_HDR_SIZE);
			guest_memory_write(B->m, PAY(q, i), zeros, VSOCK_PKT_MAX);
		}
}

static void bench_open(struct bench *B)
{
	struct device_env env;
	struct vsock_config c = { .guest_cid = CID };
	char err[512];

	*B = (struct bench){ .slot = VSOCK_SLOT_INIT };
	snprintf(B->dir, sizeof(B->dir), "/tmp/ember-bench-vsock-XXXXXX");
	if (!mkdtemp(B->dir) || guest_memory_create(256ull << 20, &B->m) < 0 || loop_create(&B->loop) < 0)
		die("setup");
	snprintf(c.uds_path, sizeof(c.uds_path), "%s/v.sock", B->dir);
	if (vsock_slot_put(&B->slot, &c, err, sizeof(err)) < 0)
		die(err);
	env = (struct device_env){ .vm_fd = -1, .mem = B->m, .loop = B->loop };
	if (vsock_create(&env, &B->slot, NULL, &B->dev) < 0 || virtio_mmio_create(&env, 0, vsock_virtio(B->dev), &B->t) < 0)
		die("vsock_create");
	setup_queues(B);
}

static void bench_close(struct bench *B)
{
	virtio_mmio_destroy(B->t);
	vsock_destroy(B->dev);
	vsock_slot_clear(&B->slot);
	loop_destroy(B->loop);
	guest_memory_destroy(B->m);
	rmdir(B->dir);
}

/* The guest sends one packet from descriptor d of the TX queue. */
static void guest_send(struct bench *B, uint16_t d, uint16_t op, uint32_t len, uint32_t fwd_cnt)
{
	struct vsock_hdr h = { .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = GUEST_PORT,
			       .dst_port = B->host_port, .len = len, .type = VSOCK_TYPE_STREAM, .op = op,
			       .buf_alloc = GUEST_BUF, .fwd_cnt = fwd_cnt };
	uint8_t raw[VSOCK_HDR_SIZE];

	vsock_hdr_encode(&h, raw);
	guest_memory_write(B->m, HDR(1, d), raw, sizeof(raw));
	q_chain(B, 1, d, len, 0);
	vd_offer(&B->drv, 1, 2 * d);
}

/* Takes RX packets: credit from the host side, data counted, buffers reposted. */
static void guest_rx(struct bench *B, uint16_t *ret_op)
{
	uint32_t id, len;
	bool reposted = false;

	while (vd_used(&B->drv, 0, &id, &len)) {
		uint8_t raw[VSOCK_HDR_SIZE];
		struct vsock_hdr h;

		guest_memory_read(B->m, HDR(0, id / 2), raw, sizeof(raw));
		vsock_hdr_decode(raw, &h);
		B->host_buf_alloc = h.buf_alloc;
		B->host_credit_fwd = h.fwd_cnt;
		B->last_src_port = h.src_port;
		if (h.op == VSOCK_OP_RW)
			B->rx_cnt += h.len;
		if (ret_op)
			*ret_op = h.op;
		vd_offer(&B->drv, 0, (uint16_t)id);
		reposted = true;
	}
	if (reposted)
		vd_kick(&B->drv, 0);
}

static int host_listener(struct bench *B, char *path, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(path, size, "%s/v.sock_%u", B->dir, HOST_PORT);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		die("listener");
	return fd;
}

/* Guest → host: REQUEST, then RW packets of `chunk` bytes within the host
 * side's credit while the host peer reads. */
static struct span bench_g2h(uint32_t chunk, uint64_t total)
{
	struct bench B;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], *sink = malloc(1 << 20);
	uint16_t op = 0, d = 0, in_flight = 0;
	uint64_t sent = 0, got = 0;
	int lfd, hfd;
	struct span t0, r;

	bench_open(&B);
	B.host_port = HOST_PORT;
	lfd = host_listener(&B, path, sizeof(path));
	guest_send(&B, d++ % SLOTS, VSOCK_OP_REQUEST, 0, 0);
	vd_kick(&B.drv, 1);
	hfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	guest_rx(&B, &op);
	if (hfd < 0 || op != VSOCK_OP_RESPONSE)
		die("guest -> host connect");
	{
		uint32_t id, len;

		while (vd_used(&B.drv, 1, &id, &len))
			; /* the REQUEST's buffer */
	}
	memset(sink, 0, 1 << 20);
	t0 = now_s();
	while (got < total) {
		uint32_t id, len;
		ssize_t n;

		/* The guest runs ahead of the host peer, as the raw writer does:
		 * it sends while the device keeps crediting it, that is until the
		 * host socket is full and the device starts buffering. */
		for (uint64_t before = ~0ull; before != sent;) {
			before = sent;
			while (vd_used(&B.drv, 1, &id, &len))
				in_flight--;
			/* Within credit (what the host side buffers) and the ring;
			 * a write larger than the credit goes out in part, as Linux
			 * sends it (virtio_transport_send_pkt_info). */
			while (sent < total && in_flight < TX_SLOTS - 1) {
				uint32_t credit = B.host_buf_alloc - (B.tx_cnt - B.host_credit_fwd);
				uint32_t n = chunk - (uint32_t)(sent % chunk);

				n = n < credit ? n : credit;
				if (!n)
					break;
				guest_send(&B, d++ % TX_SLOTS, VSOCK_OP_RW, n, B.rx_cnt);
				B.tx_cnt += n;
				sent += n;
				in_flight++;
			}
			if (sent != before) {
				vd_kick(&B.drv, 1);
				guest_rx(&B, NULL); /* credit updates */
			}
		}
		while ((n = read(hfd, sink, 1 << 20)) > 0)
			got += (uint64_t)n;
		loop_run_once(B.loop, 0); /* EPOLLOUT: the device flushes what it buffered */
		guest_rx(&B, NULL);       /* credit updates */
	}
	r = rate_since(t0, total);
	close(hfd);
	close(lfd);
	unlink(path);
	bench_close(&B);
	free(sink);
	return r;
}

/* Host → guest: CONNECT, then the host writes `chunk`-byte pieces; the guest
 * takes them from its RX buffers and reports its consumption. */
static struct span bench_h2g(uint32_t chunk, uint64_t total)
{
	struct bench B;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[32], *data = calloc(1, SPAN);
	uint64_t sent = 0;
	uint32_t told = 0;
	uint16_t op = 0;
	int fd;
	struct span t0, r;

	bench_open(&B);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", B.slot.cfg.uds_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || write(fd, "CONNECT 1000\n", 13) != 13)
		die("host connect");
	for (int i = 0; i < 10 && op != VSOCK_OP_REQUEST; i++) {
		loop_run_once(B.loop, 100);
		guest_rx(&B, &op);
	}
	B.host_port = B.last_src_port;
	guest_send(&B, 0, VSOCK_OP_RESPONSE, 0, 0);
	vd_kick(&B.drv, 1);
	if (op != VSOCK_OP_REQUEST || read(fd, line, sizeof(line)) < 3)
		die("host -> guest connect");
	fd_set_nonblock(fd, 1);
	memset(data, 0x5a, SPAN); /* real pages, not the shared zero page */
	t0 = now_s();
	while (B.rx_cnt < total) {
		ssize_t n;

		while (sent < total && (n = write(fd, data + sent / chunk * chunk % SPAN, chunk)) > 0)
			sent += (uint64_t)n;
		loop_run_once(B.loop, 0);
		guest_rx(&B, NULL);
		/* The guest consumed everything: its credit goes back to the host. */
		if (B.rx_cnt - told >= GUEST_BUF / 4) {
			guest_send(&B, 1, VSOCK_OP_CREDIT_UPDATE, 0, B.rx_cnt);
			vd_kick(&B.drv, 1);
			told = B.rx_cnt;
		}
	}
	r = rate_since(t0, total);
	close(fd);
	bench_close(&B);
	free(data);
	return r;
}

/* The floor: the same bytes in the same pieces through a unix socket pair. */
static struct span bench_raw(uint32_t chunk, uint64_t total)
{
	char *data = calloc(1, SPAN), *sink = malloc(1 << 20);
	uint64_t sent = 0, got = 0;
	int sv[2];
	struct span t0, r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	memset(sink, 0, 1 << 20);
	memset(data, 0x5a, SPAN); /* real pages, not the shared zero page */
	t0 = now_s();
	while (got < total) {
		ssize_t n;

		while (sent < total && (n = write(sv[0], data + sent / chunk * chunk % SPAN, chunk)) > 0)
			sent += (uint64_t)n;
		while ((n = read(sv[1], sink, 1 << 20)) > 0)
			got += (uint64_t)n;
	}
	r = rate_since(t0, total);
	close(sv[0]);
	close(sv[1]);
	free(data);
	free(sink);
	return r;
}

static struct span best(struct span a, struct span b)
{
	return (struct span){ a.wall > b.wall ? a.wall : b.wall, a.cpu > b.cpu ? a.cpu : b.cpu };
}

int main(int argc, char **argv)
{
	uint64_t total = (argc > 1 ? strtoull(argv[1], NULL, 10) : 256) << 20;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	/* A third argument (4 or 64) runs one write size only, for profiling. */
	unsigned only = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
	const uint32_t chunks[] = { 4096, 65536 };

	log_set_level(LOG_ERROR);
	printf("bench/vsock: through queue.c + virtio-mmio + vsock.c (no KVM) against a raw unix socket\n"
	       "pair moving the same %llu MiB in the same pieces; best of %d, interleaved. Two figures\n"
	       "each: MiB/s of wall time, and MiB per second of the thread's CPU time (the cost)\n",
	       (unsigned long long)(total >> 20), runs);
	for (unsigned c = 0; c < 2; c++) {
		struct span raw = { 0 }, g2h = { 0 }, h2g = { 0 };

		if (only && only != chunks[c] >> 10)
			continue;

		for (int r = 0; r < runs; r++) {
			raw = best(raw, bench_raw(chunks[c], total));
			g2h = best(g2h, bench_g2h(chunks[c], total));
			h2g = best(h2g, bench_h2g(chunks[c], total));
		}
		printf("%5u KiB writes, wall | raw %8.0f | guest->host %8.0f %.2fx | host->guest %8.0f %.2fx\n",
		       chunks[c] >> 10, raw.wall, g2h.wall, g2h.wall / raw.wall, h2g.wall, h2g.wall / raw.wall);
		printf("%5u KiB writes, CPU  | raw %8.0f | guest->host %8.0f %.2fx | host->guest %8.0f %.2fx\n",
		       chunks[c] >> 10, raw.cpu, g2h.cpu, g2h.cpu / raw.cpu, h2g.cpu, h2g.cpu / raw.cpu);
		fflush(stdout);
	}
	return 0;
}
