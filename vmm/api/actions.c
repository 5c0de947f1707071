/* PUT /actions: InstanceStart (pre-boot), FlushMetrics and SendCtrlAltDel (post-boot). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/resources.h"
#include "config/json_field.h"
#include "log.h"

enum action_type { ACTION_INSTANCE_START, ACTION_FLUSH_METRICS, ACTION_SEND_CTRL_ALT_DEL };

static const char *const action_names[] = { "InstanceStart", "FlushMetrics", "SendCtrlAltDel", NULL };
static const char *const action_fields[] = { "action_type", NULL };

int api_actions_parse(struct api_action *a)
{
	char err[512];
	int type = 0;

	if (json_field_check_object(a->body, "ActionBody", action_fields, err, sizeof(err)) < 0 ||
	    json_field_enum(a->body, "action_type", true, action_names, &type, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	a->kind = type;
	a->states = type == ACTION_INSTANCE_START ? API_PRE_BOOT : API_POST_BOOT;
	return 0;
}

static void action_start(struct api_controller *c, struct api_action *a)
{
	char err[512] = "";
	int r = c->ops && c->ops->start ? c->ops->start(c->ops_ctx, err, sizeof(err)) : -ENOSYS;

	if (r < 0) {
		api_fault(a, "%s", err[0] ? err : "Start microvm error: this build has no VM to start.");
		return;
	}
	c->state = VM_RUNNING;
	/* Firecracker writes a metrics line right after the start. */
	metrics_flush();
	api_no_content(a);
}

static void action_hook(struct api_action *a, int (*hook)(void *, char *, size_t), void *ctx, const char *what)
{
	char err[512] = "";
	int r = hook ? hook(ctx, err, sizeof(err)) : -ENOSYS;

	if (r < 0)
		api_fault(a, "%s", err[0] ? err : what);
	else
		api_no_content(a);
}

void api_actions_apply(struct api_controller *c, struct api_action *a)
{
	switch (a->kind) {
	case ACTION_INSTANCE_START:
		action_start(c, a);
		return;
	case ACTION_FLUSH_METRICS:
		if (metrics_flush() < 0)
			api_fault(a, "Failed to flush metrics: the metrics line could not be written.");
		else
			api_no_content(a);
		return;
	case ACTION_SEND_CTRL_ALT_DEL:
		action_hook(a, c->ops ? c->ops->ctrl_alt_del : NULL, c->ops_ctx,
			    "This build has no i8042 device to send Ctrl-Alt-Del to.");
		return;
	}
}
