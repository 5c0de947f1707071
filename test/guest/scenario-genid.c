/* Scenario genid: VMGenID and VMClock as a guest finds them in the DSDT,
 * and what a restore from a snapshot changes in them.
 *
 * At boot, from the DSDT Linux's scan finds (scenario-acpi.c):
 *   genid.acpi       \_SB_.VGEN (_HID "VMGENCTR", _CID "VM_Gen_Counter",
 *                    ADDR a Package of two integers), \_SB_.VCLK (_HID
 *                    "AMZNC10C", _CID "VMCLOCK", a 4 KiB Memory32Fixed) and
 *                    \_SB_.GED_ (ACPI0013, two edge-triggered interrupts
 *                    above every LNRO0005 device's, and an _EVT whose If
 *                    (Arg0 == gsi) notifies VGEN for one and VCLK for the
 *                    other with 0x80); neither region in e820 RAM;
 *   vmclock.fields   magic, size 0x1000, version 1, counter_id 0xff, flags
 *                    bits 8 and 9, an even seq_count;
 *   PROBE-INFO genid.id <32 hex digits>, vmclock.generation <n>,
 *   genid.gsi <VGEN's GSI> <VCLK's GSI>;
 * then both GSIs are routed, edge-triggered, to fresh vectors
 * (PROBE-INFO genid.vectors <generation> <vector> <vector>) and
 *   genid.ready.
 * The probe then polls the serial input. Each byte `R` (the host sends it
 * after a restore) is a generation:
 *   genid.changed    the ID is not the one before (nor zero);
 *   vmclock.restored seq_count even, disruption_marker and
 *                    vm_generation_counter one above what this guest last
 *                    read;
 *   genid.irq, vmclock.irq  the vectors' bits in the LAPIC IRR (the GED's
 *                    pulses; IF stays 0, nothing is taken);
 *   PROBE-INFO genid.id, vmclock.generation; then new vectors (an IRR bit
 *   stays set: the probe never EOIs) and PROBE-INFO genid.vectors.
 * After probe.snap_generations (default 1) generations it returns (PROBE
 * DONE); probe.snap_polls (50 million) bounds the wait. */
#include "probe.h"

#define COM1 0x3f8u
#define UART_LSR (COM1 + 5)
#define LSR_DR 0x01u
#define ID_SIZE 16u
#define VMCLOCK_SIZE 0x1000u
#define VMCLOCK_MAGIC 0x4b4c4356u
#define VMCLOCK_FLAGS ((1u << 8) | (1u << 9))
#define NOTIFY_VALUE 0x80u
#define IRQ_WAIT_MS 1000u

/* struct vmclock_abi's fields this scenario reads (vmclock-abi.h). */
#define VC_MAGIC 0
#define VC_SIZE 4
#define VC_VERSION 8
#define VC_COUNTER_ID 10
#define VC_SEQ 12
#define VC_DISRUPTION 16
#define VC_FLAGS 24
#define VC_GENERATION 104

struct genid_acpi {
	uint64_t id_addr, clock_addr, clock_len;
	uint32_t vgen_gsi, vclk_gsi;
};

struct vmclock_view {
	uint32_t magic, size, seq;
	uint16_t version;
	uint8_t counter_id;
	uint64_t flags, disruption, generation;
};

