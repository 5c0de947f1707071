/* Scenario acpi: ember's ACPI tables as Linux's early boot finds them, then
 * a power-off through them. It must come last in probe= (it ends the VM).
 *
 *   acpi.rsdp       the RSDP found by Linux's scan (tbxfroot.c): 16-byte
 *                   steps through the BIOS area 0xe0000..0xfffff, "RSD PTR ",
 *                   both checksums, revision 2; the zero page's
 *                   acpi_rsdp_addr names the same address;
 *   acpi.checksums  the XSDT and every table it lists, and the FADT's
 *                   X_DSDT: signature, a sane length, checksum 0;
 *   acpi.madt       the enabled local APICs number probe.vcpus;
 *   acpi.dsdt       the LNRO0005 devices number the virtio windows found
 *                   by their MMIO magic, each device's Memory32Fixed one of
 *                   them; \_S5's package gives SLP_TYP (read, not assumed);
 * then it writes SLP_TYP << 2 | SLP_EN to the FADT's SLEEP_CONTROL_REG. ember
 * ends with exit 0; with a wrong port or SLP_TYP nothing happens, and the
 * probe halts with interrupts off until the test kills it.
 *
 * probe.acpi_reset=1: instead, RESET_VALUE to the FADT's RESET_REG (what
 * Linux's reboot=acpi does), when the FADT says RESET_REG_SUP. */
#include <asm/bootparam.h>

#include "probe.h"

#define BIOS_AREA 0xe0000UL
#define BIOS_AREA_END 0x100000UL
#define TABLE_MAX_LEN 0x10000u
#define READABLE_END 0xc0000000UL
#define XSDT_MAX_ENTRIES 32u
#define VIRTIO_BASE 0xc0001000UL
#define VIRTIO_WINDOW 0x1000UL
#define VIRTIO_SLOTS_SCANNED 32u
#define VIRTIO_MAGIC 0x74726976u /* "virt" */
#define FADT_X_DSDT 140u
#define FADT_SLEEP_CONTROL_REG 244u
#define GAS_SYSTEM_IO 1u
#define SLP_EN 0x20u
#define FADT_FLAGS 112u
#define FADT_RESET_REG 116u
#define FADT_RESET_VALUE 128u
#define FADT_F_RESET_REG_SUP (1u << 10)

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* A table's signature, printable (the probe's formatter has no %.4s). */
static const char *sig_of(const uint8_t *t, char buf[5])
{
	for (unsigned i = 0; i < 4; i++)
		buf[i] = t[i] >= 0x20 && t[i] < 0x7f ? (char)t[i] : '?';
	buf[4] = 0;
	return buf;
}

/* ---- the RSDP ---- */

static const uint8_t *acpi_scan_rsdp(void)
{
	for (uintptr_t a = BIOS_AREA; a < BIOS_AREA_END; a += 16) {
		const uint8_t *p = (const uint8_t *)a;

		if (memcmp(p, "RSD PTR ", 8) == 0 && sum8(p, 20) == 0)
			return p;
	}
	return NULL;
}

static const uint8_t *acpi_rsdp(void)
{
	const struct boot_params *zp = probe_boot.zero_page;
	const uint8_t *r = acpi_scan_rsdp();

	if (!r) {
		probe_fail("acpi.rsdp", "no \"RSD PTR \" with a valid checksum on a 16-byte boundary in 0xe0000-0xfffff");
		return NULL;
	}
	if (r[15] != 2 || rd32(r + 20) != 36 || sum8(r, 36) != 0) {
		probe_fail("acpi.rsdp", "at 0x%lx: revision %u, length %u, extended checksum %s", (uintptr_t)r, r[15],
			   rd32(r + 20), sum8(r, 36) ? "bad" : "ok");
		return NULL;
	}
	if (zp && zp->acpi_rsdp_addr != (uintptr_t)r) {
		probe_fail("acpi.rsdp", "the zero page's acpi_rsdp_addr is 0x%lx, the scan found 0x%lx",
			   (uintptr_t)zp->acpi_rsdp_addr, (uintptr_t)r);
		return NULL;
	}
	probe_info("acpi.rsdp", "0x%lx xsdt=0x%lx", (uintptr_t)r, (uintptr_t)rd64(r + 24));
	probe_ok("acpi.rsdp");
	return r;
}

/* ---- tables ---- */

