/* A device kind's descriptor: the one thing a kind of device gives ember to
 * be plugged in (doc/devices.md).
 *
 * A kind defines its descriptor in its own files (virtio/block-plug.c, ...)
 * and the device manager lists it (device_kinds[] in manager.c). Everything
 * else iterates over that list and names no kind:
 *   - the config file (config/config_file.c) hands the kind's key to parse;
 *   - struct vm_config keeps the kind's validated config in an opaque slot
 *     (vm_config_slot()), created empty on first use, freed by slot_clear;
 *   - the API router (api/router.c) serves the kind's routes, whose handlers
 *     edit the slot before boot and reach the device through the controller's
 *     generic device ops (update_device) after it;
 *   - GET /vm/config (api/vm.c) renders the slot under the kind's key, in
 *     Firecracker's place for that key;
 *   - the manager creates, attaches, finds, updates and destroys the devices;
 *   - devices/metrics_groups.c declares the kind's metrics group before any
 *     device exists, so the metrics line has it as zeros.
 * Every hook is optional unless noted. Hooks run on the vmm thread. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_route;
struct metrics_group;
struct device_env;
struct device_exit_hook;
struct virtio_dev;
struct vm_config;

/* What a kind's create gets: where to attach, how to end the VM, and room
 * for why it failed (left empty: the manager prints strerror). */
struct device_ctx {
	const struct device_env *env;
	const struct device_exit_hook *exit;
	char *why;
	size_t whylen;
};

struct device_kind {
	const char *name; /* "block": devices_find(), errors */
	unsigned max;     /* devices of this kind a VM may have (required) */

	/* A kind this build does not have yet (devices/absent.c): "a balloon
	 * device". Its config key takes only null or [], it is left out of the
	 * config file's expected keys, its routes say it is not provided, and it
	 * has no devices (no create). */
	const char *unprovided;

	/* ---- configuration ---- */
	/* The config file's key and GET /vm/config's ("drives"); NULL: none. */
	const char *config_key;
	/* null under config_key means "not configured" (an optional object). */
	bool config_nullable;
	/* The slot: slot_size bytes, zeroed, then slot_init (NULL: zero is
	 * empty); slot_clear frees what it holds (TAPs, sockets) before the slot
	 * itself is freed. */
	size_t slot_size;
	void (*slot_init)(void *slot);
	void (*slot_clear)(void *slot);
	/* The config file's value under config_key into the slot. 0 or -errno
	 * with the reason in err (the caller prefixes the key). */
	int (*config_parse)(const json_t *value, void *slot, char *err, size_t errlen);
	/* GET /vm/config's value; slot NULL: nothing configured. A new
	 * reference, NULL on ENOMEM. NULL for a provided kind: GET /vm/config
	 * does not show the key (serial: Firecracker's GET has no such key). */
	json_t *(*config_to_json)(const void *slot);
	/* Whether the slot's config fits guest memory of mem_size_mib MiB
	 * (the balloon's target): 0, or -ERANGE with the kind's reason in err.
	 * Checked when either side changes (device_kinds_memory_check). */
	int (*memory_check)(const void *slot, uint64_t mem_size_mib, char *err, size_t errlen);

	/* A kind whose device can be the guest's root (block, pmem): whether
	 * the slot has one, and the error when this kind would add a root
	 * while another kind holds it (Firecracker's words). One root per VM. */
	bool (*has_root)(const void *slot);
	const char *root_conflict;

	/* Declared at start-up (its devices register into it when created). */
	const struct metrics_group *metrics_group;

	/* ---- API ---- */
	/* The kind's rows of the routing table (api/router.h). */
	const struct api_route *routes;
	size_t routes_count;

	/* ---- the devices (manager.c) ---- */
	/* How many of this kind cfg asks for, and the config of the i-th (in
	 * attach order); NULL count: exactly one, with cfg itself. */
	unsigned (*count)(const struct vm_config *cfg);
	const void *(*config)(const struct vm_config *cfg, unsigned i);
	/* Required for a kind that has devices (NULL only for absent kinds). */
	int (*create)(const struct device_ctx *ctx, const void *config, void **ret);
	void (*destroy)(void *dev);
	const char *(*id)(const void *dev);          /* NULL: a kind without ids */
	int (*update)(void *dev, const void *update); /* NULL: no PATCH */
	/* The kind's own part of the kernel command line, before its devices'
	 * virtio_mmio.device= entries: its length, 0 for none, or -ENOSPC. */
	int (*cmdline)(const struct vm_config *cfg, char *buf, size_t size);
	struct virtio_dev *(*virtio)(void *dev);      /* NULL: not a virtio device */

	/* ---- snapshots (snapshot/devices.c) ---- */
	/* Nothing to keep (the port sinks, the boot timer, the ACPI power port). */
	bool snapshot_stateless;
	/* Before saving, on the paused VM: finish in-flight work. Optional. */
	void (*snapshot_quiesce)(void *dev);
	/* The device's own state (its transport's is saved apart) into buf:
	 * its length or -errno. A kind with neither this nor
	 * snapshot_stateless has no snapshot support: creating one is refused. */
	int (*snapshot_save)(void *dev, uint8_t *buf, size_t size);
	/* After the device was created from the snapshot's configuration and
	 * its transport restored. 0 or -errno with err filled. */
	int (*snapshot_restore)(void *dev, const uint8_t *buf, size_t len, char *err, size_t errlen);
};

/* The manager's list, in attach order (manager.c). A kind's slot in struct
 * vm_config is its index here. */
extern const struct device_kind *const device_kinds[];
extern const size_t device_kinds_count;

/* The kind whose config_key is key, or NULL. */
const struct device_kind *device_kind_by_key(const char *key);
/* Whether a kind other than self has a root device configured in cfg. */
bool device_kinds_root_elsewhere(const struct vm_config *cfg, const struct device_kind *self);
/* The config file's check once every key is read: with roots in two kinds,
 * the later kind's root_conflict (and -EINVAL), as Firecracker's from_json
 * reports it (drives are applied first); else 0. */
int device_kinds_check_roots(const struct vm_config *cfg, char *err, size_t errlen);
/* Asks every configured kind whether it fits mem_size_mib MiB of guest
 * memory: 0, or the first refusal's -ERANGE with *ret_kind and its reason
 * in err. */
int device_kinds_memory_check(const struct vm_config *cfg, uint64_t mem_size_mib,
			      const struct device_kind **ret_kind, char *err, size_t errlen);
