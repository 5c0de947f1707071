/* The FADT (ACPI 6.5 §5.2.9, Table 5.9), revision 6.5, hardware-reduced:
 * no PM1/GPE blocks, no SCI, no FACS. What remains is the DSDT's address,
 * the boot flags and three registers at one I/O port: sleep control and
 * sleep status (§4.8.3.7, what a hardware-reduced OS writes to enter S5)
 * and the reset register (§4.8.3.6), which ember's power device serves. */
#include <errno.h>
#include <string.h>

#include "core/layout.h"
#include "tables.h"

#define FADT_LEN 276u
#define FADT_REVISION 6u
#define FADT_MINOR_REVISION 5u

/* Field offsets (Table 5.9). */
#define FADT_IAPC_BOOT_ARCH 109u
#define FADT_FLAGS 112u
#define FADT_RESET_REG 116u
#define FADT_RESET_VALUE 128u
#define FADT_MINOR_VERSION 131u
#define FADT_X_DSDT 140u
#define FADT_SLEEP_CONTROL_REG 244u
#define FADT_SLEEP_STATUS_REG 256u
#define FADT_HYPERVISOR_VENDOR 268u

/* Fixed feature flags (Table 5.10). PWR_BUTTON and SLP_BUTTON set mean
 * "no fixed-feature button", as Firecracker sets them. */
#define FADT_F_PWR_BUTTON (1u << 4)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)

/* IA-PC boot architecture flags (Table 5.11): there is an i8042; there is
 * no VGA, no MSI, no ASPM to control (Firecracker's three), and no CMOS RTC
 * (ember has none at 0x70, so the guest need not probe it). */
#define IAPC_8042 (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_MSI_NOT_PRESENT (1u << 3)
#define IAPC_PCIE_ASPM_CONTROLS (1u << 4)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

/* Generic Address Structure (§5.2.3.2). */
#define GAS_SYSTEM_IO 1u
#define GAS_ACCESS_BYTE 1u

static void fadt_io_byte_register(uint8_t *gas, uint16_t port)
{
	gas[0] = GAS_SYSTEM_IO;
	gas[1] = 8; /* register bit width */
	gas[2] = 0; /* bit offset */
	gas[3] = GAS_ACCESS_BYTE;
	acpi_put64(gas + 4, port);
}

int acpi_fadt_write(uint8_t *buf, size_t cap, uint64_t dsdt_addr)
{
	if (cap < FADT_LEN)
		return -E2BIG;
	memset(buf, 0, FADT_LEN);
	acpi_sdt_header(buf, "FACP", FADT_REVISION, "EMBRFACP");
	acpi_put16(buf + FADT_IAPC_BOOT_ARCH, IAPC_8042 | IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_PRESENT |
						      IAPC_PCIE_ASPM_CONTROLS | IAPC_CMOS_RTC_NOT_PRESENT);
	acpi_put32(buf + FADT_FLAGS,
		   FADT_F_HW_REDUCED_ACPI | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP);
	fadt_io_byte_register(buf + FADT_RESET_REG, LAYOUT_PORT_ACPI_POWER);
	buf[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	buf[FADT_MINOR_VERSION] = FADT_MINOR_REVISION;
	/* X_DSDT only: the 32-bit DSDT field must then be 0 (Table 5.9). */
	acpi_put64(buf + FADT_X_DSDT, dsdt_addr);
	fadt_io_byte_register(buf + FADT_SLEEP_CONTROL_REG, LAYOUT_PORT_ACPI_POWER);
	fadt_io_byte_register(buf + FADT_SLEEP_STATUS_REG, LAYOUT_PORT_ACPI_POWER);
	memcpy(buf + FADT_HYPERVISOR_VENDOR, "EMBERVMM", 8);
	acpi_sdt_finish(buf, FADT_LEN);
	return FADT_LEN;
}
