#include "mptable.h"

#include <errno.h>
#include <string.h>

#include "core/layout.h"
#include "core/memory.h"

/* MP spec 1.4 structures (packed, little-endian). */
struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

#define MP_APIC_VERSION 0x14
#define MP_CPU_ENABLED 1
#define MP_CPU_BSP 2
#define MP_CPU_STEPPING 0x600
#define MP_FEATURE_APIC 0x200
#define MP_FEATURE_FPU 0x001

uint8_t mptable_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

struct mp_writer {
	uint8_t *buf;
	size_t len, pos;
	uint16_t entries;
};

static void mp_put(struct mp_writer *w, const void *e, size_t len)
{
	memcpy(w->buf + w->pos, e, len);
	w->pos += len;
	w->entries++;
}

static void mp_put_cpus(struct mp_writer *w, unsigned vcpu_count)
{
	for (unsigned i = 0; i < vcpu_count; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = MP_APIC_VERSION,
			.cpuflag = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.cpufeature = MP_CPU_STEPPING,
			.featureflag = MP_FEATURE_APIC | MP_FEATURE_FPU,
		};
		mp_put(w, &cpu, sizeof(cpu));
	}
}

static void mp_put_irqs(struct mp_writer *w, uint8_t ioapic_id)
{
	struct mpc_bus bus = { .type = MP_BUS, .busid = 0, .bustype = "ISA   " };
	struct mpc_ioapic ioapic = { .type = MP_IOAPIC, .apicid = ioapic_id, .apicver = MP_APIC_VERSION,
				     .flags = 1, .apicaddr = (uint32_t)LAYOUT_IOAPIC };
	struct mpc_intsrc lint0 = { .type = MP_LINTSRC, .irqtype = MP_EXTINT, .dstapic = 0, .dstirq = 0 };
	struct mpc_intsrc lint1 = { .type = MP_LINTSRC, .irqtype = MP_NMI, .dstapic = 0xff, .dstirq = 1 };

	mp_put(w, &bus, sizeof(bus));
	mp_put(w, &ioapic, sizeof(ioapic));
	for (unsigned pin = 0; pin < MPTABLE_IOAPIC_PINS; pin++) {
		struct mpc_intsrc src = { .type = MP_INTSRC, .irqtype = MP_INT, .srcbus = 0,
					  .srcbusirq = (uint8_t)pin, .dstapic = ioapic_id, .dstirq = (uint8_t)pin };
		mp_put(w, &src, sizeof(src));
	}
	mp_put(w, &lint0, sizeof(lint0));
	mp_put(w, &lint1, sizeof(lint1));
}

int mptable_build(unsigned vcpu_count, uint64_t base, uint8_t *buf, size_t buflen)
{
	struct mp_writer w = { .buf = buf, .len = buflen };
	struct mpf_intel *mpf = (struct mpf_intel *)buf;
	struct mpc_table *mpc = (struct mpc_table *)(buf + sizeof(*mpf));

	if (vcpu_count == 0 || vcpu_count > MPTABLE_MAX_CPUS || buflen < MPTABLE_MAX_SIZE)
		return -EINVAL;
	memset(buf, 0, MPTABLE_MAX_SIZE);
	w.pos = sizeof(*mpf) + sizeof(*mpc);
	mp_put_cpus(&w, vcpu_count);
	mp_put_irqs(&w, MPTABLE_IOAPIC_ID(vcpu_count));

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(w.pos - sizeof(*mpf));
	mpc->spec = 4;
	memcpy(mpc->oem, "EMBER   ", 8);
	memcpy(mpc->productid, "000000000000", 12);
	mpc->oemcount = w.entries;
	mpc->lapic = (uint32_t)LAYOUT_LAPIC;
	mpc->checksum = mptable_checksum((uint8_t *)mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(base + sizeof(*mpf));
	mpf->length = 1; /* in 16-byte units */
	mpf->specification = 4;
	mpf->checksum = mptable_checksum((uint8_t *)mpf, sizeof(*mpf));
	return (int)w.pos;
}

int mptable_write(const struct guest_memory *mem, unsigned vcpu_count)
{
	uint8_t buf[MPTABLE_MAX_SIZE];
	int n = mptable_build(vcpu_count, LAYOUT_EBDA, buf, sizeof(buf));

	if (n < 0)
		return n;
	if (LAYOUT_EBDA + (uint64_t)n > LAYOUT_LEGACY_HOLE)
		return -E2BIG;
	return guest_memory_write(mem, LAYOUT_EBDA, buf, (size_t)n);
}
