/* GET / (instance information) and GET /version. */
#include "api/resources.h"
#include "ember-config.h"

static const char *const state_names[] = {
	[VM_NOT_STARTED] = "Not started",
	[VM_RUNNING] = "Running",
	[VM_PAUSED] = "Paused",
};

void api_instance_info_apply(struct api_controller *c, struct api_action *a)
{
	api_ok_json(a, json_pack("{s:s,s:s,s:s,s:s}", "id", c->instance_id ? c->instance_id : "anonymous-instance",
				 "state", state_names[c->state], "vmm_version", EMBER_VERSION, "app_name", "ember"));
}

/* The version is a build constant: answered on the api thread. */
int api_version_parse(struct api_action *a)
{
	api_ok_json(a, json_pack("{s:s}", "firecracker_version", EMBER_VERSION));
	return 0;
}
