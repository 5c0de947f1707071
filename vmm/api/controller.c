/* The vmm-thread side of the API: see controller.h. */
#include <stdlib.h>
#include <string.h>

#include "api/controller.h"
#include "api/router.h"
#include "log.h"

/* Firecracker's rule for PUT /snapshot/load: it is refused once a
 * pre-boot resource that shapes the VM was accepted. These pre-boot calls
 * shape nothing the snapshot brings and may come first (the Go SDK sets
 * the logger and metrics before loading). */
static const char *const load_compatible[] = { "/logger", "/metrics", "/serial", "/cpu-config", "/snapshot/load" };

static bool shapes_boot(const struct api_action *a)
{
	if (a->route->states != API_PRE_BOOT || a->resp.status >= 300 || !strcmp(a->route->method, "GET"))
		return false;
	for (size_t i = 0; i < sizeof(load_compatible) / sizeof(load_compatible[0]); i++)
		if (!strcmp(a->route->path, load_compatible[i]))
			return false;
	return true;
}

void api_controller_handle(struct api_controller *c, struct api_action *a)
{
	unsigned state = 1u << c->state;

	if (!(a->states & state)) {
		api_fault(a, "%s", c->state == VM_NOT_STARTED ? API_FAULT_NOT_STARTED : API_FAULT_STARTED);
	} else {
		a->route->apply(c, a);
		if (a->resp.status == 0) /* a handler that forgot to answer is a bug; never leave the client hanging */
			http_response_fault(&a->resp, 500, "Internal error: the request produced no response.");
		if (shapes_boot(a))
			c->boot_configured = true;
	}
	/* Firecracker flags a deprecated request while parsing it, so even its
	 * refusal ("after starting") carries the header and is counted. */
	if (a->deprecated)
		a->resp.deprecation = true;
}
