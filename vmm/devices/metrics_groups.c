/* See metrics_groups.h. */
#include "metrics_groups.h"

#include "metrics.h"
#include "kind.h"
#include "virtio/mmio.h"

/* Firecracker's groups that no device kind of ember owns: the field lists of
 * tools/firecracker-metrics-fields.py's output at v1.16.1. Nothing counts
 * into them; they are declared so that the line has them. (The groups of
 * kinds this build does not have yet are in absent.c, with their kinds.) */

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

METRICS_COUNTERS(rtc_metrics, RTC_METRICS);
METRICS_GROUP(rtc_metrics, "rtc", RTC_METRICS);
METRICS_COUNTERS(vhost_user_block_metrics, VHOST_USER_BLOCK_METRICS);
METRICS_GROUP(vhost_user_block_metrics, "vhost_user_block", VHOST_USER_BLOCK_METRICS);

void devices_metrics_declare(void)
{
	/* The transport's interrupts, and the groups Firecracker writes on aarch64 or
	 * for vhost-user, which ember keeps. */
	static const struct metrics_group *const others[] = {
		&interrupt_metrics_group, &rtc_metrics_group, &vhost_user_block_metrics_group,
	};

	/* -ENOSPC cannot happen: METRICS_GROUPS_MAX has room for every kind. */
	for (size_t i = 0; i < device_kinds_count; i++)
		if (device_kinds[i]->metrics_group)
			(void)metrics_declare(device_kinds[i]->metrics_group);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		(void)metrics_declare(others[i]);
}
