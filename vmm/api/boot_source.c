/* PUT /boot-source, through the shared validator (config/boot_source.h). */
#include "api/resources.h"
#include "config/boot_source.h"

/* The validator opens the kernel and initrd, as Firecracker does at PUT
 * time; file access belongs to the vmm thread, so the body is validated there. */
int api_boot_source_put_parse(struct api_action *a)
{
	return 0;
}

void api_boot_source_put_apply(struct api_controller *c, struct api_action *a)
{
	char err[1024];

	if (boot_source_parse(a->body, &c->config->boot, err, sizeof(err)) < 0)
		api_fault(a, "%s", err);
	else
		api_no_content(a);
}
