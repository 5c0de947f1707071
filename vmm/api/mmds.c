/* GET, PUT and PATCH /mmds: the data store (guest access comes with the net device). */
#include <errno.h>
#include <string.h>

#include "api/resources.h"
#include "mmds/store.h"

void api_mmds_get_apply(struct api_controller *c, struct api_action *a)
{
	/* Before boot the store reads as {}; after it, Firecracker reports a store
	 * nobody ever filled as not initialized. */
	if (c->state != VM_NOT_STARTED && !mmds_store_initialized(c->mmds)) {
		api_fault(a, MMDS_FAULT_NOT_INITIALIZED);
		return;
	}
	http_response_body(&a->resp, 200, mmds_store_dump(c->mmds));
}

static void mmds_answer(struct api_action *a, int r)
{
	if (r == -EFBIG)
		http_response_fault(&a->resp, 413, MMDS_FAULT_TOO_LARGE);
	else if (r == -ENODATA)
		api_fault(a, MMDS_FAULT_NOT_INITIALIZED);
	else if (r < 0)
		api_fault(a, "MMDS error: %s.", strerror(-r));
	else
		api_no_content(a);
}

void api_mmds_put_apply(struct api_controller *c, struct api_action *a)
{
	mmds_answer(a, mmds_store_put(c->mmds, a->body));
}

void api_mmds_patch_apply(struct api_controller *c, struct api_action *a)
{
	mmds_answer(a, mmds_store_patch(c->mmds, a->body));
}
