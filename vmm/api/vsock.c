/* PUT /vsock (before boot), through the shared validator in config/vsock.h.
 * The host-side socket is bound here, on the vmm thread, so a bad uds_path
 * fails the request. */
#include <errno.h>

#include "api/resources.h"
#include "config/vsock.h"

void api_vsock_put_apply(struct api_controller *c, struct api_action *a)
{
	struct vsock_config v;
	char err[1024];

	if (vsock_config_parse(a->body, &v, err, sizeof(err)) < 0 ||
	    vsock_slot_put(&c->config->vsock, &v, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	api_no_content(a);
	/* vsock_id is deprecated in Firecracker: accepted, flagged and counted. */
	a->resp.deprecation = v.has_vsock_id;
}
