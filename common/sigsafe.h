/* Formatting for signal handlers and the paths they run (the fatal-signal
 * log line, the metrics flush at exit): no locale, no locks, no allocation,
 * only arithmetic on the caller's buffer, so it is async-signal-safe where
 * vsnprintf is not.
 *
 * Conversions: %s, %.*s, %c, %d, %i, %u, %x, with the length modifiers l, ll
 * and z (so PRIu64 and PRIx64 work), and %%. Anything else makes the call
 * return -EINVAL, never guess at the argument list. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "cleanup.h"

/* As vsnprintf: writes at most len bytes including the NUL (when len > 0) and
 * returns the length the whole output has, or -EINVAL. */
int sigsafe_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap) _printf_(3, 0);
int sigsafe_snprintf(char *buf, size_t len, const char *fmt, ...) _printf_(3, 4);
