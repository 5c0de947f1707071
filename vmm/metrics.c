/* Metrics: see metrics.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config/json_field.h"
#include "metrics.h"
#include "sigsafe.h"

/* Room for every metric at full width: ~300 metrics x ~60 bytes, plus a few
 * per-device groups. */
#define METRICS_LINE_MAX 65536

static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int sink_fd = -1;
static _Atomic uint64_t lost_lines, failed_writes;
static char line_buf[METRICS_LINE_MAX]; /* under flush_lock: usable from a signal handler */

/* One registered set of counters. Under flush_lock. */
struct metrics_source {
	bool used;
	bool retired; /* its owner is gone: written once more, then the slot is free */
	const struct metrics_group *group;
	const uint64_t *values;
	char id[METRICS_ID_MAX]; /* "": no group of its own */
	uint64_t flushed[METRICS_GROUP_FIELDS_MAX];
	uint64_t last[METRICS_GROUP_FIELDS_MAX]; /* the values when the owner went away */
};

static const struct metrics_group *groups[METRICS_GROUPS_MAX]; /* under flush_lock, in declaration order */
static unsigned nr_groups;
static struct metrics_source sources[METRICS_SOURCES_MAX];

bool metrics_configured(void)
{
	return atomic_load(&sink_fd) >= 0;
}

static const char *const metrics_fields[] = { "metrics_path", "emit_id", "properties", NULL };

/* Firecracker's `properties`: a map of strings added to every line, kept as
 * compact JSON in *ret (NULL when absent or null). */
static int metrics_properties(const json_t *j, char **ret, char *err, size_t errlen)
{
	json_t *p = json_object_get(j, "properties"), *v;
	char what[64];
	const char *k;
	size_t len;

	*ret = NULL;
	if (!p || json_is_null(p))
		return 0;
	if (!json_is_object(p)) {
		json_field_describe(p, what, sizeof(what));
		return json_field_error(err, errlen, "invalid type: %s, expected a map for field `properties`", what);
	}
	json_object_foreach(p, k, v)
		if (!json_is_string(v)) {
			json_field_describe(v, what, sizeof(what));
			return json_field_error(err, errlen,
						"invalid type: %s, expected a string for field `properties.%.64s`", what, k);
		}
	*ret = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!*ret) {
		snprintf(err, errlen, "Metrics error: Out of memory.");
		return -ENOMEM;
	}
	len = strlen(*ret);
	if (len > METRICS_PROPERTIES_MAX) {
		*ret = (free(*ret), NULL);
		return json_field_error(err, errlen, "`properties` takes %zu bytes as JSON, more than the %d allowed",
					len, METRICS_PROPERTIES_MAX);
	}
	return 0;
}

int metrics_config_from_json(const json_t *j, struct metrics_config *ret, char *err, size_t errlen)
{
	struct metrics_config mc = { 0 };
	const char *path = NULL;
	int r;

	if ((r = json_field_check_object(j, "MetricsConfig", metrics_fields, err, errlen)) < 0 ||
	    (r = json_field_string(j, "metrics_path", true, &path, err, errlen)) < 0 ||
	    (r = json_field_bool(j, "emit_id", false, &mc.emit_id, err, errlen)) < 0 ||
	    (r = metrics_properties(j, &mc.properties, err, errlen)) < 0)
		return r;
	mc.path = strdup(path);
	if (!mc.path) {
		metrics_config_clear(&mc);
		snprintf(err, errlen, "Metrics error: Out of memory.");
		return -ENOMEM;
	}
	*ret = mc;
	return 0;
}

void metrics_config_clear(struct metrics_config *mc)
{
	free(mc->path);
	free(mc->properties);
	*mc = (struct metrics_config){ 0 };
}

/* What each line carries after utc_timestamp_ms: `,"id":...,"properties":{...}`
 * or "". Written before the sink is published, under flush_lock. */
static char line_header[METRICS_ID_MAX + METRICS_PROPERTIES_MAX + 64];

