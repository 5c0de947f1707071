/* Logger configuration (PUT /logger, --log-path and friends) on top of
 * common/log.h, which owns the line format, levels and rate limiting. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "metrics.h"

struct logger_config {
	char *log_path;        /* NULL: keep the current sink (stdout by default) */
	enum log_level level;
	bool has_level;
	bool show_level;
	bool has_show_level;
	bool show_log_origin;
	bool has_show_log_origin;
};

/* Validates a PUT /logger body into *ret (the caller clears it with
 * logger_config_clear). -EINVAL with Firecracker's message in err. */
int logger_config_from_json(const json_t *body, struct logger_config *ret, char *err, size_t errlen);
/* Opens log_path (file or FIFO, O_NONBLOCK|O_APPEND|O_CLOEXEC, created 0600)
 * and applies the settings. -errno with "Logger error: ..." in err; nothing
 * changes on error. */
int logger_apply(const struct logger_config *cfg, char *err, size_t errlen);
void logger_config_clear(struct logger_config *cfg);

struct event_loop;
/* Arms a one-second timer on the vmm loop that writes the summaries of
 * rate-limited sites whose window has ended (log_ratelimit_flush), so a site
 * that went quiet still reports what it suppressed. 0 or -errno. */
int logger_attach_loop(struct event_loop *loop);
/* Disarms and closes it; harmless when not attached. */
void logger_detach_loop(struct event_loop *loop);

/* The metrics group "logger": lines the log and the metrics sinks lost,
 * log lines the rate limiter dropped. Each sink keeps its own totals (the
 * log's are shared with the jailer); the group copies them at every flush. */
extern const struct metrics_group logger_metrics_group;
