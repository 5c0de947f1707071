/* An address bus: maps guest MMIO addresses or I/O ports to device handlers.
 *
 * vCPU threads dispatch their MMIO and port-I/O exits here. Devices are
 * registered during start-up, before any vCPU runs; after that the bus is
 * read-only, so dispatch takes no lock. Device handlers are called on vCPU
 * threads and must do their own locking against the vmm thread. */
#pragma once

#include <stdint.h>

struct bus_ops {
	/* offset is relative to the registered base; len is 1, 2, 4 or 8. */
	void (*read)(void *dev, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *dev, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct bus;

int bus_create(struct bus **ret);
struct bus *bus_destroy(struct bus *bus); /* accepts NULL, returns NULL */

/* Claims [base, base + len). -EEXIST when it overlaps a claimed range,
 * -EINVAL for len 0 or a wrapping range, -ENOMEM. dev is not owned. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops, void *dev);

/* Releases the range registered at exactly base (a snapshot load moving a
 * window before any vCPU runs). 0 or -ENOENT. */
int bus_unregister(struct bus *bus, uint64_t base);

/* Dispatches an access. -ENOENT when no device claims addr (the caller
 * decides: reads of unclaimed space return all ones), -EINVAL when the access
 * crosses the end of the claimed range. */
int bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
int bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);
