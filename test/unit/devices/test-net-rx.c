/* net.c's receive path against a real TAP in a private network namespace
 * (root only; the test skips and says why otherwise): frames sent into
 * the TAP from the kernel side (AF_PACKET) go through the device into
 * receive buffers a minimal driver posts and offers again as they come
 * back, as a guest's refill does. Each frame must arrive once, in order,
 * whole, with num_buffers and the used lengths right, while the device's
 * held-buffer bookkeeping runs past the end of its arrays many times
 * (single-descriptor buffers, and chains of many descriptors). The
 * namespace dies with the test process. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/device_env.h"
#include "core/loop.h"
#include "core/memory.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net-frame.h"
#include "devices/virtio/net-internal.h"
#include "devices/virtio/net.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/tap.h"
#include "tap-netns.h"

#define TAP "emrx0"
#define QN 256u
#define RXQ_DESC 0x10000ull
#define RXQ_AVAIL 0x11000ull
#define RXQ_USED 0x12000ull
#define TXQ_DESC 0x14000ull
#define BUF_AREA 0x100000ull
#define FRAME_LEN 703u /* + 12: two 400-byte buffers, or two 640-byte chains */
#define BIT(b) (1ull << (b))

static bool in_netns;
static int pkt_fd = -1, tap_index;
static struct rig *live; /* torn down after each test, even a failed one */

struct rig {
	struct guest_memory *m;
	struct event_loop *loop;
	struct net *dev;
	struct virtio_mmio *t;
	int tap_fd;
	uint16_t avail, used_seen;
	uint32_t buf_len[QN]; /* each posted chain's bytes, by head */
	uint32_t next_seq;    /* the next frame expected */
};

static void *gpa(struct rig *r, uint64_t a, size_t len)
{
	void *p = guest_memory_slice(r->m, a, len);

	assert_non_null(p);
	return p;
}

static void reg(struct rig *r, uint64_t off, uint32_t v)
{
	virtio_mmio_write(r->t, off, (const uint8_t *)&v, 4);
}

static void queue_setup(struct rig *r, unsigned q, uint64_t desc)
{
	reg(r, VIRTIO_MMIO_QUEUE_SEL, q);
	reg(r, VIRTIO_MMIO_QUEUE_NUM, QN);
	reg(r, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	reg(r, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(desc + 0x1000));
	reg(r, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(desc + 0x2000));
	reg(r, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* tap_open() turned the carrier on; the kernel gives the TAP its qdisc
 * from a work item, and drops what is sent on it until then: send a frame
 * until one arrives. */
static void wait_tap_ready(int fd)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = tap_index, .sll_halen = 6 };
	static const uint8_t probe[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 3, 0x88, 0xb6 };
	uint8_t buf[128];

	for (unsigned i = 0; i < 2000; i++) {
		assert_int_equal(sendto(pkt_fd, probe, sizeof(probe), 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)sizeof(probe));
		usleep(1000);
		if (read(fd, buf, sizeof(buf)) > 0) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			return;
		}
	}
	fail_msg("the TAP passed no frame within 2 s");
}

