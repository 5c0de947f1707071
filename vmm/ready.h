/* The readiness report to the jailer (EMBER_READY_FD).
 *
 * With --daemonize or --status-fd the jailer hands ember the write end of a
 * pipe as fd 3 and sets EMBER_READY_FD=3. ember writes exactly one line
 * there and closes it:
 *
 *   ready                      the API socket is bound (with --config-file:
 *                              the guest has started)
 *   failed <exit-code> <msg>   ember is exiting before it was ready
 *
 * Without the variable every function here does nothing. */
#pragma once

#include <stddef.h>

/* Takes the fd named by EMBER_READY_FD (only a pipe is accepted), marks it
 * close-on-exec and removes the variable from the environment. Call first. */
void ready_init(void);
/* Writes "ready" and closes the fd. */
void ready_signal(void);
/* Writes "failed <code> <msg>" (msg up to its first newline; NULL: the last
 * Error line logged, or a generic text) unless ready was already written.
 * Async-signal-safe: write(2) only, for the fatal-signal paths. */
void ready_fail(int code, const char *msg, size_t len);
/* ready_fail with "Shutting down VM after intercepting signal <sig>". */
void ready_fail_signal(int sig, int code);
/* ready_fail(code, NULL, 0) and returns code: for main's exit paths. */
int ready_exit(int code);
/* Remembers msg as the reason to report (the argument parser's errors go
 * to stderr, not to the logger). */
void ready_note(const char *msg);
