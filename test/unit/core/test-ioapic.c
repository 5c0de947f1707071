/* ember's IOAPIC (core/irqchip/ioapic.c): the rules the split irqchip
 * relies on, each checked so that a model skipping it fails here. The probe
 * guest takes no interrupts, so level triggering and EOI are proven here
 * (and by the Linux guest where interrupts are delivered). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/irqchip/ioapic.h"

#define MAX_EVENTS 16

/* What the IOAPIC told the split set, in order. */
struct recorder {
	unsigned delivered, routes;
	unsigned pin[MAX_EVENTS];
	struct ioapic_msi msi[MAX_EVENTS];
	unsigned route_pin[MAX_EVENTS];
	bool route_masked[MAX_EVENTS];
	struct ioapic_msi route_msi[MAX_EVENTS];
};

static void rec_deliver(void *ctx, unsigned pin, const struct ioapic_msi *msi)
{
	struct recorder *r = ctx;

	assert_true(r->delivered < MAX_EVENTS);
	r->pin[r->delivered] = pin;
	r->msi[r->delivered++] = *msi;
}

static void rec_route(void *ctx, unsigned pin, const struct ioapic_msi *msi)
{
	struct recorder *r = ctx;

	assert_true(r->routes < MAX_EVENTS);
	r->route_pin[r->routes] = pin;
	r->route_masked[r->routes] = !msi;
	if (msi)
		r->route_msi[r->routes] = *msi;
	r->routes++;
}

static const struct ioapic_ops rec_ops = { .deliver = rec_deliver, .route_changed = rec_route };

struct fixture {
	struct ioapic io;
	struct recorder rec;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	ioapic_init(&f.io, 2, &rec_ops, &f.rec);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ioapic_fini(&f->io);
	return 0;
}

/* The guest's view: IOREGSEL then IOWIN, dword accesses. */
static void reg_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	ioapic_mmio_write(io, IOAPIC_REGSEL, (const uint8_t *)&reg, 4);
	ioapic_mmio_write(io, IOAPIC_IOWIN, (const uint8_t *)&v, 4);
}

static uint32_t reg_read(struct ioapic *io, uint32_t reg)
{
	uint32_t v;

	ioapic_mmio_write(io, IOAPIC_REGSEL, (const uint8_t *)&reg, 4);
	ioapic_mmio_read(io, IOAPIC_IOWIN, (uint8_t *)&v, 4);
	return v;
}

/* Programs pin as Linux does: high dword (destination) first, then low. */
static void program(struct ioapic *io, unsigned pin, uint32_t low, uint8_t dest)
{
	reg_write(io, IOAPIC_REG_TABLE + 2 * pin + 1, (uint32_t)dest << 24);
	reg_write(io, IOAPIC_REG_TABLE + 2 * pin, low);
}

#define LEVEL ((uint32_t)IOAPIC_RTE_LEVEL)
#define MASKED ((uint32_t)IOAPIC_RTE_MASKED)
#define REMOTE_IRR ((uint32_t)IOAPIC_RTE_REMOTE_IRR)

static void test_reset_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(reg_read(&f->io, IOAPIC_REG_VERSION), 0x00170011); /* 24 pins, version 0x11 */
	assert_int_equal(reg_read(&f->io, IOAPIC_REG_ID), 2u << 24);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		assert_int_equal(reg_read(&f->io, IOAPIC_REG_TABLE + 2 * pin), MASKED);
		assert_false(ioapic_route(&f->io, pin, &(struct ioapic_msi){ 0 }));
	}
	/* A rising line on a masked pin does nothing. */
	ioapic_set_line(&f->io, 4, true);
	assert_int_equal(f->rec.delivered, 0);
	/* Past the last pin: no register, all ones; version is read-only. */
	assert_int_equal(reg_read(&f->io, IOAPIC_REG_TABLE + 2 * IOAPIC_PINS), 0xffffffff);
	reg_write(&f->io, IOAPIC_REG_VERSION, 0);
	assert_int_equal(reg_read(&f->io, IOAPIC_REG_VERSION), 0x00170011);
}

/* Edge: a rising edge on an unmasked pin fires once, as the MSI its entry
 * describes; a line held high does not fire again; a masked edge is lost. */
