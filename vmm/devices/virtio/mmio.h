/* The virtio-mmio transport, version 2 (virtio 1.2 §4.2).
 *
 * One transport per device: a 4 KiB register window at
 * LAYOUT_VIRTIO_MMIO_BASE + slot·4 KiB and IRQ LAYOUT_VIRTIO_IRQ_FIRST + slot.
 * It owns the device status state machine, feature negotiation, the queues'
 * registers and the interrupt status; it knows nothing about what a device
 * does, which it reaches only through the device's struct virtio_dev
 * (virtio.h): its ops, and the transport ops it fills in for the device.
 *
 * Threads: registers are accessed from vCPU threads (through the MMIO bus)
 * and queues are processed on the vmm thread (ioeventfd handlers, device
 * timers and completions). The device's lock (virtio_lock) serialises both;
 * every ops callback runs with it held, and virtio_mmio_queue below expects
 * it held.
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
#include "virtio.h"

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

/* Creates the transport of device d in slot `slot` (<
 * LAYOUT_VIRTIO_MAX_DEVICES): claims the MMIO window on env->mmio_bus,
 * creates the irq and per-queue notify eventfds (KVM_IRQFD/KVM_IOEVENTFD
 * when env->vm_fd >= 0), registers the latter on env->loop and attaches
 * itself to d (virtio_attach). d is not owned and must outlive the
 * transport. Returns 0, -EINVAL (slot, queue count, d already attached),
 * -EEXIST (window taken), -ENOMEM or the failing ioctl's -errno. The caller
 * owns *ret. */
int virtio_mmio_create(const struct device_env *env, unsigned slot, struct virtio_dev *d, struct virtio_mmio **ret);
/* Detaches from the device, unregisters from the loop and closes the fds. The bus claim and the KVM
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

/* The following expect the lock held (for harnesses: a device reaches its
 * queues and signals through its struct virtio_dev, never these). */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, uint16_t queue);
uint32_t virtio_mmio_status(const struct virtio_mmio *t);