static int metrics_set_header(bool emit_id, const char *instance_id, const char *properties)
{
	_cleanup_free_ char *id = NULL;
	int n;

	if (emit_id) {
		json_t *s = json_string(instance_id ? instance_id : "");

		id = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
		json_decref(s);
		if (!id)
			return -ENOMEM;
	}
	n = snprintf(line_header, sizeof(line_header), "%s%s%s%s", id ? ",\"id\":" : "", id ? id : "",
		     properties ? ",\"properties\":" : "", properties ? properties : "");
	if (n < 0 || (size_t)n >= sizeof(line_header)) {
		line_header[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

int metrics_init(const char *path, bool emit_id, const char *instance_id, const char *properties)
{
	int fd, r;

	pthread_mutex_lock(&flush_lock);
	if (metrics_configured()) {
		pthread_mutex_unlock(&flush_lock);
		return -EALREADY;
	}
	r = metrics_set_header(emit_id, instance_id, properties);
	/* O_RDWR, as Firecracker: opening a FIFO for writing alone would fail
	 * (ENXIO) when no reader is attached yet. */
	fd = r < 0 ? r : open(path, O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		r = r < 0 ? r : -errno;
		line_header[0] = '\0';
	} else {
		atomic_store(&sink_fd, fd);
		r = 0;
	}
	pthread_mutex_unlock(&flush_lock);
	return r;
}

uint64_t metrics_lost_lines(void)
{
	return atomic_load_explicit(&lost_lines, memory_order_relaxed);
}

uint64_t metrics_failed_writes(void)
{
	return atomic_load_explicit(&failed_writes, memory_order_relaxed);
}

void metrics_record_latency(uint64_t *mms, uint64_t us)
{
	uint64_t min = __atomic_load_n(&mms[0], __ATOMIC_RELAXED), max = __atomic_load_n(&mms[1], __ATOMIC_RELAXED);

	if (min == 0 || us < min)
		__atomic_store_n(&mms[0], us, __ATOMIC_RELAXED);
	if (us > max)
		__atomic_store_n(&mms[1], us, __ATOMIC_RELAXED);
	metrics_local_add(mms[2], us);
}

/* A free slot, or else one whose owner is gone (its last deltas are then
 * lost); -ENOSPC. Caller holds flush_lock. */
static int metrics_source_slot(void)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < METRICS_SOURCES_MAX; i++)
			if (!sources[i].used || (pass == 1 && sources[i].retired))
				return i;
	return -ENOSPC;
}

/* A process-wide group's counters count from process start: their first
 * deltas are the totals (a signal before the metrics step is not lost). */
static int metrics_declare_locked(const struct metrics_group *g)
{
	int slot;

	for (unsigned i = 0; i < nr_groups; i++)
		if (groups[i] == g)
			return 0;
	if (nr_groups == METRICS_GROUPS_MAX)
		return -ENOSPC;
	if (g->values) {
		slot = metrics_source_slot();
		if (slot < 0)
			return slot;
		sources[slot] = (struct metrics_source){ .used = true, .group = g, .values = g->values };
	}
	groups[nr_groups++] = g;
	return 0;
}

int metrics_declare(const struct metrics_group *g)
{
	int r;

	if (g->nfields == 0 || g->nfields > METRICS_GROUP_FIELDS_MAX)
		return -EINVAL;
	pthread_mutex_lock(&flush_lock);
	r = metrics_declare_locked(g);
	pthread_mutex_unlock(&flush_lock);
	return r;
}

int metrics_register(const struct metrics_group *g, const char *id, const void *counters)
{
	struct metrics_source *src;
	int handle;

	if (g->nfields == 0 || g->nfields > METRICS_GROUP_FIELDS_MAX || g->values ||
	    (id && strlen(id) >= METRICS_ID_MAX))
		return -EINVAL;
	pthread_mutex_lock(&flush_lock);
	handle = metrics_declare_locked(g);
	if (handle >= 0)
		handle = metrics_source_slot();
	if (handle >= 0) {
		src = &sources[handle];
		*src = (struct metrics_source){ .used = true, .group = g, .values = counters };
		snprintf(src->id, sizeof(src->id), "%s", id ? id : "");
		/* Deltas start from what the owner counted before it registered. */
		for (unsigned i = 0; i < g->nfields; i++)
			src->flushed[i] = __atomic_load_n(&src->values[i], __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&flush_lock);
	return handle;
}

void metrics_unregister(int handle)
{
	struct metrics_source *src;

	if (handle < 0 || handle >= METRICS_SOURCES_MAX)
		return;
	src = &sources[handle];
	pthread_mutex_lock(&flush_lock);
	/* What the owner counted since the last flush still goes out, once. */
	for (unsigned i = 0; i < src->group->nfields; i++)
		src->last[i] = __atomic_load_n(&src->values[i], __ATOMIC_RELAXED);
	src->values = src->last;
	src->retired = true;
	if (atomic_load(&sink_fd) < 0)
		src->used = false; /* no sink: nothing will ever be written */
	pthread_mutex_unlock(&flush_lock);
}

/* Field i of src as written: a counter's delta, a store's value. */
static uint64_t metrics_source_value(struct metrics_source *src, unsigned i, bool consume)
{
	uint64_t v = __atomic_load_n(&src->values[i], __ATOMIC_RELAXED), out = v;

	if (src->group->fields[i].kind == METRICS_COUNTER) {
		out = v - src->flushed[i];
		if (consume)
			src->flushed[i] = v;
	}
	return out;
}

static uint64_t metrics_merge(enum metrics_kind kind, uint64_t acc, uint64_t v)
{
	switch (kind) {
	case METRICS_MIN:
		return v && (!acc || v < acc) ? v : acc;
	case METRICS_MAX:
		return v > acc ? v : acc;
	default:
		return acc + v;
	}
}

struct metrics_out {
	char *buf;
	size_t len, off;
};

static int out_printf(struct metrics_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int out_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* sigsafe: the flush at exit also runs from fatal-signal handlers. */
	va_start(ap, fmt);
	n = sigsafe_vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->off)
		return -ENOSPC;
	o->off += (size_t)n;
	return 0;
}

/* The part of a field name before `__`, and its length (0: not nested). */
static size_t nest_prefix(const char *name)
{
	const char *sep = strstr(name, "__");

	return sep ? (size_t)(sep - name) : 0;
}

/* `,"name":{"a":1,"agg":{"min_us":2,...},...}`: a field `agg__min_us` opens
 * the object "agg"; the next field without that prefix closes it. */
static int metrics_write_group(struct metrics_out *o, const char *name, const char *id,
			       const struct metrics_group *g, const uint64_t *v)
{
	const char *nest = NULL; /* the open nested object's field name prefix */
	size_t nest_len = 0;
	int r = out_printf(o, ",\"%s%s%s\":{", name, *id ? "_" : "", id);

	for (unsigned i = 0; r >= 0 && i < g->nfields; i++) {
		const char *f = g->fields[i].name, *sep = i ? "," : "";
		size_t p = nest_prefix(f);
		bool same = nest && p == nest_len && strncmp(f, nest, p) == 0;

		if (nest && !same) {
			r = out_printf(o, "}");
			nest = NULL;
		}
		if (r >= 0 && p && !same) {
			r = out_printf(o, "%s\"%.*s\":{", sep, (int)p, f);
			nest = f;
			nest_len = p;
			sep = "";
		}
		if (r >= 0)
			r = out_printf(o, "%s\"%s\":%" PRIu64, sep, p ? f + p + 2 : f, v[i]);
	}
	if (r >= 0 && nest)
		r = out_printf(o, "}");
	return r < 0 ? r : out_printf(o, "}");
}

/* Every declared group, merged over its sources, then each source with an id
 * as `<group>_<id>`. Caller holds flush_lock. */
static int metrics_format_registered(struct metrics_out *o, bool consume)
{
	uint64_t merged[METRICS_GROUP_FIELDS_MAX], own[METRICS_GROUP_FIELDS_MAX];
	int r = 0;

	for (unsigned g = 0; r >= 0 && g < nr_groups; g++) {
		const struct metrics_group *grp = groups[g];

		if (grp->pull)
			grp->pull(grp->values);
		memset(merged, 0, sizeof(merged));
		for (unsigned s = 0; s < METRICS_SOURCES_MAX; s++) {
			struct metrics_source *src = &sources[s];

			if (!src->used || src->group != grp)
				continue;
			for (unsigned i = 0; i < grp->nfields; i++) {
				own[i] = metrics_source_value(src, i, consume);
				merged[i] = metrics_merge(grp->fields[i].kind, merged[i], own[i]);
			}
			if (src->id[0])
				r = metrics_write_group(o, grp->name, src->id, grp, own);
			if (consume && src->retired)
				src->used = false;
			if (r < 0)
				return r;
		}
		r = metrics_write_group(o, grp->name, "", grp, merged);
	}
	return r;
}

/* Formats one line into buf; with consume, advances the counters' baselines.
 * Returns the length, or -ENOSPC. Caller holds flush_lock. */
static int metrics_format(char *buf, size_t len, bool consume)
{
	struct metrics_out o = { .buf = buf, .len = len };
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	r = out_printf(&o, "{\"utc_timestamp_ms\":%" PRIu64 "%s",
		       (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, line_header);
	if (r >= 0)
		r = metrics_format_registered(&o, consume);
	if (r >= 0)
		r = out_printf(&o, "}\n");
	return r < 0 ? r : (int)o.off;
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
		atomic_fetch_add_explicit(&lost_lines, 1, memory_order_relaxed);
		return -EAGAIN;
	}
	n = metrics_format(line_buf, sizeof(line_buf), true);
	w = n < 0 ? -1 : write(fd, line_buf, (size_t)n);
	if (w <= 0) {
		/* A full FIFO loses the line: count it, never block the vmm thread. */
		atomic_fetch_add_explicit(&lost_lines, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&failed_writes, 1, memory_order_relaxed);
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

void metrics_reset(void)
{
	int fd = atomic_exchange(&sink_fd, -1);

	if (fd >= 0)
		close(fd);
	pending_off = pending_len = 0;
	line_header[0] = '\0';
	nr_groups = 0;
	memset(sources, 0, sizeof(sources));
}
