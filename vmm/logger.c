/* Logger configuration: see logger.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/fields.h"
#include "cleanup.h"
#include "logger.h"

/* What was last applied, for GET /vm/config. Written on the vmm thread only. */
static struct {
	bool configured;
	char *log_path;
	bool show_level;
	bool show_log_origin;
} applied;

void logger_config_clear(struct logger_config *cfg)
{
	free(cfg->log_path);
	*cfg = (struct logger_config){ 0 };
}

int logger_config_from_json(const json_t *body, struct logger_config *ret, char *err, size_t errlen)
{
	struct logger_config c = { 0 };
	_cleanup_free_ char *level = NULL, *module = NULL;
	const struct field_spec specs[] = {
		{ "log_path", FIELD_STRING, .dst = &c.log_path },
		{ "level", FIELD_STRING, .dst = &level },
		{ "show_level", FIELD_BOOL, .dst = &c.show_level, .ret_present = &c.has_show_level },
		{ "show_log_origin", FIELD_BOOL, .dst = &c.show_log_origin, .ret_present = &c.has_show_log_origin },
		{ "module", FIELD_STRING, .dst = &module },
	};
	int r = fields_decode(body, "struct LoggerConfig", specs, ARRAY_SIZE(specs), err, errlen);

	if (r < 0)
		return r;
	if (level) {
		if (log_level_parse(level, &c.level) < 0) {
			snprintf(err, errlen, FIELDS_ERR_PREFIX "unknown variant `%.32s`, expected one of `Error`, "
				 "`Warning`, `Info`, `Debug`, `Trace`, `Off` for field `level`.", level);
			logger_config_clear(&c);
			return -EINVAL;
		}
		c.has_level = true;
	}
	if (module) {
		snprintf(err, errlen, "Logger error: this build does not provide per-module log filtering (`module`).");
		logger_config_clear(&c);
		return -EINVAL;
	}
	*ret = c;
	return 0;
}

int logger_apply(const struct logger_config *cfg, char *err, size_t errlen)
{
	int fd = -1;
	char *path_copy = NULL;

	if (cfg->log_path) {
		fd = open(cfg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0 && errno == ENXIO) /* a FIFO with no reader yet: hold it open ourselves */
			fd = open(cfg->log_path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			snprintf(err, errlen, "Logger error: Failed to open target file: %s: %s", cfg->log_path,
				 strerror(errno));
			return -errno;
		}
		path_copy = strdup(cfg->log_path);
		if (!path_copy) {
			close(fd);
			snprintf(err, errlen, "Logger error: Out of memory.");
			return -ENOMEM;
		}
		log_set_fd(fd);
		free(applied.log_path);
		applied.log_path = path_copy;
	}
	if (cfg->has_level)
		log_set_level(cfg->level);
	if (cfg->has_show_level) {
		log_set_show_level(cfg->show_level);
		applied.show_level = cfg->show_level;
	}
	if (cfg->has_show_log_origin) {
		log_set_show_origin(cfg->show_log_origin);
		applied.show_log_origin = cfg->show_log_origin;
	}
	applied.configured = true;
	return 0;
}

json_t *logger_config_to_json(void)
{
	json_t *o;

	if (!applied.configured)
		return NULL;
	o = json_pack("{s:s,s:b,s:b}", "level", log_level_name(log_get_level()), "show_level", applied.show_level,
		      "show_log_origin", applied.show_log_origin);
	if (o && applied.log_path)
		json_object_set_new(o, "log_path", json_string(applied.log_path));
	return o;
}
