/* The virtio-mmio transport, version 2 (virtio 1.2 §4.2).
 *
 * One transport per device: a 4 KiB register window at
 * LAYOUT_VIRTIO_MMIO_BASE + slot·4 KiB and IRQ LAYOUT_VIRTIO_IRQ_FIRST + slot.
 * It owns the device status state machine, feature negotiation, the queues'
 * registers and the interrupt status; it knows nothing about what a device
 * does, which it reaches only through struct virtio_device_ops.
 *
 * Threads: registers are accessed from vCPU threads (through the MMIO bus)
 * and queues are processed on the vmm thread (ioeventfd handlers, device
 * timers and completions). One mutex per transport serialises both; every
 * ops callback runs with it held, and the virtio_mmio_signal_* and
 * virtio_mmio_queue calls below expect it held.
 *
 * With env->vm_fd >= 0, interrupts go through KVM_IRQFD and each queue's
 * QueueNotify writes are caught in the kernel by a KVM_IOEVENTFD (datamatch on
 * the queue index). With vm_fd = -1 (host-side tests, benchmarks) the irq
 * eventfd is plain and a QueueNotify register write signals the queue's
 * eventfd directly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "queue.h"

/* Firecracker's "interrupts" group: interrupts the transports raised, and
 * the config-change ones among them. Each transport counts into its own
 * (under its lock) and registers them at create; the flush sums them. */
#define INTERRUPT_METRICS(X)                                                                       \
	X(triggers, METRICS_COUNTER)                                                               \
	X(config_updates, METRICS_COUNTER)
METRICS_COUNTERS(interrupt_metrics, INTERRUPT_METRICS);
extern const struct metrics_group interrupt_metrics_group;

struct device_env;
struct virtio_mmio;

#define VIRTIO_MMIO_MAX_QUEUES 8u

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Interrupt status bits (§4.2.2). */
#define VIRTIO_MMIO_INT_VRING 1u
#define VIRTIO_MMIO_INT_CONFIG 2u

/* Register offsets (§4.2.2, Table 4.1). */
enum {
	VIRTIO_MMIO_MAGIC = 0x000,
	VIRTIO_MMIO_VERSION = 0x004,
	VIRTIO_MMIO_DEVICE_ID = 0x008,
	VIRTIO_MMIO_VENDOR_ID = 0x00c,
	VIRTIO_MMIO_DEVICE_FEATURES = 0x010,
	VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014,
	VIRTIO_MMIO_DRIVER_FEATURES = 0x020,
	VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024,
	VIRTIO_MMIO_QUEUE_SEL = 0x030,
	VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034,
	VIRTIO_MMIO_QUEUE_NUM = 0x038,
	VIRTIO_MMIO_QUEUE_READY = 0x044,
	VIRTIO_MMIO_QUEUE_NOTIFY = 0x050,
	VIRTIO_MMIO_INTERRUPT_STATUS = 0x060,
	VIRTIO_MMIO_INTERRUPT_ACK = 0x064,
	VIRTIO_MMIO_STATUS = 0x070,
	VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080,
	VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084,
	VIRTIO_MMIO_QUEUE_AVAIL_LOW = 0x090,
	VIRTIO_MMIO_QUEUE_AVAIL_HIGH = 0x094,
	VIRTIO_MMIO_QUEUE_USED_LOW = 0x0a0,
	VIRTIO_MMIO_QUEUE_USED_HIGH = 0x0a4,
	VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc,
	VIRTIO_MMIO_CONFIG = 0x100,
};

#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u /* "virt" */

/* What a device gives the transport. All callbacks run with the transport lock held. */
struct virtio_device_ops {
	const char *name;
	uint32_t device_id;
	uint16_t num_queues;
	uint32_t config_size;
	/* Feature bits the device offers (VIRTIO_F_VERSION_1 is always required). */
	uint64_t (*features)(void *dev);
	/* off + len <= config_size, len is 1, 2, 4 or 8. */
	void (*config_read)(void *dev, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK was set with these negotiated features. 0 or -errno: on an
	 * error the transport sets DEVICE_NEEDS_RESET. */
	int (*activate)(void *dev, uint64_t features);
	/* The driver reset the device: stop and forget all in-flight work. */
	void (*reset)(void *dev);
	/* Queue `queue` (ready, device active) has new buffers; vmm thread. */
	void (*notify)(void *dev, uint16_t queue);
};

/* Creates the transport in slot `slot` (< LAYOUT_VIRTIO_MAX_DEVICES): claims
 * the MMIO window on env->mmio_bus, creates the irq and per-queue notify
 * eventfds (KVM_IRQFD/KVM_IOEVENTFD when env->vm_fd >= 0) and registers the
 * latter on env->loop. ops and dev are not owned and must outlive the
 * transport. Returns 0, -EINVAL (slot, queue count), -EEXIST (window taken),
 * -ENOMEM or the failing ioctl's -errno. The caller owns *ret. */
int virtio_mmio_create(const struct device_env *env, unsigned slot, const struct virtio_device_ops *ops, void *dev,
		       struct virtio_mmio **ret);
/* Unregisters from the loop and closes the fds. The bus claim and the KVM
 * irqfd/ioeventfd bindings stay until the VM itself goes, which must follow
 * (buses and the VM fd are torn down with the VM). Accepts NULL; returns NULL. */
struct virtio_mmio *virtio_mmio_destroy(struct virtio_mmio *t);

uint64_t virtio_mmio_base(const struct virtio_mmio *t);
unsigned virtio_mmio_irq(const struct virtio_mmio *t);
/* The eventfd signalled for every interrupt (for host-side tests). */
int virtio_mmio_irq_fd(const struct virtio_mmio *t);
/* Writes "virtio_mmio.device=4K@0x<base>:<irq>" (the kernel's syntax) into
 * buf. Returns the length, or -ENOSPC. */
int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t size);

/* Register access, as the MMIO bus calls it (exported for tests). */
void virtio_mmio_read(void *transport, uint64_t offset, uint8_t *data, uint32_t len);
void virtio_mmio_write(void *transport, uint64_t offset, const uint8_t *data, uint32_t len);
/* What a queue's ioeventfd handler does: takes the lock and, if the device is
 * live and the queue ready, calls ops->notify. Harnesses call it directly. */
void virtio_mmio_notify(struct virtio_mmio *t, uint16_t queue);

void virtio_mmio_lock(struct virtio_mmio *t);
void virtio_mmio_unlock(struct virtio_mmio *t);

/* The following expect the lock held. */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, uint16_t queue);
uint32_t virtio_mmio_status(const struct virtio_mmio *t);
/* Raises the used-buffer interrupt if the driver wants one for `queue`. */
void virtio_mmio_signal_used(struct virtio_mmio *t, uint16_t queue);
/* Bumps the config generation and raises the config-change interrupt. */
void virtio_mmio_signal_config(struct virtio_mmio *t);
/* Schedules another notify of `queue` on the vmm loop (a device that stops
 * early to let other fds run). */
void virtio_mmio_requeue(struct virtio_mmio *t, uint16_t queue);
/* Sets DEVICE_NEEDS_RESET (a queue broke, the backend failed) and tells the driver. */
void virtio_mmio_set_needs_reset(struct virtio_mmio *t);
