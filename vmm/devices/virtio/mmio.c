#include "mmio.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "cleanup.h"
#include "core/bus.h"
#include "core/layout.h"
#include "core/loop.h"
#include "core/memory.h"
#include "core/device_env.h"
#include "log.h"
#include "parse.h"

struct mmio_queue_ctx {
	struct virtio_mmio *t;
	uint16_t idx;
	int notify_fd;
	bool ioeventfd;          /* KVM now signals notify_fd itself */
	uint32_t exit_notifies;  /* notifies taken through the MMIO exit path */
};

/* A queue's KVM ioeventfd is registered only after this many notifies came
 * through the MMIO exit path (issue 30). Each KVM_IOEVENTFD replaces KVM's
 * MMIO bus and leaves an SRCU grace period behind, which the VM's teardown
 * (srcu_barrier in kvm_destroy_vm) or a later memslot update would wait for:
 * about 12 ms per VM here. A short-lived VM then never registers one, and a
 * busy queue gets it early, its grace period running beside the guest. The
 * exit path costs one exit to user space per notify (about 11 us under PVM)
 * and reaches the same eventfd, so the device sees no difference. 0 registers
 * at attach, as Firecracker does. EMBER_TEST_IOEVENTFD_AFTER overrides it
 * (a test hook: the probe's blk scenario must give the same results). */
#define IOEVENTFD_AFTER_DEFAULT 64u
#define IOEVENTFD_AFTER_ENV "EMBER_TEST_IOEVENTFD_AFTER"

struct virtio_mmio {
	struct virtio_dev *d; /* the device; its lock is this transport's too */
	const struct virtio_device_ops *ops;
	const struct guest_memory *mem;
	struct event_loop *loop;
	uint64_t base;
	unsigned irq;
	int irq_fd;
	int vm_fd;                /* for the deferred KVM_IOEVENTFD; -1 in host-side harnesses */
	uint32_t ioeventfd_after; /* see IOEVENTFD_AFTER_DEFAULT */

	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	struct virtq queue[VIRTIO_MMIO_MAX_QUEUES];
	struct mmio_queue_ctx qctx[VIRTIO_MMIO_MAX_QUEUES];
	struct interrupt_metrics im; /* written under lock */
	int metrics;
	/* Restored on memory a page server fills (a Uffd snapshot load): the
	 * queues' kick waits for the guest's first access to this transport,
	 * see virtio_transport_restore. Under lock. */
	bool restore_kick;
};

METRICS_GROUP(interrupt_metrics, "interrupts", INTERRUPT_METRICS);

static const struct bus_ops virtio_mmio_bus_ops = {
	.read = virtio_mmio_read,
	.write = virtio_mmio_write,
};

void virtio_mmio_lock(struct virtio_mmio *t)
{
	virtio_lock(t->d);
}

void virtio_mmio_unlock(struct virtio_mmio *t)
{
	virtio_unlock(t->d);
}

uint64_t virtio_mmio_base(const struct virtio_mmio *t)
{
	return t->base;
}

unsigned virtio_mmio_irq(const struct virtio_mmio *t)
{
	return t->irq;
}

int virtio_mmio_irq_fd(const struct virtio_mmio *t)
{
	return t->irq_fd;
}

uint32_t virtio_mmio_status(const struct virtio_mmio *t)
{
	return t->status;
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *t, uint16_t queue)
{
	return queue < t->ops->num_queues ? &t->queue[queue] : NULL;
}

