/* Firecracker's metrics: one JSON object per line on a file or FIFO.
 *
 *   {"utc_timestamp_ms":1700000000000,"api_server":{...},"block":{...},...}
 *
 * Every group Firecracker emits is always present (device groups stay zero
 * until the devices exist). Counters are monotonic in memory and written as
 * deltas since the previous flush; "store" metrics (latencies, start-up time)
 * are written as they are. Any thread may count (atomics, no lock); flushing
 * is serialised. Lines are flushed every 60 s (metrics_attach_loop), on
 * FlushMetrics, after InstanceStart and at exit (metrics_flush_at_exit). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_loop;

/* X(group, name, is_store) */
#define METRICS_LIST(X)                                                                            \
	X(api_server, process_startup_time_us, 1)                                                  \
	X(api_server, process_startup_time_cpu_us, 1)                                              \
	X(api_server, sync_response_fails, 0)                                                      \
	X(api_server, sync_vmm_send_timeout_count, 0)                                              \
	X(balloon, activate_fails, 0)                                                              \
	X(balloon, inflate_count, 0)                                                               \
	X(balloon, stats_updates_count, 0)                                                         \
	X(balloon, stats_update_fails, 0)                                                          \
	X(balloon, deflate_count, 0)                                                               \
	X(balloon, event_fails, 0)                                                                 \
	X(block, activate_fails, 0)                                                                \
	X(block, cfg_fails, 0)                                                                     \
	X(block, no_avail_buffer, 0)                                                               \
	X(block, event_fails, 0)                                                                   \
	X(block, execute_fails, 0)                                                                 \
	X(block, invalid_reqs_count, 0)                                                            \
	X(block, flush_count, 0)                                                                   \
	X(block, queue_event_count, 0)                                                             \
	X(block, rate_limiter_event_count, 0)                                                      \
	X(block, update_count, 0)                                                                  \
	X(block, update_fails, 0)                                                                  \
	X(block, read_bytes, 0)                                                                    \
	X(block, write_bytes, 0)                                                                   \
	X(block, read_count, 0)                                                                    \
	X(block, write_count, 0)                                                                   \
	X(block, rate_limiter_throttled_events, 0)                                                 \
	X(block, io_engine_throttled_events, 0)                                                    \
	X(deprecated_api, deprecated_http_api_calls, 0)                                            \
	X(deprecated_api, deprecated_cmd_line_api_calls, 0)                                        \
	X(entropy, activate_fails, 0)                                                              \
	X(entropy, entropy_event_fails, 0)                                                         \
	X(entropy, entropy_event_count, 0)                                                         \
	X(entropy, entropy_bytes, 0)                                                               \
	X(entropy, host_rng_fails, 0)                                                              \
	X(entropy, entropy_rate_limiter_throttled, 0)                                              \
	X(entropy, rate_limiter_event_count, 0)                                                    \
	X(get_api_requests, instance_info_count, 0)                                                \
	X(get_api_requests, machine_cfg_count, 0)                                                  \
	X(get_api_requests, mmds_count, 0)                                                         \
	X(get_api_requests, vmm_version_count, 0)                                                  \
	X(get_api_requests, hotplug_memory_count, 0)                                               \
	X(i8042, error_count, 0)                                                                   \
	X(i8042, missed_read_count, 0)                                                             \
	X(i8042, missed_write_count, 0)                                                            \
	X(i8042, read_count, 0)                                                                    \
	X(i8042, reset_count, 0)                                                                   \
	X(i8042, write_count, 0)                                                                   \
	X(latencies_us, full_create_snapshot, 1)                                                   \
	X(latencies_us, diff_create_snapshot, 1)                                                   \
	X(latencies_us, load_snapshot, 1)                                                          \
	X(latencies_us, pause_vm, 1)                                                               \
	X(latencies_us, resume_vm, 1)                                                              \
	X(latencies_us, vmm_full_create_snapshot, 1)                                               \
	X(latencies_us, vmm_diff_create_snapshot, 1)                                               \
	X(latencies_us, vmm_load_snapshot, 1)                                                      \
	X(latencies_us, vmm_pause_vm, 1)                                                           \
	X(latencies_us, vmm_resume_vm, 1)                                                          \
	X(logger, missed_metrics_count, 0)                                                         \
	X(logger, metrics_fails, 0)                                                                \
	X(logger, missed_log_count, 0)                                                             \
	X(logger, rate_limited_log_count, 0)                                                       \
	X(mmds, rx_accepted, 0)                                                                    \
	X(mmds, rx_accepted_err, 0)                                                                \
	X(mmds, rx_accepted_unusual, 0)                                                            \
	X(mmds, rx_bad_eth, 0)                                                                     \
	X(mmds, rx_invalid_token, 0)                                                               \
	X(mmds, rx_no_token, 0)                                                                    \
	X(mmds, rx_count, 0)                                                                       \
	X(mmds, tx_bytes, 0)                                                                       \
	X(mmds, tx_count, 0)                                                                       \
	X(mmds, tx_errors, 0)                                                                      \
	X(mmds, tx_frames, 0)                                                                      \
	X(mmds, connections_created, 0)                                                            \
	X(mmds, connections_destroyed, 0)                                                          \
	X(net, activate_fails, 0)                                                                  \
	X(net, cfg_fails, 0)                                                                       \
	X(net, mac_address_updates, 0)                                                             \
	X(net, no_rx_avail_buffer, 0)                                                              \
	X(net, no_tx_avail_buffer, 0)                                                              \
	X(net, event_fails, 0)                                                                     \
	X(net, rx_queue_event_count, 0)                                                            \
	X(net, rx_event_rate_limiter_count, 0)                                                     \
	X(net, rx_tap_event_count, 0)                                                              \
	X(net, rx_bytes_count, 0)                                                                  \
	X(net, rx_packets_count, 0)                                                                \
	X(net, rx_fails, 0)                                                                        \
	X(net, rx_count, 0)                                                                        \
	X(net, tap_read_fails, 0)                                                                  \
	X(net, tap_write_fails, 0)                                                                 \
	X(net, tx_bytes_count, 0)                                                                  \
	X(net, tx_malformed_frames, 0)                                                             \
	X(net, tx_fails, 0)                                                                        \
	X(net, tx_count, 0)                                                                        \
	X(net, tx_packets_count, 0)                                                                \
	X(net, tx_queue_event_count, 0)                                                            \
	X(net, tx_rate_limiter_event_count, 0)                                                     \
	X(net, tx_spoofed_mac_count, 0)                                                            \
	X(net, rx_rate_limiter_throttled, 0)                                                       \
	X(net, tx_rate_limiter_throttled, 0)                                                       \
	X(patch_api_requests, drive_count, 0)                                                      \
	X(patch_api_requests, drive_fails, 0)                                                      \
	X(patch_api_requests, network_count, 0)                                                    \
	X(patch_api_requests, network_fails, 0)                                                    \
	X(patch_api_requests, machine_cfg_count, 0)                                                \
	X(patch_api_requests, machine_cfg_fails, 0)                                                \
	X(patch_api_requests, mmds_count, 0)                                                       \
	X(patch_api_requests, mmds_fails, 0)                                                       \
	X(patch_api_requests, hotplug_memory_count, 0)                                             \
	X(patch_api_requests, hotplug_memory_fails, 0)                                             \
	X(put_api_requests, actions_count, 0)                                                      \
	X(put_api_requests, actions_fails, 0)                                                      \
	X(put_api_requests, boot_source_count, 0)                                                  \
	X(put_api_requests, boot_source_fails, 0)                                                  \
	X(put_api_requests, drive_count, 0)                                                        \
	X(put_api_requests, drive_fails, 0)                                                        \
	X(put_api_requests, logger_count, 0)                                                       \
	X(put_api_requests, logger_fails, 0)                                                       \
	X(put_api_requests, machine_cfg_count, 0)                                                  \
	X(put_api_requests, machine_cfg_fails, 0)                                                  \
	X(put_api_requests, cpu_cfg_count, 0)                                                      \
	X(put_api_requests, cpu_cfg_fails, 0)                                                      \
	X(put_api_requests, metrics_count, 0)                                                      \
	X(put_api_requests, metrics_fails, 0)                                                      \
	X(put_api_requests, network_count, 0)                                                      \
	X(put_api_requests, network_fails, 0)                                                      \
	X(put_api_requests, mmds_count, 0)                                                         \
	X(put_api_requests, mmds_fails, 0)                                                         \
	X(put_api_requests, vsock_count, 0)                                                        \
	X(put_api_requests, vsock_fails, 0)                                                        \
	X(put_api_requests, pmem_count, 0)                                                         \
	X(put_api_requests, pmem_fails, 0)                                                         \
	X(put_api_requests, serial_count, 0)                                                       \
	X(put_api_requests, serial_fails, 0)                                                       \
	X(put_api_requests, hotplug_memory_count, 0)                                               \
	X(put_api_requests, hotplug_memory_fails, 0)                                               \
	X(rtc, error_count, 0)                                                                     \
	X(rtc, missed_read_count, 0)                                                               \
	X(rtc, missed_write_count, 0)                                                              \
	X(seccomp, num_faults, 1)                                                                  \
	X(signals, sigbus, 0)                                                                      \
	X(signals, sigsegv, 0)                                                                     \
	X(signals, sigxfsz, 0)                                                                     \
	X(signals, sigxcpu, 0)                                                                     \
	X(signals, sigpipe, 0)                                                                     \
	X(signals, sighup, 0)                                                                      \
	X(signals, sigill, 0)                                                                      \
	X(uart, error_count, 0)                                                                    \
	X(uart, flush_count, 0)                                                                    \
	X(uart, missed_read_count, 0)                                                              \
	X(uart, missed_write_count, 0)                                                             \
	X(uart, read_count, 0)                                                                     \
	X(uart, write_count, 0)                                                                    \
	X(uart, rate_limiter_dropped_bytes, 0)                                                     \
	X(vcpu, exit_io_in, 0)                                                                     \
	X(vcpu, exit_io_out, 0)                                                                    \
	X(vcpu, exit_mmio_read, 0)                                                                 \
	X(vcpu, exit_mmio_write, 0)                                                                \
	X(vcpu, failures, 0)                                                                       \
	X(vcpu, kvmclock_ctrl_fails, 0)                                                            \
	X(vhost_user_block, activate_fails, 0)                                                     \
	X(vhost_user_block, cfg_fails, 0)                                                          \
	X(vhost_user_block, init_time_us, 1)                                                       \
	X(vhost_user_block, activate_time_us, 1)                                                   \
	X(vhost_user_block, config_change_time_us, 1)                                              \
	X(vmm, panic_count, 1)                                                                     \
	X(vsock, activate_fails, 0)                                                                \
	X(vsock, cfg_fails, 0)                                                                     \
	X(vsock, rx_queue_event_fails, 0)                                                          \
	X(vsock, tx_queue_event_fails, 0)                                                          \
	X(vsock, ev_queue_event_fails, 0)                                                          \
	X(vsock, muxer_event_fails, 0)                                                             \
	X(vsock, conn_event_fails, 0)                                                              \
	X(vsock, rx_queue_event_count, 0)                                                          \
	X(vsock, tx_queue_event_count, 0)                                                          \
	X(vsock, rx_bytes_count, 0)                                                                \
	X(vsock, tx_bytes_count, 0)                                                                \
	X(vsock, rx_packets_count, 0)                                                              \
	X(vsock, tx_packets_count, 0)                                                              \
	X(vsock, conns_added, 0)                                                                   \
	X(vsock, conns_killed, 0)                                                                  \
	X(vsock, conns_removed, 0)                                                                 \
	X(vsock, killq_resync, 0)                                                                  \
	X(vsock, tx_flush_fails, 0)                                                                \
	X(vsock, tx_write_fails, 0)                                                                \
	X(vsock, rx_read_fails, 0)                                                                 \
	X(memory_hotplug, activate_fails, 0)                                                       \
	X(memory_hotplug, queue_event_fails, 0)                                                    \
	X(memory_hotplug, queue_event_count, 0)                                                    \
	X(pmem, activate_fails, 0)                                                                 \
	X(pmem, cfg_fails, 0)                                                                      \
	X(pmem, event_fails, 0)                                                                    \
	X(pmem, queue_event_count, 0)

