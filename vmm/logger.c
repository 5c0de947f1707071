/* Logger configuration: see logger.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/json_field.h"
#include "cleanup.h"
#include "core/loop.h"
#include "logger.h"
#include "path_error.h"

#define LOGGER_METRICS(X)                                                                          \
	X(missed_metrics_count, METRICS_COUNTER)                                                   \
	X(metrics_fails, METRICS_COUNTER)                                                          \
	X(missed_log_count, METRICS_COUNTER)                                                       \
	X(rate_limited_log_count, METRICS_COUNTER)
METRICS_COUNTERS(logger_metrics, LOGGER_METRICS);

/* Async-signal-safe: relaxed loads of the sinks' atomic totals. */
static void logger_metrics_pull(void *values)
{
	struct logger_metrics *m = values;

	m->missed_metrics_count = metrics_lost_lines();
	m->metrics_fails = metrics_failed_writes();
	m->missed_log_count = log_missed_count();
	m->rate_limited_log_count = log_rate_limited_count();
}

METRICS_PROCESS_GROUP(logger_metrics, "logger", LOGGER_METRICS, logger_metrics_pull);

void logger_config_clear(struct logger_config *cfg)
{
	free(cfg->log_path);
	*cfg = (struct logger_config){ 0 };
}

static const char *const logger_fields[] = { "log_path", "level", "show_level", "show_log_origin", "module", NULL };

static int logger_level_field(const json_t *body, struct logger_config *c, char *err, size_t errlen)
{
	const char *level = NULL;
	int r = json_field_string(body, "level", false, &level, err, errlen);

	if (r <= 0)
		return r;
	if (log_level_parse(level, &c->level) < 0)
		return json_field_error(err, errlen, "unknown variant `%.32s`, expected one of `Error`, `Warning`, "
					"`Info`, `Debug`, `Trace`, `Off` for field `level`", level);
	c->has_level = true;
	return 0;
}

int logger_config_from_json(const json_t *body, struct logger_config *ret, char *err, size_t errlen)
{
	struct logger_config c = { 0 };
	const char *path = NULL, *module = NULL;
	int r;

	if ((r = json_field_check_object(body, "LoggerConfig", logger_fields, err, errlen)) < 0 ||
	    (r = json_field_string(body, "log_path", false, &path, err, errlen)) < 0 ||
	    (r = logger_level_field(body, &c, err, errlen)) < 0 ||
	    (r = json_field_string(body, "module", false, &module, err, errlen)) < 0)
		return r;
	r = json_field_bool(body, "show_level", false, &c.show_level, err, errlen);
	if (r < 0)
		return r;
	c.has_show_level = r > 0;
	r = json_field_bool(body, "show_log_origin", false, &c.show_log_origin, err, errlen);
	if (r < 0)
		return r;
	c.has_show_log_origin = r > 0;
	if (module) {
		snprintf(err, errlen, "Logger error: this build does not provide per-module log filtering (`module`).");
		return -EINVAL;
	}
	if (path && !(c.log_path = strdup(path))) {
		snprintf(err, errlen, "Logger error: Out of memory.");
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

int logger_apply(const struct logger_config *cfg, char *err, size_t errlen)
{
	int fd = -1;

	if (cfg->log_path) {
		fd = open(cfg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0 && errno == ENXIO) /* a FIFO with no reader yet: hold it open ourselves */
			fd = open(cfg->log_path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			int e = errno;
			char why[PATH_MAX + 160];

			snprintf(err, errlen, "Logger error: Failed to open target file: %s",
				 path_error(why, sizeof(why), cfg->log_path, e));
			return -e;
		}
		log_set_fd(fd);
	}
	if (cfg->has_level)
		log_set_level(cfg->level);
	if (cfg->has_show_level)
		log_set_show_level(cfg->show_level);
	if (cfg->has_show_log_origin)
		log_set_show_origin(cfg->show_log_origin);
	return 0;
}

/* ---- the rate limiter's timer ---- */

static int rl_timer_fd = -1;

static void logger_on_rl_timer(void *ctx, uint32_t events)
{
	uint64_t ticks;

	if (read(rl_timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return; /* logging the failure could itself be suppressed: next tick */
	log_ratelimit_flush(false);
}

int logger_attach_loop(struct event_loop *loop)
{
	/* A tick a second: a summary is at most a second late after its window. */
	int fd = loop_add_timer(loop, 1, logger_on_rl_timer, NULL);

	if (fd < 0)
		return fd;
	rl_timer_fd = fd;
	return 0;
}

void logger_detach_loop(struct event_loop *loop)
{
	if (rl_timer_fd < 0)
		return;
	loop_remove(loop, rl_timer_fd);
	close(rl_timer_fd);
	rl_timer_fd = -1;
}
