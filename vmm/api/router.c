/* The API routing table and request-to-action parsing: see router.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/json_field.h"
#include "api/methods.h"
#include "id.h"
#include "api/resources.h"
#include "api/router.h"
#include "cleanup.h"
#include "devices/kind.h"

#define NOM API_NO_METRIC
#define M(g, n) API_METRIC(g, n)
#define UNPROVIDED API_ROUTE_UNPROVIDED

/* The endpoints that are not a device kind's, and the capabilities this
 * build does not have. A device kind's rows come with its descriptor
 * (devices/kind.h) and are searched first, so a kind that lands serves its
 * paths even before its "not provided" rows here are removed. Order matters
 * only for readability. */
const struct api_route api_routes[] = {
	{ "GET", "/", API_ANY_STATE, NULL, api_instance_info_apply, M(get_api_requests, instance_info_count), NOM },
	{ "GET", "/version", API_ANY_STATE, api_version_parse, NULL, M(get_api_requests, vmm_version_count), NOM },
	{ "GET", "/machine-config", API_ANY_STATE, NULL, api_machine_config_get_apply,
	  M(get_api_requests, machine_cfg_count), NOM },
	{ "PUT", "/machine-config", API_PRE_BOOT, api_machine_config_put_parse, api_machine_config_put_apply,
	  M(put_api_requests, machine_cfg_count), M(put_api_requests, machine_cfg_fails) },
	{ "PATCH", "/machine-config", API_PRE_BOOT, api_machine_config_patch_parse, api_machine_config_patch_apply,
	  M(patch_api_requests, machine_cfg_count), M(patch_api_requests, machine_cfg_fails) },
	{ "PUT", "/cpu-config", API_PRE_BOOT, api_cpu_config_parse, api_cpu_config_apply,
	  M(put_api_requests, cpu_cfg_count), M(put_api_requests, cpu_cfg_fails) },
	{ "PUT", "/boot-source", API_PRE_BOOT, api_boot_source_put_parse, api_boot_source_put_apply,
	  M(put_api_requests, boot_source_count), M(put_api_requests, boot_source_fails) },
	{ "PUT", "/actions", API_ANY_STATE, api_actions_parse, api_actions_apply, M(put_api_requests, actions_count),
	  M(put_api_requests, actions_fails) },
	{ "PUT", "/logger", API_PRE_BOOT, api_logger_parse, api_logger_apply, M(put_api_requests, logger_count),
	  M(put_api_requests, logger_fails) },
	{ "PUT", "/metrics", API_PRE_BOOT, api_metrics_parse, api_metrics_apply, M(put_api_requests, metrics_count),
	  M(put_api_requests, metrics_fails) },
	{ "GET", "/mmds", API_ANY_STATE, NULL, api_mmds_get_apply, M(get_api_requests, mmds_count), NOM },
	{ "PUT", "/mmds", API_ANY_STATE, NULL, api_mmds_put_apply, M(put_api_requests, mmds_count),
	  M(put_api_requests, mmds_fails) },
	{ "PATCH", "/mmds", API_ANY_STATE, NULL, api_mmds_patch_apply, M(patch_api_requests, mmds_count),
	  M(patch_api_requests, mmds_fails) },
	{ "PUT", "/mmds/config", API_PRE_BOOT, api_mmds_config_parse, api_mmds_config_apply,
	  M(put_api_requests, mmds_count), M(put_api_requests, mmds_fails) },
	{ "PATCH", "/vm", API_POST_BOOT, api_vm_state_parse, api_vm_state_apply, NOM, NOM },
	{ "GET", "/vm/config", API_ANY_STATE, NULL, api_vm_config_apply, NOM, NOM },
	{ "PUT", "/snapshot/create", API_POST_BOOT, api_snapshot_create_parse, api_snapshot_create_apply, NOM, NOM },
	{ "PUT", "/snapshot/load", API_PRE_BOOT, api_snapshot_load_parse, api_snapshot_load_apply, NOM, NOM },
};
const size_t api_routes_count = ARRAY_SIZE(api_routes);

void api_fault(struct api_action *a, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_response_fault(&a->resp, 400, msg);
}

void api_ok_json(struct api_action *a, json_t *value)
{
	http_response_body(&a->resp, 200, value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL);
	json_decref(value);
}

void api_no_content(struct api_action *a)
{
	http_response_no_content(&a->resp);
}

int api_check_id(struct api_action *a, const char *id)
{
	size_t pos;

	if (!id || !*id) {
		api_fault(a, "The ID cannot be empty.");
		return -EINVAL;
	}
	if (id_resource_check(id, &pos) < 0) {
		api_fault(a, "API Resource IDs can only contain alphanumeric characters and underscores.");
		return -EINVAL;
	}
	return 0;
}

int api_check_body_id(struct api_action *a, const char *body_id)
{
	if (api_check_id(a, body_id) < 0)
		return -EINVAL;
	if (!a->id || strcmp(a->id, body_id) != 0) {
		api_fault(a, "The id from the path does not match the id from the body!");
		return -EINVAL;
	}
	return 0;
}