#define METRIC_ID(group, name, store) METRIC_##group##_##name,
enum metric_id { METRICS_LIST(METRIC_ID) METRIC__COUNT };
#undef METRIC_ID

/* Counting, from any thread. */
void metrics_add(enum metric_id id, uint64_t n);
#define metrics_inc(id) metrics_add((id), 1)
/* Sets a store metric (or a counter's running total). */
void metrics_set(enum metric_id id, uint64_t value);
uint64_t metrics_get(enum metric_id id);

/* Validates a PUT /metrics body (or the config file's "metrics" key): the
 * required metrics_path, and emit_id / properties, which this build accepts
 * only when off or empty. 0 with a heap copy of the path in *ret_path (the
 * caller frees it), or -EINVAL / -EOPNOTSUPP / -ENOMEM with the fault in err. */
int metrics_config_from_json(const json_t *j, char **ret_path, char *err, size_t errlen);

/* Opens the sink (file or FIFO, O_NONBLOCK|O_CLOEXEC, created 0600 when
 * absent). Only once per process: -EALREADY the second time; -errno when the
 * path cannot be opened. */
int metrics_init(const char *path);
bool metrics_configured(void);
/* Writes one line when a sink is configured (0 otherwise). Returns 0 or -errno;
 * a lost line is counted in logger.missed_metrics_count. */
int metrics_flush(void);
/* Arms the 60-second periodic flush on the vmm loop. 0 or -errno. */
int metrics_attach_loop(struct event_loop *loop);
/* For exit paths, including fatal-signal handlers: formats into a static
 * buffer with no allocation and skips the flush if another one is running. */
void metrics_flush_at_exit(void);
/* Renders the current line (without consuming deltas) for tests; the caller frees it. */
char *metrics_render(void);
/* Closes the sink and forgets counters (tests only). */
void metrics_reset(void);

/* Per-device groups (`block_<id>`, `net_<id>`): a device registers its own
 * counters, nfields consecutive uint64_t at values that it updates with
 * relaxed atomics, named by fields (not copied: static storage). They are
 * written after the fixed groups, as deltas like the other counters. At most
 * METRICS_DEVICE_GROUPS at once. The device unregisters before its counters
 * go away; what it counted since the last flush is still written once. Register
 * returns a handle >= 0, or -ENOSPC/-EINVAL. */
#define METRICS_DEVICE_GROUPS 32
#define METRICS_GROUP_NAME_MAX 80
int metrics_register_group(const char *name, const char *const *fields, unsigned nfields, const uint64_t *values);
void metrics_unregister_group(int handle);
