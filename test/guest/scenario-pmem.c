/* Scenario pmem: virtio-pmem devices (virtio 1.3 §5.19) as Linux's
 * virtio_pmem + nd_pmem would use them, polling.
 *
 * For each device with ID 27, in window order (index k from 0):
 *   pmem.config   only VERSION_1 offered; start >= 512 GiB and 2 MiB aligned;
 *                 size = probe.pmem_file (its k-th value: the file's bytes)
 *                 rounded up to 2 MiB;
 *   pmem.read     the host's pattern, byte i = (i * 7 + 3) & 0xff, over the
 *                 file (its first and last 4 KiB whole, every 61st byte
 *                 between) and zeros in the padding after it;
 *   pmem.flush    a writable device: 4 KiB of 0x5a written at offset 0, then
 *                 FLUSH: used length 4, status 0 (the host then finds the
 *                 bytes in the file); a read-only one: FLUSH alone;
 *   pmem.ro       on the device probe.pmem_ro=k: a store to offset 0 leaves
 *                 the byte unchanged and a FLUSH still works.
 * On the first device: pmem.hostile (a short chain, a reversed one, an
 * unknown type and a write-only head each come back with used length 0 and
 * the status untouched; then a good FLUSH), irq.pmem (a FLUSH's used-buffer
 * interrupt reaches the IRR), and with probe.pmem_rl=1 two FLUSHes timed by
 * the TSC: PROBE-INFO pmem.flush_cycles <tsc>. probe.pmem_ms (default 10000)
 * bounds each wait for the device. */
#include "probe.h"
#include "virtio-probe.h"

#define PMEM_DEVICE_ID 27u
#define PMEM_MIN_START (512ull << 30)
#define PMEM_ALIGN (2ull << 20)
#define PMEM_MAPPED_END (513ull << 30) /* what the probe's page tables map */
#define PMEM_WRITE_BYTES 4096u

static volatile uint32_t req_type __attribute__((aligned(16)));
static volatile uint32_t req_status __attribute__((aligned(16)));
static struct vp_dev *irq_dev; /* the device itself: its ring state moves */
static uint64_t wait_ms = 10000;

static void set(struct vp_dev *d, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	d->desc[i] = (struct vp_desc){ addr, len, flags, next };
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i * 7 + 3) & 0xff);
}

/* vp_submit with a time bound: a rate-limited flush may wait. */
static bool submit(struct vp_dev *d, uint16_t head, uint32_t *ret_len)
{
	uint64_t deadline = probe_deadline_ms(wait_ms);
	uint32_t id;

	vp_post(d, 0, head);
	while (!vp_poll(d, 0, &id, ret_len)) {
		if (probe_deadline_passed(deadline))
			return false;
		__asm__ volatile("pause");
	}
	return id == head;
}

/* A well-formed FLUSH: readable type, writable status. Returns the used
 * length (0xffffffff when nothing came back); *ret_status the status. */
static uint32_t flush(struct vp_dev *d, int32_t *ret_status)
{
	uint32_t len = 0;

	req_type = 0;
	req_status = 0xeeeeeeee;
	set(d, 0, (uint64_t)(uintptr_t)&req_type, 4, VP_DESC_F_NEXT, 1);
	set(d, 1, (uint64_t)(uintptr_t)&req_status, 4, VP_DESC_F_WRITE, 0);
	if (!submit(d, 0, &len))
		return 0xffffffffu;
	*ret_status = (int32_t)req_status;
	return len;
}

