/* PATCH /vm (pause and resume) and GET /vm/config. */
#include "config/boot_source.h"
#include "config/mmds.h"
#include "config/net.h"
#include "config/json_field.h"
#include "config/machine_config.h"
#include "api/resources.h"
#include "cleanup.h"
#include "devices/kind.h"
#include "logger.h"
#include <time.h>

enum { VM_PATCH_PAUSED, VM_PATCH_RESUMED };
static const char *const vm_states[] = { "Paused", "Resumed", NULL };

int api_vm_state_parse(struct api_action *a)
{
	static const char *const fields[] = { "state", NULL };
	char err[512];
	int target = 0;

	if (json_field_check_object(a->body, "Vm", fields, err, sizeof(err)) < 0 ||
	    json_field_enum(a->body, "state", true, vm_states, &target, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	a->kind = target;
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void api_vm_state_apply(struct api_controller *c, struct api_action *a)
{
	bool pause = a->kind == VM_PATCH_PAUSED;
	enum vm_state want = pause ? VM_PAUSED : VM_RUNNING;
	int (*hook)(void *, char *, size_t) = !c->ops ? NULL : pause ? c->ops->pause : c->ops->resume;
	char err[512] = "";
	uint64_t t0 = now_us();
	int r;

	if (c->state == want) { /* both calls are idempotent */
		api_no_content(a);
		return;
	}
	r = hook ? hook(c->ops_ctx, err, sizeof(err)) : -ENOSYS;
	if (r < 0) {
		api_fault(a, "%s", err[0] ? err : "This build cannot pause or resume vCPUs.");
		return;
	}
	c->state = want;
	api_metrics_latency(pause ? API_LATENCY_PAUSE_VM : API_LATENCY_RESUME_VM, now_us() - t0);
	api_no_content(a);
}

static json_t *vm_config_boot_source(const struct api_controller *c)
{
	return boot_source_to_json(&c->config->boot);
}

static json_t *vm_config_machine(const struct api_controller *c)
{
	return machine_config_to_json(&c->config->machine);
}

static json_t *vm_config_mmds(const struct api_controller *c)
{
	return mmds_config_to_json(&c->config->mmds, net_set_of(c->config));
}

static json_t *vm_config_empty_list(const struct api_controller *c)
{
	return json_array();
}

/* Firecracker's keys in Firecracker's order. A device kind whose config_key
 * is one of them renders it (devices/kind.h: block, net, vsock, and pmem's
 * absent kind as []); otherwise the row does, and a row without a renderer
 * is null: a capability this build does not have, or, for logger and
 * metrics, what Firecracker always shows there (its VmmConfig leaves them
 * out of the VM's configuration: they are the process's, set once). */
static const struct {
	const char *key;
	json_t *(*render)(const struct api_controller *c);
} vm_config_keys[] = {
	{ "balloon", NULL },
	{ "drives", vm_config_empty_list },
	{ "boot-source", vm_config_boot_source },
	{ "cpu-config", NULL },
	{ "logger", NULL },
	{ "machine-config", vm_config_machine },
	{ "metrics", NULL },
	{ "memory-hotplug", NULL },
	{ "mmds-config", vm_config_mmds },
	{ "network-interfaces", vm_config_empty_list },
	{ "pmem", NULL },
	{ "vsock", NULL },
	{ "entropy", NULL },
};

static json_t *vm_config_value(const struct api_controller *c, size_t row)
{
	const struct device_kind *k = device_kind_by_key(vm_config_keys[row].key);
	json_t *v;

	if (k && k->config_to_json)
		v = k->config_to_json(vm_config_slot(c->config, k));
	else
		v = vm_config_keys[row].render ? vm_config_keys[row].render(c) : json_null();
	return v ? v : json_null();
}

void api_vm_config_apply(struct api_controller *c, struct api_action *a)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < ARRAY_SIZE(vm_config_keys); i++)
		if (json_object_set_new(o, vm_config_keys[i].key, vm_config_value(c, i)) < 0) {
			json_decref(o);
			o = NULL;
		}
	if (!o) {
		http_response_fault(&a->resp, 500, "Out of memory.");
		return;
	}
	api_ok_json(a, o);
}
