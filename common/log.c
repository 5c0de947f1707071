#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "out.h"
#include "sigsafe.h"

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
/* The local time's offset from UTC as of the last line, for the fatal-signal
 * path, which cannot call localtime_r (it takes the time zone lock). */
static _Atomic long utc_offset_s;

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
	utc_offset_s = tm.tm_gmtoff;
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

static void (*_Atomic error_hook)(const char *msg, size_t len);

void log_set_error_hook(void (*fn)(const char *msg, size_t len))
{
	error_hook = fn;
}

void log_vwrite(enum log_level level, const char *file, int line, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];
	size_t n, start;
	int r;
	void (*hook)(const char *, size_t) = error_hook;

	log_ratelimit_flush(false); /* summaries of windows that ended come first */
	n = start = format_prefix(buf, sizeof(buf) - 1, level, file, line);
	r = vsnprintf(buf + n, sizeof(buf) - 1 - n, fmt, ap);

	if (r < 0)
		r = 0;
	n += (size_t)r;
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2; /* an over-long line is truncated, never split */
	if (level == LOG_ERROR && hook)
		hook(buf + start, n - start);
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

/* ---- rate limiting ---- */

#define LOG_RL_WINDOW_NS ((uint64_t)LOG_RL_WINDOW_S * 1000000000ull)

/* Sites that ever suppressed a line, pushed once each and never removed (they
 * are static), so that their summaries can be written when the window ends
 * whichever site logs next, from the vmm loop's timer, and at exit. */
static struct log_ratelimit *_Atomic rl_sites;
static atomic_uint rl_pending; /* sites with suppressed > 0 */
static _Thread_local bool rl_flushing;

static void log_ratelimit_register(struct log_ratelimit *rl, const char *file, int line)
{
	struct log_ratelimit *head;

	if (atomic_exchange(&rl->registered, true))
		return;
	rl->file = file;
	rl->line = line;
	head = atomic_load(&rl_sites);
	do
		rl->next = head;
	while (!atomic_compare_exchange_weak(&rl_sites, &head, rl));
}

/* Writes the site's summary if it has one; each suppressed line is reported once. */
static void log_ratelimit_summarize(struct log_ratelimit *rl)
{
	uint32_t dropped = atomic_exchange(&rl->suppressed, 0);

	if (!dropped)
		return;
	atomic_fetch_sub(&rl_pending, 1);
	log_write(LOG_WARNING, rl->file, rl->line,
		  "%u messages from this site were suppressed by the log rate limiter", dropped);
}

void log_ratelimit_flush(bool all)
{
	uint64_t now;

	if (atomic_load(&rl_pending) == 0 || rl_flushing)
		return;
	rl_flushing = true; /* the summaries are log lines too */
	now = monotonic_ns();
	for (struct log_ratelimit *rl = atomic_load(&rl_sites); rl; rl = rl->next)
		if (all || now - atomic_load(&rl->window_start_ns) >= LOG_RL_WINDOW_NS)
			log_ratelimit_summarize(rl);
	rl_flushing = false;
}

bool log_ratelimit_allow(struct log_ratelimit *rl, const char *file, int line)
{
	uint64_t now = monotonic_ns();
	uint64_t start = atomic_load(&rl->window_start_ns);
	unsigned burst = rl->burst ? rl->burst : LOG_RL_BURST;

	/* One thread opens the new window; it reports the old one's losses. */
	if ((start == 0 || now - start >= LOG_RL_WINDOW_NS) &&
	    atomic_compare_exchange_strong(&rl->window_start_ns, &start, now)) {
		atomic_store(&rl->emitted, 0);
		if (atomic_load(&rl->suppressed) && !rl_flushing) {
			rl_flushing = true;
			log_ratelimit_summarize(rl);
			rl_flushing = false;
		}
	}
	if (atomic_fetch_add(&rl->emitted, 1) < burst)
		return true;
	log_ratelimit_register(rl, file, line);
	if (atomic_fetch_add(&rl->suppressed, 1) == 0)
		atomic_fetch_add(&rl_pending, 1);
	rate_limited++;
	return false;
}

/* ---- the fatal-signal path: system calls (log_emit) and arithmetic only ---- */

struct sig_line {
	char buf[512];
	size_t len;
};

static void sig_printf(struct sig_line *l, const char *fmt, ...) _printf_(2, 3);

static void sig_printf(struct sig_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = sigsafe_vsnprintf(l->buf + l->len, sizeof(l->buf) - 1 - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < sizeof(l->buf) - 1 - l->len ? (size_t)n : sizeof(l->buf) - 2 - l->len;
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's civil_from_days). */
static void sig_civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* The same prefix as format_prefix(), in local time by the last known offset. */
static void sig_prefix(struct sig_line *l, enum log_level level, const char *file, int line)
{
	struct timespec ts;
	int64_t t, days, y;
	unsigned m, d, secs;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (int64_t)ts.tv_sec + utc_offset_s;
	days = (t >= 0 ? t : t - 86399) / 86400;
	secs = (unsigned)(t - days * 86400);
	sig_civil(days, &y, &m, &d);
	sig_printf(l, "%u-%s%u-%s%uT%s%u:%s%u:%s%u.", (unsigned)y, m < 10 ? "0" : "", m, d < 10 ? "0" : "", d,
		   secs / 3600 < 10 ? "0" : "", secs / 3600, secs / 60 % 60 < 10 ? "0" : "", secs / 60 % 60,
		   secs % 60 < 10 ? "0" : "", secs % 60);
	for (long div = 100000000; div > 1 && ts.tv_nsec < div; div /= 10)
		sig_printf(l, "0"); /* nanoseconds, nine digits */
	sig_printf(l, "%ld [%s:%s", ts.tv_nsec, instance_id, thread_name);
	if (show_level)
		sig_printf(l, ":%s", level_tags[level]);
	if (show_origin)
		sig_printf(l, ":%s:%d", file, line);
	sig_printf(l, "] ");
}

void log_signal_safe_write(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	struct sig_line l = { .len = 0 };
	int saved = errno;
	va_list ap;
	int n;

	if ((int)level > log_level)
		return;
	sig_prefix(&l, level, file, line);
	va_start(ap, fmt);
	n = sigsafe_vsnprintf(l.buf + l.len, sizeof(l.buf) - 1 - l.len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l.len += (size_t)n < sizeof(l.buf) - 1 - l.len ? (size_t)n : sizeof(l.buf) - 2 - l.len;
	l.buf[l.len++] = '\n';
	log_emit(l.buf, l.len); /* never waits for a reader that stopped reading */
	errno = saved;
}
