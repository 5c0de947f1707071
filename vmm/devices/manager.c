/* See manager.h. */
#include "manager.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "config/vm_config.h"
#include "kind.h"
#include "core/boot/cmdline.h"
#include "core/layout.h"
#include "exit_code.h"
#include "legacy/acpi_power.h"
#include "legacy/boot_timer.h"
#include "legacy/i8042.h"
#include "legacy/sink.h"
#include "log.h"
#include "virtio/virtio.h"
#include "acpi/vmclock.h"
#include "acpi/vmgenid.h"

struct device_entry {
	const struct device_kind *kind;
	void *dev;
	struct virtio_transport *transport; /* virtio devices */
};

struct device_manager {
	struct device_entry *entry; /* in attach order */
	unsigned n, cap;            /* cap: the sum of the kinds' max */
	unsigned virtio_slots; /* MMIO windows and IRQs handed out */
	struct device_plan plan; /* where the virtio devices go (devices_plan) */
	/* Always present, no API: on the GED's GSIs after the virtio devices. */
	struct vmgenid *vmgenid;
	struct vmclock *vmclock;
	bool left_to_exit; /* devices_leave: devices_free frees nothing */
};

/* ---- the rows ---- */

static int i8042_row_save(void *dev, uint8_t *buf, size_t size)
{
	size_t n = i8042_state_save(dev, buf, size);

	return n ? (int)n : -ENOSPC;
}

static int i8042_row_restore(void *dev, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return i8042_state_restore(dev, buf, len, err, errlen);
}

static void i8042_on_reset(void *ctx)
{
	const struct device_exit_hook *exit = ctx;

	log_info("Guest requested a reset through the i8042; stopping the microVM.");
	exit->request_exit(exit->ctx, EXIT_CODE_OK);
}

static int i8042_row_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	return i8042_create(ctx->env, i8042_on_reset, (void *)ctx->exit, (struct i8042 **)ret);
}

static void i8042_row_destroy(void *dev)
{
	i8042_destroy(dev);
}

/* The ACPI power port: S5 and the reset register end ember as the i8042's
 * reset does (exit 0; the teardown flushes the metrics, removes the socket). */
static void acpi_power_on_power_off(void *ctx)
{
	const struct device_exit_hook *exit = ctx;

	log_info("Guest powered off");
	exit->request_exit(exit->ctx, EXIT_CODE_OK);
}

static void acpi_power_on_reset(void *ctx)
{
	const struct device_exit_hook *exit = ctx;

	log_info("Guest requested a reset through the ACPI reset register; stopping the microVM.");
	exit->request_exit(exit->ctx, EXIT_CODE_OK);
}

static int acpi_power_row_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	const struct acpi_power_ops ops = { .on_power_off = acpi_power_on_power_off,
					    .on_reset = acpi_power_on_reset, .ctx = (void *)ctx->exit };

	return acpi_power_create(ctx->env, &ops, (struct acpi_power **)ret);
}

static void acpi_power_row_destroy(void *dev)
{
	acpi_power_destroy(dev);
}

/* The silent ports (COM2-4, 0xf4, ...) claim bus ranges and keep no state. */
static int sinks_row_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	*ret = NULL;
	return legacy_sinks_attach(ctx->env->pio_bus);
}

static void sinks_row_destroy(void *dev)
{
}

static unsigned boot_timer_count(const struct vm_config *cfg)
{
	return cfg->process.boot_timer;
}

static const void *boot_timer_config(const struct vm_config *cfg, unsigned i)
{
	return &cfg->process;
}

static int boot_timer_row_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	const struct vm_process_options *p = config;
	struct boot_timer_start start = { .wall_us = p->start_time_us, .cpu_us = p->start_time_cpu_us };

	return boot_timer_create(ctx->env, &start, (struct boot_timer **)ret);
}

static void boot_timer_row_destroy(void *dev)
{
	boot_timer_destroy(dev);
}

/* Attach order: the legacy devices, then the virtio ones (their windows and
 * IRQs in this order, so the guest's vda is the root drive). */
static const struct device_kind i8042_kind = {
	.name = "i8042", .max = 1, .metrics_group = &i8042_metrics_group, .create = i8042_row_create,
	.destroy = i8042_row_destroy, .snapshot_save = i8042_row_save, .snapshot_restore = i8042_row_restore,
};
/* Its registers hold nothing: reads are 0, a write acts at once. */
static const struct device_kind acpi_power_kind = {
	.name = "ACPI power port", .max = 1, .create = acpi_power_row_create, .destroy = acpi_power_row_destroy,
	.snapshot_stateless = true,
};
static const struct device_kind sinks_kind = {
	.name = "legacy port sinks", .max = 1, .create = sinks_row_create, .destroy = sinks_row_destroy,
	.snapshot_stateless = true,
};
/* The boot timer reports the first boot's time once; a restored guest has
 * nothing to report through it. */