static void test_edge(void **state)
{
	struct fixture *f = *state;

	program(&f->io, 4, 0x41, 0);
	ioapic_set_line(&f->io, 4, true);
	assert_int_equal(f->rec.delivered, 1);
	assert_int_equal(f->rec.pin[0], 4);
	assert_int_equal(f->rec.msi[0].address, 0xfee00000);
	assert_int_equal(f->rec.msi[0].data, 0x41);
	ioapic_set_line(&f->io, 4, true); /* still high: no new edge */
	assert_int_equal(f->rec.delivered, 1);
	ioapic_set_line(&f->io, 4, false);
	ioapic_set_line(&f->io, 4, true);
	assert_int_equal(f->rec.delivered, 2);
	/* Edge pins keep no Remote IRR, and their EOI does nothing. */
	assert_int_equal(reg_read(&f->io, IOAPIC_REG_TABLE + 8) & REMOTE_IRR, 0);
	ioapic_eoi(&f->io, 0x41);
	assert_int_equal(f->rec.delivered, 2);

	/* Masked: the edge is lost, not held for the unmask. */
	ioapic_set_line(&f->io, 4, false);
	program(&f->io, 4, 0x41 | MASKED, 0);
	ioapic_set_line(&f->io, 4, true);
	program(&f->io, 4, 0x41, 0);
	assert_int_equal(f->rec.delivered, 2);
}

/* Level: fires and sets Remote IRR; a line still high fires nothing more
 * until the EOI of its vector; other vectors' EOIs do not count. */
static void test_level_remote_irr(void **state)
{
	struct fixture *f = *state;

	program(&f->io, 5, 0x52 | LEVEL, 0);
	ioapic_set_line(&f->io, 5, true);
	assert_int_equal(f->rec.delivered, 1);
	assert_int_equal(f->rec.msi[0].data, 0x52 | 1u << 15); /* level in the MSI: KVM then exits at EOI */
	assert_true(reg_read(&f->io, IOAPIC_REG_TABLE + 10) & REMOTE_IRR);
	ioapic_set_line(&f->io, 5, false);
	ioapic_set_line(&f->io, 5, true); /* Remote IRR holds it */
	assert_int_equal(f->rec.delivered, 1);
	ioapic_eoi(&f->io, 0x53);
	assert_int_equal(f->rec.delivered, 1);
	assert_true(reg_read(&f->io, IOAPIC_REG_TABLE + 10) & REMOTE_IRR);
	/* The guest cannot clear Remote IRR by writing the entry. */
	program(&f->io, 5, 0x52 | LEVEL, 0);
	assert_true(reg_read(&f->io, IOAPIC_REG_TABLE + 10) & REMOTE_IRR);
	assert_int_equal(f->rec.delivered, 1);
}

/* EOI with the line still high fires again; with the line low it only
 * clears Remote IRR. */
static void test_eoi_redelivers(void **state)
{
	struct fixture *f = *state;

	program(&f->io, 9, 0x61 | LEVEL, 1);
	ioapic_set_line(&f->io, 9, true);
	assert_int_equal(f->rec.delivered, 1);
	ioapic_eoi(&f->io, 0x61);
	assert_int_equal(f->rec.delivered, 2);
	assert_int_equal(f->rec.pin[1], 9);
	assert_int_equal(f->rec.msi[1].address, 0xfee01000); /* destination 1 */
	assert_true(reg_read(&f->io, IOAPIC_REG_TABLE + 18) & REMOTE_IRR);
	ioapic_set_line(&f->io, 9, false);
	ioapic_eoi(&f->io, 0x61);
	assert_int_equal(f->rec.delivered, 2);
	assert_int_equal(reg_read(&f->io, IOAPIC_REG_TABLE + 18) & REMOTE_IRR, 0);
	/* A new assertion after that fires at once. */
	ioapic_set_line(&f->io, 9, true);
	assert_int_equal(f->rec.delivered, 3);
}

/* Mask: a level line high while masked fires at the unmask; masked at the
 * EOI, it waits for the unmask. */
static void test_mask(void **state)
{
	struct fixture *f = *state;

	program(&f->io, 10, 0x70 | LEVEL | MASKED, 0);
	ioapic_set_line(&f->io, 10, true);
	assert_int_equal(f->rec.delivered, 0);
	program(&f->io, 10, 0x70 | LEVEL, 0);
	assert_int_equal(f->rec.delivered, 1);
	program(&f->io, 10, 0x70 | LEVEL | MASKED, 0);
	ioapic_eoi(&f->io, 0x70);
	assert_int_equal(f->rec.delivered, 1);
	assert_int_equal(reg_read(&f->io, IOAPIC_REG_TABLE + 20) & REMOTE_IRR, 0);
	program(&f->io, 10, 0x70 | LEVEL, 0);
	assert_int_equal(f->rec.delivered, 2);
}

