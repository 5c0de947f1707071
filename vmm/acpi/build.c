/* acpi_build(): the tables in one image from LAYOUT_ACPI_RSDP, in the
 * order each one's address is known before a table that points at it:
 *
 *   RSDP (fixed, 16-byte aligned, where Linux's BIOS-area scan looks),
 *   DSDT, FADT (-> DSDT), MADT, XSDT (-> FADT, MADT), then the RSDP's
 *   pointer to the XSDT; each table on a 16-byte boundary. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "core/memory.h"
#include "tables.h"

#define ACPI_IMAGE_MAX (LAYOUT_ACPI_END - LAYOUT_ACPI_RSDP)
#define ACPI_ALIGN 16u

struct acpi_builder {
	uint8_t *buf;
	size_t pos;
	struct acpi_table_ref *table;
};

static size_t align_up(size_t v)
{
	return (v + ACPI_ALIGN - 1) & ~(size_t)(ACPI_ALIGN - 1);
}

/* Places the table that write() produces at the next aligned offset. */
static int acpi_place(struct acpi_builder *b, enum acpi_table_index idx, const char *sig, int len)
{
	if (len < 0)
		return len;
	memcpy(b->table[idx].signature, sig, 4);
	b->table[idx].signature[4] = 0;
	b->table[idx].addr = LAYOUT_ACPI_RSDP + b->pos;
	b->table[idx].len = (size_t)len;
	b->pos = align_up(b->pos + (size_t)len);
	return 0;
}

static size_t acpi_room(const struct acpi_builder *b)
{
	return b->pos < ACPI_IMAGE_MAX ? ACPI_IMAGE_MAX - b->pos : 0;
}

static int acpi_build_tables(struct acpi_builder *b, const struct acpi_machine *m)
{
	uint64_t entries[2];
	int r;

	b->pos = align_up(ACPI_RSDP_LEN);
	r = acpi_place(b, ACPI_DSDT, "DSDT", acpi_dsdt_write(b->buf + b->pos, acpi_room(b), m));
	if (r >= 0)
		r = acpi_place(b, ACPI_FACP, "FACP",
			       acpi_fadt_write(b->buf + b->pos, acpi_room(b), b->table[ACPI_DSDT].addr));
	if (r >= 0)
		r = acpi_place(b, ACPI_APIC, "APIC", acpi_madt_write(b->buf + b->pos, acpi_room(b), m));
	if (r < 0)
		return r;
	entries[0] = b->table[ACPI_FACP].addr;
	entries[1] = b->table[ACPI_APIC].addr;
	r = acpi_place(b, ACPI_XSDT, "XSDT", acpi_xsdt_write(b->buf + b->pos, acpi_room(b), entries, 2));
	if (r < 0)
		return r;
	b->table[ACPI_RSDP] = (struct acpi_table_ref){ .signature = "RSDP", .addr = LAYOUT_ACPI_RSDP,
						       .len = ACPI_RSDP_LEN };
	return acpi_rsdp_write(b->buf, ACPI_RSDP_LEN, b->table[ACPI_XSDT].addr);
}

int acpi_build(const struct acpi_machine *m, struct acpi_image *ret)
{
	struct acpi_image img = { 0 };
	struct acpi_builder b = { .table = img.table };
	int r;

	if (m->vcpu_count == 0 || m->vcpu_count > ACPI_MAX_VCPUS)
		return -EINVAL;
	b.buf = calloc(1, ACPI_IMAGE_MAX);
	if (!b.buf)
		return -ENOMEM;
	r = acpi_build_tables(&b, m);
	if (r < 0) {
		free(b.buf);
		return r;
	}
	img.buf = b.buf;
	img.len = b.pos;
	*ret = img;
	return 0;
}

void acpi_image_free(struct acpi_image *img)
{
	free(img->buf);
	*img = (struct acpi_image){ 0 };
}

int acpi_write(const struct guest_memory *mem, const struct acpi_image *img)
{
	return guest_memory_write(mem, LAYOUT_ACPI_RSDP, img->buf, img->len);
}