int api_match_body_id(struct api_action *a, api_body_id_fn body_id)
{
	const char *id = NULL;
	char err[512];

	if (body_id(a->body, &id, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	if (!a->id || strcmp(id, a->id) != 0) {
		api_fault(a, "The id from the path does not match the id from the body!");
		return -EINVAL;
	}
	return 0;
}

/* Parses a request body: any JSON value, duplicate keys refused (serde does). */
static json_t *body_parse(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

	if (!v)
		json_field_error(err, errlen, "%s at line %d column %d", jerr.text, jerr.line, jerr.column);
	return v;
}

int api_unprovided_parse(struct api_action *a)
{
	api_fault(a, "This build of ember does not provide %s.", a->route->unprovided);
	return -EOPNOTSUPP;
}

/* Matches path against a route pattern segment by segment; "{id}" takes one
 * segment (possibly empty), stored at *ret_id as an offset into path. */
static bool path_match(const char *pattern, const char *path, size_t path_len, size_t *ret_id_off,
		       size_t *ret_id_len)
{
	const char *p = pattern, *s = path, *end = path + path_len;

	while (*p && s <= end) {
		if (strncmp(p, "{id}", 4) == 0) {
			const char *slash = memchr(s, '/', (size_t)(end - s));
			const char *seg_end = slash ? slash : end;
			*ret_id_off = (size_t)(s - path);
			*ret_id_len = (size_t)(seg_end - s);
			s = seg_end;
			p += 4;
			continue;
		}
		if (s == end || *p != *s)
			return false;
		p++;
		s++;
	}
	return !*p && s == end;
}

static const struct api_route *route_find_in(const struct api_route *routes, size_t n, const char *method,
					     const char *path, size_t len, size_t *ret_id_off, size_t *ret_id_len)
{
	for (size_t i = 0; i < n; i++)
		if (path_match(routes[i].path, path, len, ret_id_off, ret_id_len) && strcmp(routes[i].method, method) == 0)
			return &routes[i];
	return NULL;
}

/* The device kinds' rows, then the table's. */
static const struct api_route *route_find(const char *method, const char *path, size_t len, size_t *ret_id_off,
					  size_t *ret_id_len)
{
	const struct api_route *r = NULL;

	for (size_t k = 0; !r && k < device_kinds_count; k++)
		r = route_find_in(device_kinds[k]->routes, device_kinds[k]->routes_count, method, path, len, ret_id_off,
				  ret_id_len);
	return r ? r : route_find_in(api_routes, api_routes_count, method, path, len, ret_id_off, ret_id_len);
}

static bool method_known(const char *method)
{
	return api_method_find(method) != NULL;
}

/* Firecracker's checks before routing: method, body presence. */
static int check_generic(struct api_action *a, const char *method, bool has_body)
{
	if (!method_known(method)) {
		http_response_transport_error(&a->resp, 400, "Invalid HTTP Method: Unsupported HTTP method.");
		return -EINVAL;
	}
	if (!strcmp(method, "GET") && has_body) {
		api_fault(a, "GET request cannot have a body.");
		return -EINVAL;
	}
	if (!strcmp(method, "PUT") && !has_body) {
		api_fault(a, "Empty PUT request.");
		return -EINVAL;
	}
	return 0;
}

/* Firecracker's PATCH needs a body, except where the route says not
 * (/balloon/hinting/start and /stop). */
static int check_patch_body(struct api_action *a, const char *method, bool has_body)
{
	if (strcmp(method, "PATCH") != 0 || has_body || (a->route && a->route->body_optional))
		return 0;
	api_fault(a, "Empty PATCH request.");
	return -EINVAL;
}

static void invalid_path(struct api_action *a, const char *method, const char *path, size_t len)
{
	const char *seg = len > 0 && path[0] == '/' ? path + 1 : path;
	const char *slash = memchr(seg, '/', len - (size_t)(seg - path));
	int seg_len = (int)(slash ? slash - seg : (ptrdiff_t)(len - (size_t)(seg - path)));

	api_fault(a, "Invalid request method and/or path: %s %.*s.", method, seg_len > 128 ? 128 : seg_len, seg);
}

static int route_and_parse(struct api_action *a, const char *method, const char *path, const char *body,
			   size_t body_len)
{
	size_t len = strlen(path), id_off = 0, id_len = 0;
	bool has_body = body && body_len > 0;
	char err[1024];

	if (check_generic(a, method, has_body) < 0)
		return -EINVAL;
	a->route = route_find(method, path, len, &id_off, &id_len);
	if (!a->route && len > 1 && path[len - 1] == '/') /* "/vm/" names "/vm"; "/drives/" an empty id */
		a->route = route_find(method, path, --len, &id_off, &id_len);
	if (check_patch_body(a, method, has_body) < 0)
		return -EINVAL;
	if (!a->route) {
		invalid_path(a, method, path, len);
		return -EINVAL;
	}
	a->states = a->route->states;
	if (strstr(a->route->path, "{id}")) {
		a->id = strndup(path + id_off, id_len);
		if (!a->id || api_check_id(a, a->id) < 0)
			return -EINVAL;
	}
	if (a->route->unprovided)
		return a->route->parse(a);
	if (has_body) {
		a->body = body_parse(body, body_len, err, sizeof(err));
		if (!a->body) {
			api_fault(a, "%s", err);
			return -EINVAL;
		}
	}
	return a->route->parse ? a->route->parse(a) : 0;
}

struct api_action *api_route_request(const char *method, const char *path, const char *body, size_t body_len)
{
	struct api_action *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (route_and_parse(a, method, path, body, body_len) < 0 && a->resp.status == 0)
		api_fault(a, "Out of memory.");
	return a;
}

bool api_action_pending(const struct api_action *a)
{
	return a->resp.status == 0;
}

void api_action_count(const struct api_action *a)
{
	if (!a->route)
		return;
	api_metrics_count(a->route->count_metric);
	if (a->resp.status >= 400)
		api_metrics_count(a->route->fail_metric);
	if (a->resp.deprecation)
		api_metrics_count_deprecated();
}

struct api_action *api_action_free(struct api_action *a)
{
	if (!a)
		return NULL;
	if (a->payload && a->free_payload)
		a->free_payload(a->payload);
	json_decref(a->body);
	free((char *)a->id);
	http_response_clear(&a->resp);
	return mfree(a);
}
