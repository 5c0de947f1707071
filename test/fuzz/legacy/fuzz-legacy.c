/* libFuzzer target for the guest-facing legacy devices: the input is a
 * sequence of port accesses (port selector, direction, value) replayed on the
 * 8250 and the i8042 through the port bus, as vCPU exits would deliver them.
 * Nothing the guest writes may crash ember, grow memory or block. Run:
 *   build-fuzz/test/fuzz/legacy/fuzz-legacy -max_total_time=60 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/device_env.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/serial.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_reset(void *ctx)
{
	(*(int *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = { 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x60, 0x64 };
	struct bus *pio = NULL;
	struct serial *s = NULL;
	struct i8042 *k = NULL;
	int out = open("/dev/null", O_WRONLY | O_CLOEXEC), resets = 0;
	struct device_env env = { .vm_fd = -1 };

	log_set_level(LOG_OFF);
	if (out < 0 || bus_create(&pio) < 0)
		goto done;
	env.pio_bus = pio;
	if (serial_create(&env, 0x3f8, 4, out, -1, &s) < 0 || i8042_create(&env, on_reset, &resets, &k) < 0)
		goto done;
	for (size_t i = 0; i + 2 < size; i += 3) {
		uint16_t port = ports[data[i] % (sizeof(ports) / sizeof(ports[0]))];
		uint8_t v = data[i + 2];

		if (data[i + 1] & 1)
			bus_write(pio, port, &v, 1);
		else
			bus_read(pio, port, &v, 1);
		if ((data[i + 1] & 0xf0) == 0xf0)
			i8042_send_ctrl_alt_del(k);
	}
done:
	i8042_destroy(k);
	serial_destroy(s);
	bus_destroy(pio);
	if (out >= 0)
		close(out);
	return 0;
}