/* Rewriting an entry: the route follows each change that matters (vector,
 * destination, mode, trigger, mask) and only those; switching to edge
 * clears Remote IRR. */
static void test_entry_rewrites(void **state)
{
	struct fixture *f = *state;
	struct ioapic_msi msi;

	program(&f->io, 1, 0x31, 0);
	assert_int_equal(f->rec.routes, 1);
	assert_int_equal(f->rec.route_pin[0], 1);
	assert_false(f->rec.route_masked[0]);
	assert_int_equal(f->rec.route_msi[0].data, 0x31);
	assert_true(ioapic_route(&f->io, 1, &msi));
	assert_int_equal(msi.data, 0x31);
	/* Same entry again, or only the polarity: no new route. */
	program(&f->io, 1, 0x31, 0);
	program(&f->io, 1, 0x31 | (uint32_t)IOAPIC_RTE_POLARITY_LOW, 0);
	assert_int_equal(f->rec.routes, 1);
	/* New destination (high dword), logical mode, new vector. */
	reg_write(&f->io, IOAPIC_REG_TABLE + 3, 3u << 24);
	assert_int_equal(f->rec.routes, 2);
	assert_int_equal(f->rec.route_msi[1].address, 0xfee03000);
	reg_write(&f->io, IOAPIC_REG_TABLE + 2, 0x32 | (uint32_t)IOAPIC_RTE_DEST_LOGICAL);
	assert_int_equal(f->rec.routes, 3);
	assert_int_equal(f->rec.route_msi[2].address, 0xfee03004);
	assert_int_equal(f->rec.route_msi[2].data, 0x32);
	/* Delivery mode (lowest priority, 1) lands in the data. */
	reg_write(&f->io, IOAPIC_REG_TABLE + 2, 0x32 | 1u << 8);
	assert_int_equal(f->rec.route_msi[3].data, 0x132);
	/* Masked: the route goes. */
	reg_write(&f->io, IOAPIC_REG_TABLE + 2, 0x32 | MASKED);
	assert_int_equal(f->rec.routes, 5);
	assert_true(f->rec.route_masked[4]);
	assert_false(ioapic_route(&f->io, 1, &msi));
	/* Level with Remote IRR set, then rewritten as edge: Remote IRR clears. */
	program(&f->io, 1, 0x33 | LEVEL, 0);
	ioapic_set_line(&f->io, 1, true);
	assert_true(reg_read(&f->io, IOAPIC_REG_TABLE + 2) & REMOTE_IRR);
	program(&f->io, 1, 0x33, 0);
	assert_int_equal(reg_read(&f->io, IOAPIC_REG_TABLE + 2) & REMOTE_IRR, 0);
	/* The other pins were never touched. */
	for (unsigned i = 0; i < f->rec.routes; i++)
		assert_int_equal(f->rec.route_pin[i], 1);
}

/* Accesses the chip does not decode: ignored, all ones when read. */
static void test_mmio_widths(void **state)
{
	struct fixture *f = *state;
	uint8_t b = 0x10, out[8];
	uint64_t q;

	ioapic_mmio_write(&f->io, IOAPIC_REGSEL, &b, 1); /* a byte IOREGSEL is fine */
	ioapic_mmio_read(&f->io, IOAPIC_IOWIN, out, 4);
	assert_int_equal(out[2], 1); /* entry 0 low: the mask bit (bit 16) */
	ioapic_mmio_read(&f->io, IOAPIC_IOWIN, out, 1);
	assert_int_equal(out[0], 0xff);
	q = 0x41;
	ioapic_mmio_write(&f->io, IOAPIC_IOWIN, (const uint8_t *)&q, 2); /* not a dword: ignored */
	ioapic_mmio_write(&f->io, IOAPIC_IOWIN + 4, (const uint8_t *)&q, 4);
	assert_int_equal(f->rec.routes, 0);
	ioapic_mmio_read(&f->io, 0x20, out, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(out[i], 0xff);
	ioapic_set_line(&f->io, IOAPIC_PINS, true); /* out of range: ignored */
	assert_int_equal(f->rec.delivered, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_remote_irr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eoi_redelivers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_rewrites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_widths, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
