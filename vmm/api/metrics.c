/* PUT /metrics: the metrics sink, configurable once. */
#include <stdlib.h>
#include <string.h>

#include "api/fields.h"
#include "api/resources.h"
#include "cleanup.h"

struct metrics_config {
	char *metrics_path;
	json_t *properties;
	bool emit_id;
};

static void metrics_payload_free(void *p)
{
	struct metrics_config *m = p;
	free(m->metrics_path);
	json_decref(m->properties);
	free(m);
}

int api_metrics_parse(struct api_action *a)
{
	struct metrics_config *m = calloc(1, sizeof(*m));
	char err[512];

	if (!m)
		return -ENOMEM;
	const struct field_spec specs[] = {
		{ "metrics_path", FIELD_STRING, .required = true, .dst = &m->metrics_path },
		{ "emit_id", FIELD_BOOL, .dst = &m->emit_id },
		{ "properties", FIELD_STRMAP, .dst = &m->properties, .nullable = true },
	};
	if (fields_decode(a->body, "struct MetricsConfig", specs, ARRAY_SIZE(specs), err, sizeof(err)) < 0) {
		free(m);
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	a->payload = m;
	a->free_payload = metrics_payload_free;
	if (m->emit_id || (m->properties && json_object_size(m->properties) > 0)) {
		api_fault(a, "Metrics error: this build does not provide `emit_id` or `properties` in metrics lines.");
		return -EOPNOTSUPP;
	}
	return 0;
}

void api_metrics_apply(struct api_controller *c, struct api_action *a)
{
	struct metrics_config *m = a->payload;
	int r = metrics_init(m->metrics_path);

	if (r == -EALREADY) {
		api_fault(a, "Metrics initialization error: Reinitialization of metrics not allowed.");
		return;
	}
	if (r < 0) {
		api_fault(a, "Metrics initialization error: Failed to open target file: %s: %s", m->metrics_path,
			  strerror(-r));
		return;
	}
	free(c->metrics_path);
	c->metrics_path = strdup(m->metrics_path);
	api_no_content(a);
}
