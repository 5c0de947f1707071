/* Metrics: see metrics.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config/json_field.h"
#include "core/loop.h"
#include "core/signals.h"
#include "core/vcpu.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/serial.h"
#include "devices/virtio/block.h"
#include "log.h"
#include "seccomp/install.h"
#include "metrics.h"

#define METRICS_PERIOD_S 60
/* Room for every metric at full width: ~200 metrics x ~60 bytes. */
#define METRICS_LINE_MAX 32768

struct metric_desc {
	const char *group;
	const char *name;
	bool store;
};

#define METRIC_DESC(g, n, s) { #g, #n, s },
static const struct metric_desc descs[METRIC__COUNT] = { METRICS_LIST(METRIC_DESC) };
#undef METRIC_DESC

static _Atomic uint64_t values[METRIC__COUNT];
static uint64_t flushed[METRIC__COUNT]; /* counter totals at the last flush; under flush_lock */
static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int sink_fd = -1;
static int timer_fd = -1;
static char line_buf[METRICS_LINE_MAX]; /* under flush_lock: usable from a signal handler */

#define METRICS_GROUP_FIELDS_MAX 32

struct device_group {
	bool used;
	char name[METRICS_GROUP_NAME_MAX];
	const char *const *fields;
	unsigned nfields;
	const uint64_t *values;
	uint64_t flushed[METRICS_GROUP_FIELDS_MAX];
	uint64_t last[METRICS_GROUP_FIELDS_MAX]; /* the totals when the device went away */
	bool retired;                             /* written once more, then the slot is free */
};

static struct device_group device_groups[METRICS_DEVICE_GROUPS]; /* under flush_lock */

void metrics_add(enum metric_id id, uint64_t n)
{
	if ((unsigned)id < METRIC__COUNT)
		atomic_fetch_add_explicit(&values[id], n, memory_order_relaxed);
}

void metrics_set(enum metric_id id, uint64_t value)
{
	if ((unsigned)id < METRIC__COUNT)
		atomic_store_explicit(&values[id], value, memory_order_relaxed);
}

uint64_t metrics_get(enum metric_id id)
{
	return (unsigned)id < METRIC__COUNT ? atomic_load_explicit(&values[id], memory_order_relaxed) : 0;
}

bool metrics_configured(void)
{
	return atomic_load(&sink_fd) >= 0;
}

static const char *const metrics_fields[] = { "metrics_path", "emit_id", "properties", NULL };

/* Firecracker's `properties` is a map of strings added to every line. Returns
 * its size, or -EINVAL. */
static int metrics_properties(const json_t *j, char *err, size_t errlen)
{
	json_t *p = json_object_get(j, "properties"), *v;
	const char *k;

	if (!p || json_is_null(p))
		return 0;
	if (!json_is_object(p))
		return json_field_error(err, errlen, "invalid type: %s, expected a map for field `properties`",
					json_is_array(p) ? "sequence" : "a scalar");
	json_object_foreach(p, k, v)
		if (!json_is_string(v))
			return json_field_error(err, errlen, "invalid type: expected a string for field `properties.%.64s`",
						k);
	return (int)json_object_size(p);
}

int metrics_config_from_json(const json_t *j, char **ret_path, char *err, size_t errlen)
{
	const char *path = NULL;
	bool emit_id = false;
	int props, r;

	if ((r = json_field_check_object(j, "MetricsConfig", metrics_fields, err, errlen)) < 0 ||
	    (r = json_field_string(j, "metrics_path", true, &path, err, errlen)) < 0 ||
	    (r = json_field_bool(j, "emit_id", false, &emit_id, err, errlen)) < 0)
		return r;
	props = metrics_properties(j, err, errlen);
	if (props < 0)
		return props;
	if (emit_id || props > 0) {
		snprintf(err, errlen,
			 "Metrics error: this build does not provide `emit_id` or `properties` in metrics lines.");
		return -EOPNOTSUPP;
	}
	*ret_path = strdup(path);
	if (!*ret_path) {
		snprintf(err, errlen, "Metrics error: Out of memory.");
		return -ENOMEM;
	}
	return 0;
}

int metrics_init(const char *path)
{
	int fd, expected = -1;

	if (metrics_configured())
		return -EALREADY;
	/* O_RDWR, as Firecracker: opening a FIFO for writing alone would fail
	 * (ENXIO) when no reader is attached yet. */
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	if (!atomic_compare_exchange_strong(&sink_fd, &expected, fd)) {
		close(fd);
		return -EALREADY;
	}
	return 0;
}

#define PULL(id, counter) metrics_set((id), atomic_load_explicit(&(counter), memory_order_relaxed))

/* The logger, the vCPUs, the signal handlers and the legacy devices keep their
 * own monotonic counters next to the code that counts: mirror their totals. */