static uint64_t param_nth_u64(const char *key, unsigned n, bool *ok)
{
	size_t len = 0;
	const char *v = probe_param_nth(key, n, &len);
	uint64_t x = 0;

	*ok = v && len > 0;
	for (size_t i = 0; *ok && i < len; i++) {
		*ok = v[i] >= '0' && v[i] <= '9';
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	return x;
}

static uint64_t cfg64(const struct vp_dev *d, uint32_t off)
{
	return vp_read(d, VP_MMIO_CONFIG + off) | (uint64_t)vp_read(d, VP_MMIO_CONFIG + off + 4) << 32;
}

static uint64_t device_features(const struct vp_dev *d)
{
	uint64_t lo;

	vp_write(d, 0x014, 0);
	lo = vp_read(d, 0x010);
	vp_write(d, 0x014, 1);
	return lo | (uint64_t)vp_read(d, 0x010) << 32;
}

/* pmem.config; *ret_start / *ret_size when it passed. */
static bool check_config(struct vp_dev *d, unsigned k, uint64_t *ret_start, uint64_t *ret_size, uint64_t *ret_file)
{
	uint64_t feat = device_features(d), start = cfg64(d, 0), size = cfg64(d, 8), file, want;
	bool have_file;

	file = param_nth_u64("probe.pmem_file", k, &have_file);
	want = (file + PMEM_ALIGN - 1) & ~(PMEM_ALIGN - 1);
	if (!probe_check("pmem.config", feat == 1ull << 32 && start >= PMEM_MIN_START && start % PMEM_ALIGN == 0 &&
					    have_file && size == want && start + size <= PMEM_MAPPED_END,
			 "device %u: features 0x%lx, start 0x%lx, size 0x%lx, expected 0x%lx for a %lu-byte file", k,
			 feat, start, size, want, file))
		return false;
	*ret_start = start;
	*ret_size = size;
	*ret_file = file;
	return true;
}

static void check_read(unsigned k, uint64_t start, uint64_t size, uint64_t file)
{
	const volatile uint8_t *w = (const volatile uint8_t *)(uintptr_t)start;
	uint64_t bad = 0, first_bad = 0;

	for (uint64_t i = 0; i < size; i += (i < 4096 || i + 4096 >= file) && i < file ? 1 : 61) {
		uint8_t want = i < file ? pattern(i) : 0;

		if (w[i] != want && bad++ == 0)
			first_bad = i;
	}
	probe_check("pmem.read", bad == 0, "device %u: %lu bytes differ, the first at offset %lu", k, bad, first_bad);
}

static void check_flush(struct vp_dev *d, unsigned k, uint64_t start, bool ro)
{
	volatile uint8_t *w = (volatile uint8_t *)(uintptr_t)start;
	int32_t status = 1;
	uint32_t len;

	for (unsigned i = 0; !ro && i < PMEM_WRITE_BYTES; i++)
		w[i] = 0x5a;
	len = flush(d, &status);
	probe_check("pmem.flush", len == 4 && status == 0, "device %u: used length %u, status %d", k, len, status);
}

static void check_ro(struct vp_dev *d, unsigned k, uint64_t start)
{
	volatile uint8_t *w = (volatile uint8_t *)(uintptr_t)start;
	uint8_t before = w[0];
	int32_t status = 1;
	uint32_t len;

	w[0] = (uint8_t)~before; /* an MMIO exit ember drops */
	len = flush(d, &status);
	probe_check("pmem.ro", w[0] == before && len == 4 && status == 0,
		    "device %u: byte 0 went 0x%x -> 0x%x; then FLUSH used length %u, status %d", k, before, w[0], len,
		    status);
}

/* Submits chain head; ok when it comes back with used length 0 and the
 * status word untouched. */
static bool dropped(struct vp_dev *d, uint16_t head)
{
	uint32_t len = 1;

	req_status = 0xeeeeeeee;
	return submit(d, head, &len) && len == 0 && req_status == 0xeeeeeeee;
}

static void check_hostile(struct vp_dev *d)
{
	uint64_t t = (uint64_t)(uintptr_t)&req_type, s = (uint64_t)(uintptr_t)&req_status;
	unsigned ok = 0;
	int32_t status = 1;
	uint32_t len;

	req_type = 0;
	set(d, 0, t, 4, 0, 0); /* short: no status */
	ok += dropped(d, 0);
	set(d, 0, s, 4, VP_DESC_F_WRITE | VP_DESC_F_NEXT, 1); /* reversed */
	set(d, 1, t, 4, 0, 0);
	ok += dropped(d, 0);
	req_type = 5; /* unknown type */
	set(d, 0, t, 4, VP_DESC_F_NEXT, 1);
	set(d, 1, s, 4, VP_DESC_F_WRITE, 0);
	ok += dropped(d, 0);
	set(d, 0, t, 4, VP_DESC_F_WRITE | VP_DESC_F_NEXT, 1); /* write-only head */
	set(d, 1, s, 4, VP_DESC_F_WRITE, 0);
	ok += dropped(d, 0);
	len = flush(d, &status);
	probe_check("pmem.hostile", ok == 4 && len == 4 && status == 0,
		    "%u of 4 broken chains came back with length 0; then FLUSH used length %u, status %d", ok, len,
		    status);
}

static void trigger_used(void)
{
	int32_t status;

	(void)flush(irq_dev, &status);
	vp_write(irq_dev, VP_MMIO_INTERRUPT_ACK, vp_read(irq_dev, VP_MMIO_INTERRUPT_STATUS));
}

static void timed_flushes(struct vp_dev *d)
{
	uint64_t t0 = rdtsc();
	int32_t s1 = 1, s2 = 1;
	uint32_t l1 = flush(d, &s1), l2 = flush(d, &s2);

	probe_info("pmem.flush_cycles", "%lu", rdtsc() - t0);
	probe_check("pmem.rate_limited", l1 == 4 && l2 == 4 && s1 == 0 && s2 == 0,
		    "flushes came back with lengths %u and %u, statuses %d and %d", l1, l2, s1, s2);
}

static void pmem_device(struct vp_dev *d, unsigned k, uint64_t ro_index)
{
	uint64_t start = 0, size = 0, file = 0;
	bool ro = k == ro_index;

	if (!check_config(d, k, &start, &size, &file))
		return;
	check_read(k, start, size, file);
	check_flush(d, k, start, ro);
	if (ro)
		check_ro(d, k, start);
	if (k != 0)
		return;
	check_hostile(d);
	irq_dev = d;
	probe_irq_check("irq.pmem", d->irq, trigger_used);
	if (probe_param_is("probe.pmem_rl", "1"))
		timed_flushes(d);
}

void scenario_pmem(void)
{
	uint64_t base[VP_MAX_DEVICES], ro_index = ~0ull;
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES), k = 0;

	probe_param_u64("probe.pmem_ro", &ro_index);
	probe_param_u64("probe.pmem_ms", &wait_ms);
	for (unsigned i = 0; i < n; i++) {
		struct vp_dev d = { .base = base[i] };
		const char *err;

		if (vp_read(&d, 0x008) != PMEM_DEVICE_ID)
			continue;
		err = vp_init(&d, base[i], i, 0);
		if (err) {
			probe_fail("pmem.config", "device %u at 0x%lx: %s", k++, base[i], err);
			continue;
		}
		d.irq = irq[i];
		pmem_device(&d, k++, ro_index);
	}
	if (k == 0)
		probe_fail("pmem.config", "no virtio-pmem device on the command line");
}
