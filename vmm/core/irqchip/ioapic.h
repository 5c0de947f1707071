/* ember's IOAPIC (82093AA), for the split irqchip: 24 pins, a redirection
 * table, edge and level triggering, Remote IRR.
 *
 * The model is pure: it knows no KVM. What it decides leaves through ops:
 *   deliver:       pin fires, as the MSI its entry describes;
 *   route_changed: the guest rewrote pin's entry in a way that changes its
 *                  route (vector, delivery or destination mode, destination,
 *                  trigger, mask); msi is the new route, NULL when masked.
 *                  The split set rebuilds pin's GSI → MSI route, on which
 *                  the devices' irqfds fire in the kernel.
 * Both are called with the IOAPIC's lock held and must not call back in.
 *
 * Rules (82093AA datasheet §3.2.4 and Linux's and KVM's readings of it):
 *  - edge: a rising edge on an unmasked pin delivers; one on a masked pin is
 *    lost (the datasheet: "not delivered or held pending");
 *  - level: a high line on an unmasked pin with Remote IRR clear delivers and
 *    sets Remote IRR; nothing more is delivered until the local APIC's EOI of
 *    that vector clears it (ioapic_eoi(), from KVM_EXIT_IOAPIC_EOI), and if
 *    the line is still high then, the pin fires again. Unmasking a level pin
 *    whose line is high fires it;
 *  - switching an entry to edge clears its Remote IRR (as KVM's IOAPIC does:
 *    otherwise a guest that reprograms a pin could leave it stuck);
 *  - delivery status and Remote IRR are read-only to the guest.
 * Polarity is kept as written but not applied: ember's lines are logical
 * (asserted or not), and the MP table declares its ISA lines active high.
 *
 * Thread-safe: vCPU threads (MMIO, EOI) and the vmm thread may call in. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_PINS 24u
#define IOAPIC_WINDOW 0x1000u /* the MMIO window at LAYOUT_IOAPIC */
#define IOAPIC_VERSION 0x11u  /* KVM's: no EOI register (directed EOI is 0x20) */

/* Register offsets in the window, and indirect registers (IOREGSEL). */
#define IOAPIC_REGSEL 0x00u
#define IOAPIC_IOWIN 0x10u
#define IOAPIC_REG_ID 0x00u
#define IOAPIC_REG_VERSION 0x01u
#define IOAPIC_REG_ARB 0x02u
#define IOAPIC_REG_TABLE 0x10u /* entry n: low dword 0x10 + 2n, high 0x11 + 2n */

/* Redirection entry fields. */
#define IOAPIC_RTE_VECTOR 0xffull
#define IOAPIC_RTE_DELIVERY_MODE (7ull << 8)
#define IOAPIC_RTE_DEST_LOGICAL (1ull << 11)
#define IOAPIC_RTE_DELIVERY_STATUS (1ull << 12)
#define IOAPIC_RTE_POLARITY_LOW (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ull << 14)
#define IOAPIC_RTE_LEVEL (1ull << 15)
#define IOAPIC_RTE_MASKED (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT 56
/* What the guest may write; the rest is the IOAPIC's. */
#define IOAPIC_RTE_WRITABLE                                                                        \
	(IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELIVERY_MODE | IOAPIC_RTE_DEST_LOGICAL | IOAPIC_RTE_POLARITY_LOW | \
	 IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED | (0xffull << IOAPIC_RTE_DEST_SHIFT))

/* An MSI as the local APICs see it (Intel SDM vol. 3 §11.11). */
struct ioapic_msi {
	uint32_t address; /* 0xfee00000 | destination << 12 | logical << 2 */
	uint32_t data;    /* vector | delivery mode << 8 | level << 15 */
};

struct ioapic_ops {
	void (*deliver)(void *ctx, unsigned pin, const struct ioapic_msi *msi);
	void (*route_changed)(void *ctx, unsigned pin, const struct ioapic_msi *msi);
};

struct ioapic {
	pthread_mutex_t lock;
	uint64_t rte[IOAPIC_PINS];
	uint32_t line; /* bit n: pin n asserted */
	uint32_t id;   /* the ID register (bits 24-27 meaningful) */
	uint32_t regsel;
	const struct ioapic_ops *ops;
	void *ctx;
};

/* Reset state: every entry masked, edge, vector 0; id as the MP table
 * declares it. ops and ctx are not owned and must outlive the IOAPIC. */
void ioapic_init(struct ioapic *io, uint8_t id, const struct ioapic_ops *ops, void *ctx);
void ioapic_fini(struct ioapic *io);

/* The MMIO window (offset within IOAPIC_WINDOW). IOREGSEL takes byte or
 * dword writes, IOWIN dword accesses; anything else reads as all ones and
 * is ignored when written, as on the chip. */
void ioapic_mmio_read(struct ioapic *io, uint64_t offset, uint8_t *data, uint32_t len);
void ioapic_mmio_write(struct ioapic *io, uint64_t offset, const uint8_t *data, uint32_t len);

/* The device side of pin: asserted or not. Out-of-range pins are ignored. */
void ioapic_set_line(struct ioapic *io, unsigned pin, bool asserted);
/* The local APIC's EOI of vector (KVM_EXIT_IOAPIC_EOI): clears Remote IRR of
 * every level pin with that vector, re-delivering those still asserted. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* pin's MSI route: true with *ret filled when the entry is unmasked; false
 * for a masked entry or a pin out of range (no route: the kernel drops what
 * an irqfd signals on it, as the chip drops a masked edge). */
bool ioapic_route(struct ioapic *io, unsigned pin, struct ioapic_msi *ret);
/* The entry as the guest would read it (tests, diagnostics). */
uint64_t ioapic_entry(struct ioapic *io, unsigned pin);
