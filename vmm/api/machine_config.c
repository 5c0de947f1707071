/* GET, PUT and PATCH /machine-config, through the shared validator
 * (config/machine_config.h) that --config-file uses too. */
#include <errno.h>
#include <stdlib.h>

#include "api/resources.h"
#include "config/machine_config.h"

/* PUT does not depend on the current configuration: validated here, on the
 * api thread, into a complete machine_config. */
int api_machine_config_put_parse(struct api_action *a)
{
	struct machine_config *mc = malloc(sizeof(*mc));
	char err[512];

	if (!mc)
		return -ENOMEM;
	*mc = MACHINE_CONFIG_DEFAULT;
	if (machine_config_parse(a->body, false, mc, err, sizeof(err)) < 0) {
		free(mc);
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	a->payload = mc;
	a->free_payload = free;
	return 0;
}

/* PATCH merges into the current configuration, which only the vmm thread
 * reads: the body is validated there (api_machine_config_patch_apply). */
int api_machine_config_patch_parse(struct api_action *a)
{
	return 0;
}

void api_machine_config_get_apply(struct api_controller *c, struct api_action *a)
{
	api_ok_json(a, machine_config_to_json(&c->config->machine));
}

void api_machine_config_put_apply(struct api_controller *c, struct api_action *a)
{
	c->config->machine = *(struct machine_config *)a->payload;
	api_no_content(a);
}

void api_machine_config_patch_apply(struct api_controller *c, struct api_action *a)
{
	char err[512];

	if (machine_config_parse(a->body, true, &c->config->machine, err, sizeof(err)) < 0)
		api_fault(a, "%s", err);
	else
		api_no_content(a);
}
