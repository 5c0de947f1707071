/* libFuzzer: raw bytes into the HTTP request reader, fed in pieces of
 * varying size as a socket would deliver them; every complete request is
 * then routed and answered as the server does. The same bytes fed in one
 * piece must give the same verdict (as many requests, then an error or
 * none): the strict checks and http-parser keep their state across reads. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/controller.h"
#include "api/http.h"
#include "api/server.h"
#include "config/vm_config.h"
#include "log.h"
#include "mmds/store.h"

static struct mmds_store *mmds;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_OFF);
	return mmds_store_new(4096, &mmds);
}

static void serve(struct http_request *req)
{
	/* No VM hooks: starting fails cleanly, and /logger and /metrics are
	 * refused by state so no invented path is ever opened. */
	struct vm_config config;
	struct api_controller c = { .instance_id = "fuzz", .mmds = mmds, .config = &config };
	char *out;
	size_t len;

	vm_config_init(&config);
	if (!strncmp(req->path, "/logger", 7) || !strncmp(req->path, "/metrics", 8) ||
	    !strncmp(req->path, "/boot-source", 12) || !strncmp(req->path, "/drives", 7))
		c.state = VM_RUNNING;
	if (api_serve_local(&c, req->method, req->path, req->body, req->body_len, &out, &len) == 0)
		free(out);
	vm_config_clear(&config);
}

struct outcome {
	int requests;
	bool failed;
	char err[256];
};

static void feed(const uint8_t *data, size_t size, size_t step, bool do_serve, struct outcome *o)
{
	struct http_limits limits;
	struct http_reader *r;
	size_t off = 0;

	*o = (struct outcome){ 0 };
	http_limits_default(&limits);
	limits.max_body = 2048;
	if (http_reader_new(&limits, &r) < 0)
		abort();
	while (off < size) {
		struct http_request *req = NULL;
		size_t chunk = size - off < step ? size - off : step;
		ssize_t n = http_reader_feed(r, (const char *)data + off, chunk, &req, o->err, sizeof(o->err));
		if (n < 0) {
			o->failed = true;
			break;
		}
		if (n == 0 && !req)
			break; /* defensive: no progress */
		off += (size_t)n;
		if (req) {
			o->requests++;
			if (do_serve)
				serve(req);
			http_request_free(req);
		}
	}
	http_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome pieces, whole;

	feed(data, size, size ? data[0] % 64 + 1 : 1, true, &pieces);
	feed(data, size, size ? size : 1, false, &whole);
	/* Not the error texts: when a request has two faults, which one is
	 * reported first can depend on where http-parser's callbacks fired. */
	if (pieces.requests != whole.requests || pieces.failed != whole.failed)
		abort();
	return 0;
}