static const struct device_kind boot_timer_kind = {
	.name = "boot timer", .max = 1, .count = boot_timer_count, .config = boot_timer_config,
	.create = boot_timer_row_create, .destroy = boot_timer_row_destroy, .snapshot_stateless = true,
};

/* The kinds defined in their own files: each file's one descriptor. */
extern const struct device_kind serial_kind; /* legacy/serial-plug.c */
extern const struct device_kind block_kind; /* virtio/block-plug.c */
extern const struct device_kind net_kind;   /* virtio/net-plug.c */
extern const struct device_kind vsock_kind; /* virtio/vsock-plug.c */
extern const struct device_kind pmem_kind;  /* virtio/pmem-plug.c */
extern const struct device_kind balloon_kind; /* virtio/balloon-plug.c */
extern const struct device_kind entropy_kind; /* virtio/entropy-plug.c */
/* Firecracker's kinds this build does not have yet (absent.c). */
extern const struct device_kind memory_hotplug_absent_kind;

/* THE list of device kinds. Attach order: the legacy devices, then the
 * virtio ones (their windows and IRQs in this order, so the guest's vda is
 * the root drive; pmem after net and before vsock, Firecracker's order). A kind's index is its slot in struct vm_config. */
const struct device_kind *const device_kinds[] = {
	&serial_kind,
	&i8042_kind,
	&acpi_power_kind,
	&sinks_kind,
	&boot_timer_kind,
	&block_kind,
	&net_kind,
	&pmem_kind,
	&vsock_kind,
	&balloon_kind,
	&entropy_kind,
	&memory_hotplug_absent_kind,
};
const size_t device_kinds_count = ARRAY_SIZE(device_kinds);
_Static_assert(ARRAY_SIZE(device_kinds) <= VM_CONFIG_SLOTS, "struct vm_config has a slot for each kind");

const struct device_kind *device_kind_by_key(const char *key)
{
	for (size_t i = 0; i < device_kinds_count; i++)
		if (device_kinds[i]->config_key && strcmp(device_kinds[i]->config_key, key) == 0)
			return device_kinds[i];
	return NULL;
}

/* ---- the plan ---- */

static unsigned devices_kind_count(const struct device_kind *k, const struct vm_config *cfg)
{
	return k->count ? k->count(cfg) : 1;
}

/* The GED's GSIs are the transport's next two after the virtio devices'
 * (slots nr_virtio and nr_virtio + 1), kept free while those are planned. */
static void devices_plan_ged(struct device_plan *plan)
{
	struct device_window w;

	virtio_transport_window(plan->nr_virtio, &w);
	plan->vmgenid_gsi = w.irq;
	virtio_transport_window(plan->nr_virtio + 1, &w);
	plan->vmclock_gsi = w.irq;
}

int devices_plan(const struct vm_config *cfg, struct device_plan *ret, char *why, size_t whylen)
{
	struct device_plan plan = { 0 };

	for (size_t i = 0; i < device_kinds_count; i++) {
		const struct device_kind *k = device_kinds[i];
		unsigned n = k->create && k->virtio ? devices_kind_count(k, cfg) : 0;

		for (unsigned j = 0; j < n; j++) {
			if (plan.nr_virtio + LAYOUT_GED_GSIS >= virtio_transport_slots() ||
			    plan.nr_virtio >= DEVICE_PLAN_MAX_VIRTIO ||
			    virtio_transport_window(plan.nr_virtio, &plan.virtio[plan.nr_virtio]) < 0) {
				/* Firecracker's text: drives and interfaces share the IRQs
				 * that VMGenID and VMClock leave */
				snprintf(why, whylen, "cannot attach the %s: Could not allocate GSI: The requested "
						      "resource is not available.", k->name);
				return -ENOSPC;
			}
			plan.nr_virtio++;
		}
	}
	devices_plan_ged(&plan);
	*ret = plan;
	return 0;
}

