/* PUT /logger: validated on the api thread, applied on the vmm thread. */
#include <stdlib.h>

#include "api/resources.h"
#include "logger.h"

static void logger_payload_free(void *p)
{
	logger_config_clear(p);
	free(p);
}

int api_logger_parse(struct api_action *a)
{
	struct logger_config *cfg = calloc(1, sizeof(*cfg));
	char err[512];

	if (!cfg)
		return -ENOMEM;
	if (logger_config_from_json(a->body, cfg, err, sizeof(err)) < 0) {
		free(cfg);
		api_fault(a, "%s", err);
		return -EINVAL;
	}
	a->payload = cfg;
	a->free_payload = logger_payload_free;
	return 0;
}

void api_logger_apply(struct api_controller *c, struct api_action *a)
{
	char err[512];

	if (logger_apply(a->payload, err, sizeof(err)) < 0)
		api_fault(a, "%s", err);
	else
		api_no_content(a);
}
