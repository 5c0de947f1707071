/* The ACPI power port: the FADT's SLEEP_CONTROL_REG, SLEEP_STATUS_REG and
 * RESET_REG, one byte at LAYOUT_PORT_ACPI_POWER (acpi/acpi.h says what the
 * tables promise; Cloud Hypervisor's AcpiShutdownDevice does the same).
 *
 *   - a byte write with SLP_EN and SLP_TYP = \_S5's (ACPI_SLEEP_S5_WRITE,
 *     what Linux's acpi_hw_extended_sleep() writes) calls on_power_off;
 *   - a byte write of ACPI_RESET_VALUE calls on_reset (reboot=acpi);
 *   - anything else (other values, such as the WAK_STS clear before sleeping,
 *     other widths) is ignored, with a rate-limited debug line;
 *   - reads return 0: no wake status, ever.
 * The callbacks run on the vCPU thread that wrote; they must only request
 * the exit (as the i8042's reset does). */
#pragma once

struct device_env;
struct acpi_power;

struct acpi_power_ops {
	void (*on_power_off)(void *ctx);
	void (*on_reset)(void *ctx);
	void *ctx;
};

/* Claims the port on env->pio_bus. 0 or -errno; the caller owns *ret. */
int acpi_power_create(const struct device_env *env, const struct acpi_power_ops *ops, struct acpi_power **ret);
struct acpi_power *acpi_power_destroy(struct acpi_power *p); /* accepts NULL, returns NULL */