/* The entry that finds a window without ACPI (Firecracker keeps them too). */
static int devices_window_cmdline(const struct device_window *w, char *buf, size_t size)
{
	int n = snprintf(buf, size, "virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)w->base, w->irq);

	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

bool device_kinds_root_elsewhere(const struct vm_config *cfg, const struct device_kind *self)
{
	for (size_t i = 0; i < device_kinds_count; i++) {
		const struct device_kind *k = device_kinds[i];
		const void *slot = k->has_root ? vm_config_slot(cfg, k) : NULL;

		if (k != self && slot && k->has_root(slot))
			return true;
	}
	return false;
}

int device_kinds_check_roots(const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct device_kind *first = NULL;

	for (size_t i = 0; i < device_kinds_count; i++) {
		const struct device_kind *k = device_kinds[i];
		const void *slot = k->has_root ? vm_config_slot(cfg, k) : NULL;

		if (!slot || !k->has_root(slot))
			continue;
		if (first) {
			snprintf(err, errlen, "%s: %s", k->config_key, k->root_conflict);
			return -EINVAL;
		}
		first = k;
	}
	return 0;
}

int device_kinds_memory_check(const struct vm_config *cfg, uint64_t mem_size_mib,
			      const struct device_kind **ret_kind, char *err, size_t errlen)
{
	for (size_t i = 0; i < device_kinds_count; i++) {
		const struct device_kind *k = device_kinds[i];
		int r = k->memory_check ? k->memory_check(vm_config_slot(cfg, k), mem_size_mib, err, errlen) : 0;

		if (r < 0) {
			*ret_kind = k;
			return r;
		}
	}
	return 0;
}

/* ---- attaching ---- */

static int devices_cmdline_append(struct cmdline *cl, const char *part, char *why, size_t whylen)
{
	char reason[128];
	int r = cmdline_append(cl, part, reason, sizeof(reason));

	if (r < 0)
		snprintf(why, whylen, "the kernel command line cannot take \"%.64s\": %.100s", part, reason);
	return r;
}

/* A virtio device gets the next slot of the plan (window and IRQ) and the
 * command-line entry that finds it (virtio_mmio.device=), written from the
 * same plan entry as the ACPI DSDT's device. */
static int devices_attach_virtio(struct device_manager *m, struct device_entry *e, const struct device_env *env,
				 struct cmdline *cl, char *why, size_t whylen)
{
	char arg[64];
	int r;

	if (m->virtio_slots >= m->plan.nr_virtio) {
		/* Firecracker's text: drives and interfaces share the IRQs */
		snprintf(why, whylen, "Could not allocate GSI: The requested resource is not available.");
		return -ENOSPC;
	}
	r = virtio_transport_create(env, m->virtio_slots, e->kind->virtio(e->dev), &e->transport);
	if (r < 0) {
		snprintf(why, whylen, "its virtio transport: %s", strerror(-r));
		return r;
	}
	r = devices_window_cmdline(&m->plan.virtio[m->virtio_slots++], arg, sizeof(arg));
	return r < 0 ? r : devices_cmdline_append(cl, arg, why, whylen);
}

static int devices_attach_one(struct device_manager *m, const struct device_kind *k, const void *config,
			      const struct device_ctx *ctx, struct cmdline *cl, char *why, size_t whylen)
{
	struct device_entry *e = &m->entry[m->n];
	int r;

	ctx->why[0] = 0;
	r = k->create(ctx, config, &e->dev);
	if (r < 0) {
		snprintf(why, whylen, "%s", ctx->why[0] ? ctx->why : strerror(-r));
		return r;
	}
	e->kind = k;
	m->n++;
	return k->virtio ? devices_attach_virtio(m, e, ctx->env, cl, why, whylen) : 0;
}

static int devices_attach_kind(struct device_manager *m, const struct device_kind *k, const struct vm_config *cfg,
			       const struct device_ctx *ctx, struct cmdline *cl, char *why, size_t whylen)
{
	unsigned n = k->count ? k->count(cfg) : 1;
	char part[160];
	int r = 0;

	if (n > k->max || m->n + n > m->cap) {
		snprintf(why, whylen, "%u devices of this kind, at most %u", n, k->max);
		return -E2BIG;
	}
	if (n && k->cmdline) {
		r = k->cmdline(cfg, part, sizeof(part));
		if (r > 0)
			r = devices_cmdline_append(cl, part, why, whylen);
	}
	for (unsigned i = 0; r >= 0 && i < n; i++)
		r = devices_attach_one(m, k, k->config ? k->config(cfg, i) : cfg, ctx, cl, why, whylen);
	return r;
}

static int devices_attach(void *mgr, const struct vm_config *cfg, const struct device_env *env, struct cmdline *cl,
			  const struct device_exit_hook *exit, char *why, size_t whylen)
{
	struct device_manager *m = mgr;
	char reason[768] = "", created[640];
	const struct device_ctx ctx = { .env = env, .exit = exit, .why = created, .whylen = sizeof(created) };
	int r = devices_plan(cfg, &m->plan, why, whylen);

	if (r < 0)
		return r;
	for (size_t i = 0; i < device_kinds_count; i++) {
		r = device_kinds[i]->create ? devices_attach_kind(m, device_kinds[i], cfg, &ctx, cl, reason,
								   sizeof(reason)) : 0;

		if (r < 0) {
			snprintf(why, whylen, "cannot attach the %s: %s", device_kinds[i]->name, reason);
			return r;
		}
	}
	r = vmgenid_create(env, m->plan.vmgenid_gsi, &m->vmgenid, reason, sizeof(reason));
	if (r >= 0)
		r = vmclock_create(env, m->plan.vmclock_gsi, &m->vmclock, reason, sizeof(reason));
	if (r < 0)
		snprintf(why, whylen, "cannot attach the ACPI devices: %s", reason);
	return r;
}

/* Reverse order; each transport before its device, so no kick reaches a
 * device that is going. */
static void devices_destroy(void *mgr)
{
	struct device_manager *m = mgr;

	m->vmclock = vmclock_destroy(m->vmclock);
	m->vmgenid = vmgenid_destroy(m->vmgenid);
	while (m->n) {
		struct device_entry *e = &m->entry[--m->n];

		e->transport = virtio_transport_destroy(e->transport);
		e->kind->destroy(e->dev);
		*e = (struct device_entry){ 0 };
	}
	m->virtio_slots = 0;
	m->plan = (struct device_plan){ 0 };
}

int devices_create(struct device_manager **ret)
{
	struct device_manager *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < device_kinds_count; i++)
		m->cap += device_kinds[i]->max;
	m->entry = calloc(m->cap, sizeof(m->entry[0]));
	if (!m->entry) {
		free(m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

struct device_manager *devices_free(struct device_manager *m)
{
	if (!m || m->left_to_exit)
		return NULL; /* a stuck vCPU or writer may still use them: the exit takes them */
	devices_destroy(m);
	free(m->entry);
	free(m);
	return NULL;
}

static const struct device_plan *devices_attached_plan(void *mgr)
{
	struct device_manager *m = mgr;

	return &m->plan;
}

static void devices_leave(void *mgr)
{
	struct device_manager *m = mgr;

	m->left_to_exit = true;
}

struct vm_devices devices_vm_hooks(struct device_manager *m)
{
	return (struct vm_devices){ .attach = devices_attach, .destroy = devices_destroy,
				    .plan = devices_attached_plan, .leave = devices_leave, .mgr = m };
}

/* ---- finding ---- */

void *devices_find(struct device_manager *m, const char *kind, const char *id)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct device_entry *e = &m->entry[i];

		if (strcmp(e->kind->name, kind) != 0)
			continue;
		if (!id || (e->kind->id && strcmp(e->kind->id(e->dev), id) == 0))
			return e->dev;
	}
	return NULL;
}

int devices_update(struct device_manager *m, const char *kind, const char *id, const void *update)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct device_entry *e = &m->entry[i];

		if (strcmp(e->kind->name, kind) != 0 || !e->kind->id || strcmp(e->kind->id(e->dev), id) != 0)
			continue;
		return e->kind->update ? e->kind->update(e->dev, update) : -EOPNOTSUPP;
	}
	return -ENOENT;
}

int devices_ctrl_alt_del(struct device_manager *m)
{
	struct i8042 *k = devices_find(m, "i8042", NULL);

	return k ? i8042_send_ctrl_alt_del(k) : -ENOENT;
}

struct vmgenid *devices_vmgenid(const struct device_manager *m)
{
	return m->vmgenid;
}

struct vmclock *devices_vmclock(const struct device_manager *m)
{
	return m->vmclock;
}

unsigned devices_count(const struct device_manager *m)
{
	return m->n;
}

bool devices_entry(const struct device_manager *m, unsigned i, const struct device_kind **ret_kind, void **ret_dev,
		   struct virtio_transport **ret_transport)
{
	if (i >= m->n)
		return false;
	*ret_kind = m->entry[i].kind;
	*ret_dev = m->entry[i].dev;
	*ret_transport = m->entry[i].transport;
	return true;
}