/* ---- AML, as ember writes it ---- */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const uint8_t *find(const uint8_t *p, const uint8_t *end, const void *needle, size_t n)
{
	for (; p + n <= end; p++)
		if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

/* A PkgLength at p (§20.2.4): the length, *ret_bytes its own size; 0 when it
 * runs past end. */
static size_t pkglen_at(const uint8_t *p, const uint8_t *end, unsigned *ret_bytes)
{
	unsigned n = 1 + (p[0] >> 6);
	size_t len;

	if (p + n > end)
		return 0;
	len = n == 1 ? p[0] & 0x3fu : p[0] & 0x0fu;
	for (unsigned i = 1; i < n; i++)
		len |= (size_t)p[i] << (4 + 8 * (i - 1));
	*ret_bytes = n;
	return len;
}

/* An integer (§20.2.3) at p: true with *ret and *ret_next. */
static bool int_at(const uint8_t *p, const uint8_t *end, uint64_t *ret, const uint8_t **ret_next)
{
	unsigned n = 0;
	uint64_t v = 0;

	if (p >= end)
		return false;
	if (*p == 0x00 || *p == 0x01) {
		*ret = *p;
		*ret_next = p + 1;
		return true;
	}
	n = *p == 0x0a ? 1 : *p == 0x0b ? 2 : *p == 0x0c ? 4 : *p == 0x0e ? 8 : 0;
	if (!n || p + 1 + n > end)
		return false;
	for (unsigned i = n; i > 0; i--)
		v = v << 8 | p[i];
	*ret = v;
	*ret_next = p + 1 + n;
	return true;
}

/* The body of Device(name) (after its NameSeg): *ret_end set, or NULL. */
static const uint8_t *device_body(const uint8_t *d, const uint8_t *end, const char *name, const uint8_t **ret_end)
{
	for (const uint8_t *p = d; p + 8 <= end; p++) {
		unsigned nb;
		size_t len;

		if (p[0] != 0x5b || p[1] != 0x82)
			continue;
		len = pkglen_at(p + 2, end, &nb);
		if (len < nb + 4 || p + 2 + len > end || memcmp(p + 2 + nb, name, 4) != 0)
			continue;
		*ret_end = p + 2 + len;
		return p + 2 + nb + 4;
	}
	return NULL;
}

/* Name(seg, "value") in [p, end). */
static bool has_name_string(const uint8_t *p, const uint8_t *end, const char *seg, const char *value)
{
	uint8_t want[48];
	size_t n = strlen(value);

	if (n + 7 > sizeof(want))
		return false;
	want[0] = 0x08;
	memcpy(want + 1, seg, 4);
	want[5] = 0x0d;
	memcpy(want + 6, value, n + 1);
	return find(p, end, want, n + 7) != NULL;
}

static bool in_ram(uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < probe_boot.nr_mem; i++) {
		const struct probe_mem_range *m = &probe_boot.mem[i];

		if (m->type == PROBE_MEM_RAM && addr < m->addr + m->size && m->addr < addr + len)
			return true;
	}
	return false;
}

static bool parse_vgen(const uint8_t *d, const uint8_t *end, struct genid_acpi *g, char *why, size_t whylen)
{
	const uint8_t *b_end, *b = device_body(d, end, "VGEN", &b_end), *p;
	uint64_t lo, hi;
	unsigned nb;

	if (!b || !has_name_string(b, b_end, "_HID", "VMGENCTR") || !has_name_string(b, b_end, "_CID", "VM_Gen_Counter")) {
		probe_fmt(why, whylen, "no Device VGEN with _HID \"VMGENCTR\" and _CID \"VM_Gen_Counter\"");
		return false;
	}
	p = find(b, b_end, "\x08" "ADDR\x12", 6);
	if (!p || !pkglen_at(p + 6, b_end, &nb) || p + 6 + nb >= b_end || p[6 + nb] != 2 ||
	    !int_at(p + 7 + nb, b_end, &lo, &p) || !int_at(p, b_end, &hi, &p) || lo > 0xffffffffu) {
		probe_fmt(why, whylen, "VGEN has no ADDR Package (low, high)");
		return false;
	}
	g->id_addr = lo | hi << 32;
	return true;
}

