/* See pmem.h. */
#include "pmem.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/bus.h"
#include "core/device_env.h"
#include "core/guest_space.h"
#include "fd.h"
#include "log.h"
#include "path_error.h"
#include "pmem-map.h"
#include "pmem-state.h"
#include "queue.h"
#include "throttle.h"
#include "virtio.h"

struct pmem {
	struct virtio_dev vdev;
	char id[PMEM_ID_MAX + 1];
	bool read_only;
	bool active;
	struct pmem_map map;
	struct guest_space *space;
	struct bus *bus; /* where a read-only window is claimed, or NULL */
	uint64_t gpa; /* 0 while the window is not mapped */
	struct virtio_throttle throttle;
	struct pmem_metrics m;
	int metrics_group;
	uint64_t dropped_seen; /* the queue's dropped chains already counted */
	struct virtq_elem elem;
};

METRICS_GROUP(pmem_metrics, "pmem", PMEM_METRICS);

/* The request path runs on the vmm thread: one writer. */
#define PMEM_COUNT(p, name) metrics_local_inc((p)->m.name)
/* Register accesses and window writes come from vCPU threads. */
#define PMEM_COUNT_SHARED(p, name) metrics_add_shared((p)->m.name, 1)

static struct pmem *pmem_of(struct virtio_dev *d)
{
	return (struct pmem *)d;
}

/* ---- requests ---- */

/* One msync of the whole file: the result every flush of this notification
 * gets (virtio 1.3 §5.19.7: status 0 on success, -1 on failure). */
static int32_t pmem_msync(struct pmem *p)
{
	if (msync(p->map.host, p->map.file_size, MS_SYNC) == 0)
		return 0;
	log_rl(LOG_ERROR, "pmem %s: msync of the backing file failed: %m", p->id);
	return -1;
}

/* §5.19.6: a device-readable 4-byte request type, then a device-writable
 * 4-byte status. Anything else is a broken driver or a hostile one: used
 * length 0, counted, and the device keeps serving. */
static bool pmem_request_ok(const struct virtq_elem *e, uint32_t *ret_type)
{
	uint32_t type;

	if (e->nr_out != 1 || e->iov[0].iov_len != 4 || e->nr_in < 1 || e->iov[1].iov_len != 4)
		return false;
	memcpy(&type, e->iov[0].iov_base, sizeof(type));
	*ret_type = le32toh(type);
	return true;
}

static void pmem_serve(struct pmem *p, struct virtq *q, bool *synced, int32_t *result)
{
	const struct virtq_elem *e = &p->elem;
	uint32_t type = 0;
	int32_t status;

	if (!pmem_request_ok(e, &type) || type != VIRTIO_PMEM_REQ_FLUSH) {
		PMEM_COUNT(p, event_fails);
		log_rl(LOG_WARNING, "pmem %s: malformed request (%u readable, %u writable descriptors, type %" PRIu32
		       ") returned unserved", p->id, e->nr_out, e->nr_in, type);
		virtq_push(q, e->head, 0);
		return;
	}
	if (!*synced) {
		*result = pmem_msync(p);
		*synced = true;
	}
	status = (int32_t)htole32((uint32_t)*result);
	memcpy(e->iov[1].iov_base, &status, sizeof(status));
	virtq_push(q, e->head, 4);
}

/* Chains queue.c dropped (bad addresses, loops, order) count as failed
 * requests too: the guest sees used length 0 for them as well. */
static void pmem_count_dropped(struct pmem *p, const struct virtq *q)
{
	uint64_t n = q->stats.dropped - p->dropped_seen;

	p->dropped_seen = q->stats.dropped;
	if (n)
		metrics_local_add(p->m.event_fails, n);
}

enum pmem_step { PMEM_IDLE, PMEM_STOP };

/* Serves what is on the queue now. The rate limiter is paid once for all of
 * it: one op and the file's size in bytes, the cost of the one msync. */
static enum pmem_step pmem_drain(struct pmem *p, struct virtq *q)
{
	bool synced = false;
	int32_t result = 0;

