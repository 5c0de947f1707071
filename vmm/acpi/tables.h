/* Internal to vmm/acpi: the table writers acpi_build() (build.c) calls.
 * Each writes one table at buf (room for cap bytes), laid out for guest
 * address addr, and returns its length, or -E2BIG when it does not fit,
 * -EINVAL/-ENOMEM from the AML encoder. Checksums are filled in. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "acpi.h"

#define ACPI_SDT_HEADER_LEN 36u
#define ACPI_RSDP_LEN 36u

/* The standard header (§5.2.6) with ember's OEM id; length and checksum
 * are set by acpi_sdt_finish(). */
void acpi_sdt_header(uint8_t *buf, const char signature[4], uint8_t revision, const char oem_table_id[8]);
/* Sets the header's length to len and its checksum over len bytes. */
void acpi_sdt_finish(uint8_t *buf, size_t len);

void acpi_put16(uint8_t *p, uint16_t v);
void acpi_put32(uint8_t *p, uint32_t v);
void acpi_put64(uint8_t *p, uint64_t v);

int acpi_rsdp_write(uint8_t *buf, size_t cap, uint64_t xsdt_addr);
int acpi_xsdt_write(uint8_t *buf, size_t cap, const uint64_t *entries, unsigned n);
int acpi_fadt_write(uint8_t *buf, size_t cap, uint64_t dsdt_addr);
int acpi_madt_write(uint8_t *buf, size_t cap, const struct acpi_machine *m);
int acpi_dsdt_write(uint8_t *buf, size_t cap, const struct acpi_machine *m);
