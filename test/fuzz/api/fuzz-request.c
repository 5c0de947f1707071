/* libFuzzer: method, path and body in, response out, through routing,
 * validation and the controller. Input: "METHOD\nPATH\nBODY...".
 *
 * The VM hooks succeed without a VM, so every state transition is reachable.
 * Requests to /logger and /metrics are served in the Running state: their
 * bodies are still fully validated, but the harness never opens the paths a
 * fuzzer invents. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/controller.h"
#include "api/server.h"
#include "config/vm_config.h"
#include "log.h"
#include "mmds/store.h"

static int ok_hook(void *ctx, char *err, size_t errlen)
{
	return 0;
}

static const struct api_vm_ops ops = {
	.start = ok_hook, .pause = ok_hook, .resume = ok_hook, .ctrl_alt_del = ok_hook,
};

static struct mmds_store *mmds;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_OFF);
	return mmds_store_new(4096, &mmds);
}

static char *take_line(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t len = nl ? (size_t)(nl - *data) : *size;
	char *line = strndup((const char *)*data, len);

	*data += nl ? len + 1 : len;
	*size -= nl ? len + 1 : len;
	return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *method = take_line(&data, &size), *path = take_line(&data, &size);
	struct vm_config config;
	struct api_controller c = { .instance_id = "fuzz", .mmds = mmds, .config = &config, .ops = &ops };
	char *out = NULL;
	size_t out_len;

	vm_config_init(&config);
	/* Two requests per input: the second sees the state the first left. */
	if (method && path) {
		if (!strncmp(path, "/logger", 7) || !strncmp(path, "/metrics", 8) || !strncmp(path, "/boot-source", 12) ||
		    !strncmp(path, "/drives", 7)) /* PUT refused, PATCH finds no drive: no invented path is opened */
			c.state = VM_RUNNING;
		if (api_serve_local(&c, method, path, (const char *)data, size, &out, &out_len) == 0)
			free(out);
		if (api_serve_local(&c, method, path, (const char *)data, size, &out, &out_len) == 0)
			free(out);
	}
	vm_config_clear(&config);
	free(method);
	free(path);
	return 0;
}
