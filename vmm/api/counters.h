/* The API's metrics groups, which this module owns: requests per route
 * (get_api_requests, put_api_requests, patch_api_requests), deprecated calls
 * (deprecated_api), the start-up times (api_server) and the latencies of
 * pause and resume (latencies_us). The counters are private to counters.c;
 * the router names a route's counter with API_METRIC(group, field), and
 * vmm.c declares the groups (metrics.h). Counting is safe from any thread. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define GET_API_REQUESTS_METRICS(X)                                                                \
	X(instance_info_count, METRICS_COUNTER)                                                    \
	X(machine_cfg_count, METRICS_COUNTER)                                                      \
	X(mmds_count, METRICS_COUNTER)                                                             \
	X(vmm_version_count, METRICS_COUNTER)                                                      \
	X(hotplug_memory_count, METRICS_COUNTER)

#define PUT_API_REQUESTS_METRICS(X)                                                                \
	X(actions_count, METRICS_COUNTER)                                                          \
	X(actions_fails, METRICS_COUNTER)                                                          \
	X(boot_source_count, METRICS_COUNTER)                                                      \
	X(boot_source_fails, METRICS_COUNTER)                                                      \
	X(drive_count, METRICS_COUNTER)                                                            \
	X(drive_fails, METRICS_COUNTER)                                                            \
	X(logger_count, METRICS_COUNTER)                                                           \
	X(logger_fails, METRICS_COUNTER)                                                           \
	X(machine_cfg_count, METRICS_COUNTER)                                                      \
	X(machine_cfg_fails, METRICS_COUNTER)                                                      \
	X(cpu_cfg_count, METRICS_COUNTER)                                                          \
	X(cpu_cfg_fails, METRICS_COUNTER)                                                          \
	X(metrics_count, METRICS_COUNTER)                                                          \
	X(metrics_fails, METRICS_COUNTER)                                                          \
	X(network_count, METRICS_COUNTER)                                                          \
	X(network_fails, METRICS_COUNTER)                                                          \
	X(mmds_count, METRICS_COUNTER)                                                             \
	X(mmds_fails, METRICS_COUNTER)                                                             \
	X(vsock_count, METRICS_COUNTER)                                                            \
	X(vsock_fails, METRICS_COUNTER)                                                            \
	X(pmem_count, METRICS_COUNTER)                                                             \
	X(pmem_fails, METRICS_COUNTER)                                                             \
	X(serial_count, METRICS_COUNTER)                                                           \
	X(serial_fails, METRICS_COUNTER)                                                           \
	X(hotplug_memory_count, METRICS_COUNTER)                                                   \
	X(hotplug_memory_fails, METRICS_COUNTER)

#define PATCH_API_REQUESTS_METRICS(X)                                                              \
	X(drive_count, METRICS_COUNTER)                                                            \
	X(drive_fails, METRICS_COUNTER)                                                            \
	X(network_count, METRICS_COUNTER)                                                          \
	X(network_fails, METRICS_COUNTER)                                                          \
	X(machine_cfg_count, METRICS_COUNTER)                                                      \
	X(machine_cfg_fails, METRICS_COUNTER)                                                      \
	X(mmds_count, METRICS_COUNTER)                                                             \
	X(mmds_fails, METRICS_COUNTER)                                                             \
	X(hotplug_memory_count, METRICS_COUNTER)                                                   \
	X(hotplug_memory_fails, METRICS_COUNTER)                                                   \
	X(pmem_count, METRICS_COUNTER)                                                             \
	X(pmem_fails, METRICS_COUNTER)

METRICS_COUNTERS(get_api_requests_metrics, GET_API_REQUESTS_METRICS);
METRICS_COUNTERS(put_api_requests_metrics, PUT_API_REQUESTS_METRICS);
METRICS_COUNTERS(patch_api_requests_metrics, PATCH_API_REQUESTS_METRICS);

/* The request counters in one block, so that a route row names one by index. */
struct api_request_metrics {
	struct get_api_requests_metrics get_api_requests;
	struct put_api_requests_metrics put_api_requests;
	struct patch_api_requests_metrics patch_api_requests;
};

/* A route's counter, API_METRIC(put_api_requests, drive_count); API_NO_METRIC: none. */
#define API_METRIC(group, field) ((unsigned short)(offsetof(struct api_request_metrics, group.field) / sizeof(uint64_t)))
#define API_NO_METRIC ((unsigned short)0xffff)

/* Counts one request in a route's counter; API_NO_METRIC is ignored. */
void api_metrics_count(unsigned short metric);
/* Counts a call of a deprecated endpoint or field (deprecated_http_api_calls). */
void api_metrics_count_deprecated(void);

enum api_latency {
	API_LATENCY_PAUSE_VM,
	API_LATENCY_RESUME_VM,
	API_LATENCY_FULL_CREATE_SNAPSHOT,     /* the request, as the API thread sees it */
	API_LATENCY_VMM_FULL_CREATE_SNAPSHOT, /* the vmm thread's work */
	API_LATENCY_DIFF_CREATE_SNAPSHOT,
	API_LATENCY_VMM_DIFF_CREATE_SNAPSHOT,
	API_LATENCY_LOAD_SNAPSHOT,
	API_LATENCY_VMM_LOAD_SNAPSHOT,
};
/* Records how long an action took (latencies_us, a store: the last one). */
void api_metrics_latency(enum api_latency which, uint64_t us);
/* Records the process's start-up time, wall and CPU (api_server). */
void api_metrics_startup(uint64_t us, uint64_t cpu_us);

extern const struct metrics_group api_server_metrics_group;
extern const struct metrics_group deprecated_api_metrics_group;
extern const struct metrics_group get_api_requests_metrics_group;
extern const struct metrics_group latencies_us_metrics_group;
extern const struct metrics_group patch_api_requests_metrics_group;
extern const struct metrics_group put_api_requests_metrics_group;
