/* See metrics_groups.h. */
#include "metrics_groups.h"

#include "legacy/i8042.h"
#include "legacy/serial.h"
#include "metrics.h"
#include "virtio/block.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/vsock.h"

/* Firecracker's groups for devices ember does not have yet: the field lists
 * of tools/firecracker-metrics-fields.py's output at v1.16.1. Nothing counts
 * into them; they are declared so that the line has them. */

#define BALLOON_METRICS(X)                                                                         \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(inflate_count, METRICS_COUNTER)                                                          \
	X(stats_updates_count, METRICS_COUNTER)                                                    \
	X(stats_update_fails, METRICS_COUNTER)                                                     \
	X(deflate_count, METRICS_COUNTER)                                                          \
	X(event_fails, METRICS_COUNTER)                                                            \
	X(free_page_report_count, METRICS_COUNTER)                                                 \
	X(free_page_report_freed, METRICS_COUNTER)                                                 \
	X(free_page_report_fails, METRICS_COUNTER)                                                 \
	X(free_page_hint_count, METRICS_COUNTER)                                                   \
	X(free_page_hint_freed, METRICS_COUNTER)                                                   \
	X(free_page_hint_fails, METRICS_COUNTER)

#define ENTROPY_METRICS(X)                                                                         \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(entropy_event_fails, METRICS_COUNTER)                                                    \
	X(entropy_event_count, METRICS_COUNTER)                                                    \
	X(entropy_bytes, METRICS_COUNTER)                                                          \
	X(host_rng_fails, METRICS_COUNTER)                                                         \
	X(entropy_rate_limiter_throttled, METRICS_COUNTER)                                         \
	X(rate_limiter_event_count, METRICS_COUNTER)

#define PMEM_METRICS(X)                                                                            \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(cfg_fails, METRICS_COUNTER)                                                              \
	X(event_fails, METRICS_COUNTER)                                                            \
	X(queue_event_count, METRICS_COUNTER)                                                      \
	X(rate_limiter_throttled_events, METRICS_COUNTER)                                          \
	X(rate_limiter_event_count, METRICS_COUNTER)

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

#define RTC_METRICS(X)                                                                             \
	X(error_count, METRICS_COUNTER)                                                            \
	X(missed_read_count, METRICS_COUNTER)                                                      \
	X(missed_write_count, METRICS_COUNTER)

#define VHOST_USER_BLOCK_METRICS(X)                                                                \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(cfg_fails, METRICS_COUNTER)                                                              \
	X(init_time_us, METRICS_STORE)                                                             \
	X(activate_time_us, METRICS_STORE)                                                         \
	X(config_change_time_us, METRICS_STORE)
METRICS_COUNTERS(balloon_metrics, BALLOON_METRICS);
METRICS_GROUP(balloon_metrics, "balloon", BALLOON_METRICS);
METRICS_COUNTERS(entropy_metrics, ENTROPY_METRICS);
METRICS_GROUP(entropy_metrics, "entropy", ENTROPY_METRICS);
METRICS_COUNTERS(pmem_metrics, PMEM_METRICS);
METRICS_GROUP(pmem_metrics, "pmem", PMEM_METRICS);
METRICS_COUNTERS(memory_hotplug_metrics, MEMORY_HOTPLUG_METRICS);
METRICS_GROUP(memory_hotplug_metrics, "memory_hotplug", MEMORY_HOTPLUG_METRICS);
METRICS_COUNTERS(rtc_metrics, RTC_METRICS);
METRICS_GROUP(rtc_metrics, "rtc", RTC_METRICS);
METRICS_COUNTERS(vhost_user_block_metrics, VHOST_USER_BLOCK_METRICS);
METRICS_GROUP(vhost_user_block_metrics, "vhost_user_block", VHOST_USER_BLOCK_METRICS);

void devices_metrics_declare(void)
{
	static const struct metrics_group *const kinds[] = {
		&block_metrics_group, &uart_metrics_group, &i8042_metrics_group, &interrupt_metrics_group,
		&net_metrics_group, &vsock_metrics_group, &balloon_metrics_group, &entropy_metrics_group,
		&pmem_metrics_group, &memory_hotplug_metrics_group, &rtc_metrics_group, &vhost_user_block_metrics_group,
	};

	/* -ENOSPC cannot happen: METRICS_GROUPS_MAX has room for every kind. */
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		(void)metrics_declare(kinds[i]);
}
