/* The table builder for the largest machine (32 vCPUs, 17 virtio devices
 * and the GED's two GSIs)
 * and smaller ones: every table's signature, length and checksum, the
 * pointers between them, the FADT's flags and registers, the MADT against
 * the MP table ember keeps writing, the DSDT's virtio devices against
 * the windows it was given, and its VGEN, VCLK and GED. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "acpi/acpi.h"
#include "core/boot/mptable.h"
#include "core/device_env.h"
#include "core/layout.h"
#include "core/memory.h"
#include "devices/virtio/virtio.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

struct machine {
	struct acpi_mmio_window win[ACPI_MAX_VIRTIO];
	struct acpi_machine m;
	struct acpi_image img;
};

/* The windows from the transport's own slot function, as the manager plans them. */
static void build(struct machine *x, unsigned vcpus, unsigned devices, bool pic)
{
	for (unsigned i = 0; i < devices; i++) {
		struct device_window w;

		assert_int_equal(virtio_transport_window(i, &w), 0);
		x->win[i] = (struct acpi_mmio_window){ .base = w.base, .size = w.size, .gsi = w.irq };
	}
	x->m = (struct acpi_machine){ .vcpu_count = vcpus, .ioapic_id = MPTABLE_IOAPIC_ID(vcpus), .pic = pic,
				      .nr_virtio = devices, .virtio = x->win,
				      .vmgenid_gsi = LAYOUT_VIRTIO_IRQ_FIRST + devices,
				      .vmclock_gsi = LAYOUT_VIRTIO_IRQ_FIRST + devices + 1 };
	assert_int_equal(acpi_build(&x->m, &x->img), 0);
}

static const uint8_t *table(const struct machine *x, enum acpi_table_index i)
{
	assert_true(x->img.table[i].addr >= LAYOUT_ACPI_RSDP);
	assert_true(x->img.table[i].addr + x->img.table[i].len <= LAYOUT_ACPI_RSDP + x->img.len);
	return x->img.buf + (x->img.table[i].addr - LAYOUT_ACPI_RSDP);
}

static void check_sdt(const struct machine *x, enum acpi_table_index i, const char *sig)
{
	const uint8_t *t = table(x, i);

	assert_memory_equal(t, sig, 4);
	assert_int_equal(rd32(t + 4), x->img.table[i].len);
	assert_int_equal(sum(t, x->img.table[i].len), 0);
	assert_memory_equal(t + 10, "EMBER ", 6);
	assert_int_equal(x->img.table[i].addr % 16, 0);
}

static void check_rsdp(const struct machine *x)
{
	const uint8_t *r = table(x, ACPI_RSDP);

	assert_int_equal(x->img.table[ACPI_RSDP].addr, LAYOUT_ACPI_RSDP);
	/* Linux's scan: 16-byte steps in [0xe0000, 0x100000). */
	assert_int_equal(LAYOUT_ACPI_RSDP % 16, 0);
	assert_true(LAYOUT_ACPI_RSDP >= 0xe0000 && LAYOUT_ACPI_RSDP < 0x100000);
	assert_true(LAYOUT_ACPI_RSDP + x->img.len <= LAYOUT_ACPI_END);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(sum(r, 36), 0);
	assert_int_equal(r[15], 2);
	assert_int_equal(rd32(r + 16), 0);
	assert_int_equal(rd32(r + 20), 36);
	assert_int_equal(rd64(r + 24), x->img.table[ACPI_XSDT].addr);
}

