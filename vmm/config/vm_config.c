#include "vm_config.h"

#include <stdlib.h>

#include "boot_source.h"

void vm_config_init(struct vm_config *c)
{
	*c = (struct vm_config){ .machine = MACHINE_CONFIG_DEFAULT };
	c->boot.kernel_fd = -1;
	c->boot.initrd_fd = -1;
	c->vsock = (struct vsock_slot)VSOCK_SLOT_INIT;
}

void vm_config_clear(struct vm_config *c)
{
	boot_source_clear(&c->boot);
	drive_set_clear(&c->drives);
	net_set_clear(&c->nets);
	vsock_slot_clear(&c->vsock);
	logger_config_clear(&c->logger);
	c->has_logger = false;
	free(c->metrics_path);
	c->metrics_path = NULL;
	c->mmds = (struct mmds_config){ 0 };
	c->machine = MACHINE_CONFIG_DEFAULT;
}