	if (!virtq_pending(q))
		return PMEM_IDLE;
	if (!virtio_throttle_admit(&p->throttle, p->map.file_size, 1)) {
		PMEM_COUNT(p, rate_limiter_throttled_events);
		return PMEM_STOP; /* the timer comes back */
	}
	for (;;) {
		int r;

		if (!virtio_take_chain(&p->vdev)) {
			virtio_yield(&p->vdev, 0);
			return PMEM_STOP;
		}
		r = virtq_pop(q, &p->elem);
		if (r < 0) {
			virtio_set_needs_reset(&p->vdev);
			return PMEM_STOP;
		}
		if (r == 0)
			return PMEM_IDLE;
		pmem_serve(p, q, &synced, &result);
	}
}

static void pmem_process(struct pmem *p)
{
	struct virtq *q = virtio_queue(&p->vdev, 0);
	enum pmem_step step;

	if (!p->active || !q || p->throttle.parked)
		return;
	do {
		step = pmem_drain(p, q);
		pmem_count_dropped(p, q);
		virtio_signal_used(&p->vdev, 0);
	} while (step == PMEM_IDLE && virtq_idle(q));
}

static void pmem_notify(struct virtio_dev *d, uint16_t queue)
{
	struct pmem *p = pmem_of(d);

	PMEM_COUNT(p, queue_event_count);
	pmem_process(p);
}

static void pmem_on_timer(void *ctx, uint32_t events)
{
	struct pmem *p = ctx;

	virtio_lock(&p->vdev);
	virtio_wakeup(&p->vdev);
	PMEM_COUNT(p, rate_limiter_event_count);
	virtio_throttle_fired(&p->throttle);
	pmem_process(p);
	virtio_unlock(&p->vdev);
}

/* ---- virtio ---- */

static uint64_t pmem_features(struct virtio_dev *d)
{
	return 1ull << VIRTIO_F_VERSION_1;
}

/* struct virtio_pmem_config { le64 start; le64 size; } */
static void pmem_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct pmem *p = pmem_of(d);
	uint64_t cfg[2] = { htole64(p->gpa), htole64(p->map.map_size) };

	memcpy(data, (uint8_t *)cfg + off, len);
}

static void pmem_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct pmem *p = pmem_of(d);

	PMEM_COUNT_SHARED(p, cfg_fails);
	log_rl(LOG_WARNING, "pmem %s: guest wrote read-only config space at %u", p->id, off);
}

static int pmem_activate(struct virtio_dev *d, uint64_t features, const struct guest_memory *mem)
{
	struct pmem *p = pmem_of(d);

	if (!virtio_queue(&p->vdev, 0)->ready) {
		PMEM_COUNT_SHARED(p, activate_fails);
		return -EINVAL;
	}
	p->active = true;
	return 0;
}

static void pmem_reset(struct virtio_dev *d)
{
	pmem_of(d)->active = false;
}

static const struct virtio_device_ops pmem_ops = {
	.name = "pmem",
	.device_id = VIRTIO_ID_PMEM,
	.num_queues = 1,
	.config_size = 16,
	.features = pmem_features,
	.config_read = pmem_config_read,
	.config_write = pmem_config_write,
	.activate = pmem_activate,
	.reset = pmem_reset,
	.notify = pmem_notify,
};

/* ---- the window on the MMIO bus (read-only devices) ---- */

/* Reads never exit on a read-only slot; if one does, it sees the file. */
static void pmem_window_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	const struct pmem *p = dev;

	memcpy(data, p->map.host + offset, len); /* the bus checked offset + len */
}

static void pmem_window_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct pmem *p = dev;

	PMEM_COUNT_SHARED(p, event_fails);
	log_rl(LOG_WARNING, "pmem %s: the guest wrote %u bytes into the read-only device at offset 0x%" PRIx64
	       "; dropped", p->id, len, offset);
}

static const struct bus_ops pmem_window_ops = { .read = pmem_window_read, .write = pmem_window_write };

