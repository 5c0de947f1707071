/* PUT /drives/{id} (before boot) and PATCH /drives/{id} (after boot), through
 * the shared validator in config/drive.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/resources.h"
#include "config/drive.h"
#include "config/json_field.h"

/* Api thread: the path id must be valid and equal the body's drive_id. The
 * full validation opens files, which belongs to the vmm thread. */
int api_drive_parse(struct api_action *a)
{
	const char *body_id = NULL;
	char err[512];

	if (drive_body_id(a->body, &body_id, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	if (strcmp(body_id, a->id) != 0) {
		api_fault(a, "The id from the path does not match the id from the body!");
		return -EINVAL;
	}
	return 0;
}

void api_drive_put_apply(struct api_controller *c, struct api_action *a)
{
	struct drive_config d;
	char err[1024];

	if (drive_config_parse(a->body, &d, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (drive_set_put(&c->config->drives, &d, err, sizeof(err)) < 0) {
		drive_config_clear(&d);
		api_fault(a, "%s", err);
		return;
	}
	api_no_content(a);
}

/* After a successful PATCH the configuration follows, so GET /vm/config
 * shows the drive as it now is. */
static void api_drive_record(struct drive_config *d, struct drive_update *u)
{
	if (u->path_on_host) {
		free(d->path_on_host);
		d->path_on_host = u->path_on_host;
		u->path_on_host = NULL;
		close(d->fd);
		d->fd = u->fd;
		u->fd = -1;
	}
	for (unsigned i = 0; u->rate_limiter.present && i < RATE_LIMITER_KINDS; i++) {
		if (!u->rate_limiter.bucket_present[i])
			continue; /* left out of the PATCH: unchanged */
		d->rate_limiter.present = true;
		d->rate_limiter.bucket_present[i] = true;
		d->rate_limiter.burst_present[i] = u->rate_limiter.burst_present[i];
		d->rate_limiter.cfg.bucket[i] = u->rate_limiter.cfg.bucket[i];
	}
}

void api_drive_patch_apply(struct api_controller *c, struct api_action *a)
{
	int i = drive_set_find(&c->config->drives, a->id);
	struct drive_update u;
	char err[1024] = "";

	if (i < 0) {
		api_fault(a, DRIVE_ERR_PATCH "no drive with id `%s` exists.", a->id);
		return;
	}
	if (drive_update_parse(a->body, c->config->drives.drive[i].is_read_only, &u, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (!c->ops || !c->ops->update_drive) {
		api_fault(a, DRIVE_ERR_PATCH "this build cannot update a running drive.");
	} else if (c->ops->update_drive(c->ops_ctx, &u, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
	} else {
		api_drive_record(&c->config->drives.drive[i], &u);
		api_no_content(a);
	}
	drive_update_clear(&u);
}
