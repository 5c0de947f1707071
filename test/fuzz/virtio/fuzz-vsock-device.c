/* libFuzzer: random guest memory and queue state through queue.c, the mmio
 * transport and vsock.c's TX and RX paths, with real host peers on unix
 * sockets: a host connection that sent `CONNECT 52\n` (so a guest RESPONSE
 * to port 2^30 opens it), a listener on <uds_path>_53 (so guest REQUESTs to
 * port 53 connect), and host bytes written to every connection ember made,
 * which the RX path puts into the guest's (fuzzed) buffers. Guest RAM is a
 * malloc'd buffer, so under ASan any access outside the guest lands in a
 * redzone. Oracles: the sanitizers and the connection cap. No KVM.
 *
 * Input: one byte for the queue size (1 << (b % 8)), then up to 12 KiB of
 * guest memory from address 0: the TX descriptor table at 0 and its avail
 * ring at 0x800, the RX table at 0x1000 and its avail ring at 0x1800, the
 * event queue's at 0x2000 and 0x2800; buffers anywhere (the used rings are
 * at 64 KiB, out of the input's reach). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/vsock.h"
#include "core/device_env.h"
#include "core/loop.h"
#include "devices/virtio/vsock-mux.h"
#include "devices/virtio/vsock.h"
#include "log.h"
#include "virtio-driver.h"

#define FUZZ_RAM (1u << 20)
#define FUZZ_INPUT_MAX 0x3000u
#define FUZZ_TX_DESC 0x0000u
#define FUZZ_RX_DESC 0x1000u
#define FUZZ_EV_DESC 0x2000u
#define FUZZ_USED(q) (0x10000u + 0x1000u * (q))

static struct guest_memory mem;
static struct event_loop *loop;
static struct vsock_slot slot = VSOCK_SLOT_INIT;
static int peer_listen = -1;
static char dir[64];

/* The sockets and their directory go when the fuzzer exits. */
static void fuzz_cleanup(void)
{
	char path[sizeof(dir) + 16];

	vsock_slot_clear(&slot);
	snprintf(path, sizeof(path), "%s/v.sock_53", dir);
	unlink(path);
	rmdir(dir);
}

static void fuzz_init(void)
{
	struct vsock_config c = { .guest_cid = 3 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char err[512];

	mem.nr_regions = 1;
	mem.ram_size = FUZZ_RAM;
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = FUZZ_RAM, .host = calloc(1, FUZZ_RAM) };
	log_set_level(LOG_OFF);
	/* As ember (core/signals.c): a host peer gone mid-write is an EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/ember-fuzz-vsock-XXXXXX");
	if (!mem.region[0].host || !mkdtemp(dir) || loop_create(&loop) < 0)
		abort();
	atexit(fuzz_cleanup);
	snprintf(c.uds_path, sizeof(c.uds_path), "%s/v.sock", dir);
	if (vsock_slot_put(&slot, &c, err, sizeof(err)) < 0)
		abort();
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/v.sock_53", dir);
	peer_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (peer_listen < 0 || bind(peer_listen, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(peer_listen, 64) < 0)
		abort();
}

static void fuzz_queue(struct virtio_mmio *t, uint16_t q, uint16_t qn, uint32_t desc)
{
	vd_write(t, VIRTIO_MMIO_QUEUE_SEL, q);
	vd_write(t, VIRTIO_MMIO_QUEUE_NUM, qn);
	vd_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	vd_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, desc + 0x800);
	vd_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, FUZZ_USED(q));
	vd_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void fuzz_driver_ok(struct virtio_mmio *t, uint16_t qn)
{
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	fuzz_queue(t, 0, qn, FUZZ_RX_DESC);
	fuzz_queue(t, 1, qn, FUZZ_TX_DESC);
	fuzz_queue(t, 2, qn, FUZZ_EV_DESC);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* A host process dials the guest's port 52: after the listener's and the
 * line's events, the device has a REQUEST to 52 from port 2^30 waiting. */
static int fuzz_host_dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", slot.cfg.uds_path);
	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || write(fd, "CONNECT 52\n", 11) != 11) {
		close(fd);
		return -1;
	}
	loop_run_once(loop, 0);
	loop_run_once(loop, 0);
	return fd;
}

/* What no device took (a backlog left over) is dropped between inputs. */
static void fuzz_drain(int lfd)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		close(fd);
}

/* The connections the guest opened to port 53 get host bytes to carry back. */
static unsigned fuzz_host_answer(int *fds, unsigned max)
{
	static const char bytes[200];
	unsigned n = 0;
	int fd;

	while (n < max && (fd = accept4(peer_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (write(fd, bytes, sizeof(bytes)) < 0 && errno != EPIPE && errno != ECONNRESET)
			abort();
		fds[n++] = fd;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct device_env env = { .vm_fd = -1, .mem = &mem };
	struct vsock_dev *v = NULL;
	struct virtio_mmio *t;
	int dial, peers[64];
	unsigned npeers;
	uint16_t qn;

	if (!loop)
		fuzz_init();
	if (size < 2)
		return 0;
	qn = (uint16_t)(1u << (data[0] % 8));
	data++;
	size--;
	env.loop = loop;
	memset(mem.region[0].host, 0, FUZZ_USED(3));
	memcpy(mem.region[0].host, data, size < FUZZ_INPUT_MAX ? size : FUZZ_INPUT_MAX);
	if (vsock_create(&env, &slot, NULL, &v) < 0 || virtio_mmio_create(&env, 0, vsock_virtio(v), &t) < 0)
		abort();
	fuzz_driver_ok(t, qn);
	dial = fuzz_host_dial();
	virtio_mmio_notify(t, 1);
	npeers = fuzz_host_answer(peers, 64);
	/* The device may have closed it already (the guest reset it): EPIPE. */
	if (dial >= 0 && write(dial, "from the host", 13) < 0 && errno != EPIPE && errno != ECONNRESET)
		abort();
	/* The host sockets' events: their bytes into the guest's RX buffers. */
	loop_run_once(loop, 0);
	loop_run_once(loop, 0);
	virtio_mmio_notify(t, 0);
	if (vsock_conn_count(v) > VSOCK_CONNS_MAX)
		abort();
	virtio_mmio_destroy(t);
	vsock_destroy(v);
	if (dial >= 0)
		close(dial);
	while (npeers)
		close(peers[--npeers]);
	fuzz_drain(slot.listen_fd);
	fuzz_drain(peer_listen);
	return 0;
}