/* ---- life ---- */

static int pmem_open(struct pmem *p, const struct pmem_config *cfg, char *why, size_t whylen)
{
	char path[PMEM_PATH_MAX + 300];
	_cleanup_close_ int fd = -1;
	int r;

	fd = *cfg->path_on_host ? fd_open_image(cfg->path_on_host, cfg->read_only ? O_RDONLY : O_RDWR, false)
				: -ENOENT;
	if (fd < 0) {
		snprintf(why, whylen, "Error accessing backing file: %s",
			 path_error(path, sizeof(path), cfg->path_on_host, -fd));
		return fd;
	}
	r = pmem_map_file(fd, cfg->read_only, &p->map);
	if (r == -ENODATA)
		snprintf(why, whylen, "Error backing file size is 0");
	else if (r == -EFBIG)
		snprintf(why, whylen, "Error backing file \"%s\" is larger than %llu bytes", cfg->path_on_host,
			 (unsigned long long)PMEM_FILE_MAX);
	else if (r < 0)
		snprintf(why, whylen, "Error accessing backing file: cannot map \"%s\": %s", cfg->path_on_host,
			 strerror(-r));
	return r;
}

static int pmem_place(struct pmem *p, const struct device_env *env, char *why, size_t whylen)
{
	int r;

	if (!env->space) {
		snprintf(why, whylen, "Failed to allocate memory region: no device memory space");
		return -ENOSPC;
	}
	r = guest_space_map(env->space, p->map.host, p->map.map_size, p->read_only, &p->gpa);
	if (r < 0) {
		snprintf(why, whylen, "Failed to allocate memory region: %s", strerror(-r));
		return r;
	}
	p->space = env->space;
	if (!p->read_only || !env->mmio_bus)
		return 0;
	r = bus_register(env->mmio_bus, p->gpa, p->map.map_size, &pmem_window_ops, p);
	if (r < 0)
		snprintf(why, whylen, "cannot claim the read-only window on the MMIO bus: %s", strerror(-r));
	else
		p->bus = env->mmio_bus;
	return r;
}

