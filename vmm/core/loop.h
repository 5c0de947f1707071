/* The vmm thread's event loop: one epoll set, one handler per fd.
 *
 * Devices register their ioeventfds, tap fds, timerfds and sockets here; the
 * api thread's requests arrive on an eventfd registered the same way. Handlers
 * run on the vmm thread only, so device state needs no locks against them.
 * Handlers must not block. Registrations (loop_add, loop_modify, loop_remove)
 * are the vmm thread's too, the thread that made the loop: another thread
 * (a vCPU's register write) wakes it through an eventfd instead. A call
 * from another thread is logged as the bug it is and counted. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct event_loop;

/* events is the epoll event mask that fired. */
typedef void (*loop_handler_fn)(void *ctx, uint32_t events);

/* Returns 0 or -errno. The caller owns *ret. */
int loop_create(struct event_loop **ret);
/* Frees all registrations; does not close the registered fds. Accepts NULL; returns NULL. */
struct event_loop *loop_destroy(struct event_loop *loop);

/* Registers fd (not owned) for events (EPOLLIN, ...). -EEXIST if registered. */
int loop_add(struct event_loop *loop, int fd, uint32_t events, loop_handler_fn fn, void *ctx);
/* Changes the event mask of a registered fd (to park a rate-limited queue, say). */
int loop_modify(struct event_loop *loop, int fd, uint32_t events);
/* A periodic timer (CLOCK_MONOTONIC, first expiry after one period) whose
 * expiries run fn: the handler reads the fd (8 bytes, the expiry count).
 * Returns the timerfd, which the caller owns (loop_remove and close it), or
 * -errno. */
int loop_add_timer(struct event_loop *loop, unsigned period_s, loop_handler_fn fn, void *ctx);
/* Unregisters fd; safe to call from inside a handler, including fd's own. */
int loop_remove(struct event_loop *loop, int fd);

/* Waits up to timeout_ms (-1: forever) and dispatches what is ready.
 * Returns the number of handlers run, or -errno. */
int loop_run_once(struct event_loop *loop, int timeout_ms);
/* Runs until loop_stop(). Returns 0 or -errno. */
int loop_run(struct event_loop *loop);
/* Makes loop_run() return after the current dispatch; callable from handlers. */
void loop_stop(struct event_loop *loop);
/* How many registrations were changed from a thread other than the loop's
 * (each one a bug; tests check it stays 0). */
unsigned loop_foreign_calls(const struct event_loop *loop);
bool loop_stopped(const struct event_loop *loop);
