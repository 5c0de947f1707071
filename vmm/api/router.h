/* The API's one routing table and the actions it produces.
 *
 * A route names a method, a path (a "{id}" segment matches a resource id), the
 * VM states it is allowed in, and two handlers: parse runs on the api thread
 * and validates the body into the action's payload (or answers at once: errors,
 * and requests that need no VM state); apply runs on the vmm thread. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/controller.h"
#include "api/response.h"
#include "api/counters.h"

struct api_action;

struct api_route {
	const char *method;
	const char *path;            /* "/drives/{id}" */
	unsigned states;             /* API_PRE_BOOT, API_POST_BOOT, API_ANY_STATE */
	/* Api thread. Returns 0 or -errno. An action whose resp it filled (an
	 * error, or an answer that needs no VM state) never reaches the vmm thread. */
	int (*parse)(struct api_action *a);
	/* Vmm thread, after the state check; fills a->resp. */
	void (*apply)(struct api_controller *c, struct api_action *a);
	unsigned short count_metric; /* API_METRIC(group, field), or API_NO_METRIC */
	unsigned short fail_metric;
	const char *unprovided;      /* for capabilities this build does not have */
	bool body_optional;          /* a PATCH that may come without a body (/balloon/hinting/start) */
};

struct api_action {
	const struct api_route *route;
	unsigned states;             /* starts as route->states; parse may narrow it */
	const char *id;              /* the {id} segment, when the route has one */
	json_t *body;                /* parsed body, NULL for none */
	void *payload;               /* validated resource, owned via free_payload */
	void (*free_payload)(void *payload);
	int kind;                    /* route-specific sub-action (actions.c) */
	bool deprecated;             /* set by parse: the answer carries Deprecation whatever its outcome */
	struct http_response resp;
	struct api_action *next;     /* hand-off queue link */
};

/* Builds an action for a request (api thread). Always returns an action
 * (NULL only on ENOMEM); when resp.status is already set, the request was
 * answered during parsing and needs no vmm-thread work. */
struct api_action *api_route_request(const char *method, const char *path, const char *body, size_t body_len);
/* Accepts NULL; returns NULL. */
struct api_action *api_action_free(struct api_action *a);
/* True when the action must go to the vmm thread. */
bool api_action_pending(const struct api_action *a);
/* Counts the request in the route's metrics after it was answered. */
void api_action_count(const struct api_action *a);

/* Helpers for resource handlers. */
void api_fault(struct api_action *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void api_ok_json(struct api_action *a, json_t *value); /* takes value; 200 */
void api_no_content(struct api_action *a);
/* Validates a path or body id: non-empty, [A-Za-z0-9_]+. 0 or -EINVAL with a->resp set. */
int api_check_id(struct api_action *a, const char *id);

/* For resources with a path id (/drives/{id}): the body's id field (e.g.
 * "drive_id") must be present and equal the path id. 0, or -EINVAL with
 * a->resp set to Firecracker's fault. */
int api_check_body_id(struct api_action *a, const char *body_id);
/* The same where the kind's own reader validates the body's id with its
 * texts (drive_body_id, pmem_body_id): its error, else the path match. */
typedef int (*api_body_id_fn)(const json_t *body, const char **ret, char *err, size_t errlen);
int api_match_body_id(struct api_action *a, api_body_id_fn body_id);

/* A capability this build does not provide: its parse answers at once. */
int api_unprovided_parse(struct api_action *a);
#define API_ROUTE_UNPROVIDED(m, p, what)                                                            \
	{ .method = m, .path = p, .states = API_ANY_STATE, .parse = api_unprovided_parse,           \
	  .count_metric = API_NO_METRIC, .fail_metric = API_NO_METRIC, .unprovided = what }

/* The hand-wired table (resources that are not a device kind's); a device
 * kind's rows are in its descriptor (devices/kind.h). */
extern const struct api_route api_routes[];
extern const size_t api_routes_count;