static void metrics_pull_sources(void)
{
	metrics_set(METRIC_logger_missed_log_count, log_missed_count());
	metrics_set(METRIC_logger_rate_limited_log_count, log_rate_limited_count());
	metrics_set(METRIC_seccomp_num_faults, seccomp_fault_count());
	PULL(METRIC_vcpu_exit_io_in, vcpu_metrics.exit_io_in);
	PULL(METRIC_vcpu_exit_io_out, vcpu_metrics.exit_io_out);
	PULL(METRIC_vcpu_exit_mmio_read, vcpu_metrics.exit_mmio_read);
	PULL(METRIC_vcpu_exit_mmio_write, vcpu_metrics.exit_mmio_write);
	PULL(METRIC_vcpu_failures, vcpu_metrics.failures);
	PULL(METRIC_signals_sigbus, signal_metrics.sigbus);
	PULL(METRIC_signals_sigsegv, signal_metrics.sigsegv);
	PULL(METRIC_signals_sigxfsz, signal_metrics.sigxfsz);
	PULL(METRIC_signals_sigxcpu, signal_metrics.sigxcpu);
	PULL(METRIC_signals_sigpipe, signal_metrics.sigpipe);
	PULL(METRIC_signals_sighup, signal_metrics.sighup);
	PULL(METRIC_signals_sigill, signal_metrics.sigill);
	PULL(METRIC_i8042_error_count, i8042_metrics.error_count);
	PULL(METRIC_i8042_missed_read_count, i8042_metrics.missed_read_count);
	PULL(METRIC_i8042_missed_write_count, i8042_metrics.missed_write_count);
	PULL(METRIC_i8042_read_count, i8042_metrics.read_count);
	PULL(METRIC_i8042_reset_count, i8042_metrics.reset_count);
	PULL(METRIC_i8042_write_count, i8042_metrics.write_count);
	PULL(METRIC_uart_read_count, uart_metrics.read_count);
	PULL(METRIC_uart_write_count, uart_metrics.write_count);
	PULL(METRIC_uart_flush_count, uart_metrics.flush_count);
	PULL(METRIC_uart_missed_read_count, uart_metrics.missed_read_count);
	PULL(METRIC_uart_missed_write_count, uart_metrics.missed_write_count);
	PULL(METRIC_uart_error_count, uart_metrics.error_count);
#define PULL_BLOCK(name) metrics_set(METRIC_block_##name, __atomic_load_n(&block_totals.name, __ATOMIC_RELAXED));
	BLOCK_METRICS(PULL_BLOCK)
#undef PULL_BLOCK
}

/* `},"block_rootfs":{"read_count":1,...` for every registered device group. */
static int metrics_format_devices(char *buf, size_t len, bool consume)
{
	size_t off = 0;
	int n;

	for (size_t g = 0; g < METRICS_DEVICE_GROUPS; g++) {
		struct device_group *d = &device_groups[g];

		for (unsigned i = 0; d->used && i < d->nfields; i++) {
			uint64_t v = __atomic_load_n(&d->values[i], __ATOMIC_RELAXED);

			if (i)
				n = snprintf(buf + off, len - off, ",\"%s\":%" PRIu64, d->fields[i], v - d->flushed[i]);
			else
				n = snprintf(buf + off, len - off, "},\"%s\":{\"%s\":%" PRIu64, d->name, d->fields[0],
					     v - d->flushed[0]);
			if (n < 0 || (size_t)n >= len - off)
				return -ENOSPC;
			off += (size_t)n;
			if (consume)
				d->flushed[i] = v;
		}
		if (consume && d->retired)
			d->used = false;
	}
	return (int)off;
}

/* A free slot, or else one whose device is gone (its last deltas are then
 * lost); -ENOSPC. Caller holds flush_lock. */
static int metrics_group_slot(void)
{
	for (int pass = 0; pass < 2; pass++)
		for (int g = 0; g < METRICS_DEVICE_GROUPS; g++)
			if (!device_groups[g].used || (pass == 1 && device_groups[g].retired))
				return g;
	return -ENOSPC;
}

