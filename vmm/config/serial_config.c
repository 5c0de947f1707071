/* See serial_config.h. */
#include "serial_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_field.h"
#include "path_error.h"
#include "rate_limiter.h"

static const char *const serial_fields[] = { "serial_out_path", "rate_limiter", NULL };

int serial_config_parse(const json_t *obj, struct serial_config *ret, char *err, size_t errlen)
{
	struct serial_config c = { 0 };
	const char *path = NULL;
	const json_t *rl;
	bool burst;
	int r = json_field_check_object(obj, "SerialConfig", serial_fields, err, errlen);

	if (r >= 0)
		r = json_field_string(obj, "serial_out_path", false, &path, err, errlen);
	rl = json_object_get(obj, "rate_limiter");
	if (r >= 0 && rl && !json_is_null(rl)) {
		r = token_bucket_spec_parse(rl, &c.rate_limiter, &burst, err, errlen);
		c.has_rate_limiter = r >= 0;
	}
	if (r < 0)
		return r;
	if (path && (!*path || strlen(path) >= PATH_MAX)) {
		snprintf(err, errlen, "Invalid serial_out_path: it must be 1 to %d bytes.", PATH_MAX - 1);
		return -EINVAL;
	}
	if (path && !(c.out_path = strdup(path))) {
		snprintf(err, errlen, "Out of memory.");
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

void serial_config_clear(struct serial_config *c)
{
	free(c->out_path);
	*c = (struct serial_config){ 0 };
}

int serial_out_open(const char *path, char *err, size_t errlen)
{
	char why[PATH_MAX + 160];
	/* O_RDWR as Firecracker: a FIFO opened for writing alone would fail
	 * (ENXIO) without a reader, and with our own read end it never does.
	 * O_NONBLOCK: a full FIFO drops output (uart.missed_write_count)
	 * instead of stalling a vCPU. */
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "Cannot open the serial output serial_out_path %s",
			 path_error(why, sizeof(why), path, errno));
		return -errno;
	}
	return fd;
}

int serial_slot_put(struct serial_slot *s, struct serial_config *c, char *err, size_t errlen)
{
	int fd = -1;

	if (c->out_path) {
		fd = serial_out_open(c->out_path, err, errlen);
		if (fd < 0)
			return fd;
	}
	serial_slot_clear(s);
	s->present = true;
	s->cfg = *c;
	*c = (struct serial_config){ 0 };
	s->out_fd = fd;
	return 0;
}

void serial_slot_clear(struct serial_slot *s)
{
	/* present: a zeroed slot (fd 0) owns nothing */
	if (s->present && s->out_fd >= 0)
		close(s->out_fd);
	if (s->present)
		serial_config_clear(&s->cfg);
	*s = (struct serial_slot)SERIAL_SLOT_INIT;
}

int serial_slot_parse(const json_t *j, struct serial_slot *s, char *err, size_t errlen)
{
	struct serial_config c;
	int r = serial_config_parse(j, &c, err, errlen);

	if (r < 0)
		return r;
	r = serial_slot_put(s, &c, err, errlen);
	if (r < 0)
		serial_config_clear(&c);
	return r;
}

struct token_bucket_config serial_slot_bucket(const struct serial_slot *s)
{
	return s && s->present && s->cfg.has_rate_limiter ? s->cfg.rate_limiter : SERIAL_DEFAULT_BUCKET;
}
