/* The groups of the metrics line: see metrics_line.h. The one file that
 * names every owner, so that metrics.c names none. */
#include "metrics_line.h"

#include "api/counters.h"
#include "cleanup.h"
#include "core/signals.h"
#include "core/vcpu.h"
#include "devices/metrics_groups.h"
#include "logger.h"
#include "metrics.h"
#include "mmds/guest-metrics.h"
#include "seccomp/install.h"

/* Firecracker's "vmm" group counts Rust panics; ember has none (a fatal
 * signal counts in "signals"), so it stays zero. */
#define VMM_METRICS(X) X(panic_count, METRICS_STORE)
METRICS_COUNTERS(vmm_metrics, VMM_METRICS);
METRICS_PROCESS_GROUP(vmm_metrics, "vmm", VMM_METRICS, NULL);

int metrics_line_declare(void)
{
	static const struct metrics_group *const process[] = {
		&api_server_metrics_group, &deprecated_api_metrics_group, &get_api_requests_metrics_group,
		&latencies_us_metrics_group, &logger_metrics_group, &mmds_metrics_group,
		&patch_api_requests_metrics_group, &put_api_requests_metrics_group, &seccomp_metrics_group,
		&vmm_metrics_group, &signal_metrics_group,
	};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(process); i++) {
		r = metrics_declare(process[i]);
		if (r < 0)
			return r;
	}
	devices_metrics_declare();
	return metrics_declare(&vcpu_metrics_group);
}
