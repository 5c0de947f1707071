/* PUT /metrics: the metrics sink, configurable once. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/resources.h"
#include "path_error.h"

static void metrics_config_free(void *p)
{
	metrics_config_clear(p);
	free(p);
}

int api_metrics_parse(struct api_action *a)
{
	struct metrics_config *mc = calloc(1, sizeof(*mc));
	char err[512];
	int r;

	if (!mc) {
		api_fault(a, "Metrics error: Out of memory.");
		return -ENOMEM;
	}
	r = metrics_config_from_json(a->body, mc, err, sizeof(err));
	if (r < 0) {
		free(mc);
		api_fault(a, "%s", err);
		return r;
	}
	a->payload = mc;
	a->free_payload = metrics_config_free;
	return 0;
}

void api_metrics_apply(struct api_controller *c, struct api_action *a)
{
	const struct metrics_config *mc = a->payload;
	int r = metrics_init(mc->path, mc->emit_id, c->instance_id, mc->properties);

	if (r == -EALREADY) {
		api_fault(a, "Metrics initialization error: Reinitialization of metrics not allowed.");
		return;
	}
	if (r < 0) {
		char why[PATH_MAX + 160];

		api_fault(a, "Metrics initialization error: Failed to open target file: %s",
			  path_error(why, sizeof(why), mc->path, -r));
		return;
	}
	api_no_content(a);
}
