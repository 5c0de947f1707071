/* The vmm-thread side of the API: see controller.h. */
#include <stdlib.h>

#include "api/controller.h"
#include "api/router.h"
#include "log.h"

void api_controller_handle(struct api_controller *c, struct api_action *a)
{
	unsigned state = 1u << c->state;

	if (!(a->states & state)) {
		api_fault(a, "%s", c->state == VM_NOT_STARTED ? API_FAULT_NOT_STARTED : API_FAULT_STARTED);
	} else {
		a->route->apply(c, a);
		if (a->resp.status == 0) /* a handler that forgot to answer is a bug; never leave the client hanging */
			http_response_fault(&a->resp, 500, "Internal error: the request produced no response.");
	}
	/* Firecracker flags a deprecated request while parsing it, so even its
	 * refusal ("after starting") carries the header and is counted. */
	if (a->deprecated)
		a->resp.deprecation = true;
}
