/* GET, PUT and PATCH /machine-config, through the shared validator
 * (config/machine_config.h) that --config-file uses too. */
#include <errno.h>
#include <stdlib.h>

#include "api/resources.h"
#include "config/json_field.h"
#include "config/machine_config.h"
#include "devices/kind.h"
#include "log.h"

/* cpu_template is deprecated in Firecracker: a request that names it (even
 * "None") is answered with "Deprecation: true", counted in
 * deprecated_api.deprecated_http_api_calls and logged, whatever its outcome
 * once it parsed (controller.c). */
static bool machine_config_names_template(const json_t *body)
{
	const json_t *v = json_object_get(body, "cpu_template");

	return v && !json_is_null(v);
}

static void machine_config_note_deprecated(struct api_action *a, const char *method)
{
	if (!machine_config_names_template(a->body))
		return;
	a->deprecated = true;
	log_warn("%s /machine-config: cpu_template field is deprecated.", method);
}

/* A cpu_template in the body replaces any template, the custom one too
 * ("None" clears both); without it the current one stays. */
static void machine_config_template_update(struct api_controller *c, const json_t *body)
{
	if (!machine_config_names_template(body))
		return;
	free(c->config->cpu_config);
	c->config->cpu_config = NULL;
}

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
	machine_config_note_deprecated(a, "PUT");
	return 0;
}

/* PATCH merges into the current configuration, which only the vmm thread
 * reads: the body is validated there (api_machine_config_patch_apply). */
int api_machine_config_patch_parse(struct api_action *a)
{
	int v;
	char err[256];

	/* Firecracker flags a PATCH whose body deserialised: the template must
	 * at least be one of its names (the rest is checked on the vmm thread). */
	if (json_is_object(a->body) &&
	    json_field_enum(a->body, "cpu_template", false, cpu_template_serde_order, &v, err, sizeof(err)) > 0)
		machine_config_note_deprecated(a, "PATCH");
	return 0;
}

void api_machine_config_get_apply(struct api_controller *c, struct api_action *a)
{
	api_ok_json(a, machine_config_to_json(&c->config->machine));
}

/* Firecracker: the memory may not shrink below a configured balloon's target. */
static int machine_config_memory_check(struct api_controller *c, struct api_action *a, uint64_t mem_size_mib)
{
	const struct device_kind *k;
	char why[256];

	if (device_kinds_memory_check(c->config, mem_size_mib, &k, why, sizeof(why)) < 0) {
		api_fault(a, MACHINE_CONFIG_ERR_PREFIX
			  "The memory size (MiB) is smaller than the previously set balloon device target size.");
		return -ERANGE;
	}
	return 0;
}

void api_machine_config_put_apply(struct api_controller *c, struct api_action *a)
{
	struct machine_config *mc = a->payload;

	if (machine_config_memory_check(c, a, mc->mem_size_mib) < 0)
		return;

	if (!machine_config_names_template(a->body))
		mc->cpu_template = c->config->machine.cpu_template;
	machine_config_template_update(c, a->body);
	c->config->machine = *mc;
	api_no_content(a);
}

void api_machine_config_patch_apply(struct api_controller *c, struct api_action *a)
{
	struct machine_config mc = c->config->machine;
	char err[512];

	if (machine_config_parse(a->body, true, &mc, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (machine_config_memory_check(c, a, mc.mem_size_mib) < 0)
		return;
	c->config->machine = mc;
	machine_config_template_update(c, a->body);
	api_no_content(a);
}
