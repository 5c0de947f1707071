/* The transport-neutral handle every virtio device embeds.
 *
 * A device (block.c, later net.c, vsock.c, ...) embeds a struct virtio_dev,
 * fills in its ops (struct virtio_device_ops) and never names its transport:
 * it signals the driver with virtio_signal_used() / virtio_signal_config(),
 * reports a broken device with virtio_set_needs_reset(), reaches its queues
 * with virtio_queue() and serialises with the register accesses through
 * virtio_lock(). The transport (mmio.c now, PCI later) attaches itself with
 * virtio_attach(), filling a struct virtio_transport_ops, and calls the
 * device's ops; activate() receives the guest memory and the handle.
 *
 * Guest fairness lives here too, so every device inherits it. One wake-up
 * (one handler call from the vmm loop: a queue notification, a device timer,
 * an io_uring completion) may serve at most VIRTIO_WAKEUP_CHAINS chains and
 * VIRTIO_WAKEUP_BYTES bytes of guest data; then the device yields and the
 * rest waits behind the loop's other fds (the API, the other devices). A
 * guest can thus keep the vmm thread busy for one bounded piece of work at a
 * time, never for the 4 GiB - 1 bytes one chain may describe. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue.h"

#define VIRTIO_WAKEUP_CHAINS VIRTQ_MAX_SIZE
#define VIRTIO_WAKEUP_BYTES (1u << 20)

struct guest_memory;
struct virtio_dev;

/* What a device gives the transport. All callbacks run with the device lock
 * held (virtio_lock). */
struct virtio_device_ops {
	const char *name;
	uint32_t device_id;
	uint16_t num_queues;
	uint32_t config_size;
	/* Feature bits the device offers (VIRTIO_F_VERSION_1 is always required). */
	uint64_t (*features)(struct virtio_dev *d);
	/* off + len <= config_size, len is 1, 2, 4 or 8. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK was set with these negotiated features; mem is the guest's
	 * memory the queues point into. 0 or -errno: on an error the transport
	 * sets DEVICE_NEEDS_RESET. */
	int (*activate)(struct virtio_dev *d, uint64_t features, const struct guest_memory *mem);
	/* The driver reset the device: stop and forget all in-flight work,
	 * including a chain served in pieces (its rest is dropped). */
	void (*reset)(struct virtio_dev *d);
	/* Queue `queue` (ready, device active) has new buffers, or the device
	 * yielded and its turn came again; vmm thread, a fresh wake-up budget. */
	void (*notify)(struct virtio_dev *d, uint16_t queue);
};

/* What a transport gives the handle. Each call runs with the lock held. */
struct virtio_transport_ops {
	struct virtq *(*queue)(void *transport, uint16_t queue);
	void (*signal_used)(void *transport, uint16_t queue);
	void (*signal_config)(void *transport);
	void (*set_needs_reset)(void *transport);
	/* Another notify of `queue` on the vmm loop, behind the fds already ready. */
	void (*requeue)(void *transport, uint16_t queue);
};

/* One lock per device serialises the transport's register accesses (vCPU
 * threads) with the device's queue work (vmm thread). */
struct virtio_dev {
	const struct virtio_device_ops *ops;
	pthread_mutex_t lock;
	/* Set by virtio_attach(); NULL while no transport is attached. */
	const struct virtio_transport_ops *transport;
	void *transport_ctx;
	/* This wake-up's budget (vmm thread, under the lock). */
	unsigned budget_chains;
	uint64_t budget_bytes;
};

/* The transport-neutral way to give a device its transport (the device
 * manager uses it; the one transport today is virtio-mmio, which implements
 * these in mmio.c). Slot n is the n-th window and IRQ of the transport's
 * range. create: 0 or -errno, the caller owns *ret; destroy detaches first
 * (accepts NULL, returns NULL); cmdline: the kernel's argument that finds
 * the device (virtio_mmio.device=...), its length or -ENOSPC. */
struct device_env;
struct virtio_transport;
int virtio_transport_create(const struct device_env *env, unsigned slot, struct virtio_dev *d,
			    struct virtio_transport **ret);
struct virtio_transport *virtio_transport_destroy(struct virtio_transport *t);
int virtio_transport_cmdline(const struct virtio_transport *t, char *buf, size_t size);
/* Snapshots: the transport's registers and queues into buf (its length, 0
 * when size is below VIRTIO_TRANSPORT_STATE_MAX); restore puts them back,
 * re-checking each ready queue's rings against guest memory and activating
 * a device the driver had set DRIVER_OK on. 0 or -errno with err filled. */
#define VIRTIO_TRANSPORT_STATE_MAX 512u
size_t virtio_transport_save(struct virtio_transport *t, uint8_t *buf, size_t size);
int virtio_transport_restore(struct virtio_transport *t, const uint8_t *buf, size_t len, char *err, size_t errlen);
/* How many slots the transport has. */
unsigned virtio_transport_slots(void);

/* The device, at create: its ops (static storage) and the lock. */
void virtio_dev_init(struct virtio_dev *d, const struct virtio_device_ops *ops);
/* At destroy, after the transport has gone. */
void virtio_dev_destroy(struct virtio_dev *d);
/* The transport binds itself to d, or unbinds with ops = NULL. Until then
 * the signal calls do nothing and virtio_queue() is NULL. */
void virtio_attach(struct virtio_dev *d, const struct virtio_transport_ops *ops, void *transport);

/* Lock held for everything below but virtio_lock itself. */
void virtio_lock(struct virtio_dev *d);
void virtio_unlock(struct virtio_dev *d);
struct virtq *virtio_queue(struct virtio_dev *d, uint16_t queue);
/* Raises the used-buffer interrupt if the driver wants one for `queue`. */
void virtio_signal_used(struct virtio_dev *d, uint16_t queue);
/* Bumps the config generation and raises the config-change interrupt. */
void virtio_signal_config(struct virtio_dev *d);
/* Sets DEVICE_NEEDS_RESET (a queue broke, the backend failed) and tells the driver. */
void virtio_set_needs_reset(struct virtio_dev *d);

/* Fairness. A loop handler that starts serving a device calls
 * virtio_wakeup() first (the transport does it before ops->notify). The
 * device takes one chain from the budget before each chain it serves and the
 * bytes before each piece of I/O; when either says no, it calls
 * virtio_yield() and returns. */
void virtio_wakeup(struct virtio_dev *d);
/* Whether one more chain may be served in this wake-up (and counts it). */
bool virtio_take_chain(struct virtio_dev *d);
/* Up to `want` bytes of this wake-up's data budget, in whole units of
 * `unit` bytes (a power of two; 512 for a disk's sectors): the grant, 0 when
 * less than a unit is left. A chain larger than the grant goes in pieces
 * across wake-ups. */
uint64_t virtio_take_bytes(struct virtio_dev *d, uint64_t want, uint64_t unit);
/* What is left of this wake-up's data budget. */
uint64_t virtio_budget_bytes(const struct virtio_dev *d);
/* Whether the budget is spent. */
bool virtio_budget_spent(const struct virtio_dev *d);
/* Ends this wake-up early: `queue` gets another turn after the loop's other fds. */
void virtio_yield(struct virtio_dev *d, uint16_t queue);