/* The table at addr if its header and checksum hold, else NULL with why. */
static const uint8_t *acpi_table(uint64_t addr, char *why, size_t whylen)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;
	char sig[5];
	uint32_t len;

	if (addr == 0 || addr >= READABLE_END - 36) {
		probe_fmt(why, whylen, "a table pointer 0x%lx outside readable memory", (uintptr_t)addr);
		return NULL;
	}
	len = rd32(t + 4);
	if (len < 36 || len > TABLE_MAX_LEN || addr + len > READABLE_END) {
		probe_fmt(why, whylen, "%s at 0x%lx: length %u", sig_of(t, sig), (uintptr_t)addr, len);
		return NULL;
	}
	if (sum8(t, len) != 0) {
		probe_fmt(why, whylen, "%s at 0x%lx: checksum does not sum to 0", sig_of(t, sig), (uintptr_t)addr);
		return NULL;
	}
	return t;
}

struct acpi_found {
	const uint8_t *fadt, *madt, *dsdt;
};

static bool acpi_walk_xsdt(const uint8_t *rsdp, struct acpi_found *f, char *why, size_t whylen)
{
	const uint8_t *x = acpi_table(rd64(rsdp + 24), why, whylen);
	char sig[5];
	unsigned n;

	if (!x)
		return false;
	if (memcmp(x, "XSDT", 4) != 0) {
		probe_fmt(why, whylen, "the RSDP points at \"%s\", not an XSDT", sig_of(x, sig));
		return false;
	}
	n = (rd32(x + 4) - 36) / 8;
	for (unsigned i = 0; i < n && i < XSDT_MAX_ENTRIES; i++) {
		const uint8_t *t = acpi_table(rd64(x + 36 + 8 * i), why, whylen);

		if (!t)
			return false;
		if (memcmp(t, "FACP", 4) == 0)
			f->fadt = t;
		else if (memcmp(t, "APIC", 4) == 0)
			f->madt = t;
	}
	if (!f->fadt || !f->madt) {
		probe_fmt(why, whylen, "the XSDT's %u entries lack the %s", n, f->fadt ? "MADT" : "FADT");
		return false;
	}
	f->dsdt = acpi_table(rd64(f->fadt + FADT_X_DSDT), why, whylen);
	if (f->dsdt && memcmp(f->dsdt, "DSDT", 4) != 0) {
		probe_fmt(why, whylen, "X_DSDT points at \"%s\"", sig_of(f->dsdt, sig));
		return false;
	}
	return f->dsdt != NULL;
}

static void acpi_madt(const uint8_t *madt)
{
	const uint8_t *p = madt + 44, *end = madt + rd32(madt + 4);
	uint64_t vcpus = 0;
	unsigned lapics = 0;

	for (; p + 2 <= end && p[1] >= 2; p += p[1])
		if (p[0] == 0 && p[1] == 8 && (rd32(p + 4) & 1))
			lapics++;
	if (p != end) {
		probe_fail("acpi.madt", "an entry of length %u at offset %lu runs past the table", p[1],
			   (unsigned long)(p - madt));
		return;
	}
	if (!probe_param_u64("probe.vcpus", &vcpus)) {
		probe_skip("acpi.madt", "no probe.vcpus= to compare %u local APICs with", lapics);
		return;
	}
	probe_check("acpi.madt", lapics == vcpus, "%u enabled local APICs, probe.vcpus=%lu", lapics,
		    (unsigned long)vcpus);
}

/* ---- the DSDT ---- */

static const uint8_t *find(const uint8_t *p, const uint8_t *end, const void *needle, size_t n)
{
	for (; p + n <= end; p++)
		if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

static bool virtio_window_at(uint64_t base)
{
	return base >= VIRTIO_BASE && base < VIRTIO_BASE + VIRTIO_SLOTS_SCANNED * VIRTIO_WINDOW &&
	       (base - VIRTIO_BASE) % VIRTIO_WINDOW == 0 && mmio_read32(base) == VIRTIO_MAGIC;
}

static unsigned virtio_windows_by_magic(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < VIRTIO_SLOTS_SCANNED; i++)
		n += mmio_read32(VIRTIO_BASE + i * VIRTIO_WINDOW) == VIRTIO_MAGIC;
	return n;
}

