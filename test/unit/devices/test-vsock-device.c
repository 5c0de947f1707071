/* The vsock device on its queues and sockets, without KVM: this test is the
 * guest's driver (rings in in-process guest memory, notifications through
 * the mmio transport) and the host peer on the unix sockets, as
 * bench/vsock is. It checks VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (virtio 1.2
 * §5.10.6.6): every connection closed, the listener kept. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/vsock.h"
#include "core/device_env.h"
#include "core/loop.h"
#include "devices/virtio/vsock-packet.h"
#include "devices/virtio/vsock.h"
#include "log.h"
#include "virtio-driver.h"

#define QN 16u
#define CID 3u
#define RING_BASE 0x1000ull
#define BUF(q, i) (0x100000ull + 0x100000ull * (q) + 0x1000ull * (i))
#define BUF_SIZE 0x1000u
#define RXQ 0u
#define TXQ 1u
#define EVQ 2u

struct t {
	struct guest_memory *m;
	struct event_loop *loop;
	struct virtio_mmio *mmio;
	struct vsock_dev *dev;
	struct vsock_slot slot;
	char dir[64];
	struct vd_driver drv;
	uint16_t tx_next;
};

/* Offers descriptor d of queue q (its buffer at BUF(q, d)) on its own. */
static void q_offer(struct t *T, unsigned q, uint16_t d, uint32_t len, uint16_t flags)
{
	vd_desc(&T->drv, q, d, BUF(q, d), len, flags, 0);
	vd_offer(&T->drv, q, d);
}

static void setup_queues(struct t *T)
{
	assert_int_equal(vd_start(&T->drv, T->m, T->mmio, 3, QN, RING_BASE, 0), 0);
	for (uint16_t i = 0; i < QN; i++)
		q_offer(T, RXQ, i, BUF_SIZE, VIRTQ_DESC_F_WRITE);
}

static int setup(void **state)
{
	struct t *T = calloc(1, sizeof(*T));
	struct vsock_config c = { .guest_cid = CID };
	struct device_env env;
	char err[512];

	assert_non_null(T);
	T->slot = (struct vsock_slot)VSOCK_SLOT_INIT;
	snprintf(T->dir, sizeof(T->dir), "/tmp/ember-test-vsock-XXXXXX");
	assert_non_null(mkdtemp(T->dir));
	assert_int_equal(guest_memory_create(16ull << 20, &T->m), 0);
	assert_int_equal(loop_create(&T->loop), 0);
	snprintf(c.uds_path, sizeof(c.uds_path), "%s/v.sock", T->dir);
	assert_int_equal(vsock_slot_put(&T->slot, &c, err, sizeof(err)), 0);
	env = (struct device_env){ .vm_fd = -1, .mem = T->m, .loop = T->loop };
	assert_int_equal(vsock_create(&env, &T->slot, NULL, &T->dev), 0);
	assert_int_equal(virtio_mmio_create(&env, 0, vsock_virtio(T->dev), &T->mmio), 0);
	setup_queues(T);
	*state = T;
	return 0;
}

static int teardown(void **state)
{
	struct t *T = *state;
	char path[128];

	virtio_mmio_destroy(T->mmio);
	vsock_destroy(T->dev);
	vsock_slot_clear(&T->slot);
	loop_destroy(T->loop);
	guest_memory_destroy(T->m);
	snprintf(path, sizeof(path), "%s/v.sock_53", T->dir);
	unlink(path);
	rmdir(T->dir);
	free(T);
	return 0;
}

/* The guest sends one header-only packet. */
static void guest_send(struct t *T, uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	struct vsock_hdr h = { .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port, .dst_port = dst_port,
			       .type = VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 65536 };
	uint16_t d = T->tx_next++ % QN;
	uint8_t raw[VSOCK_HDR_SIZE];

	vsock_hdr_encode(&h, raw);
	guest_memory_write(T->m, BUF(TXQ, d), raw, sizeof(raw));
	q_offer(T, TXQ, d, VSOCK_HDR_SIZE, 0);
	vd_kick(&T->drv, TXQ);
}

/* The next packet the device gave the guest (its buffer reposted). */
static bool guest_recv(struct t *T, struct vsock_hdr *ret)
{
	uint32_t id, len;
	uint8_t raw[VSOCK_HDR_SIZE];

	if (!vd_used(&T->drv, RXQ, &id, &len))
		return false;
	assert_true(len >= VSOCK_HDR_SIZE);
	guest_memory_read(T->m, BUF(RXQ, id), raw, sizeof(raw));
	vsock_hdr_decode(raw, ret);
	q_offer(T, RXQ, (uint16_t)id, BUF_SIZE, VIRTQ_DESC_F_WRITE);
	return true;
}

static int unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	return fd;
}

static struct sockaddr_un unix_addr(const struct t *T, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", T->dir, name);
	return sa;
}

/* Host → guest: CONNECT 52, the guest's REQUEST answered; returns the host
 * socket after its "OK <port>" line. */
static int host_to_guest(struct t *T)
{
	struct sockaddr_un sa = unix_addr(T, "v.sock");
	struct vsock_hdr h = { 0 };
	char line[32] = { 0 };
	int fd = unix_socket();

	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "CONNECT 52\n", 11), 11);
	/* The listener's event, then the line's. */
	for (int i = 0; i < 10 && !guest_recv(T, &h); i++)
		loop_run_once(T->loop, 100);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 52);
	guest_send(T, VSOCK_OP_RESPONSE, 52, h.src_port);
	assert_true(read(fd, line, sizeof(line) - 1) > 3);
	assert_memory_equal(line, "OK ", 3);
	return fd;
}

