/* The HTTP methods of Firecracker's API: the one list the server, the router
 * and the request log share. */
#pragma once

struct api_method {
	const char *name;  /* as on the wire: "GET" */
	const char *title; /* as Firecracker's log lines show it (Rust's Debug): "Get" */
};

/* The method named m, or NULL when the API has no such method. */
const struct api_method *api_method_find(const char *m);
