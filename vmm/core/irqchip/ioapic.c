#include "ioapic.h"

#include <string.h>

#define MSI_BASE 0xfee00000u
#define MSI_DEST_SHIFT 12
#define MSI_DEST_LOGICAL (1u << 2)
#define MSI_DATA_LEVEL (1u << 15)

/* The bits that make up a route: a change to any of them rebuilds it. */
#define RTE_ROUTE_BITS                                                                             \
	(IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELIVERY_MODE | IOAPIC_RTE_DEST_LOGICAL | IOAPIC_RTE_LEVEL |       \
	 IOAPIC_RTE_MASKED | (0xffull << IOAPIC_RTE_DEST_SHIFT))

void ioapic_init(struct ioapic *io, uint8_t id, const struct ioapic_ops *ops, void *ctx)
{
	memset(io, 0, sizeof(*io));
	pthread_mutex_init(&io->lock, NULL);
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->rte[i] = IOAPIC_RTE_MASKED;
	io->id = (uint32_t)(id & 0xf) << 24;
	io->ops = ops;
	io->ctx = ctx;
}

void ioapic_fini(struct ioapic *io)
{
	pthread_mutex_destroy(&io->lock);
}

/* The MSI an entry sends (Intel SDM vol. 3 §11.11.1 and §11.11.2): the
 * destination byte into address bits 12-19, the vector, delivery mode and
 * trigger into the data. The trigger bit is what makes KVM exit on the EOI
 * of a level pin's vector (its scan of the IOAPIC routes). */
static struct ioapic_msi ioapic_msi_of(uint64_t rte)
{
	uint32_t dest = (uint32_t)(rte >> IOAPIC_RTE_DEST_SHIFT) & 0xff;

	return (struct ioapic_msi){
		.address = MSI_BASE | dest << MSI_DEST_SHIFT | (rte & IOAPIC_RTE_DEST_LOGICAL ? MSI_DEST_LOGICAL : 0),
		.data = (uint32_t)(rte & (IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELIVERY_MODE)) |
			(rte & IOAPIC_RTE_LEVEL ? MSI_DATA_LEVEL : 0),
	};
}

/* Sends pin's interrupt; a level pin now waits for its EOI (Remote IRR). */
static void ioapic_fire(struct ioapic *io, unsigned pin)
{
	struct ioapic_msi msi = ioapic_msi_of(io->rte[pin]);

	if (io->rte[pin] & IOAPIC_RTE_LEVEL)
		io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
	io->ops->deliver(io->ctx, pin, &msi);
}

/* A level pin fires when its line is high, it is unmasked and no earlier
 * interrupt of it waits for its EOI. */
static void ioapic_service_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->rte[pin];

	if ((e & IOAPIC_RTE_LEVEL) && !(e & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)) &&
	    (io->line & (1u << pin)))
		ioapic_fire(io, pin);
}

static uint32_t ioapic_reg_read(struct ioapic *io, uint32_t reg)
{
	switch (reg) {
	case IOAPIC_REG_ID:
		return io->id;
	case IOAPIC_REG_VERSION:
		return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
	case IOAPIC_REG_ARB:
		return io->id; /* the arbitration ID follows the ID on the 82093AA */
	}
	if (reg >= IOAPIC_REG_TABLE && reg < IOAPIC_REG_TABLE + 2 * IOAPIC_PINS) {
		uint64_t e = io->rte[(reg - IOAPIC_REG_TABLE) / 2];

		return (uint32_t)(reg & 1 ? e >> 32 : e);
	}
	return 0xffffffffu; /* no such register */
}

/* Writes one half of an entry, keeping the IOAPIC's own bits. */
static void ioapic_rte_write(struct ioapic *io, unsigned pin, bool high, uint32_t v)
{
	uint64_t old = io->rte[pin];
	uint64_t e = high ? (old & 0xffffffffull) | (uint64_t)v << 32 : (old & ~0xffffffffull) | v;

	e = (e & IOAPIC_RTE_WRITABLE) | (old & (IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVERY_STATUS));
	if (!(e & IOAPIC_RTE_LEVEL))
		e &= ~IOAPIC_RTE_REMOTE_IRR;
	io->rte[pin] = e;
	if ((old ^ e) & RTE_ROUTE_BITS) {
		struct ioapic_msi msi = ioapic_msi_of(e);

		io->ops->route_changed(io->ctx, pin, e & IOAPIC_RTE_MASKED ? NULL : &msi);
	}
	ioapic_service_level(io, pin);
}

static void ioapic_reg_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	if (reg == IOAPIC_REG_ID)
		io->id = v & (0xfu << 24);
	else if (reg >= IOAPIC_REG_TABLE && reg < IOAPIC_REG_TABLE + 2 * IOAPIC_PINS)
		ioapic_rte_write(io, (reg - IOAPIC_REG_TABLE) / 2, reg & 1, v);
	/* version and arbitration are read-only; other registers do not exist */
}

void ioapic_mmio_read(struct ioapic *io, uint64_t offset, uint8_t *data, uint32_t len)
{
	uint32_t v = 0xffffffffu;

	pthread_mutex_lock(&io->lock);
	if (offset == IOAPIC_REGSEL && (len == 4 || len == 1))
		v = io->regsel;
	else if (offset == IOAPIC_IOWIN && len == 4)
		v = ioapic_reg_read(io, io->regsel);
	pthread_mutex_unlock(&io->lock);
	memset(data, 0xff, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

void ioapic_mmio_write(struct ioapic *io, uint64_t offset, const uint8_t *data, uint32_t len)
{
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	pthread_mutex_lock(&io->lock);
	if (offset == IOAPIC_REGSEL && (len == 4 || len == 1))
		io->regsel = v & 0xff;
	else if (offset == IOAPIC_IOWIN && len == 4)
		ioapic_reg_write(io, io->regsel, v);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_set_line(struct ioapic *io, unsigned pin, bool asserted)
{
	uint32_t bit;
	bool rising;

	if (pin >= IOAPIC_PINS)
		return;
	bit = 1u << pin;
	pthread_mutex_lock(&io->lock);
	rising = asserted && !(io->line & bit);
	io->line = asserted ? io->line | bit : io->line & ~bit;
	if (io->rte[pin] & IOAPIC_RTE_LEVEL)
		ioapic_service_level(io, pin);
	else if (rising && !(io->rte[pin] & IOAPIC_RTE_MASKED))
		ioapic_fire(io, pin);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = io->rte[pin];

		if ((e & IOAPIC_RTE_VECTOR) != vector || !(e & IOAPIC_RTE_LEVEL) || !(e & IOAPIC_RTE_REMOTE_IRR))
			continue;
		io->rte[pin] = e & ~IOAPIC_RTE_REMOTE_IRR;
		ioapic_service_level(io, pin);
	}
	pthread_mutex_unlock(&io->lock);
}

bool ioapic_route(struct ioapic *io, unsigned pin, struct ioapic_msi *ret)
{
	bool routed;

	if (pin >= IOAPIC_PINS)
		return false;
	pthread_mutex_lock(&io->lock);
	routed = !(io->rte[pin] & IOAPIC_RTE_MASKED);
	if (routed)
		*ret = ioapic_msi_of(io->rte[pin]);
	pthread_mutex_unlock(&io->lock);
	return routed;
}

uint64_t ioapic_entry(struct ioapic *io, unsigned pin)
{
	uint64_t e;

	if (pin >= IOAPIC_PINS)
		return 0;
	pthread_mutex_lock(&io->lock);
	e = io->rte[pin];
	pthread_mutex_unlock(&io->lock);
	return e;
}
