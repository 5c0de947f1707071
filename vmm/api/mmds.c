/* GET, PUT and PATCH /mmds (the data store) and PUT /mmds/config (which
 * interfaces answer the guest, at which address, in which version). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/resources.h"
#include "config/mmds.h"
#include "config/vm_config.h"
#include "log.h"
#include "mmds/store.h"

void api_mmds_get_apply(struct api_controller *c, struct api_action *a)
{
	/* Before boot the store reads as {}; after it, Firecracker reports a store
	 * nobody ever filled as not initialized. */
	if (c->state != VM_NOT_STARTED && !mmds_store_initialized(c->mmds)) {
		api_fault(a, MMDS_FAULT_NOT_INITIALIZED);
		return;
	}
	http_response_body(&a->resp, 200, mmds_store_dump(c->mmds));
}

static void mmds_answer(struct api_action *a, int r)
{
	if (r == -EFBIG)
		http_response_fault(&a->resp, 413, MMDS_FAULT_TOO_LARGE);
	else if (r == -ENODATA)
		api_fault(a, MMDS_FAULT_NOT_INITIALIZED);
	else if (r < 0)
		api_fault(a, "MMDS error: %s.", strerror(-r));
	else
		api_no_content(a);
}

void api_mmds_put_apply(struct api_controller *c, struct api_action *a)
{
	mmds_answer(a, mmds_store_put(c->mmds, a->body));
}

void api_mmds_patch_apply(struct api_controller *c, struct api_action *a)
{
	mmds_answer(a, mmds_store_patch(c->mmds, a->body));
}

/* PUT /mmds/config, api thread: the deserialisation. V1, the default
 * included, is deprecated in Firecracker: the answer carries the Deprecation
 * header whatever the outcome from here on (after boot too), and is counted. */
int api_mmds_config_parse(struct api_action *a)
{
	struct mmds_spec *spec = malloc(sizeof(*spec));
	char err[1024];

	if (!spec)
		return -ENOMEM;
	if (mmds_spec_parse(a->body, spec, err, sizeof(err)) < 0) {
		free(spec);
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	a->payload = spec;
	a->free_payload = free;
	if (spec->version == MMDS_V1) {
		a->deprecated = true;
		log_warn("PUT /mmds/config: V1 is deprecated. Use V2 instead.");
	}
	return 0;
}

/* Vmm thread, before boot: checked against the interfaces; a config that
 * passes replaces the previous one whole (interfaces it does not list stop
 * answering), one that fails changes nothing. */
void api_mmds_config_apply(struct api_controller *c, struct api_action *a)
{
	struct mmds_config cfg;
	char err[512];

	if (mmds_config_build(a->payload, net_set_of(c->config), &cfg, err, sizeof(err)) < 0) {
		api_fault(a, MMDS_ERR_PREFIX "%s", err);
		return;
	}
	c->config->mmds = cfg;
	api_no_content(a);
}