int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t size)
{
	int n = snprintf(buf, size, "virtio_mmio.device=4K@0x%" PRIx64 ":%u", t->base, t->irq);

	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

static void virtio_mmio_raise(struct virtio_mmio *t, uint32_t bits)
{
	uint64_t one = 1;

	t->interrupt_status |= bits;
	metrics_local_inc(t->im.triggers);
	/* The eventfd counter saturates long before it can block; a failure
	 * here would only lose an edge the status register still shows. */
	if (write(t->irq_fd, &one, sizeof(one)) < 0)
		log_rl(LOG_WARNING, "virtio-mmio %s: interrupt eventfd write failed: %m", t->ops->name);
}

static void virtio_mmio_signal_used(void *transport, uint16_t queue)
{
	struct virtio_mmio *t = transport;

	if (queue < t->ops->num_queues && virtq_needs_interrupt(&t->queue[queue]))
		virtio_mmio_raise(t, VIRTIO_MMIO_INT_VRING);
}

static void virtio_mmio_signal_config(void *transport)
{
	struct virtio_mmio *t = transport;

	t->config_generation++;
	metrics_local_inc(t->im.config_updates);
	virtio_mmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

static void virtio_mmio_set_needs_reset(void *transport)
{
	struct virtio_mmio *t = transport;

	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	/* §2.1.2: a device entering NEEDS_RESET sends a config change notification. */
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_mmio_signal_config(t);
}

static void virtio_mmio_reset(struct virtio_mmio *t)
{
	t->ops->reset(t->d);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&t->queue[i]);
	t->status = 0;
	t->interrupt_status = 0;
	t->device_features_sel = 0;
	t->driver_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
}

void virtio_mmio_notify(struct virtio_mmio *t, uint16_t queue)
{
	virtio_mmio_lock(t);
	if (queue < t->ops->num_queues && t->queue[queue].ready &&
	    (t->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) == VIRTIO_STATUS_DRIVER_OK) {
		virtio_wakeup(t->d); /* one loop handler call: one budget (virtio.h) */
		t->ops->notify(t->d, queue);
	}
	virtio_mmio_unlock(t);
}

static void virtio_mmio_on_notify(void *ctx, uint32_t events)
{
	struct mmio_queue_ctx *c = ctx;
	uint64_t v;

	/* Drain the counter first: a kick arriving while we process is not lost. */
	if (read(c->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_rl(LOG_WARNING, "virtio-mmio %s: queue %u notify read failed: %m", c->t->ops->name, c->idx);
	virtio_mmio_notify(c->t, c->idx);
}

static uint64_t virtio_mmio_device_features(const struct virtio_mmio *t)
{
	return t->ops->features(t->d) | (1ull << VIRTIO_F_VERSION_1);
}

static struct virtq *virtio_mmio_selected(struct virtio_mmio *t)
{
	return virtio_mmio_queue(t, (uint16_t)(t->queue_sel < 0x10000 ? t->queue_sel : 0xffff));
}

static uint32_t virtio_mmio_read_reg(struct virtio_mmio *t, uint64_t offset)
{
	struct virtq *q = virtio_mmio_selected(t);

	switch (offset) {
	case VIRTIO_MMIO_MAGIC:
		return VIRTIO_MMIO_MAGIC_VALUE;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return 0;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->device_features_sel > 1)
			return 0;
		return (uint32_t)(virtio_mmio_device_features(t) >> (32 * t->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	default:
		return 0; /* write-only or reserved registers read as 0 */
	}
}

static void virtio_mmio_kick(struct virtio_mmio *t, uint32_t v);

/* The deferred restore kick (lock held): each ready queue gets a turn. */
static void virtio_mmio_restore_kick(struct virtio_mmio *t)
{
	if (!t->restore_kick)
		return;
	t->restore_kick = false;
	for (unsigned i = 0; i < t->ops->num_queues; i++)
		if (t->queue[i].ready)
			virtio_mmio_kick(t, i);
}

void virtio_mmio_read(void *transport, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = transport;
	uint32_t v;

	memset(data, 0, len);
	virtio_mmio_lock(t);
	virtio_mmio_restore_kick(t);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;

		if (off + len <= t->ops->config_size && t->ops->config_read)
			t->ops->config_read(t->d, (uint32_t)off, data, len);
	} else if (len == 4 && offset % 4 == 0) {
		/* §4.2.2.2: the driver uses only 32-bit aligned accesses below the config space. */
		v = virtio_mmio_read_reg(t, offset);
		memcpy(data, &v, 4);
	} else {
		log_rl(LOG_WARNING, "virtio-mmio %s: ignored %u-byte read at register 0x%" PRIx64, t->ops->name, len,
		       offset);
	}
	virtio_mmio_unlock(t);
}

static bool virtio_mmio_features_ok(struct virtio_mmio *t)
{
	uint64_t dev = virtio_mmio_device_features(t);

	/* Legacy drivers (no VERSION_1) are refused: this transport is modern only. */
	return (t->driver_features & ~dev) == 0 && (t->driver_features & (1ull << VIRTIO_F_VERSION_1));
}

static void virtio_mmio_activate(struct virtio_mmio *t)
{
	int r = t->ops->activate(t->d, t->driver_features, t->mem);

	if (r < 0) {
		log_rl(LOG_WARNING, "virtio-mmio %s: activation failed: %s", t->ops->name, strerror(-r));
		virtio_mmio_set_needs_reset(t);
	}
}

/* §3.1.1 ordering: each bit needs the ones before it; bits are never cleared
 * except by writing 0 (reset). */
static void virtio_mmio_write_status(struct virtio_mmio *t, uint32_t v)
{
	static const struct {
		uint32_t bit, needs;
	} order[] = {
		{ VIRTIO_STATUS_ACKNOWLEDGE, 0 },
		{ VIRTIO_STATUS_DRIVER, VIRTIO_STATUS_ACKNOWLEDGE },
		{ VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_DRIVER },
		{ VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FEATURES_OK },
		{ VIRTIO_STATUS_FAILED, 0 },
	};
	uint32_t add = v & ~t->status;

	if (v == 0) {
		virtio_mmio_reset(t);
		return;
	}
	if ((v & t->status) != t->status || (add & ~(uint32_t)(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
							       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK |
							       VIRTIO_STATUS_FAILED))) {
		log_rl(LOG_WARNING, "virtio-mmio %s: invalid status change 0x%x -> 0x%x", t->ops->name, t->status, v);
		return;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(order); i++) {
		if (!(add & order[i].bit))
			continue;
		if ((t->status & order[i].needs) != order[i].needs)
			break;
		if (order[i].bit == VIRTIO_STATUS_FEATURES_OK && !virtio_mmio_features_ok(t))
			break; /* FEATURES_OK stays clear: the driver reads it back and fails (§3.1.1 step 6) */
		t->status |= order[i].bit;
		if (order[i].bit == VIRTIO_STATUS_DRIVER_OK)
			virtio_mmio_activate(t);
	}
}

static void virtio_mmio_set_addr(struct virtio_mmio *t, uint64_t *field, bool high, uint32_t v)
{
	*field = high ? (*field & 0xffffffffull) | ((uint64_t)v << 32) : (*field & ~0xffffffffull) | v;
}

static void virtio_mmio_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t v)
{
	int r;

	if (!v) {
		q->ready = false;
		return;
	}
	if (q->ready)
		return;
	q->event_idx = t->driver_features & (1ull << VIRTIO_F_EVENT_IDX);
	q->indirect = t->driver_features & (1ull << VIRTIO_F_INDIRECT_DESC);
	r = virtq_enable(q, t->mem);
	if (r < 0)
		log_rl(LOG_WARNING, "virtio-mmio %s: queue %u refused (size %u, desc 0x%" PRIx64 ", avail 0x%" PRIx64
		       ", used 0x%" PRIx64 "): %s", t->ops->name, t->queue_sel, q->size, q->desc_gpa, q->avail_gpa,
		       q->used_gpa, strerror(-r));
}

/* Queue registers may change only between FEATURES_OK and DRIVER_OK, on a
 * queue that is not live (§4.2.3.2). */
static void virtio_mmio_write_queue(struct virtio_mmio *t, uint64_t offset, uint32_t v)
{
	struct virtq *q = virtio_mmio_selected(t);

	if (!q || (t->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)) != VIRTIO_STATUS_FEATURES_OK ||
	    (q->ready && offset != VIRTIO_MMIO_QUEUE_READY)) {
		log_rl(LOG_WARNING, "virtio-mmio %s: ignored queue register 0x%" PRIx64 " write in status 0x%x",
		       t->ops->name, offset, t->status);
		return;
	}
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->size = (uint16_t)(v > VIRTQ_MAX_SIZE ? 0 : v); /* an oversized value makes enable fail */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_mmio_queue_ready(t, q, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		virtio_mmio_set_addr(t, &q->desc_gpa, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		virtio_mmio_set_addr(t, &q->avail_gpa, offset == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, v);
		break;
	default:
		virtio_mmio_set_addr(t, &q->used_gpa, offset == VIRTIO_MMIO_QUEUE_USED_HIGH, v);
		break;
	}
}

static void virtio_mmio_kick(struct virtio_mmio *t, uint32_t v)
{
	uint64_t one = 1;

	/* Reached when no KVM ioeventfd caught the write (not registered yet,
	 * host-side use, or an index that matched no datamatch). */
	if (v >= t->ops->num_queues) {
		log_rl(LOG_WARNING, "virtio-mmio %s: notify for queue %u it does not have", t->ops->name, v);
		return;
	}
	if (write(t->qctx[v].notify_fd, &one, sizeof(one)) < 0)
		log_rl(LOG_WARNING, "virtio-mmio %s: queue %u notify write failed: %m", t->ops->name, v);
}

static int virtio_mmio_ioeventfd(int vm_fd, uint64_t addr, uint16_t idx, int fd);

/* A guest's QUEUE_NOTIFY write that exited to user space (a vCPU thread,
 * lock held): once the queue has taken ioeventfd_after of them, KVM takes
 * the next ones itself. The registration does not wait (the old bus is
 * freed after a grace period), and a notify racing it reaches the same
 * eventfd either way. A failure keeps the exit path, which works. */
static void virtio_mmio_guest_notify(struct virtio_mmio *t, uint32_t v)
{
	struct mmio_queue_ctx *c = v < t->ops->num_queues ? &t->qctx[v] : NULL;
	int r;

	virtio_mmio_kick(t, v);
	if (!c || c->ioeventfd || t->vm_fd < 0 || ++c->exit_notifies < t->ioeventfd_after)
		return;
	r = virtio_mmio_ioeventfd(t->vm_fd, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, c->idx, c->notify_fd);
	c->ioeventfd = true; /* tried once, either way */
	if (r < 0)
		log_rl(LOG_WARNING, "virtio-mmio %s: KVM_IOEVENTFD for queue %u: %s; notifies stay on the exit path",
		       t->ops->name, c->idx, strerror(-r));
	else
		log_debug("virtio-mmio %s: queue %u ioeventfd registered after %u notifies", t->ops->name, c->idx,
			  c->exit_notifies);
}

static void virtio_mmio_requeue(void *transport, uint16_t queue)
{
	virtio_mmio_kick(transport, queue);
}

static struct virtq *virtio_mmio_queue_op(void *transport, uint16_t queue)
{
	return virtio_mmio_queue(transport, queue);
}

static const struct virtio_transport_ops virtio_mmio_transport_ops = {
	.queue = virtio_mmio_queue_op,
	.signal_used = virtio_mmio_signal_used,
	.signal_config = virtio_mmio_signal_config,
	.set_needs_reset = virtio_mmio_set_needs_reset,
	.requeue = virtio_mmio_requeue,
};

static void virtio_mmio_write_reg(struct virtio_mmio *t, uint64_t offset, uint32_t v)
{
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if ((t->status & (VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)) != VIRTIO_STATUS_DRIVER ||
		    t->driver_features_sel > 1)
			break;
		virtio_mmio_set_addr(t, &t->driver_features, t->driver_features_sel == 1, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		virtio_mmio_write_queue(t, offset, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		virtio_mmio_guest_notify(t, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->interrupt_status &= ~v;
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_mmio_write_status(t, v);
		break;
	default:
		log_rl(LOG_WARNING, "virtio-mmio %s: ignored write to register 0x%" PRIx64, t->ops->name, offset);
		break;
	}
}

void virtio_mmio_write(void *transport, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = transport;
	uint32_t v;

	virtio_mmio_lock(t);
	virtio_mmio_restore_kick(t);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;

		if (off + len <= t->ops->config_size && t->ops->config_write)
			t->ops->config_write(t->d, (uint32_t)off, data, len);
	} else if (len == 4 && offset % 4 == 0) {
		memcpy(&v, data, 4);
		virtio_mmio_write_reg(t, offset, v);
	} else {
		log_rl(LOG_WARNING, "virtio-mmio %s: ignored %u-byte write at register 0x%" PRIx64, t->ops->name, len,
		       offset);
	}
	virtio_mmio_unlock(t);
}

static int virtio_mmio_ioeventfd(int vm_fd, uint64_t addr, uint16_t idx, int fd)
{
	struct kvm_ioeventfd io = {
		.datamatch = idx,
		.addr = addr,
		.len = 4,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	return ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static int virtio_mmio_irqfd(int vm_fd, int fd, unsigned gsi)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };

	return ioctl(vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

static int virtio_mmio_setup_queue(struct virtio_mmio *t, const struct device_env *env, uint16_t i)
{
	struct mmio_queue_ctx *c = &t->qctx[i];
	int r;

	c->t = t;
	c->idx = i;
	c->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->notify_fd < 0)
		return -errno;
	if (env->vm_fd >= 0 && t->ioeventfd_after == 0) {
		r = virtio_mmio_ioeventfd(env->vm_fd, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, i, c->notify_fd);
		if (r < 0) {
			log_error("virtio-mmio %s: KVM_IOEVENTFD for queue %u: %s", t->ops->name, i, strerror(-r));
			return r;
		}
		c->ioeventfd = true;
	}
	if (env->loop) {
		r = loop_add(env->loop, c->notify_fd, EPOLLIN, virtio_mmio_on_notify, c);
		if (r < 0)
			return r;
	}
	return 0;
}

static int virtio_mmio_setup_irq(struct virtio_mmio *t, const struct device_env *env)
{
	int r;

	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return -errno;
	if (env->vm_fd < 0)
		return 0;
	r = virtio_mmio_irqfd(env->vm_fd, t->irq_fd, t->irq);
	if (r < 0)
		log_error("virtio-mmio %s: KVM_IRQFD for IRQ %u: %s", t->ops->name, t->irq, strerror(-r));
	return r;
}

/* IOEVENTFD_AFTER_ENV, or the default; a value that is not a number is an
 * error naming the variable, not a silent default. */
static int virtio_mmio_ioeventfd_after(uint32_t *ret)
{
	const char *v = getenv(IOEVENTFD_AFTER_ENV);

	*ret = IOEVENTFD_AFTER_DEFAULT;
	if (v && parse_u32(v, ret) < 0) {
		log_error("%s=\"%s\": not a number of notifies", IOEVENTFD_AFTER_ENV, v);
		return -EINVAL;
	}
	return 0;
}

int virtio_mmio_create(const struct device_env *env, unsigned slot, struct virtio_dev *d, struct virtio_mmio **ret)
{
	const struct virtio_device_ops *ops = d->ops;
	struct device_window w;
	struct virtio_mmio *t;
	int r;

	if (virtio_transport_window(slot, &w) < 0 || ops->num_queues == 0 || ops->num_queues > VIRTIO_MMIO_MAX_QUEUES ||
	    d->transport)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ops = ops;
	t->d = d;
	t->mem = env->mem;
	t->loop = env->loop;
	t->base = w.base;
	t->irq = w.irq;
	t->irq_fd = -1;
	t->vm_fd = env->vm_fd;
	t->metrics = metrics_register(&interrupt_metrics_group, NULL, &t->im);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		t->qctx[i].notify_fd = -1;
		virtq_reset(&t->queue[i]);
	}
	r = virtio_mmio_ioeventfd_after(&t->ioeventfd_after);
	if (r >= 0)
		r = virtio_mmio_setup_irq(t, env);
	for (uint16_t i = 0; r >= 0 && i < ops->num_queues; i++)
		r = virtio_mmio_setup_queue(t, env, i);
	if (r >= 0 && env->mmio_bus)
		r = bus_register(env->mmio_bus, t->base, LAYOUT_VIRTIO_MMIO_SIZE, &virtio_mmio_bus_ops, t);
	if (r < 0) {
		virtio_mmio_destroy(t);
		return r;
	}
	virtio_attach(d, &virtio_mmio_transport_ops, t);
	*ret = t;
	return 0;
}

struct virtio_mmio *virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t)
		return NULL;
	if (t->d->transport_ctx == t)
		virtio_attach(t->d, NULL, NULL); /* the device outlives its transport */
	for (uint16_t i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		int fd = t->qctx[i].notify_fd;

		if (fd < 0)
			continue;
		/* No KVM deassign: the VM is torn down right after its devices and
		 * drops its references to these eventfds then, and the vmm thread's
		 * seccomp role has no ioctl. */
		if (t->loop)
			loop_remove(t->loop, fd);
		close(fd);
	}
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	metrics_unregister(t->metrics);
	free(t);
	return NULL;
}

/* ---- the transport-neutral entry points (virtio.h) ---- */

int virtio_transport_create(const struct device_env *env, unsigned slot, struct virtio_dev *d,
			    struct virtio_transport **ret)
{
	return virtio_mmio_create(env, slot, d, (struct virtio_mmio **)ret);
}

struct virtio_transport *virtio_transport_destroy(struct virtio_transport *t)
{
	virtio_mmio_destroy((struct virtio_mmio *)t);
	return NULL;
}

int virtio_transport_cmdline(const struct virtio_transport *t, char *buf, size_t size)
{
	return virtio_mmio_cmdline((const struct virtio_mmio *)t, buf, size);
}

unsigned virtio_transport_slots(void)
{
	return LAYOUT_VIRTIO_MAX_DEVICES;
}

/* Consecutive 4 KiB windows from LAYOUT_VIRTIO_MMIO_BASE, one IRQ each. */
int virtio_transport_window(unsigned slot, struct device_window *ret)
{
	if (slot >= LAYOUT_VIRTIO_MAX_DEVICES)
		return -EINVAL;
	*ret = (struct device_window){ .base = LAYOUT_VIRTIO_MMIO_BASE + slot * LAYOUT_VIRTIO_MMIO_SIZE,
				       .size = LAYOUT_VIRTIO_MMIO_SIZE, .irq = LAYOUT_VIRTIO_IRQ_FIRST + slot };
	return 0;
}

/* ---- snapshots ---- */

/* The transport's registers, then per queue its driver-set fields and the
 * device's ring positions. Fixed layout, little-endian (x86 only). */
struct mmio_saved_queue {
	uint64_t desc, avail, used;
	uint16_t size, last_avail, used_idx, signalled_used;
	uint8_t ready, event_idx, indirect, signalled_valid, broken, pad[3];
};

struct mmio_saved {
	uint32_t status, interrupt_status, config_generation;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t num_queues, pad;
	struct mmio_saved_queue q[VIRTIO_MMIO_MAX_QUEUES];
};

size_t virtio_transport_save(struct virtio_transport *transport, uint8_t *buf, size_t size)
{
	struct virtio_mmio *t = (struct virtio_mmio *)transport;
	struct mmio_saved s = { 0 };

	if (size < sizeof(s))
		return 0;
	virtio_mmio_lock(t);
	s = (struct mmio_saved){
		.status = t->status, .interrupt_status = t->interrupt_status,
		.config_generation = t->config_generation, .device_features_sel = t->device_features_sel,
		.driver_features_sel = t->driver_features_sel, .queue_sel = t->queue_sel,
		.driver_features = t->driver_features, .num_queues = t->ops->num_queues,
	};
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		const struct virtq *q = &t->queue[i];

		s.q[i] = (struct mmio_saved_queue){
			.desc = q->desc_gpa, .avail = q->avail_gpa, .used = q->used_gpa, .size = q->size,
			.last_avail = q->last_avail, .used_idx = q->used_idx, .signalled_used = q->signalled_used,
			.ready = q->ready, .event_idx = q->event_idx, .indirect = q->indirect,
			.signalled_valid = q->signalled_valid, .broken = q->broken,
		};
	}
	virtio_mmio_unlock(t);
	memcpy(buf, &s, sizeof(s));
	return sizeof(s);
}

