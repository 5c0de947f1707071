/* The serial console's descriptor (devices/kind.h): the COM1 UART, always
 * attached, and its settings: PUT /serial (before boot) and ember's config
 * file key `serial` fill its slot (config/serial_config.h); GET /vm/config
 * does not show them, as Firecracker's does not. The device is
 * legacy/serial.c; the terminal's raw mode is common/term.c. */
#include <errno.h>
#include <unistd.h>

#include "api/router.h"
#include "cleanup.h"
#include "config/serial_config.h"
#include "config/vm_config.h"
#include "core/device_env.h"
#include "core/layout.h"
#include "devices/kind.h"
#include "exit_code.h"
#include "devices/legacy/serial.h"
#include "term.h"

extern const struct device_kind serial_kind;

/* ---- the API ---- */

/* Firecracker replaces both settings with what the body says. */
static void serial_api_put(struct api_controller *c, struct api_action *a)
{
	struct serial_slot *s = vm_config_slot_get(c->config, &serial_kind);
	struct serial_config cfg;
	char err[1024];

	if (!s) {
		api_fault(a, "Out of memory.");
		return;
	}
	if (serial_config_parse(a->body, &cfg, err, sizeof(err)) < 0) {
		api_fault(a, "%s", err);
		return;
	}
	if (serial_slot_put(s, &cfg, err, sizeof(err)) < 0) {
		serial_config_clear(&cfg);
		api_fault(a, "%s", err);
		return;
	}
	api_no_content(a);
}

static const struct api_route serial_routes[] = {
	{ .method = "PUT", .path = "/serial", .states = API_PRE_BOOT, .apply = serial_api_put,
	  .count_metric = API_METRIC(put_api_requests, serial_count),
	  .fail_metric = API_METRIC(put_api_requests, serial_fails) },
};

/* ---- the configuration ---- */

static void serial_kind_slot_init(void *slot)
{
	*(struct serial_slot *)slot = (struct serial_slot)SERIAL_SLOT_INIT;
}

static void serial_kind_slot_clear(void *slot)
{
	serial_slot_clear(slot);
}

static int serial_config_key_parse(const json_t *value, void *slot, char *err, size_t errlen)
{
	return serial_slot_parse(value, slot, err, errlen);
}

/* ---- the device ---- */

static const void *serial_kind_config(const struct vm_config *cfg, unsigned i)
{
	return vm_config_slot(cfg, &serial_kind); /* NULL: nothing was put */
}

static void serial_escape_exit(void *ctx)
{
	const struct device_exit_hook *exit = ctx;

	exit->request_exit(exit->ctx, EXIT_CODE_OK);
}

static int serial_kind_create(const struct device_ctx *ctx, const void *config, void **ret)
{
	const struct serial_slot *s = config;
	struct token_bucket_config bucket = serial_slot_bucket(s);
	int out = s && s->present && s->out_fd >= 0 ? s->out_fd : STDOUT_FILENO;
	struct serial *dev;
	int r = serial_create(ctx->env, LAYOUT_PORT_COM1, LAYOUT_IRQ_COM1, out, STDIN_FILENO, &dev);

	if (r < 0)
		return r;
	serial_set_output_limit(dev, &bucket);
	if (term_is_raw())
		serial_set_console_escape(dev, serial_escape_exit, (void *)ctx->exit);
	*ret = dev;
	return 0;
}

static void serial_kind_destroy(void *dev)
{
	serial_destroy(dev);
}

/* Snapshots: the UART's registers and input FIFO (legacy/serial.c). */
static int serial_kind_save(void *dev, uint8_t *buf, size_t size)
{
	size_t n = serial_state_save(dev, buf, size);

	return n ? (int)n : -ENOSPC;
}

static int serial_kind_restore(void *dev, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return serial_state_restore(dev, buf, len, err, errlen);
}

const struct device_kind serial_kind = {
	.name = "serial console",
	.max = 1,
	.config_key = "serial",
	.config_nullable = true,
	.slot_size = sizeof(struct serial_slot),
	.slot_init = serial_kind_slot_init,
	.slot_clear = serial_kind_slot_clear,
	.config_parse = serial_config_key_parse,
	.metrics_group = &uart_metrics_group,
	.routes = serial_routes,
	.routes_count = ARRAY_SIZE(serial_routes),
	.config = serial_kind_config,
	.create = serial_kind_create,
	.destroy = serial_kind_destroy,
	.snapshot_save = serial_kind_save,
	.snapshot_restore = serial_kind_restore,
};
