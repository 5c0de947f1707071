/* Serving one request: logging, routing, the hand-off to the vmm thread and
 * the response bytes. Internal to the API server. */
#pragma once

#include <stddef.h>

#include "api/controller.h"
#include "api/http.h"

struct event_loop;
struct api_handoff;

/* Registers the hand-off eventfd on the vmm loop. 0 or -errno; the caller owns *ret. */
int api_handoff_new(struct api_controller *c, struct event_loop *loop, struct api_handoff **ret);
/* Vmm thread: answers anything still queued with an error, wakes every waiter,
 * and unregisters. Accepts NULL; returns NULL. */
struct api_handoff *api_handoff_free(struct api_handoff *h);
/* Makes every current and future wait fail at once (the vmm thread is going away). */
void api_handoff_shutdown(struct api_handoff *h);
/* Api thread: serves req and returns Firecracker's response bytes (the caller
 * frees them). Blocks while the vmm thread applies the action. 0 or -ENOMEM. */
int api_handoff_serve(struct api_handoff *h, const struct http_request *req, char **ret, size_t *ret_len);