static bool parse_vclk(const uint8_t *d, const uint8_t *end, struct genid_acpi *g, char *why, size_t whylen)
{
	const uint8_t *b_end, *b = device_body(d, end, "VCLK", &b_end), *m;

	if (!b || !has_name_string(b, b_end, "_HID", "AMZNC10C") || !has_name_string(b, b_end, "_CID", "VMCLOCK")) {
		probe_fmt(why, whylen, "no Device VCLK with _HID \"AMZNC10C\" and _CID \"VMCLOCK\"");
		return false;
	}
	m = find(b, b_end, "\x86\x09\x00", 3);
	if (!m || m + 12 > b_end) {
		probe_fmt(why, whylen, "VCLK's _CRS has no Memory32Fixed");
		return false;
	}
	g->clock_addr = rd32(m + 4);
	g->clock_len = rd32(m + 8);
	return true;
}

/* _EVT's If (LEqual (Arg0, gsi)) { Notify (\_SB_.<dev>, 0x80) }: which
 * GSI notifies dev, or -1. */
static int64_t evt_gsi_for(const uint8_t *b, const uint8_t *end, const char *dev)
{
	for (const uint8_t *p = find(b, end, "\x93\x68", 2); p; p = find(p + 2, end, "\x93\x68", 2)) {
		const uint8_t *q;
		uint64_t gsi, value;

		if (!int_at(p + 2, end, &gsi, &q) || q + 12 > end || q[0] != 0x86 || q[1] != '\\' || q[2] != 0x2e)
			continue;
		if (memcmp(q + 3, "_SB_", 4) == 0 && memcmp(q + 7, dev, 4) == 0 && int_at(q + 11, end, &value, &q) &&
		    value == NOTIFY_VALUE)
			return (int64_t)gsi;
	}
	return -1;
}

/* Every LNRO0005 device's Interrupt GSI must be below both GED GSIs. */
static bool ged_after_virtio(const uint8_t *d, const uint8_t *end, uint32_t lowest)
{
	static const uint8_t hid[] = "\x0dLNRO0005";
	const uint8_t *p = d, *q;

	while ((p = find(p, end, hid, sizeof(hid))) != NULL) {
		q = find(p, end, "\x89\x06\x00", 3);
		if (!q || q + 9 > end || rd32(q + 5) >= lowest)
			return false;
		p++;
	}
	return true;
}

static bool parse_ged(const uint8_t *d, const uint8_t *end, struct genid_acpi *g, char *why, size_t whylen)
{
	const uint8_t *b_end, *b = device_body(d, end, "GED_", &b_end), *i1, *i2, *evt;
	int64_t vgen, vclk;

	if (!b || !has_name_string(b, b_end, "_HID", "ACPI0013")) {
		probe_fmt(why, whylen, "no Device GED_ with _HID \"ACPI0013\"");
		return false;
	}
	i1 = find(b, b_end, "\x89\x06\x00", 3);
	i2 = i1 ? find(i1 + 1, b_end, "\x89\x06\x00", 3) : NULL;
	evt = find(b, b_end, "_EVT", 4);
	if (!i2 || i2 + 9 > b_end || !(i1[3] & 0x02) || !(i2[3] & 0x02) || !evt) {
		probe_fmt(why, whylen, "GED_ lacks two edge-triggered Interrupts or an _EVT");
		return false;
	}
	vgen = evt_gsi_for(evt, b_end, "VGEN");
	vclk = evt_gsi_for(evt, b_end, "VCLK");
	if (vgen < 0 || vclk < 0 || vgen == vclk ||
	    !((vgen == rd32(i1 + 5) && vclk == rd32(i2 + 5)) || (vgen == rd32(i2 + 5) && vclk == rd32(i1 + 5)))) {
		probe_fmt(why, whylen, "_EVT notifies VGEN on %ld and VCLK on %ld, the interrupts are %u and %u",
			  (long)vgen, (long)vclk, rd32(i1 + 5), rd32(i2 + 5));
		return false;
	}
	g->vgen_gsi = (uint32_t)vgen;
	g->vclk_gsi = (uint32_t)vclk;
	if (!ged_after_virtio(d, end, g->vgen_gsi < g->vclk_gsi ? g->vgen_gsi : g->vclk_gsi)) {
		probe_fmt(why, whylen, "a virtio device's GSI is not below the GED's %u and %u", g->vgen_gsi, g->vclk_gsi);
		return false;
	}
	return true;
}

