#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *dev;
};

struct bus {
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	size_t n;
};

int bus_create(struct bus **ret)
{
	struct bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return -ENOMEM;
	*ret = bus;
	return 0;
}

struct bus *bus_destroy(struct bus *bus)
{
	if (bus) {
		free(bus->ranges);
		free(bus);
	}
	return NULL;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops, void *dev)
{
	struct bus_range *nr;
	uint64_t end;
	size_t i;

	if (len == 0 || __builtin_add_overflow(base, len - 1, &end))
		return -EINVAL;
	for (i = 0; i < bus->n && bus->ranges[i].base <= end; i++)
		if (bus->ranges[i].base + bus->ranges[i].len - 1 >= base)
			return -EEXIST;
	nr = realloc(bus->ranges, (bus->n + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	bus->ranges = nr;
	memmove(&nr[i + 1], &nr[i], (bus->n - i) * sizeof(*nr));
	nr[i] = (struct bus_range){ .base = base, .len = len, .ops = ops, .dev = dev };
	bus->n++;
	return 0;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	for (size_t i = 0; i < bus->n; i++) {
		if (bus->ranges[i].base != base)
			continue;
		memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->n - i - 1) * sizeof(bus->ranges[0]));
		bus->n--;
		return 0;
	}
	return -ENOENT;
}

static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static const struct bus_range *bus_lookup(const struct bus *bus, uint64_t addr, uint32_t len, int *err)
{
	const struct bus_range *r = bus_find(bus, addr);

	*err = 0;
	if (!r) {
		*err = -ENOENT;
		return NULL;
	}
	if (len == 0 || addr - r->base + len > r->len) {
		*err = -EINVAL;
		return NULL;
	}
	return r;
}

int bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	int err;
	const struct bus_range *r = bus_lookup(bus, addr, len, &err);

	if (!r)
		return err;
	if (r->ops->read)
		r->ops->read(r->dev, addr - r->base, data, len);
	else
		memset(data, 0xff, len);
	return 0;
}

int bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	int err;
	const struct bus_range *r = bus_lookup(bus, addr, len, &err);

	if (!r)
		return err;
	if (r->ops->write)
		r->ops->write(r->dev, addr - r->base, data, len);
	return 0;
}
