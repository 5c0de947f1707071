#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "out.h"

#define LOG_LINE_MAX 4096

/* The sink: fd in the low 32 bits, its enum out_mode above, so that a thread
 * always writes with the mode chosen for that fd. */
static _Atomic uint64_t log_sink = STDOUT_FILENO; /* OUT_PLAIN until ember prepares stdout */
static _Atomic int log_level = LOG_INFO;
static _Atomic bool show_level;
static _Atomic bool show_origin;
static char instance_id[65] = "anonymous-instance";
static _Thread_local char thread_name[16] = "main";
static _Atomic uint64_t missed;
static _Atomic uint64_t rate_limited;

static const char *const level_names[] = {
	[LOG_OFF] = "Off",     [LOG_ERROR] = "Error", [LOG_WARNING] = "Warning",
	[LOG_INFO] = "Info",   [LOG_DEBUG] = "Debug", [LOG_TRACE] = "Trace",
};
static const char *const level_tags[] = {
	[LOG_OFF] = "OFF",   [LOG_ERROR] = "ERROR", [LOG_WARNING] = "WARN",
	[LOG_INFO] = "INFO", [LOG_DEBUG] = "DEBUG", [LOG_TRACE] = "TRACE",
};

int log_level_parse(const char *s, enum log_level *ret)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warn") == 0) {
		*ret = LOG_WARNING;
		return 0;
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < ARRAY_SIZE(level_names) ? level_names[level] : "?";
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return (enum log_level)log_level;
}

void log_set_show_level(bool on)
{
	show_level = on;
}

void log_set_show_origin(bool on)
{
	show_origin = on;
}

void log_set_instance_id(const char *id)
{
	snprintf(instance_id, sizeof(instance_id), "%s", id);
}

void log_set_thread_name(const char *name)
{
	snprintf(thread_name, sizeof(thread_name), "%s", name);
	prctl(PR_SET_NAME, thread_name, 0, 0, 0);
}

static uint64_t sink_pack(struct out o)
{
	return (uint64_t)o.mode << 32 | (uint32_t)o.fd;
}

static struct out sink_unpack(uint64_t v)
{
	return (struct out){ (int)(uint32_t)v, (enum out_mode)(v >> 32) };
}

void log_set_fd(int fd)
{
	struct out o = out_get(fd);
	int old = sink_unpack(atomic_exchange(&log_sink, sink_pack(o))).fd;

	if (old > STDERR_FILENO && old != o.fd && !out_is_private(old))
		close(old);
}

int log_get_fd(void)
{
	return sink_unpack(log_sink).fd;
}

bool log_emit(const char *buf, size_t len)
{
	uint64_t v = log_sink;
	struct out o = sink_unpack(v);
	enum out_mode mode = o.mode;
	ssize_t w = out_write(o.fd, &mode, buf, len);

	if (mode != o.mode) /* keep the fallback, unless the sink changed meanwhile */
		atomic_compare_exchange_strong(&log_sink, &v, sink_pack((struct out){ o.fd, mode }));
	if (w == (ssize_t)len)
		return true;
	missed++;
	return false;
}

uint64_t log_missed_count(void)
{
	return missed;
}

uint64_t log_rate_limited_count(void)
{
	return rate_limited;
}

static size_t format_prefix(char *buf, size_t len, enum log_level level, const char *file, int line)
{
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(buf + n, len - n, ".%09ld [%s:%s", ts.tv_nsec, instance_id, thread_name);
	n += (size_t)r;
	if (show_level && n < len) {
		r = snprintf(buf + n, len - n, ":%s", level_tags[level]);
		n += (size_t)r;
	}
	if (show_origin && n < len) {
		r = snprintf(buf + n, len - n, ":%s:%d", file, line);
		n += (size_t)r;
	}
	if (n < len) {
		r = snprintf(buf + n, len - n, "] ");
		n += (size_t)r;
	}
	return n < len ? n : len - 1;
}

void log_vwrite(enum log_level level, const char *file, int line, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];
	size_t n = format_prefix(buf, sizeof(buf) - 1, level, file, line);
	int r = vsnprintf(buf + n, sizeof(buf) - 1 - n, fmt, ap);

	if (r < 0)
		r = 0;
	n += (size_t)r;
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2; /* an over-long line is truncated, never split */
	buf[n++] = '\n';
	log_emit(buf, n);
}

void log_write(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int saved = errno; /* callers often log and then return -errno */

	va_start(ap, fmt);
	log_vwrite(level, file, line, fmt, ap);
	va_end(ap);
	errno = saved;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool log_ratelimit_allow(struct log_ratelimit *rl, const char *file, int line)
{
	uint64_t now = monotonic_ns();
	uint64_t start = rl->window_start_ns;

	if (start == 0 || now - start >= (uint64_t)LOG_RL_WINDOW_S * 1000000000ull) {
		uint32_t dropped = atomic_exchange(&rl->suppressed, 0);

		rl->window_start_ns = now;
		rl->emitted = 0;
		if (dropped)
			log_write(LOG_WARNING, file, line, "%u messages from this site were suppressed by the log rate limiter", dropped);
	}
	if (atomic_fetch_add(&rl->emitted, 1) < LOG_RL_BURST)
		return true;
	rl->suppressed++;
	rate_limited++;
	return false;
}