/* Guest → host: a REQUEST to port 53, accepted on <uds_path>_53; returns
 * the accepted host socket. */
static int guest_to_host(struct t *T, int lfd)
{
	struct vsock_hdr h = { 0 };
	int fd;

	guest_send(T, VSOCK_OP_REQUEST, 2000, 53);
	assert_true(guest_recv(T, &h));
	assert_int_equal(h.op, VSOCK_OP_RESPONSE);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static int host_listener(struct t *T)
{
	struct sockaddr_un sa = unix_addr(T, "v.sock_53");
	int fd = unix_socket();

	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* A host socket the device closed reads EOF (or a reset). */
static void assert_closed(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);

	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

static void test_transport_reset(void **state)
{
	struct t *T = *state;
	int lfd = host_listener(T), h2g = host_to_guest(T), g2h = guest_to_host(T, lfd), again;
	struct vsock_metrics m;
	struct vsock_hdr h;
	uint32_t id, len, event = 0xffffffffu;

	assert_int_equal(vsock_conn_count(T->dev), 2);
	/* Linux posts event buffers of exactly sizeof(struct virtio_vsock_event). */
	q_offer(T, EVQ, 0, 4, VIRTQ_DESC_F_WRITE);
	assert_int_equal(vsock_transport_reset(T->dev), 0);
	/* struct virtio_vsock_event: le32 id, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET = 0. */
	assert_true(vd_used(&T->drv, EVQ, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 4);
	guest_memory_read(T->m, BUF(EVQ, 0), &event, 4);
	assert_int_equal(le32toh(event), 0);
	/* Every connection is gone, with no RST (the guest resets its own). */
	assert_int_equal(vsock_conn_count(T->dev), 0);
	assert_closed(h2g);
	assert_closed(g2h);
	assert_false(guest_recv(T, &h));
	vsock_metrics_get(T->dev, &m);
	assert_true(m.conns_removed >= 2);
	/* The listener stays: a new host connection reaches the guest. */
	again = host_to_guest(T);
	assert_int_equal(vsock_conn_count(T->dev), 1);
	close(again);
	close(h2g);
	close(g2h);
	close(lfd);
}

/* No usable event buffer (one too small for the event is returned empty):
 * -ENOBUFS, counted, and the connections closed all the same. */
static void test_transport_reset_no_buffer(void **state)
{
	struct t *T = *state;
	int h2g = host_to_guest(T);
	struct vsock_metrics m;
	uint32_t id, len;

	q_offer(T, EVQ, 0, 2, VIRTQ_DESC_F_WRITE);
	assert_int_equal(vsock_transport_reset(T->dev), -ENOBUFS);
	assert_true(vd_used(&T->drv, EVQ, &id, &len));
	assert_int_equal(len, 0);
	assert_false(vd_used(&T->drv, EVQ, &id, &len));
	assert_int_equal(vsock_conn_count(T->dev), 0);
	assert_closed(h2g);
	vsock_metrics_get(T->dev, &m);
	assert_int_equal(m.ev_queue_event_fails, 1);
	close(h2g);
}

/* The driver's reset (status 0) is a register write on a vCPU thread. With
 * a host connection open, the device once closed its socket and removed it
 * from the event loop right there: the vcpu seccomp role has neither call,
 * so ember died of SIGSYS (and the loop is the vmm thread's alone). Now the
 * connection leaves the table at the reset and its socket closes when the
 * vmm thread runs the loop. */
static void *vcpu_reset(void *arg)
{
	struct t *T = arg;

	vd_write(T->mmio, VIRTIO_MMIO_STATUS, 0);
	return NULL;
}

static void test_reset_on_vcpu_thread(void **state)
{
	struct t *T = *state;
	int h2g = host_to_guest(T), pending;
	struct sockaddr_un sa = unix_addr(T, "v.sock");
	struct vsock_metrics m;
	pthread_t vcpu;
	char b;

	/* and one still sending its CONNECT line */
	pending = unix_socket();
	assert_int_equal(connect(pending, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(pending, "CONN", 4), 4);
	loop_run_once(T->loop, 100);
	assert_int_equal(pthread_create(&vcpu, NULL, vcpu_reset, T), 0);
	assert_int_equal(pthread_join(vcpu, NULL), 0);
	assert_int_equal(loop_foreign_calls(T->loop), 0);
	/* gone from the device at once, its socket still open until the vmm thread runs */
	assert_int_equal(vsock_conn_count(T->dev), 1); /* the pending line only */
	assert_int_equal(recv(h2g, &b, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	for (int i = 0; i < 10; i++)
		loop_run_once(T->loop, 10);
	assert_closed(h2g);
	vsock_metrics_get(T->dev, &m);
	assert_true(m.conns_removed >= 1);
	/* the device works again after the driver's restart */
	setup_queues(T);
	close(h2g);
	h2g = host_to_guest(T);
	assert_int_equal(loop_foreign_calls(T->loop), 0);
	close(h2g);
	close(pending);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transport_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_on_vcpu_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_reset_no_buffer, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