static void check_xsdt_fadt(const struct machine *x)
{
	const uint8_t *xs = table(x, ACPI_XSDT), *f = table(x, ACPI_FACP);

	assert_int_equal(rd32(xs + 4), 36 + 16);
	assert_int_equal(rd64(xs + 36), x->img.table[ACPI_FACP].addr);
	assert_int_equal(rd64(xs + 44), x->img.table[ACPI_APIC].addr);
	assert_int_equal(rd32(f + 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(f[131], 5);
	assert_int_equal(rd32(f + 40), 0);                                /* DSDT: X_DSDT only */
	assert_int_equal(rd64(f + 140), x->img.table[ACPI_DSDT].addr);   /* X_DSDT */
	assert_int_equal(rd32(f + 112), (1u << 20) | (1u << 4) | (1u << 5) | (1u << 10));
	assert_int_equal(rd16(f + 109) & 2, 2);                           /* 8042 */
	/* RESET_REG, SLEEP_CONTROL_REG, SLEEP_STATUS_REG: a byte at the power port */
	static const unsigned regs[] = { 116, 244, 256 };

	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(f[regs[i]], 1);
		assert_int_equal(f[regs[i] + 1], 8);
		assert_int_equal(rd64(f + regs[i] + 4), LAYOUT_PORT_ACPI_POWER);
	}
	assert_int_equal(f[128], ACPI_RESET_VALUE);
	assert_int_equal(f[46] | f[47], 0); /* no SCI */
}

/* The MP table's processors, IOAPIC and routing, compared with the MADT. */
static void check_madt_against_mptable(const struct machine *x)
{
	uint8_t mp[MPTABLE_MAX_SIZE];
	const uint8_t *madt = table(x, ACPI_APIC), *p, *end = madt + rd32(madt + 4);
	const uint8_t *mpc = mp + 16;
	unsigned lapics = 0, ioapics = 0, nmis = 0, mp_cpus = 0, mp_nmi_lint1 = 0;
	int n = mptable_build(x->m.vcpu_count, LAYOUT_EBDA, mp, sizeof(mp));

	assert_true(n > 0);
	assert_int_equal(rd32(madt + 36), rd32(mpc + 36)); /* local APIC address */
	assert_int_equal(rd32(madt + 40), x->m.pic ? 1 : 0);
	for (p = mpc + 44; p < mpc + rd16(mpc + 4); p += p[0] == 0 ? 20 : 8) {
		if (p[0] == 0) {
			assert_int_equal(p[1], mp_cpus);
			mp_cpus++;
		} else if (p[0] == 2) {
			assert_int_equal(p[1], x->m.ioapic_id);
			assert_int_equal(rd32(p + 4), LAYOUT_IOAPIC);
		} else if (p[0] == 3) {
			/* identity routing with the bus's flags: ACPI's default, no override needed */
			assert_int_equal(p[5], p[7]);
			assert_int_equal(rd16(p + 2), 0);
		} else if (p[0] == 4 && p[1] == 1) {
			assert_int_equal(p[7], 1);
			mp_nmi_lint1++;
		}
	}
	for (p = madt + 44; p < end; p += p[1]) {
		assert_true(p[1] >= 2);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[2], lapics);
			assert_int_equal(p[3], lapics);
			assert_int_equal(rd32(p + 4) & 1, 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(p[2], x->m.ioapic_id);
			assert_int_equal(rd32(p + 4), LAYOUT_IOAPIC);
			assert_int_equal(rd32(p + 8), 0);
			ioapics++;
			break;
		case 2:
			fail_msg("an Interrupt Source Override the MP table's routing does not need");
			break;
		case 4:
			assert_int_equal(p[2], 0xff);
			assert_int_equal(p[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
	assert_int_equal(lapics, x->m.vcpu_count);
	assert_int_equal(lapics, mp_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(nmis, mp_nmi_lint1);
}

static const uint8_t *find(const uint8_t *p, const uint8_t *end, const void *needle, size_t n)
{
	for (; p + n <= end; p++)
		if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

/* Each LNRO0005 device, in order, has the next window and its GSI. */
static void check_dsdt(const struct machine *x)
{
	static const uint8_t hid[] = "\x0dLNRO0005";
	static const uint8_t mem32[] = { 0x86, 0x09, 0x00, 0x01 };
	static const uint8_t irq[] = { 0x89, 0x06, 0x00, 0x03, 0x01 };
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12 };
	const uint8_t *d = table(x, ACPI_DSDT), *end = d + x->img.table[ACPI_DSDT].len, *p = d + 36, *q;
	unsigned found = 0;

	while ((p = find(p, end, hid, sizeof(hid))) != NULL) {
		assert_true(found < x->m.nr_virtio);
		q = find(p, end, mem32, sizeof(mem32));
		assert_non_null(q);
		assert_int_equal(rd32(q + 4), x->win[found].base);
		assert_int_equal(rd32(q + 8), x->win[found].size);
		q = find(q, end, irq, sizeof(irq));
		assert_non_null(q);
		assert_int_equal(rd32(q + 5), x->win[found].gsi);
		found++;
		p++;
	}
	assert_int_equal(found, x->m.nr_virtio);
	assert_non_null(find(d, end, "\x0c\x41\xd0\x05\x01", 5)); /* EisaId("PNP0501") */
	assert_non_null(find(d, end, "\x0c\x41\xd0\x03\x03", 5)); /* EisaId("PNP0303") */
	q = find(d, end, s5, sizeof(s5));
	assert_non_null(q);
	assert_int_equal(q[8], 2);                 /* two elements */
	assert_int_equal(q[9], 0x0a);              /* BytePrefix */
	assert_int_equal(q[10], ACPI_SLP_TYP_S5);
}

/* VGEN's ADDR, VCLK's page, the GED's two edge interrupts and _EVT's
 * LEqual (Arg0, gsi) for each. */
static void check_ged(const struct machine *x)
{
	static const uint8_t irq[] = { 0x89, 0x06, 0x00, 0x03, 0x01 };
	static const uint8_t addr[] = { 0x08, 'A', 'D', 'D', 'R', 0x12 };
	const uint8_t *d = table(x, ACPI_DSDT), *end = d + x->img.table[ACPI_DSDT].len, *q;
	uint8_t evt[3] = { 0x93, 0x68, 0x0a };

	assert_non_null(find(d, end, "\x0dVMGENCTR", 10));
	q = find(d, end, addr, sizeof(addr));
	assert_non_null(q);
	assert_int_equal(q[7], 2);    /* two elements */
	assert_int_equal(q[8], 0x0c); /* DWordPrefix */
	assert_int_equal(rd32(q + 9), LAYOUT_VMGENID);
	assert_int_equal(q[13], 0);   /* Zero: the high half */
	q = find(d, end, "\x0d" "AMZNC10C", 10);
	assert_non_null(q);
	q = find(q, end, "\x86\x09\x00\x00", 4); /* Memory32Fixed, read-only */
	assert_non_null(q);
	assert_int_equal(rd32(q + 4), LAYOUT_VMCLOCK);
	assert_int_equal(rd32(q + 8), 0x1000);
	q = find(d, end, "\x0d" "ACPI0013", 10);
	assert_non_null(q);
	q = find(q, end, irq, sizeof(irq));
	assert_non_null(q);
	assert_int_equal(rd32(q + 5), x->m.vmgenid_gsi);
	q = find(q + 1, end, irq, sizeof(irq));
	assert_non_null(q);
	assert_int_equal(rd32(q + 5), x->m.vmclock_gsi);
	q = find(q, end, evt, sizeof(evt));
	assert_non_null(q);
	assert_int_equal(q[3], x->m.vmgenid_gsi);
	q = find(q + 1, end, evt, sizeof(evt));
	assert_non_null(q);
	assert_int_equal(q[3], x->m.vmclock_gsi);
}

static void check_machine(unsigned vcpus, unsigned devices, bool pic)
{
	struct machine x;

	build(&x, vcpus, devices, pic);
	check_rsdp(&x);
	check_sdt(&x, ACPI_XSDT, "XSDT");
	check_sdt(&x, ACPI_FACP, "FACP");
	check_sdt(&x, ACPI_APIC, "APIC");
	check_sdt(&x, ACPI_DSDT, "DSDT");
	check_xsdt_fadt(&x);
	check_madt_against_mptable(&x);
	check_dsdt(&x);
	check_ged(&x);
	acpi_image_free(&x.img);
}

static void test_largest(void **state)
{
	assert_int_equal(virtio_transport_slots() - LAYOUT_GED_GSIS, 17);
	check_machine(32, 17, true);
	check_machine(32, 17, false);
}

static void test_smaller(void **state)
{
	check_machine(1, 0, true);
	check_machine(2, 1, false);
	check_machine(4, 4, true);
	check_machine(16, 16, false);
}

static void test_writes_into_guest_memory(void **state)
{
	struct guest_memory *mem = NULL;
	struct machine x;
	uint8_t sig[8];

	build(&x, 4, 2, true);
	assert_int_equal(guest_memory_create(128 << 20, &mem), 0);
	assert_int_equal(acpi_write(mem, &x.img), 0);
	assert_int_equal(guest_memory_read(mem, LAYOUT_ACPI_RSDP, sig, 8), 0);
	assert_memory_equal(sig, "RSD PTR ", 8);
	assert_int_equal(guest_memory_read(mem, x.img.table[ACPI_DSDT].addr, sig, 4), 0);
	assert_memory_equal(sig, "DSDT", 4);
	guest_memory_destroy(mem);
	acpi_image_free(&x.img);
}

static void test_rejects(void **state)
{
	struct acpi_mmio_window w = { .base = 0x100000000ull, .size = 0x1000, .gsi = 5 };
	struct acpi_machine m = { .vcpu_count = 0, .ioapic_id = 1, .vmgenid_gsi = 6, .vmclock_gsi = 7 };
	struct acpi_image img = { 0 };

	assert_int_equal(acpi_build(&m, &img), -EINVAL);
	m.vcpu_count = 33;
	assert_int_equal(acpi_build(&m, &img), -EINVAL);
	m.vcpu_count = 1;
	m.nr_virtio = ACPI_MAX_VIRTIO + 1;
	m.virtio = &w;
	assert_int_equal(acpi_build(&m, &img), -EINVAL);
	m.nr_virtio = 1; /* above 4 GiB: not a Memory32Fixed */
	assert_int_equal(acpi_build(&m, &img), -EINVAL);
	w.base = 0xfffff000;
	w.size = 0x2000;
	assert_int_equal(acpi_build(&m, &img), -EINVAL);
	w = (struct acpi_mmio_window){ .base = 0xc0001000, .size = 0x1000, .gsi = 5 };
	m.vmgenid_gsi = 6;
	m.vmclock_gsi = 7;
	assert_int_equal(acpi_build(&m, &img), 0);
	acpi_image_free(&img);
	m.vmgenid_gsi = 5; /* a virtio device's */
	assert_int_equal(acpi_build(&m, &img), -EINVAL);
	m.vmgenid_gsi = 7; /* both the same */
	assert_int_equal(acpi_build(&m, &img), -EINVAL);
	m.vmgenid_gsi = 256; /* past what _EVT's Arg0 is compared with */
	assert_int_equal(acpi_build(&m, &img), -EINVAL);
	assert_null(img.buf);
	acpi_image_free(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_largest),
		cmocka_unit_test(test_smaller),
		cmocka_unit_test(test_writes_into_guest_memory),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
