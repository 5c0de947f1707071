/* The `mmds` metrics group, Firecracker's fields in its order
 * (test/data/firecracker-metrics.txt): the guest-side MMDS counts into one
 * struct mmds_metrics for all interfaces, on the vmm thread. */
#pragma once

#include "metrics.h"

#define MMDS_METRICS(X)                                                                            \
	X(rx_accepted, METRICS_COUNTER)           /* frames the detour took off the TX path */    \
	X(rx_accepted_err, METRICS_COUNTER)       /* ... that were malformed */                   \
	X(rx_accepted_unusual, METRICS_COUNTER)   /* ... not TCP, or IPv4 features not served */  \
	X(rx_bad_eth, METRICS_COUNTER)            /* frames shorter than an Ethernet header */    \
	X(rx_invalid_token, METRICS_COUNTER)                                                       \
	X(rx_no_token, METRICS_COUNTER)                                                            \
	X(rx_count, METRICS_COUNTER)              /* TCP segments the endpoint took */            \
	X(tx_bytes, METRICS_COUNTER)                                                               \
	X(tx_count, METRICS_COUNTER)              /* frames the stack wrote */                    \
	X(tx_errors, METRICS_COUNTER)                                                              \
	X(tx_frames, METRICS_COUNTER)             /* frames delivered to the guest */             \
	X(connections_created, METRICS_COUNTER)                                                    \
	X(connections_destroyed, METRICS_COUNTER)

METRICS_COUNTERS(mmds_metrics, MMDS_METRICS);
/* Registered by mmds/guest.c at start-up (mmds_guest_new). */
extern const struct metrics_group mmds_metrics_group;