/* A ready queue goes through virtq_enable() again: its size and ring
 * addresses are checked against guest memory as a driver's would be. */
static int virtio_mmio_restore_queue(struct virtio_mmio *t, unsigned i, const struct mmio_saved_queue *sq,
				     char *err, size_t errlen)
{
	struct virtq *q = &t->queue[i];
	int r;

	q->size = sq->size;
	q->desc_gpa = sq->desc;
	q->avail_gpa = sq->avail;
	q->used_gpa = sq->used;
	q->event_idx = sq->event_idx;
	q->indirect = sq->indirect;
	if (!sq->ready)
		return 0;
	r = virtq_enable(q, t->mem);
	if (r < 0) {
		snprintf(err, errlen, "%s queue %u (size %u, desc 0x%" PRIx64 ", avail 0x%" PRIx64 ", used 0x%" PRIx64
			 ") is not valid in guest memory: %s", t->ops->name, i, sq->size, sq->desc, sq->avail, sq->used,
			 strerror(-r));
		return r;
	}
	q->last_avail = sq->last_avail;
	q->used_idx = sq->used_idx;
	q->signalled_used = sq->signalled_used;
	q->signalled_valid = sq->signalled_valid;
	q->broken = sq->broken;
	return 0;
}

int virtio_transport_restore(struct virtio_transport *transport, const uint8_t *buf, size_t len, char *err,
			     size_t errlen)
{
	struct virtio_mmio *t = (struct virtio_mmio *)transport;
	struct mmio_saved s;
	int r = 0;

	if (len != sizeof(s)) {
		snprintf(err, errlen, "%s transport state of %zu bytes, expected %zu", t->ops->name, len, sizeof(s));
		return -EINVAL;
	}
	memcpy(&s, buf, sizeof(s));
	if (s.num_queues != t->ops->num_queues) {
		snprintf(err, errlen, "%s transport state has %u queues, the device %u", t->ops->name, s.num_queues,
			 t->ops->num_queues);
		return -EINVAL;
	}
	virtio_mmio_lock(t);
	t->status = s.status;
	t->interrupt_status = s.interrupt_status;
	t->config_generation = s.config_generation;
	t->device_features_sel = s.device_features_sel;
	t->driver_features_sel = s.driver_features_sel;
	t->queue_sel = s.queue_sel;
	t->driver_features = s.driver_features;
	for (unsigned i = 0; r >= 0 && i < t->ops->num_queues; i++)
		r = virtio_mmio_restore_queue(t, i, &s.q[i], err, errlen);
	/* DRIVER_OK activated the saved device, and NEEDS_RESET set later (a
	 * broken queue, restored broken) did not deactivate it: activated here
	 * too, the device is as saved, and its own restore, which checks its
	 * state against the transport's, accepts it. A device whose activation
	 * failed (a queue not ready) fails again on the same queues, and
	 * NEEDS_RESET stays. */
	if (r >= 0 && (t->status & VIRTIO_STATUS_DRIVER_OK)) {
		if ((t->driver_features & ~virtio_mmio_device_features(t)) != 0) {
			snprintf(err, errlen, "%s transport state acks features 0x%" PRIx64 " the device does not offer",
				 t->ops->name, t->driver_features);
			r = -EINVAL;
		} else {
			virtio_mmio_activate(t);
		}
	}
	virtio_mmio_unlock(t);
	if (r < 0)
		return r;
	/* Chains the guest made available before the save (or one put back
	 * unfinished) get a turn once the loop runs. Memory a page server
	 * fills (t->mem->uffd) is not read here: the rings may not be served
	 * yet, or ever, and the vmm thread would wait on the fault. Those
	 * queues are kicked at the guest's first access to the transport,
	 * which shows its memory is being served. */
	if (t->mem && t->mem->uffd >= 0) {
		virtio_mmio_lock(t);
		t->restore_kick = true;
		virtio_mmio_unlock(t);
		return 0;
	}
	for (unsigned i = 0; i < t->ops->num_queues; i++)
		if (t->queue[i].ready && virtq_pending(&t->queue[i]))
			virtio_mmio_kick(t, i);
	return 0;
}
