/* See acpi_power.h. ACPI 6.5 §4.8.3.7 (sleep control and status registers
 * of hardware-reduced platforms), §4.8.3.6 (reset register). */
#include "acpi_power.h"

#include <errno.h>
#include <stdlib.h>

#include "acpi/acpi.h"
#include "core/bus.h"
#include "core/device_env.h"
#include "core/layout.h"
#include "log.h"

/* The registers are the port's first byte; the claim is a dword wide so a
 * wider access reaches the device and is ignored here, by name, rather than
 * refused by the bus. */
#define ACPI_POWER_PORT_LEN 4u

struct acpi_power {
	struct acpi_power_ops ops;
};

static void acpi_power_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0;
}

static void acpi_power_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct acpi_power *p = dev;

	if (len != 1 || offset != 0) {
		log_rl(LOG_DEBUG, "ACPI power port: ignoring a %u-byte write at 0x%llx", len,
		       (unsigned long long)(LAYOUT_PORT_ACPI_POWER + offset));
		return;
	}
	if (data[0] == ACPI_SLEEP_S5_WRITE)
		p->ops.on_power_off(p->ops.ctx);
	else if (data[0] == ACPI_RESET_VALUE)
		p->ops.on_reset(p->ops.ctx);
	else
		log_rl(LOG_DEBUG, "ACPI power port: ignoring the write 0x%02x (SLP_TYP %u, SLP_EN %u)", data[0],
		       (data[0] & ACPI_SLEEP_TYP_MASK) >> ACPI_SLEEP_TYP_SHIFT, !!(data[0] & ACPI_SLEEP_EN));
}

static const struct bus_ops acpi_power_bus_ops = { .read = acpi_power_read, .write = acpi_power_write };

int acpi_power_create(const struct device_env *env, const struct acpi_power_ops *ops, struct acpi_power **ret)
{
	struct acpi_power *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->ops = *ops;
	r = bus_register(env->pio_bus, LAYOUT_PORT_ACPI_POWER, ACPI_POWER_PORT_LEN, &acpi_power_bus_ops, p);
	if (r < 0) {
		free(p);
		return r;
	}
	*ret = p;
	return 0;
}

struct acpi_power *acpi_power_destroy(struct acpi_power *p)
{
	free(p);
	return NULL;
}