static bool genid_parse(struct genid_acpi *g, char *why, size_t whylen)
{
	const uint8_t *d = probe_acpi_dsdt(why, whylen), *end;

	if (!d)
		return false;
	end = d + rd32(d + 4);
	d += 36;
	if (!parse_vgen(d, end, g, why, whylen) || !parse_vclk(d, end, g, why, whylen) ||
	    !parse_ged(d, end, g, why, whylen))
		return false;
	if (g->clock_len != VMCLOCK_SIZE || g->clock_addr % VMCLOCK_SIZE || g->id_addr % 8) {
		probe_fmt(why, whylen, "VCLK's region 0x%lx+0x%lx is not an aligned 4 KiB page, or ADDR 0x%lx not 8-byte "
			  "aligned", g->clock_addr, g->clock_len, g->id_addr);
		return false;
	}
	if (in_ram(g->id_addr, ID_SIZE) || in_ram(g->clock_addr, g->clock_len) ||
	    g->clock_addr + g->clock_len > 0x100000u || g->id_addr + ID_SIZE > 0x100000u) {
		probe_fmt(why, whylen, "the ID at 0x%lx or the VMClock page at 0x%lx is e820 RAM or above 1 MiB",
			  g->id_addr, g->clock_addr);
		return false;
	}
	return true;
}

/* ---- the data ---- */

static void id_read(const struct genid_acpi *g, uint8_t id[ID_SIZE])
{
	const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)g->id_addr;

	for (unsigned i = 0; i < ID_SIZE; i++)
		id[i] = p[i];
}

