/* PUT /metrics: the metrics sink, configurable once. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/resources.h"
#include "path_error.h"

int api_metrics_parse(struct api_action *a)
{
	char err[512], *path = NULL;
	int r = metrics_config_from_json(a->body, &path, err, sizeof(err));

	if (r < 0) {
		api_fault(a, "%s", err);
		return r;
	}
	a->payload = path;
	a->free_payload = free;
	return 0;
}

void api_metrics_apply(struct api_controller *c, struct api_action *a)
{
	const char *path = a->payload;
	int r = metrics_init(path);

	if (r == -EALREADY) {
		api_fault(a, "Metrics initialization error: Reinitialization of metrics not allowed.");
		return;
	}
	if (r < 0) {
		char why[PATH_MAX + 160];

		api_fault(a, "Metrics initialization error: Failed to open target file: %s",
			  path_error(why, sizeof(why), path, -r));
		return;
	}
	free(c->metrics_path);
	c->metrics_path = strdup(path);
	api_no_content(a);
}
