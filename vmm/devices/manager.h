/* The device manager: the one place that knows the list of device kinds.
 *
 * device_kinds[] (manager.c) lists one descriptor per kind (devices/kind.h),
 * legacy devices included: serial console, i8042, legacy port sinks, boot
 * timer, then block, net and vsock, whose descriptors live in their own files
 * (virtio/block-plug.c, ...). A descriptor gives the kind's name, how many of
 * it a VM may have, its configs (from its slot in struct vm_config), create,
 * destroy, id, PATCH update and its part of the kernel command line (block's
 * root=), plus what the config file, the API and GET /vm/config take from it.
 * Through transport-neutral calls the manager gives each virtio device an
 * MMIO window, an IRQ and its virtio_mmio.device= entry; attaches kinds in
 * list order and the drives root first, then in insertion order (drive_set
 * keeps them so); destroys in reverse; finds a device by kind and id.
 *
 * The VM core reaches it only through struct vm_devices (core/device_env.h):
 * start-up code creates the manager and passes devices_vm_hooks() into
 * vm_create(). Everything here runs on the vmm thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/device_env.h"

struct device_kind;
struct device_manager;
struct virtio_transport;

/* An empty manager. 0 or -ENOMEM; the caller owns *ret. */
int devices_create(struct device_manager **ret);
/* Destroys what is attached (reverse order) and frees. Accepts NULL; returns NULL. */
struct device_manager *devices_free(struct device_manager *m);
/* The hooks vm_create() takes, bound to m. */
struct vm_devices devices_vm_hooks(struct device_manager *m);

/* Where cfg's virtio devices go, in attach order: the windows and IRQs
 * attach hands out and writes as virtio_mmio.device= entries, and from
 * which the ACPI DSDT is built. Pure (no device is created: --dump-acpi uses
 * it). 0 or -ENOSPC (more devices than transport slots, Firecracker's GSI
 * text in why). */
struct vm_config;
int devices_plan(const struct vm_config *cfg, struct device_plan *ret, char *why, size_t whylen);

/* The device of kind `kind` ("block") with id `id` (NULL for a kind without
 * ids: the first), or NULL. */
void *devices_find(struct device_manager *m, const char *kind, const char *id);
/* PATCH: the update (the kind's own type, e.g. struct drive_update) to the
 * device of that kind and id. 0, -ENOENT (no such device), -EOPNOTSUPP (the
 * kind has no update) or the device's -errno. */
int devices_update(struct device_manager *m, const char *kind, const char *id, const void *update);
/* SendCtrlAltDel: through the i8042. 0, -ENOENT before the devices exist,
 * -ENOSPC when the guest has not drained its keyboard buffer. */
int devices_ctrl_alt_del(struct device_manager *m);
/* VMGenID and VMClock (devices/acpi/), created after the devices on the
 * plan's GED GSIs; NULL before the VM is built. Snapshots save and restore
 * them (snapshot/generation.c). */
struct vmgenid;
struct vmclock;
struct vmgenid *devices_vmgenid(const struct device_manager *m);
struct vmclock *devices_vmclock(const struct device_manager *m);
/* The attached devices in attach order (snapshots): how many, and the i-th
 * one's kind, device and virtio transport (NULL for a legacy device).
 * false past the end. */
unsigned devices_count(const struct device_manager *m);
bool devices_entry(const struct device_manager *m, unsigned i, const struct device_kind **ret_kind, void **ret_dev,
		   struct virtio_transport **ret_transport);
