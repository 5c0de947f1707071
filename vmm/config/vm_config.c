#include "vm_config.h"

#include <stdlib.h>

#include "boot_source.h"
#include "devices/kind.h"

void vm_config_init(struct vm_config *c)
{
	*c = (struct vm_config){ .machine = MACHINE_CONFIG_DEFAULT };
	c->boot.kernel_fd = -1;
	c->boot.initrd_fd = -1;
}

static void vm_config_slots_clear(struct vm_config *c)
{
	for (size_t i = 0; i < device_kinds_count; i++) {
		if (!c->slot[i])
			continue;
		if (device_kinds[i]->slot_clear)
			device_kinds[i]->slot_clear(c->slot[i]);
		free(c->slot[i]);
		c->slot[i] = NULL;
	}
}

void vm_config_clear(struct vm_config *c)
{
	boot_source_clear(&c->boot);
	vm_config_slots_clear(c);
	logger_config_clear(&c->logger);
	c->has_logger = false;
	metrics_config_clear(&c->metrics);
	c->mmds = (struct mmds_config){ 0 };
	c->machine = MACHINE_CONFIG_DEFAULT;
	free(c->cpu_config);
	c->cpu_config = NULL;
}

static int vm_config_slot_index(const struct device_kind *k)
{
	for (size_t i = 0; i < device_kinds_count; i++)
		if (device_kinds[i] == k)
			return k->slot_size ? (int)i : -1;
	return -1;
}

const void *vm_config_slot(const struct vm_config *c, const struct device_kind *k)
{
	int i = vm_config_slot_index(k);

	return i < 0 ? NULL : c->slot[i];
}

void *vm_config_slot_get(struct vm_config *c, const struct device_kind *k)
{
	int i = vm_config_slot_index(k);

	if (i < 0)
		return NULL;
	if (!c->slot[i]) {
		c->slot[i] = calloc(1, k->slot_size);
		if (c->slot[i] && k->slot_init)
			k->slot_init(c->slot[i]);
	}
	return c->slot[i];
}

void vm_config_slot_move(struct vm_config *dst, struct vm_config *src, const struct device_kind *k)
{
	int i = vm_config_slot_index(k);

	if (i < 0 || !src->slot[i])
		return;
	if (dst->slot[i]) {
		if (k->slot_clear)
			k->slot_clear(dst->slot[i]);
		free(dst->slot[i]);
	}
	dst->slot[i] = src->slot[i];
	src->slot[i] = NULL;
}
