/* The device kinds Firecracker has and this build does not have yet:
 * memory hotplug. Each is a descriptor
 * (devices/kind.h) with no devices: its routes answer "This build of ember
 * does not provide ...", its config file key takes only an empty value (null
 * or [], what GET /vm/config shows for it), and its metrics group is written
 * as zeros, as Firecracker's line has it. A kind that lands takes its
 * absent descriptor's place in manager.c's list and removes it from here,
 * moving the metrics list into its own header. */
#include "api/router.h"
#include "cleanup.h"
#include "devices/kind.h"
#include "metrics.h"

/* The field lists of tools/firecracker-metrics-fields.py's output at v1.16.1. */

#define MEMORY_HOTPLUG_METRICS(X)                                                                  \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(queue_event_fails, METRICS_COUNTER)                                                      \
	X(queue_event_count, METRICS_COUNTER)                                                      \
	X(plug_agg__min_us, METRICS_MIN)                                                           \
	X(plug_agg__max_us, METRICS_MAX)                                                           \
	X(plug_agg__sum_us, METRICS_COUNTER)                                                       \
	X(plug_count, METRICS_COUNTER)                                                             \
	X(plug_bytes, METRICS_COUNTER)                                                             \
	X(plug_fails, METRICS_COUNTER)                                                             \
	X(unplug_agg__min_us, METRICS_MIN)                                                         \
	X(unplug_agg__max_us, METRICS_MAX)                                                         \
	X(unplug_agg__sum_us, METRICS_COUNTER)                                                     \
	X(unplug_count, METRICS_COUNTER)                                                           \
	X(unplug_bytes, METRICS_COUNTER)                                                           \
	X(unplug_fails, METRICS_COUNTER)                                                           \
	X(unplug_discard_fails, METRICS_COUNTER)                                                   \
	X(unplug_all_agg__min_us, METRICS_MIN)                                                     \
	X(unplug_all_agg__max_us, METRICS_MAX)                                                     \
	X(unplug_all_agg__sum_us, METRICS_COUNTER)                                                 \
	X(unplug_all_count, METRICS_COUNTER)                                                       \
	X(unplug_all_fails, METRICS_COUNTER)                                                       \
	X(state_agg__min_us, METRICS_MIN)                                                          \
	X(state_agg__max_us, METRICS_MAX)                                                          \
	X(state_agg__sum_us, METRICS_COUNTER)                                                      \
	X(state_count, METRICS_COUNTER)                                                            \
	X(state_fails, METRICS_COUNTER)

METRICS_COUNTERS(memory_hotplug_metrics, MEMORY_HOTPLUG_METRICS);
METRICS_GROUP(memory_hotplug_metrics, "memory_hotplug", MEMORY_HOTPLUG_METRICS);

#define HOTPLUG "memory hot-plugging (/hotplug/memory)"
static const struct api_route memory_hotplug_routes[] = {
	API_ROUTE_UNPROVIDED("PUT", "/hotplug/memory", HOTPLUG),
	API_ROUTE_UNPROVIDED("PATCH", "/hotplug/memory", HOTPLUG),
	API_ROUTE_UNPROVIDED("GET", "/hotplug/memory", HOTPLUG),
};

const struct device_kind memory_hotplug_absent_kind = {
	.name = "memory hotplug",
	.config_key = "memory-hotplug",
	.unprovided = "memory hotplug",
	.metrics_group = &memory_hotplug_metrics_group,
	.routes = memory_hotplug_routes,
	.routes_count = ARRAY_SIZE(memory_hotplug_routes),
};
