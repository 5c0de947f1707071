#include "sink.h"

#include <stdint.h>

#include "cleanup.h"
#include "core/bus.h"
#include "core/layout.h"
#include "serial.h"

/* No handlers: the bus returns all ones for reads and drops writes. */
static const struct bus_ops sink_ops = { 0 };

static const struct {
	uint16_t port, len;
} sinks[] = {
	{ LAYOUT_PORT_COM2, SERIAL_PORT_LEN },
	{ LAYOUT_PORT_COM3, SERIAL_PORT_LEN },
	{ LAYOUT_PORT_COM4, SERIAL_PORT_LEN },
	{ LAYOUT_PORT_DEBUG_EXIT, 1 },
};

int legacy_sinks_attach(struct bus *pio_bus)
{
	for (size_t i = 0; i < ARRAY_SIZE(sinks); i++) {
		int r = bus_register(pio_bus, sinks[i].port, sinks[i].len, &sink_ops, NULL);

		if (r < 0)
			return r;
	}
	return 0;
}
