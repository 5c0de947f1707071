/* libFuzzer: the device sections of a snapshot state file as a load reads
 * them (snapshot/devices.c): a virtio transport's state, then the device's
 * own (net-snapshot.c, vsock-snapshot.c, balloon-snapshot.c), each into a
 * device freshly created with its transport, as the load creates them from
 * the saved configuration. When both restores accept the input, every queue
 * is notified, the way the restored VM's loop would serve them, and the
 * device is saved again. Guest RAM is a malloc'd buffer, so under ASan any
 * access outside the guest lands in a redzone. Oracles: the sanitizers, and
 * that a refusal always says why. No KVM.
 *
 * Input: a byte whose value modulo 3 picks the kind (net, vsock, balloon)
 * and whose bit 7 gives the balloon statistics, the transport state's
 * length (le16), the transport state, then the device state. The net
 * device sits on a TAP in a private network namespace when the fuzzer may
 * make one (root), else on a socket (activation then fails, and only the
 * inactive paths run).
 *
 * FUZZ_DEVICE_STATE_SEEDS=DIR writes one seed per kind into DIR: the states
 * of a device a driver started (queues of 16 entries), so the fuzzer begins
 * at the right lengths. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/balloon.h"
#include "config/net.h"
#include "config/vsock.h"
#include "core/device_env.h"
#include "core/loop.h"
#include "devices/virtio/balloon-internal.h"
#include "devices/virtio/net-internal.h"
#include "devices/virtio/tap.h"
#include "devices/virtio/vsock-dev.h"
#include "log.h"
#include "virtio-driver.h"

#define FUZZ_RAM (1u << 20)

enum { K_NET, K_VSOCK, K_BALLOON, K_KINDS };

static struct guest_memory mem;
static struct event_loop *loop;
static struct vsock_slot vslot = VSOCK_SLOT_INIT;
static int net_fd = -1;
static char dir[64];

static void fuzz_cleanup(void)
{
	vsock_slot_clear(&vslot);
	rmdir(dir);
}

/* A TAP in a private namespace (tun makes it where the fd was opened). */
static int fuzz_tap(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	char err[256];
	int fd = unshare(CLONE_NEWNET) < 0 ? -1 : open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "fuzzsnap0");
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return tap_open("fuzzsnap0", err, sizeof(err));
}

static void fuzz_init(void)
{
	struct vsock_config c = { .guest_cid = 3 };
	char err[512];
	int sv[2];

	mem.nr_regions = 1;
	mem.ram_size = FUZZ_RAM;
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = FUZZ_RAM, .host = calloc(1, FUZZ_RAM) };
	log_set_level(LOG_OFF);
	signal(SIGPIPE, SIG_IGN);
	/* A directory of this process for the vsock socket: one fuzzing
	 * process a pid, and a leftover of a killed run is refused by name. */
	snprintf(dir, sizeof(dir), "/tmp/ember-fuzz-devstate-%d", (int)getpid());
	if (mkdir(dir, 0700) < 0) {
		fprintf(stderr, "fuzz-device-state: cannot create %s: %s\n", dir, strerror(errno));
		abort();
	}
	if (!mem.region[0].host || loop_create(&loop) < 0)
		abort();
	atexit(fuzz_cleanup);
	snprintf(c.uds_path, sizeof(c.uds_path), "%s/v.sock", dir);
	if (vsock_slot_put(&vslot, &c, err, sizeof(err)) < 0)
		abort();
	net_fd = fuzz_tap();
	if (net_fd < 0) {
		fprintf(stderr, "fuzz-device-state: no TAP (needs root); the net device runs on a socket\n");
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
			abort();
		net_fd = sv[0];
	}
}

/* One device of kind k with its transport; *ret_dev, *ret_vdev. */
struct fuzz_dev {
	unsigned kind;
	void *dev;
	struct virtio_dev *vdev;
	struct virtio_mmio *t;
};

static void fuzz_create(struct fuzz_dev *d, unsigned kind, bool stats)
{
	struct device_env env = { .vm_fd = -1, .mem = &mem, .loop = loop };
	struct net_config ncfg = { .iface_id = "fuzz", .host_dev_name = "fuzzsnap0", .has_mac = true,
				   .guest_mac = { 2, 0, 0, 0, 0, 1 }, .tap_fd = net_fd };
	struct balloon_config bcfg = { .amount_mib = 4, .deflate_on_oom = true, .stats_polling_interval_s = stats };
	int r = -EINVAL;

	*d = (struct fuzz_dev){ .kind = kind };
	ncfg.rx_rate_limiter.cfg.bucket[RATE_LIMITER_OPS] = (struct token_bucket_config){ .size = 8, .refill_time_ms = 100 };
	if (kind == K_NET && (r = net_create(&env, &ncfg, NULL, (struct net **)&d->dev)) >= 0)
		d->vdev = net_virtio(d->dev);
	else if (kind == K_VSOCK && (r = vsock_create(&env, &vslot, NULL, (struct vsock_dev **)&d->dev)) >= 0)
		d->vdev = vsock_virtio(d->dev);
	else if (kind == K_BALLOON && (r = balloon_create(&env, &bcfg, (struct balloon **)&d->dev)) >= 0)
		d->vdev = balloon_virtio(d->dev);
	if (r < 0 || virtio_mmio_create(&env, 0, d->vdev, &d->t) < 0)
		abort();
}