static void rig_up(struct rig *r, uint64_t features)
{
	struct net_config cfg = { .iface_id = "rx", .host_dev_name = TAP };
	char err[256];
	struct device_env env;

	memset(r, 0, sizeof(*r));
	live = r;
	r->tap_fd = cfg.tap_fd = tap_open(TAP, err, sizeof(err));
	assert_true(r->tap_fd >= 0);
	wait_tap_ready(r->tap_fd);
	assert_int_equal(guest_memory_create(16u << 20, &r->m), 0);
	assert_int_equal(loop_create(&r->loop), 0);
	env = (struct device_env){ .vm_fd = -1, .mem = r->m, .loop = r->loop };
	assert_int_equal(net_create(&env, &cfg, NULL, &r->dev), 0);
	assert_int_equal(virtio_mmio_create(&env, 0, net_virtio(r->dev), &r->t), 0);
	reg(r, VIRTIO_MMIO_STATUS, 1);
	reg(r, VIRTIO_MMIO_STATUS, 3);
	reg(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg(r, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	reg(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg(r, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	reg(r, VIRTIO_MMIO_STATUS, 3 | 8);
	queue_setup(r, 0, RXQ_DESC);
	queue_setup(r, 1, TXQ_DESC);
	reg(r, VIRTIO_MMIO_STATUS, 3 | 8 | 4);
}

static int rig_down(void **state)
{
	struct rig *r = live;

	live = NULL;
	if (!r)
		return 0;
	virtio_mmio_destroy(r->t);
	net_destroy(r->dev);
	if (r->loop)
		loop_destroy(r->loop);
	if (r->m)
		guest_memory_destroy(r->m);
	if (r->tap_fd >= 0)
		close(r->tap_fd);
	return 0;
}

static void offer(struct rig *r, uint16_t head)
{
	uint16_t *avail = gpa(r, RXQ_AVAIL, 4 + 2 * QN);

	avail[2 + r->avail % QN] = htole16(head);
	__atomic_store_n(&avail[1], htole16(++r->avail), __ATOMIC_RELEASE);
}

/* chains receive chains of ndesc descriptors of dlen bytes each, heads at
 * multiples of ndesc, all in the descriptor table of QN entries. */
static void post(struct rig *r, unsigned chains, unsigned ndesc, uint32_t dlen)
{
	assert_true(chains * ndesc <= QN);
	for (unsigned c = 0; c < chains; c++) {
		for (unsigned d = 0; d < ndesc; d++) {
			unsigned i = c * ndesc + d;
			struct virtq_desc *desc = gpa(r, RXQ_DESC + 16ull * i, 16);
			uint16_t flags = VIRTQ_DESC_F_WRITE | (d + 1 < ndesc ? VIRTQ_DESC_F_NEXT : 0);

			*desc = (struct virtq_desc){ htole64(BUF_AREA + 0x1000ull * i), htole32(dlen), htole16(flags),
						     htole16((uint16_t)(i + 1)) };
		}
		r->buf_len[c * ndesc] = ndesc * dlen;
		offer(r, (uint16_t)(c * ndesc));
	}
}

/* count frames of FRAME_LEN bytes, each carrying its sequence number. */
static void inject(struct rig *r, uint32_t first, unsigned count)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = tap_index, .sll_halen = 6 };
	uint8_t f[FRAME_LEN];

	memset(f, 0, sizeof(f));
	memcpy(f, "\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x02\x88\xb5", 14);
	for (unsigned i = 0; i < count; i++) {
		uint32_t seq = first + i;

		memcpy(f + 14, &seq, 4);
		memset(f + 18, (int)(seq & 0xff), sizeof(f) - 18);
		assert_int_equal(sendto(pkt_fd, f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)sizeof(f));
	}
}

/* The bytes of chain head (ndesc descriptors) from offset off, into out. */
static void chain_read(struct rig *r, uint16_t head, unsigned ndesc, uint32_t dlen, uint32_t len, uint8_t *out)
{
	for (unsigned d = 0; d < ndesc && len; d++) {
		uint32_t take = len < dlen ? len : dlen;

		memcpy(out, gpa(r, BUF_AREA + 0x1000ull * (head + d), take), take);
		out += take;
		len -= take;
	}
}

/* Takes the used entries of whole frames, checks each, offers the chains
 * again. Returns the frames seen. */
static unsigned reap(struct rig *r, unsigned ndesc, uint32_t dlen)
{
	uint8_t *used = gpa(r, RXQ_USED, 4 + 8 * QN);
	uint16_t idx = le16toh(__atomic_load_n((uint16_t *)(used + 2), __ATOMIC_ACQUIRE));
	unsigned frames = 0;

	while (r->used_seen != idx) {
		uint8_t got[12 + FRAME_LEN];
		struct virtio_net_hdr h;
		uint32_t id, len, at = 0, seq;

		memcpy(&id, used + 4 + 8 * (r->used_seen % QN), 4);
		memcpy(&len, used + 8 + 8 * (r->used_seen % QN), 4);
		memcpy(&h, gpa(r, BUF_AREA + 0x1000ull * id, sizeof(h)), sizeof(h));
		assert_int_equal(le16toh(h.num_buffers), 2);
		for (unsigned b = 0; b < 2; b++) {
			assert_true((uint16_t)(idx - r->used_seen) >= 1);
			memcpy(&id, used + 4 + 8 * (r->used_seen % QN), 4);
			memcpy(&len, used + 8 + 8 * (r->used_seen % QN), 4);
			r->used_seen++;
			assert_true(id < QN && len <= r->buf_len[id] && at + len <= sizeof(got));
			chain_read(r, (uint16_t)id, ndesc, dlen, len, got + at);
			at += len;
			offer(r, (uint16_t)id);
		}
		assert_int_equal(at, 12 + FRAME_LEN);
		memcpy(&seq, got + 12 + 14, 4);
		assert_int_equal(seq, r->next_seq);
		for (unsigned i = 12 + 18; i < at; i++)
			if (got[i] != (uint8_t)(seq & 0xff))
				fail_msg("frame %u: byte %u is %u", seq, i, got[i]);
		r->next_seq++;
		frames++;
	}
	return frames;
}

/* total frames in batches: each batch sent, then kicks and loop passes
 * until it has all come back (bounded). */
static void run(struct rig *r, unsigned total, unsigned batch, unsigned ndesc, uint32_t dlen)
{
	struct net_metrics m;

	for (uint32_t sent = 0; sent < total; sent += batch) {
		unsigned want = r->next_seq + batch, tries = 0;

		inject(r, sent, batch);
		while (r->next_seq < want) {
			assert_true(++tries < 10000);
			virtio_mmio_notify(r->t, 0);
			loop_run_once(r->loop, 0);
			reap(r, ndesc, dlen);
		}
	}
	net_metrics_get(r->dev, &m);
	assert_int_equal(m.rx_packets_count, total);
	assert_int_equal(m.rx_fails, 0);
}

static void test_rx_buffers_wrap(void **state)
{
	static struct rig r;

	if (!in_netns)
		skip();
	rig_up(&r, BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* each frame takes two 400-byte buffers of the four held: the held
	 * list never empties, so its start walks past the array end */
	post(&r, QN, 1, 400);
	run(&r, 1200, 40, 1, 400);
}

static void test_rx_chains_of_many_descriptors(void **state)
{
	static struct rig r;

	if (!in_netns)
		skip();
	rig_up(&r, BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* six chains of 40 descriptors of 16 bytes (640 bytes): three held,
	 * two taken per frame, 80 iovecs: the iovec array compacts often */
	post(&r, 6, 40, 16);
	run(&r, 300, 2, 40, 16);
}

/* A snapshot while the device holds receive chains it took from the ring
 * and did not fill (no frame waited): they are put back on the ring, not
 * used and not forgotten, so frames that come after the save (in this VM
 * resumed, or a restored one) land in them. Forgetting them without the
 * rewind leaves the device with no buffer at all: nothing would arrive. */
static void test_snapshot_rewinds_held_chains(void **state)
{
	static struct rig r;
	uint8_t *used;
	struct virtq *q;

	if (!in_netns)
		skip();
	rig_up(&r, BIT(VIRTIO_NET_F_MRG_RXBUF));
	post(&r, 4, 1, 400);
	virtio_mmio_notify(r.t, 0); /* the device takes chains, the TAP is empty */
	q = virtio_queue(net_virtio(r.dev), 0);
	assert_int_equal(q->last_avail, 4);
	net_snapshot_quiesce(r.dev);
	assert_int_equal(q->last_avail, 0);
	used = gpa(&r, RXQ_USED, 4);
	assert_int_equal(le16toh(*(uint16_t *)(used + 2)), 0); /* none came back used */
	run(&r, 6, 1, 1, 400);
}

static int group_setup(void **state)
{
	if (!tn_enter())
		return 0;
	if (tn_no_ipv6() < 0 || tn_tap_make(TAP, 0, true) < 0)
		return -1;
	tap_index = (int)if_nametoindex(TAP);
	pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (pkt_fd < 0 || tap_index <= 0)
		return -1;
	in_netns = true;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_rx_buffers_wrap, rig_down),
		cmocka_unit_test_teardown(test_rx_chains_of_many_descriptors, rig_down),
		cmocka_unit_test_teardown(test_snapshot_rewinds_held_chains, rig_down),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