int metrics_register_group(const char *name, const char *const *fields, unsigned nfields, const uint64_t *values)
{
	struct device_group *d;
	int handle;

	if (nfields == 0 || nfields > METRICS_GROUP_FIELDS_MAX || strlen(name) >= METRICS_GROUP_NAME_MAX)
		return -EINVAL;
	pthread_mutex_lock(&flush_lock);
	handle = metrics_group_slot();
	if (handle >= 0) {
		d = &device_groups[handle];
		*d = (struct device_group){ .used = true, .fields = fields, .nfields = nfields, .values = values };
		snprintf(d->name, sizeof(d->name), "%s", name);
		/* Deltas start from what the device counted before it registered. */
		for (unsigned i = 0; i < nfields; i++)
			d->flushed[i] = __atomic_load_n(&values[i], __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&flush_lock);
	return handle;
}

void metrics_unregister_group(int handle)
{
	struct device_group *d;

	if (handle < 0 || handle >= METRICS_DEVICE_GROUPS)
		return;
	d = &device_groups[handle];
	pthread_mutex_lock(&flush_lock);
	/* What the device counted since the last flush still goes out, once. */
	for (unsigned i = 0; i < d->nfields; i++)
		d->last[i] = __atomic_load_n(&d->values[i], __ATOMIC_RELAXED);
	d->values = d->last;
	d->retired = true;
	if (atomic_load(&sink_fd) < 0)
		d->used = false; /* no sink: nothing will ever be written */
	pthread_mutex_unlock(&flush_lock);
}

/* Formats one line into buf; with consume, advances the counters' baselines.
 * Returns the length, or -ENOSPC. Caller holds flush_lock. */
static int metrics_format(char *buf, size_t len, bool consume)
{
	struct timespec ts;
	size_t off;
	int n;

	metrics_pull_sources();
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buf, len, "{\"utc_timestamp_ms\":%" PRIu64,
		     (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
	off = (size_t)n;
	for (size_t i = 0; i < METRIC__COUNT && off < len; i++) {
		bool new_group = i == 0 || strcmp(descs[i].group, descs[i - 1].group) != 0;
		uint64_t v = atomic_load_explicit(&values[i], memory_order_relaxed), out = v;

		if (!descs[i].store) {
			out = v - flushed[i];
			if (consume)
				flushed[i] = v;
		}
		if (new_group) /* `},"group":{"name":v` (no brace before the first group) */
			n = snprintf(buf + off, len - off, "%s,\"%s\":{\"%s\":%" PRIu64, i ? "}" : "",
				     descs[i].group, descs[i].name, out);
		else
			n = snprintf(buf + off, len - off, ",\"%s\":%" PRIu64, descs[i].name, out);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	n = metrics_format_devices(buf + off, len - off, consume);
	if (n < 0)
		return n;
	off += (size_t)n;
	if (off + 3 > len)
		return -ENOSPC;
	memcpy(buf + off, "}}\n", 4);
	return (int)(off + 3);
}

/* A line is larger than PIPE_BUF, so a non-blocking write to a nearly full
 * FIFO may take only part of it. The rest waits here and goes out before any
 * later line, so a reader never sees a torn line; while it waits, new lines
 * are counted as missed. Under flush_lock. */
static char pending[METRICS_LINE_MAX];
static size_t pending_off, pending_len;

static bool metrics_drain_pending(int fd)
{
	while (pending_off < pending_len) {
		ssize_t n = write(fd, pending + pending_off, pending_len - pending_off);
		if (n <= 0)
			return false;
		pending_off += (size_t)n;
	}
	pending_off = pending_len = 0;
	return true;
}

static int metrics_write_locked(void)
{
	int fd = atomic_load(&sink_fd);
	ssize_t w;
	int n;

	if (fd < 0)
		return 0;
	if (!metrics_drain_pending(fd)) {
		metrics_inc(METRIC_logger_missed_metrics_count);
		return -EAGAIN;
	}
	n = metrics_format(line_buf, sizeof(line_buf), true);
	w = n < 0 ? -1 : write(fd, line_buf, (size_t)n);
	if (w <= 0) {
		/* A full FIFO loses the line: count it, never block the vmm thread. */
		metrics_inc(METRIC_logger_missed_metrics_count);
		metrics_inc(METRIC_logger_metrics_fails);
		return n < 0 ? n : -EAGAIN;
	}
	if (w < n) {
		memcpy(pending, line_buf + w, (size_t)(n - w));
		pending_len = (size_t)(n - w);
	}
	return 0;
}

int metrics_flush(void)
{
	int r;

	pthread_mutex_lock(&flush_lock);
	r = metrics_write_locked();
	pthread_mutex_unlock(&flush_lock);
	return r;
}

void metrics_flush_at_exit(void)
{
	/* A signal may have interrupted a flush in progress: never wait for it. */
	if (pthread_mutex_trylock(&flush_lock) != 0)
		return;
	metrics_write_locked();
	pthread_mutex_unlock(&flush_lock);
}

char *metrics_render(void)
{
	char *buf = malloc(METRICS_LINE_MAX);
	int n;

	if (!buf)
		return NULL;
	pthread_mutex_lock(&flush_lock);
	n = metrics_format(buf, METRICS_LINE_MAX, false);
	pthread_mutex_unlock(&flush_lock);
	if (n < 0)
		return mfree(buf);
	return buf;
}

static void metrics_on_timer(void *ctx, uint32_t events)
{
	uint64_t ticks;

	if (read(timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_rl(LOG_WARNING, "metrics timer read failed: %s", strerror(errno));
	metrics_flush();
}

int metrics_attach_loop(struct event_loop *loop)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = METRICS_PERIOD_S },
		.it_value = { .tv_sec = METRICS_PERIOD_S },
	};
	_cleanup_close_ int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		return -errno;
	r = loop_add(loop, fd, EPOLLIN, metrics_on_timer, NULL);
	if (r < 0)
		return r;
	timer_fd = TAKE_FD(fd);
	return 0;
}

void metrics_reset(void)
{
	int fd = atomic_exchange(&sink_fd, -1);

	if (fd >= 0)
		close(fd);
	pending_off = pending_len = 0;
	for (size_t i = 0; i < METRIC__COUNT; i++) {
		atomic_store(&values[i], 0);
		flushed[i] = 0;
	}
}