static void fuzz_destroy(struct fuzz_dev *d)
{
	virtio_mmio_destroy(d->t);
	if (d->kind == K_NET)
		net_destroy(d->dev);
	else if (d->kind == K_VSOCK)
		vsock_destroy(d->dev);
	else
		balloon_destroy(d->dev);
}

static int fuzz_save(struct fuzz_dev *d, uint8_t *buf, size_t size)
{
	if (d->kind == K_NET)
		return net_snapshot_save(d->dev, buf, size);
	if (d->kind == K_VSOCK)
		return vsock_snapshot_save(d->dev, buf, size);
	return balloon_snapshot_save(d->dev, buf, size);
}

static int fuzz_restore(struct fuzz_dev *d, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	if (d->kind == K_NET)
		return net_snapshot_restore(d->dev, buf, len, err, errlen);
	if (d->kind == K_VSOCK)
		return vsock_snapshot_restore(d->dev, buf, len, err, errlen);
	return balloon_snapshot_restore(d->dev, buf, len, err, errlen);
}

/* The seeds: a started device of each kind, saved as a load would read it. */
static void fuzz_write_seeds(const char *out)
{
	static const unsigned nq[K_KINDS] = { 2, 3, 3 };

	for (unsigned k = 0; k < K_KINDS; k++) {
		static uint8_t tbuf[VIRTIO_TRANSPORT_STATE_MAX], dbuf[4096];
		struct vd_driver drv;
		struct fuzz_dev d;
		char path[256];
		size_t tl;
		int dl;
		FILE *f;

		memset(mem.region[0].host, 0, FUZZ_RAM);
		fuzz_create(&d, k, true);
		if (vd_start(&drv, &mem, d.t, nq[k], 16, 0x10000, ~0ull) < 0)
			abort();
		if (k == K_NET)
			net_snapshot_quiesce(d.dev);
		tl = virtio_transport_save((struct virtio_transport *)d.t, tbuf, sizeof(tbuf));
		dl = fuzz_save(&d, dbuf, sizeof(dbuf));
		snprintf(path, sizeof(path), "%s/%s", out, k == K_NET ? "net" : k == K_VSOCK ? "vsock" : "balloon");
		f = fopen(path, "wb");
		if (!tl || dl < 0 || !f)
			abort();
		fputc(k | 0x80, f);
		fputc((int)(tl & 0xff), f);
		fputc((int)(tl >> 8), f);
		fwrite(tbuf, 1, tl, f);
		fwrite(dbuf, 1, (size_t)dl, f);
		fclose(f);
		fuzz_destroy(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static uint8_t again[4096];
	struct fuzz_dev d;
	char err[1024] = "";
	size_t tl;
	int r;

	if (!ready) {
		const char *out = getenv("FUZZ_DEVICE_STATE_SEEDS");

		fuzz_init();
		if (out)
			fuzz_write_seeds(out);
		ready = true;
	}
	if (size < 3)
		return 0;
	tl = (size_t)data[1] | (size_t)data[2] << 8;
	if (tl > size - 3)
		return 0;
	memset(mem.region[0].host, 0, 0x40000);
	fuzz_create(&d, data[0] % K_KINDS, data[0] & 0x80);
	r = virtio_transport_restore((struct virtio_transport *)d.t, data + 3, tl, err, sizeof(err));
	if (r >= 0)
		r = fuzz_restore(&d, data + 3 + tl, size - 3 - tl, err, sizeof(err));
	if (r < 0 && !err[0])
		abort(); /* every refusal says why */
	if (r >= 0) {
		for (uint16_t q = 0; q < 5; q++)
			virtio_mmio_notify(d.t, q);
		for (int i = 0; i < 4; i++)
			loop_run_once(loop, 0);
		if (d.kind == K_NET)
			net_snapshot_quiesce(d.dev);
		else if (d.kind == K_VSOCK)
			vsock_snapshot_quiesce(d.dev);
		if (fuzz_save(&d, again, sizeof(again)) < 0)
			abort();
	}
	fuzz_destroy(&d);
	return 0;
}
