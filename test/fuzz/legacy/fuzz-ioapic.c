/* libFuzzer target for ember's IOAPIC (core/irqchip/ioapic.c), the split
 * irqchip's guest-facing register file: the input is a sequence of 6-byte
 * operations (kind, then operands) replayed as the guest's MMIO accesses,
 * the devices' lines and the local APICs' EOIs. Besides surviving, the
 * model must keep its rules, checked after every operation:
 *  - it delivers only for an unmasked pin, and a level pin it delivers
 *    for then has Remote IRR set;
 *  - Remote IRR is only ever set on a level entry;
 *  - the routes it announced through route_changed are what ioapic_route()
 *    says for every pin (the split set's KVM routes never go stale).
 * A broken rule calls __builtin_trap(). Run:
 *   build-fuzz/test/fuzz/legacy/fuzz-ioapic -max_total_time=60 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/irqchip/ioapic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mirror {
	struct ioapic *io;
	bool routed[IOAPIC_PINS];
	struct ioapic_msi route[IOAPIC_PINS];
	unsigned delivered_pin;
	bool delivered;
};

/* Called with the IOAPIC's lock held: reads its table directly. */
static void on_deliver(void *ctx, unsigned pin, const struct ioapic_msi *msi)
{
	struct mirror *m = ctx;
	uint64_t e = m->io->rte[pin];

	(void)msi;
	if (pin >= IOAPIC_PINS || (e & IOAPIC_RTE_MASKED))
		__builtin_trap();
	if ((e & IOAPIC_RTE_LEVEL) && !(e & IOAPIC_RTE_REMOTE_IRR))
		__builtin_trap();
	m->delivered = true;
	m->delivered_pin = pin;
}

static void on_route(void *ctx, unsigned pin, const struct ioapic_msi *msi)
{
	struct mirror *m = ctx;

	if (pin >= IOAPIC_PINS)
		__builtin_trap();
	m->routed[pin] = msi != NULL;
	if (msi)
		m->route[pin] = *msi;
}

static const struct ioapic_ops ops = { .deliver = on_deliver, .route_changed = on_route };

static void check(struct mirror *m)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		struct ioapic_msi msi;
		bool routed = ioapic_route(m->io, pin, &msi);
		uint64_t e = ioapic_entry(m->io, pin);

		if ((e & IOAPIC_RTE_REMOTE_IRR) && !(e & IOAPIC_RTE_LEVEL))
			__builtin_trap();
		if (routed != m->routed[pin])
			__builtin_trap();
		if (routed && (msi.address != m->route[pin].address || msi.data != m->route[pin].data))
			__builtin_trap();
	}
}

static void replay(struct mirror *m, const uint8_t *op)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	uint64_t offset = op[1] & 0x7f; /* IOREGSEL, IOWIN and what lies around them */
	uint32_t len = lens[op[2] & 3], v;
	uint8_t buf[8];

	memcpy(&v, op + 2, sizeof(v));
	switch (op[0] % 5) {
	case 0: /* a register write, as Linux does it: IOREGSEL then IOWIN */
		buf[0] = op[1];
		ioapic_mmio_write(m->io, IOAPIC_REGSEL, buf, 1);
		ioapic_mmio_write(m->io, IOAPIC_IOWIN, (const uint8_t *)&v, 4);
		break;
	case 1: /* any access width at any offset */
		memset(buf, op[5], sizeof(buf));
		ioapic_mmio_write(m->io, offset, buf, len);
		break;
	case 2:
		ioapic_mmio_read(m->io, offset, buf, len);
		break;
	case 3:
		ioapic_set_line(m->io, op[1] % (IOAPIC_PINS + 2), op[2] & 1);
		break;
	default:
		ioapic_eoi(m->io, op[1]);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ioapic io;
	struct mirror m = { .io = &io };

	ioapic_init(&io, 1, &ops, &m);
	for (size_t i = 0; i + 6 <= size; i += 6) {
		replay(&m, data + i);
		check(&m);
	}
	ioapic_fini(&io);
	return 0;
}
