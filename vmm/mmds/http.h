/* The guest-facing MMDS request handler: one complete HTTP request in, the
 * bytes of Firecracker's answer out (src/vmm/src/mmds/mod.rs and the parse
 * error mapping of dumbo/tcp/endpoint.rs, written as micro-http writes).
 *
 * The TCP layer hands over what it framed as one request (up to the empty
 * line); this function knows nothing of connections. Parsing is the API's
 * http reader with MMDS-sized limits. GET reads the store through a JSON
 * pointer, in the IMDS text form or as JSON (Accept: application/json);
 * PUT /latest/api/token issues a V2 session token; PATCH and DELETE get 405
 * with "Allow: GET, PUT"; other methods 501. Under V2 a GET needs a valid
 * token; under V1 tokens are only checked to count them.
 *
 * Runs on the vmm thread, which owns the store and the token authority. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/mmds.h" /* enum mmds_version */
#include "mmds/store.h"
#include "mmds/token.h"

/* A request the TCP layer can frame is below its 2500-byte receive buffer;
 * the reader's limits only need to bound what the parser keeps. */
#define MMDS_HTTP_MAX_REQUEST 2500

/* Firecracker's `mmds` metrics that the HTTP layer counts. */
struct mmds_http_counters {
	uint64_t rx_no_token;      /* a GET without a token header */
	uint64_t rx_invalid_token; /* a GET with a token that is not valid */
};

struct mmds_http {
	const struct mmds_store *store;
	struct mmds_tokens *tokens;
	enum mmds_version version;
	bool imds_compat; /* IMDS text whatever the Accept header says (EC2 does so) */
	struct mmds_http_counters *counters;
};

/* Answers one request (req, len bytes). On success *ret (the caller frees it)
 * holds the whole response and *ret_len its length; every malformed request
 * gets an answer too. Returns 0 or -ENOMEM (then nothing is written). */
int mmds_http_respond(const struct mmds_http *m, const char *req, size_t len, char **ret, size_t *ret_len);
