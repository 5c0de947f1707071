/* The logger: Firecracker's line format, one process-wide sink.
 *
 *   2026-11-22T19:45:41.767987318 [vm1:vmm:INFO:vmm/main.c:120] message
 *
 * The level and origin parts appear only when enabled (--show-level,
 * --show-log-origin). Lines are assembled in a stack buffer and written with a
 * single write(2), so concurrent threads never interleave inside a line. In
 * ember (after out_stdout_prepare(), common/out.h) no write ever waits for the
 * reader: a line the sink cannot take now (full pipe or terminal, closed file)
 * is dropped and counted in log_missed_count, never retried, so a reader that
 * stops reading cannot stall a vCPU or the api and vmm threads.
 *
 * Every call site that the guest or an API client can trigger uses
 * log_rl(): at most LOG_RL_BURST lines per LOG_RL_WINDOW_S seconds per call
 * site. What a site suppressed is summed up in one warning
 * ("N messages from this site were suppressed ...") once its window has
 * ended: before the next line any site writes, on the vmm loop's timer
 * (vmm/logger.c) and at exit (log_ratelimit_flush(true)). */
#pragma once

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"

enum log_level {
	LOG_OFF = 0,
	LOG_ERROR,
	LOG_WARNING,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE,
};

#define LOG_RL_BURST 10
#define LOG_RL_WINDOW_S 5

struct log_ratelimit {
	_Atomic uint64_t window_start_ns;
	_Atomic uint32_t emitted;
	_Atomic uint32_t suppressed;
	unsigned burst;                /* lines per window; 0: LOG_RL_BURST */
	/* Set once the site first suppresses a line; then on the list of sites. */
	_Atomic bool registered;
	const char *file;
	int line;
	struct log_ratelimit *next;
};

/* A site with its own budget: static struct log_ratelimit rl = LOG_RATELIMIT_INIT(64); */
#define LOG_RATELIMIT_INIT(lines_per_window) { .burst = (lines_per_window) }

/* Parses Firecracker's level names, case-insensitively ("warn" is accepted as
 * an alias of Warning). Returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret);
const char *log_level_name(enum log_level level);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_show_level(bool on);
void log_set_show_origin(bool on);
/* The instance id printed in every line; copied, truncated to 64 bytes. */
void log_set_instance_id(const char *id);
/* Names the calling thread in log lines and seccomp messages (vmm, api,
 * vcpuN); its comm in /proc is thread_set_comm's (common/thread.h). */
void log_set_thread_name(const char *name);
/* Makes fd the sink, written as out_get(fd) says (common/out.h); the logger
 * takes ownership and closes the previous sink unless it is stdio or the
 * private stdout description. */
void log_set_fd(int fd);
int log_get_fd(void);
/* Writes buf as it is to the sink without blocking: false (and counted in
 * log_missed_count) when the sink did not take all of it. Async-signal-safe. */
bool log_emit(const char *buf, size_t len);

/* Counters for the metrics "logger" group (monotonic; the metrics module turns them into deltas). */
uint64_t log_missed_count(void);
uint64_t log_rate_limited_count(void);

/* Calls fn with the text (no prefix, not NUL-terminated) of every Error line
 * written, in the writing thread; NULL clears it. ember's readiness report
 * uses it to say why start-up failed. */
void log_set_error_hook(void (*fn)(const char *msg, size_t len));

void log_write(enum log_level level, const char *file, int line, const char *fmt, ...) _printf_(4, 5);
void log_vwrite(enum log_level level, const char *file, int line, const char *fmt, va_list ap) _printf_(4, 0);
/* Returns true when this call site may log now; counts what it suppresses
 * (log_rate_limited_count). Lock-free; callable from any thread. */
bool log_ratelimit_allow(struct log_ratelimit *rl, const char *file, int line);
/* Writes the summary of every site whose window has ended (all: of every
 * site with suppressed lines, as at exit). */
void log_ratelimit_flush(bool all);

/* For signal handlers: one line in the usual format, formatted by
 * sigsafe_vsnprintf (its conversions only) and written with write(2) alone:
 * no localtime_r, snprintf or malloc (the time is local by the UTC offset of
 * the last ordinary line). */
void log_signal_safe_write(enum log_level level, const char *file, int line, const char *fmt, ...) _printf_(4, 5);
#define log_signal_safe_error(...) log_signal_safe_write(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)

#define log_at(level, ...)                                                                         \
	do {                                                                                       \
		if ((level) <= log_get_level())                                                    \
			log_write((level), __FILE__, __LINE__, __VA_ARGS__);                       \
	} while (0)

#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) log_at(LOG_TRACE, __VA_ARGS__)

/* Rate-limited logging for paths driven by the guest or an API client. */
#define log_rl(level, ...)                                                                         \
	do {                                                                                       \
		static struct log_ratelimit _log_rl;                                               \
		if ((level) <= log_get_level() &&                                                  \
		    log_ratelimit_allow(&_log_rl, __FILE__, __LINE__))                             \
			log_write((level), __FILE__, __LINE__, __VA_ARGS__);                       \
	} while (0)
