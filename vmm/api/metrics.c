/* PUT /metrics: the metrics sink, configurable once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/resources.h"
#include "config/json_field.h"

static const char *const metrics_fields[] = { "metrics_path", "emit_id", "properties", NULL };

/* Firecracker's `properties` is a map of strings added to every line; this
 * build validates it but only accepts it empty. */
static int metrics_properties(const json_t *body, char *err, size_t errlen)
{
	json_t *p = json_object_get(body, "properties"), *v;
	const char *k;

	if (!p || json_is_null(p))
		return 0;
	if (!json_is_object(p))
		return json_field_error(err, errlen, "invalid type: %s, expected a map for field `properties`",
					json_is_array(p) ? "sequence" : "a scalar");
	json_object_foreach(p, k, v)
		if (!json_is_string(v))
			return json_field_error(err, errlen, "invalid type: expected a string for field `properties.%.64s`",
						k);
	return (int)json_object_size(p);
}

int api_metrics_parse(struct api_action *a)
{
	const char *path = NULL;
	bool emit_id = false;
	char err[512];
	int props;

	if (json_field_check_object(a->body, "MetricsConfig", metrics_fields, err, sizeof(err)) < 0 ||
	    json_field_string(a->body, "metrics_path", true, &path, err, sizeof(err)) < 0 ||
	    json_field_bool(a->body, "emit_id", false, &emit_id, err, sizeof(err)) < 0 ||
	    (props = metrics_properties(a->body, err, sizeof(err))) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	if (emit_id || props > 0) {
		api_fault(a, "Metrics error: this build does not provide `emit_id` or `properties` in metrics lines.");
		return -EOPNOTSUPP;
	}
	a->payload = strdup(path);
	a->free_payload = free;
	return a->payload ? 0 : -ENOMEM;
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
		api_fault(a, "Metrics initialization error: Failed to open target file: %s: %s", path, strerror(-r));
		return;
	}
	free(c->metrics_path);
	c->metrics_path = strdup(path);
	api_no_content(a);
}
