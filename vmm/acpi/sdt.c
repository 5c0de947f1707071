/* The pieces every table shares (§5.2.6 header, checksums) and the two
 * pointer tables: the RSDP (§5.2.5) and the XSDT (§5.2.8). */
#include <errno.h>
#include <string.h>

#include "tables.h"

#define ACPI_CREATOR_ID "EMBR"
#define ACPI_CREATOR_REVISION 1u
#define ACPI_OEM_REVISION 0u
#define ACPI_RSDP_REVISION 2u /* ACPI 2.0+: the XSDT address and the extended checksum */
#define ACPI_XSDT_REVISION 1u

/* Header offsets (Table 5.4). */
#define SDT_LENGTH 4u
#define SDT_REVISION 8u
#define SDT_CHECKSUM 9u
#define SDT_OEM_ID 10u
#define SDT_OEM_TABLE_ID 16u
#define SDT_OEM_REVISION 24u
#define SDT_CREATOR_ID 28u
#define SDT_CREATOR_REVISION 32u

void acpi_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void acpi_put32(uint8_t *p, uint32_t v)
{
	acpi_put16(p, (uint16_t)v);
	acpi_put16(p + 2, (uint16_t)(v >> 16));
}

void acpi_put64(uint8_t *p, uint64_t v)
{
	acpi_put32(p, (uint32_t)v);
	acpi_put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

void acpi_sdt_header(uint8_t *buf, const char signature[4], uint8_t revision, const char oem_table_id[8])
{
	memset(buf, 0, ACPI_SDT_HEADER_LEN);
	memcpy(buf, signature, 4);
	buf[SDT_REVISION] = revision;
	memcpy(buf + SDT_OEM_ID, ACPI_OEM_ID, 6);
	memcpy(buf + SDT_OEM_TABLE_ID, oem_table_id, 8);
	acpi_put32(buf + SDT_OEM_REVISION, ACPI_OEM_REVISION);
	memcpy(buf + SDT_CREATOR_ID, ACPI_CREATOR_ID, 4);
	acpi_put32(buf + SDT_CREATOR_REVISION, ACPI_CREATOR_REVISION);
}

void acpi_sdt_finish(uint8_t *buf, size_t len)
{
	acpi_put32(buf + SDT_LENGTH, (uint32_t)len);
	buf[SDT_CHECKSUM] = 0;
	buf[SDT_CHECKSUM] = acpi_checksum(buf, len);
}

/* Table 5.3: no RSDT (its address 0); Linux and iasl take the XSDT of a
 * revision-2 RSDP. The first checksum covers the ACPI 1.0 part (20 bytes),
 * the extended one all 36. */
int acpi_rsdp_write(uint8_t *buf, size_t cap, uint64_t xsdt_addr)
{
	if (cap < ACPI_RSDP_LEN)
		return -E2BIG;
	memset(buf, 0, ACPI_RSDP_LEN);
	memcpy(buf, "RSD PTR ", 8);
	memcpy(buf + 9, ACPI_OEM_ID, 6);
	buf[15] = ACPI_RSDP_REVISION;
	acpi_put32(buf + 20, ACPI_RSDP_LEN);
	acpi_put64(buf + 24, xsdt_addr);
	buf[8] = acpi_checksum(buf, 20);
	buf[32] = acpi_checksum(buf, ACPI_RSDP_LEN);
	return ACPI_RSDP_LEN;
}

int acpi_xsdt_write(uint8_t *buf, size_t cap, const uint64_t *entries, unsigned n)
{
	size_t len = ACPI_SDT_HEADER_LEN + 8u * n;

	if (cap < len)
		return -E2BIG;
	acpi_sdt_header(buf, "XSDT", ACPI_XSDT_REVISION, "EMBRXSDT");
	for (unsigned i = 0; i < n; i++)
		acpi_put64(buf + ACPI_SDT_HEADER_LEN + 8u * i, entries[i]);
	acpi_sdt_finish(buf, len);
	return (int)len;
}