int pmem_create(const struct device_env *env, const struct pmem_config *cfg, tb_clock_fn clock, struct pmem **ret,
		char *why, size_t whylen)
{
	_cleanup_free_ struct pmem *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->metrics_group = -1;
	p->throttle.timer_fd = -1; /* destroy before init must not close fd 0 */
	virtio_dev_init(&p->vdev, &pmem_ops);
	snprintf(p->id, sizeof(p->id), "%s", cfg->id);
	p->read_only = cfg->read_only;
	r = pmem_open(p, cfg, why, whylen);
	if (r >= 0)
		r = pmem_place(p, env, why, whylen);
	if (r >= 0) {
		r = virtio_throttle_init(&p->throttle, env->loop, &cfg->rate_limiter.cfg, clock, pmem_on_timer, p);
		if (r < 0)
			snprintf(why, whylen, "cannot create its rate limiter: %s", strerror(-r));
	}
	if (r >= 0) {
		p->metrics_group = r = metrics_register(&pmem_metrics_group, p->id, &p->m);
		if (r < 0)
			snprintf(why, whylen, "cannot register its metrics: %s", strerror(-r));
	}
	if (r < 0) {
		pmem_destroy(TAKE_PTR(p));
		return r;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

struct pmem *pmem_destroy(struct pmem *p)
{
	if (!p)
		return NULL;
	metrics_unregister(p->metrics_group);
	virtio_throttle_destroy(&p->throttle);
	/* Devices go only with the VM (vm_destroy closes its fd right after,
	 * and the KVM slot with it), and no vCPU runs by then: the window is
	 * only returned to the allocator. Deleting the slot here would need
	 * memslot changes in the vmm role's seccomp filter for nothing. */
	if (p->space)
		guest_space_free(p->space, p->gpa);
	pmem_map_release(&p->map);
	virtio_dev_destroy(&p->vdev);
	free(p);
	return NULL;
}

struct virtio_dev *pmem_virtio(struct pmem *p)
{
	return &p->vdev;
}

const char *pmem_id(const struct pmem *p)
{
	return p->id;
}

uint64_t pmem_start(const struct pmem *p)
{
	return p->gpa;
}

uint64_t pmem_size(const struct pmem *p)
{
	return p->map.map_size;
}

int pmem_update(struct pmem *p, const struct pmem_update *u)
{
	if (!u->rate_limiter.present)
		return 0;
	virtio_lock(&p->vdev);
	virtio_throttle_patch(&p->throttle, &u->rate_limiter);
	pmem_process(p);
	virtio_unlock(&p->vdev);
	return 0;
}

/* ---- snapshots (pmem-state.h) ---- */

int pmem_snapshot_save(struct pmem *p, uint8_t *buf, size_t size)
{
	struct pmem_state s = { .start = p->gpa, .size = p->map.map_size, .read_only = p->read_only };

	virtio_lock(&p->vdev);
	for (unsigned k = 0; k < RATE_LIMITER_KINDS; k++) {
		s.budget[k] = p->throttle.rl.bucket[k].budget;
		s.burst[k] = p->throttle.rl.bucket[k].burst;
	}
	virtio_unlock(&p->vdev);
	return pmem_state_write(&s, buf, size);
}

/* The window goes back where the guest was told it is. Created from the
 * same configuration in the same order, first fit has put it there already;
 * a state file that says otherwise moves it, if the place is free. Before
 * any vCPU runs, so the bus and the slot may change. */
static int pmem_relocate(struct pmem *p, uint64_t gpa, char *err, size_t errlen)
{
	int r;

	if (gpa == p->gpa || !p->space)
		return 0;
	if (p->bus)
		bus_unregister(p->bus, p->gpa);
	r = guest_space_move(p->space, p->gpa, gpa, p->map.host, p->read_only);
	if (r >= 0)
		p->gpa = gpa;
	if (p->bus && bus_register(p->bus, p->gpa, p->map.map_size, &pmem_window_ops, p) < 0 && r >= 0)
		r = -EEXIST;
	if (r < 0)
		snprintf(err, errlen, "pmem %s: cannot place the window at 0x%" PRIx64 " where the snapshot has it: %s",
			 p->id, gpa, r == -EEXIST ? "another region is there" : strerror(-r));
	return r;
}

int pmem_snapshot_restore(struct pmem *p, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct pmem_state s;
	char why[256];
	int r = pmem_state_parse(buf, len, &s, why, sizeof(why));

	if (r < 0) {
		snprintf(err, errlen, "pmem %s: %s", p->id, why);
		return r;
	}
	/* Firecracker's words (devices/virtio/pmem): the saved size, then the
	 * size of this mapping of the file. */
	if (s.size != p->map.map_size) {
		snprintf(err, errlen, "pmem %s: Restored pmem size %" PRIu64 " does not match backing file mapping size %"
			 PRIu64, p->id, s.size, p->map.map_size);
		return -EINVAL;
	}
	if (s.read_only != p->read_only) {
		snprintf(err, errlen, "pmem %s: the state is %s, the configuration %s", p->id,
			 s.read_only ? "read-only" : "read-write", p->read_only ? "read-only" : "read-write");
		return -EINVAL;
	}
	r = pmem_relocate(p, s.start, err, errlen);
	if (r < 0)
		return r;
	virtio_lock(&p->vdev);
	for (unsigned k = 0; k < RATE_LIMITER_KINDS; k++) {
		struct token_bucket *tb = &p->throttle.rl.bucket[k];

		/* never more than the configured bucket holds */
		tb->budget = s.budget[k] < tb->cfg.size ? s.budget[k] : tb->cfg.size;
		tb->burst = s.burst[k] < tb->cfg.one_time_burst ? s.burst[k] : tb->cfg.one_time_burst;
	}
	virtio_unlock(&p->vdev);
	return 0;
}
