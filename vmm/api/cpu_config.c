/* PUT /cpu-config: a custom CPU template, through the shared validator
 * (config/cpu_config.h) that --config-file uses too. */
#include <errno.h>
#include <stdlib.h>

#include "api/resources.h"
#include "config/cpu_config.h"

/* Validated on the api thread: the template does not depend on the VM. */
int api_cpu_config_parse(struct api_action *a)
{
	struct cpu_config *t;
	char err[512];
	int r = cpu_config_parse(a->body, &t, err, sizeof(err));

	if (r < 0) {
		api_fault(a, "%s", r == -ENOMEM ? "Out of memory." : err);
		return r;
	}
	a->payload = t;
	a->free_payload = free;
	return 0;
}

/* Replaces any template, a static one from machine-config too (Firecracker's
 * set_custom_cpu_template); whether it fits this host's KVM is checked at
 * InstanceStart. */
void api_cpu_config_apply(struct api_controller *c, struct api_action *a)
{
	free(c->config->cpu_config);
	c->config->cpu_config = a->payload;
	a->payload = NULL;
	c->config->machine.cpu_template = CPU_TEMPLATE_NONE;
	api_no_content(a);
}