/* An AML integer (§20.2.3) at p: its value, or -1. */
static int64_t aml_integer_at(const uint8_t *p, const uint8_t *end)
{
	static const uint8_t sizes[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4 };
	int64_t v = 0;

	if (p >= end)
		return -1;
	if (*p == 0x00 || *p == 0x01)
		return *p;
	if (*p >= sizeof(sizes) || !sizes[*p] || p + 1 + sizes[*p] > end)
		return -1;
	for (unsigned i = sizes[*p]; i > 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Name(\_S5_, Package(){SLP_TYP, ...}): the first element, or -1. */
static int64_t acpi_s5_slp_typ(const uint8_t *d, const uint8_t *end)
{
	const uint8_t *p = find(d + 36, end, "_S5_", 4);
	unsigned lead, pkglen_bytes;

	if (!p || p + 6 > end || p[4] != 0x12)
		return -1;
	p += 5; /* PkgLength */
	lead = *p;
	pkglen_bytes = 1 + (lead >> 6);
	p += pkglen_bytes; /* NumElements */
	if (p + 2 > end || *p == 0)
		return -1;
	return aml_integer_at(p + 1, end);
}

static void acpi_dsdt(const uint8_t *dsdt, int64_t *ret_slp_typ)
{
	static const uint8_t hid[] = "\x0dLNRO0005";
	static const uint8_t mem32[] = { 0x86, 0x09, 0x00 };
	const uint8_t *end = dsdt + rd32(dsdt + 4), *p = dsdt + 36, *m;
	unsigned devices = 0, windows = virtio_windows_by_magic();

	while ((p = find(p, end, hid, sizeof(hid))) != NULL) {
		m = find(p, end, mem32, sizeof(mem32));
		if (!m || m + 12 > end || !virtio_window_at(rd32(m + 4))) {
			probe_fail("acpi.dsdt", "LNRO0005 device %u: its Memory32Fixed is %s", devices,
				   m ? "not a virtio-mmio window" : "missing");
			return;
		}
		devices++;
		p++;
	}
	*ret_slp_typ = acpi_s5_slp_typ(dsdt, end);
	probe_info("acpi.dsdt", "LNRO0005 devices %u, virtio windows by magic %u, \\_S5 SLP_TYP %ld", devices,
		   windows, (long)*ret_slp_typ);
	if (devices != windows)
		probe_fail("acpi.dsdt", "%u LNRO0005 devices, %u virtio-mmio windows answer the magic", devices, windows);
	else
		probe_check("acpi.dsdt", *ret_slp_typ >= 0 && *ret_slp_typ <= 7,
			    "no \\_S5 package with an integer SLP_TYP (got %ld)", (long)*ret_slp_typ);
}

/* ---- power off ---- */

static void __attribute__((noreturn)) acpi_power_off(const uint8_t *fadt, int64_t slp_typ)
{
	const uint8_t *gas = fadt + FADT_SLEEP_CONTROL_REG;
	uint64_t port = rd64(gas + 4);

	probe_info("acpi.poweroff", "writing 0x%x to port 0x%lx", (unsigned)((slp_typ << 2) | SLP_EN),
		   (unsigned long)port);
	if (gas[0] == GAS_SYSTEM_IO && port && port <= 0xffff)
		outb((uint16_t)port, (uint8_t)((slp_typ << 2) | SLP_EN));
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void __attribute__((noreturn)) acpi_reset(const uint8_t *fadt)
{
	const uint8_t *gas = fadt + FADT_RESET_REG;
	uint64_t port = rd64(gas + 4);

	probe_info("acpi.reset", "writing 0x%x to port 0x%lx", fadt[FADT_RESET_VALUE], (unsigned long)port);
	if ((rd32(fadt + FADT_FLAGS) & FADT_F_RESET_REG_SUP) && gas[0] == GAS_SYSTEM_IO && port && port <= 0xffff)
		outb((uint16_t)port, fadt[FADT_RESET_VALUE]);
	for (;;)
		__asm__ volatile("cli; hlt");
}

const uint8_t *probe_acpi_dsdt(char *why, size_t whylen)
{
	struct acpi_found f = { 0 };
	const uint8_t *rsdp = acpi_scan_rsdp();

	if (!rsdp) {
		probe_fmt(why, whylen, "no RSDP in 0xe0000-0xfffff");
		return NULL;
	}
	return acpi_walk_xsdt(rsdp, &f, why, whylen) ? f.dsdt : NULL;
}

void scenario_acpi(void)
{
	struct acpi_found f = { 0 };
	const uint8_t *rsdp = acpi_rsdp();
	int64_t slp_typ = -1;
	char why[160];

	if (!rsdp)
		return;
	if (!acpi_walk_xsdt(rsdp, &f, why, sizeof(why))) {
		probe_fail("acpi.checksums", "%s", why);
		return;
	}
	probe_ok("acpi.checksums");
	acpi_madt(f.madt);
	acpi_dsdt(f.dsdt, &slp_typ);
	if (probe_failed() || slp_typ < 0 || rd32(f.fadt + 4) < FADT_SLEEP_CONTROL_REG + 12)
		return; /* no power-off: the failures are printed, the probe ends as usual */
	if (probe_param_is("probe.acpi_reset", "1"))
		acpi_reset(f.fadt);
	acpi_power_off(f.fadt, slp_typ);
}
