/* The API's metrics groups: see counters.h. */
#include "api/counters.h"

/* Firecracker writes api_server.sync_* no more; ember keeps them, at zero
 * (test/data/firecracker-metrics.txt, "ember keeps"). */
#define API_SERVER_METRICS(X)                                                                      \
	X(process_startup_time_us, METRICS_STORE)                                                  \
	X(process_startup_time_cpu_us, METRICS_STORE)                                              \
	X(sync_response_fails, METRICS_COUNTER)                                                    \
	X(sync_vmm_send_timeout_count, METRICS_COUNTER)

/* deprecated_cmd_line_api_calls: no command-line option of ember is deprecated. */
#define DEPRECATED_API_METRICS(X)                                                                  \
	X(deprecated_http_api_calls, METRICS_COUNTER)                                              \
	X(deprecated_cmd_line_api_calls, METRICS_COUNTER)

/* Pause, resume, loads and both kinds of snapshot are timed. */
#define LATENCIES_US_METRICS(X)                                                                    \
	X(full_create_snapshot, METRICS_STORE)                                                     \
	X(diff_create_snapshot, METRICS_STORE)                                                     \
	X(load_snapshot, METRICS_STORE)                                                            \
	X(pause_vm, METRICS_STORE)                                                                 \
	X(resume_vm, METRICS_STORE)                                                                \
	X(vmm_full_create_snapshot, METRICS_STORE)                                                 \
	X(vmm_diff_create_snapshot, METRICS_STORE)                                                 \
	X(vmm_load_snapshot, METRICS_STORE)                                                        \
	X(vmm_pause_vm, METRICS_STORE)                                                             \
	X(vmm_resume_vm, METRICS_STORE)

METRICS_COUNTERS(api_server_metrics, API_SERVER_METRICS);
METRICS_PROCESS_GROUP(api_server_metrics, "api_server", API_SERVER_METRICS, NULL);
METRICS_COUNTERS(deprecated_api_metrics, DEPRECATED_API_METRICS);
METRICS_PROCESS_GROUP(deprecated_api_metrics, "deprecated_api", DEPRECATED_API_METRICS, NULL);
METRICS_COUNTERS(latencies_us_metrics, LATENCIES_US_METRICS);
METRICS_PROCESS_GROUP(latencies_us_metrics, "latencies_us", LATENCIES_US_METRICS, NULL);

static struct api_request_metrics requests;
METRICS_GROUP_(get_api_requests_metrics, "get_api_requests", GET_API_REQUESTS_METRICS,
	       &requests.get_api_requests, NULL);
METRICS_GROUP_(put_api_requests_metrics, "put_api_requests", PUT_API_REQUESTS_METRICS,
	       &requests.put_api_requests, NULL);
METRICS_GROUP_(patch_api_requests_metrics, "patch_api_requests", PATCH_API_REQUESTS_METRICS,
	       &requests.patch_api_requests, NULL);

void api_metrics_count(unsigned short metric)
{
	uint64_t *counters = (uint64_t *)&requests;

	/* The api thread counts what it answered itself, the vmm thread the rest. */
	if (metric < sizeof(requests) / sizeof(uint64_t))
		metrics_add_shared(counters[metric], 1);
}

void api_metrics_count_deprecated(void)
{
	metrics_add_shared(deprecated_api_metrics.deprecated_http_api_calls, 1);
}

void api_metrics_latency(enum api_latency which, uint64_t us)
{
	uint64_t *slots[] = {
		[API_LATENCY_PAUSE_VM] = &latencies_us_metrics.pause_vm,
		[API_LATENCY_RESUME_VM] = &latencies_us_metrics.resume_vm,
		[API_LATENCY_FULL_CREATE_SNAPSHOT] = &latencies_us_metrics.full_create_snapshot,
		[API_LATENCY_VMM_FULL_CREATE_SNAPSHOT] = &latencies_us_metrics.vmm_full_create_snapshot,
		[API_LATENCY_DIFF_CREATE_SNAPSHOT] = &latencies_us_metrics.diff_create_snapshot,
		[API_LATENCY_VMM_DIFF_CREATE_SNAPSHOT] = &latencies_us_metrics.vmm_diff_create_snapshot,
		[API_LATENCY_LOAD_SNAPSHOT] = &latencies_us_metrics.load_snapshot,
		[API_LATENCY_VMM_LOAD_SNAPSHOT] = &latencies_us_metrics.vmm_load_snapshot,
	};
	uint64_t *slot = slots[which];

	__atomic_store_n(slot, us, __ATOMIC_RELAXED);
}

void api_metrics_startup(uint64_t us, uint64_t cpu_us)
{
	__atomic_store_n(&api_server_metrics.process_startup_time_us, us, __ATOMIC_RELAXED);
	__atomic_store_n(&api_server_metrics.process_startup_time_cpu_us, cpu_us, __ATOMIC_RELAXED);
}
