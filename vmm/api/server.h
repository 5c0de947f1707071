/* The API server: the `api` thread, its unix socket, and the hand-off of
 * validated actions to the vmm thread.
 *
 * The api thread owns the listening socket and up to API_MAX_CONNECTIONS
 * connections in its own epoll loop; it parses and validates each request
 * into an api_action, queues it for the vmm thread (an eventfd registered on
 * the vmm loop wakes that thread), and blocks until the vmm thread has
 * answered. It never touches VM state.
 *
 * Connection limits (doc/api.md): a request must be complete within
 * request_timeout_s of its first byte (else 408 and close); a connection on
 * which nothing moves for idle_timeout_s is closed; with every slot taken, a
 * new connection evicts the one that has gone longest without completing a
 * request, among those with nothing waiting to be served or sent, and only
 * when none qualifies is it refused with Firecracker's 503. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "api/controller.h"

#define API_DEFAULT_SOCKET "/run/firecracker.socket"
#define API_MAX_CONNECTIONS 10
#define API_DEFAULT_REQUEST_TIMEOUT_S 10
/* Above Go's net/http idle pool (90 s), so Go clients close idle connections first. */
#define API_DEFAULT_IDLE_TIMEOUT_S 120
#define API_MAX_TIMEOUT_S 86400

struct event_loop;
struct api_server;

struct api_server_config {
	const char *socket_path;
	size_t max_payload;   /* --http-api-max-payload-size */
	unsigned request_timeout_s; /* --http-api-request-timeout-s, >= 1 */
	unsigned idle_timeout_s;    /* --http-api-idle-timeout-s, 0 = never */
};

/* Binds the socket (refusing an existing path), registers the hand-off on the
 * vmm loop and starts the `api` thread. The controller must outlive the
 * server. Returns 0 or -errno with the reason in err (setup: the caller exits). */
int api_server_start(const struct api_server_config *cfg, struct api_controller *controller,
		     struct event_loop *loop, struct api_server **ret, char *err, size_t errlen);
/* A socket left at path by an ember that died (SIGKILL, a crash): path is a
 * socket and connect() is refused. It is removed and true returned; anything
 * else (nothing there, a live server, not a socket) is left alone and bind
 * then refuses it. Needs connect(2), so it runs before seccomp is installed. */
bool api_socket_remove_stale(const char *path);
/* Stops the thread (answering any queued action with an error), closes every
 * connection and removes the socket file. Call from the vmm thread. Accepts
 * NULL; returns NULL. */
struct api_server *api_server_stop(struct api_server *s);

/* Serves one request synchronously on the calling thread, as the server does
 * but without sockets: routing, validation, the controller, and Firecracker's
 * response bytes. For the fuzzer, tests and the benchmark's baseline. The
 * caller frees *ret. Returns 0 or -ENOMEM. */
int api_serve_local(struct api_controller *c, const char *method, const char *path, const char *body,
		    size_t body_len, char **ret, size_t *ret_len);
