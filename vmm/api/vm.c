/* PATCH /vm (pause and resume) and GET /vm/config. */
#include "config/boot_source.h"
#include "config/drive.h"
#include "config/vsock.h"
#include "config/net.h"
#include "config/json_field.h"
#include "config/machine_config.h"
#include "api/resources.h"
#include "cleanup.h"
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

void api_vm_config_apply(struct api_controller *c, struct api_action *a)
{
	json_t *logger = logger_config_to_json();
	json_t *metrics = c->metrics_path ? json_pack("{s:s}", "metrics_path", c->metrics_path) : json_null();

	json_t *drives = drive_set_to_json(&c->config->drives);
	json_t *vsock = c->config->vsock.present ? vsock_config_to_json(&c->config->vsock.cfg) : NULL;
	json_t *nets = net_set_to_json(&c->config->nets);

	api_ok_json(a, json_pack("{s:o,s:o,s:o,s:n,s:o,s:o,s:o,s:n,s:n,s:o,s:[],s:o,s:n}",
				 "balloon", json_null(), "drives", drives ? drives : json_array(), "boot-source",
				 c->config->boot.configured ? boot_source_to_json(&c->config->boot) : json_null(), "cpu-config",
				 "logger", logger ? logger : json_null(), "machine-config",
				 machine_config_to_json(&c->config->machine), "metrics", metrics,
				 "memory-hotplug", "mmds-config", "network-interfaces", nets ? nets : json_array(), "pmem", "vsock",
				 vsock ? vsock : json_null(), "entropy"));
}