static void id_info(const uint8_t id[ID_SIZE])
{
	char hex[2 * ID_SIZE + 1];

	for (unsigned i = 0; i < ID_SIZE; i++) {
		hex[2 * i] = "0123456789abcdef"[id[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[id[i] & 15];
	}
	hex[2 * ID_SIZE] = 0;
	probe_info("genid.id", "%s", hex);
}

static uint64_t rd64v(const volatile uint8_t *p)
{
	return *(const volatile uint64_t *)p;
}

/* The seqcount reader: an even count, the same before and after. */
static bool vmclock_read(const struct genid_acpi *g, struct vmclock_view *v)
{
	const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)g->clock_addr;

	for (unsigned tries = 0; tries < 1000; tries++) {
		uint32_t seq = *(const volatile uint32_t *)(p + VC_SEQ);

		if (seq & 1)
			continue;
		__asm__ volatile("" ::: "memory");
		v->magic = *(const volatile uint32_t *)(p + VC_MAGIC);
		v->size = *(const volatile uint32_t *)(p + VC_SIZE);
		v->version = *(const volatile uint16_t *)(p + VC_VERSION);
		v->counter_id = p[VC_COUNTER_ID];
		v->flags = rd64v(p + VC_FLAGS);
		v->disruption = rd64v(p + VC_DISRUPTION);
		v->generation = rd64v(p + VC_GENERATION);
		__asm__ volatile("" ::: "memory");
		if (*(const volatile uint32_t *)(p + VC_SEQ) == seq) {
			v->seq = seq;
			return true;
		}
	}
	return false;
}

static bool vmclock_constant_ok(const struct vmclock_view *v)
{
	return v->magic == VMCLOCK_MAGIC && v->size == VMCLOCK_SIZE && v->version == 1 && v->counter_id == 0xff &&
	       (v->flags & VMCLOCK_FLAGS) == VMCLOCK_FLAGS;
}

/* ---- the run ---- */

struct genid_run {
	struct genid_acpi acpi;
	uint8_t id[ID_SIZE];
	struct vmclock_view clock;
	unsigned vgen_vector, vclk_vector;
	uint64_t generations, polls;
};

static bool genid_route(struct genid_run *r, unsigned gen)
{
	r->vgen_vector = probe_irq_route(r->acpi.vgen_gsi);
	r->vclk_vector = probe_irq_route(r->acpi.vclk_gsi);
	probe_info("genid.vectors", "%u 0x%x 0x%x", gen, r->vgen_vector, r->vclk_vector);
	return r->vgen_vector && r->vclk_vector;
}

static void genid_generation(struct genid_run *r, unsigned gen)
{
	uint8_t id[ID_SIZE], zero[ID_SIZE] = { 0 };
	struct vmclock_view v;
	bool read;

	id_read(&r->acpi, id);
	id_info(id);
	probe_check("genid.changed", memcmp(id, r->id, ID_SIZE) != 0 && memcmp(id, zero, ID_SIZE) != 0,
		    "the ID is %s", memcmp(id, zero, ID_SIZE) ? "the one before the restore" : "zero");
	memcpy(r->id, id, ID_SIZE);
	read = vmclock_read(&r->acpi, &v);
	if (read)
		probe_info("vmclock.generation", "%lu", v.generation);
	probe_check("vmclock.restored",
		    read && vmclock_constant_ok(&v) && v.disruption == r->clock.disruption + 1 &&
			    v.generation == r->clock.generation + 1,
		    "%s: disruption_marker %lu generation %lu, before %lu %lu", read ? "read" : "seq_count stayed odd",
		    v.disruption, v.generation, r->clock.disruption, r->clock.generation);
	if (read)
		r->clock = v;
	probe_check("genid.irq", probe_irq_pending(r->vgen_vector, IRQ_WAIT_MS), "GSI %u vector 0x%x: IRR clear",
		    r->acpi.vgen_gsi, r->vgen_vector);
	probe_check("vmclock.irq", probe_irq_pending(r->vclk_vector, IRQ_WAIT_MS), "GSI %u vector 0x%x: IRR clear",
		    r->acpi.vclk_gsi, r->vclk_vector);
	if (!genid_route(r, gen))
		probe_fail("genid.vectors", "no fresh vector left for generation %u", gen + 1);
}

static void genid_loop(struct genid_run *r)
{
	uint64_t polls = 0;
	unsigned gen = 0;

	while (gen < r->generations && polls < r->polls) {
		polls++;
		if (!(inb(UART_LSR) & LSR_DR) || inb(COM1) != 'R')
			continue;
		genid_generation(r, ++gen);
	}
	if (gen < r->generations)
		probe_fail("genid.restored", "no `R` on the serial input after %lu rounds (%u of %lu generations)", polls,
			   gen, r->generations);
}

static bool genid_boot(struct genid_run *r)
{
	char why[160];
	bool read;

	if (!genid_parse(&r->acpi, why, sizeof(why))) {
		probe_fail("genid.acpi", "%s", why);
		return false;
	}
	probe_ok("genid.acpi");
	probe_info("genid.gsi", "%u %u", r->acpi.vgen_gsi, r->acpi.vclk_gsi);
	id_read(&r->acpi, r->id);
	id_info(r->id);
	read = vmclock_read(&r->acpi, &r->clock);
	if (!probe_check("vmclock.fields", read && vmclock_constant_ok(&r->clock),
			 "magic 0x%x size 0x%x version %u counter_id 0x%x flags 0x%lx seq %u", r->clock.magic,
			 r->clock.size, r->clock.version, r->clock.counter_id, r->clock.flags, r->clock.seq))
		return false;
	probe_info("vmclock.generation", "%lu", r->clock.generation);
	return true;
}

void scenario_genid(void)
{
	struct genid_run r = { .generations = 1, .polls = 50000000 };

	probe_param_u64("probe.snap_generations", &r.generations);
	probe_param_u64("probe.snap_polls", &r.polls);
	if (!genid_boot(&r))
		return;
	if (!genid_route(&r, 0)) {
		probe_fail("genid.ready", "no fresh vectors for GSIs %u and %u", r.acpi.vgen_gsi, r.acpi.vclk_gsi);
		return;
	}
	probe_ok("genid.ready");
	genid_loop(&r);
}
