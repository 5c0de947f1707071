/* Firecracker's metrics: one JSON object per line on a file or FIFO.
 *
 *   {"utc_timestamp_ms":1700000000000,"api_server":{...},"block":{...},...}
 *
 * Every group belongs to a module that declares it once with METRICS_GROUP
 * and registers its counters (a source) at create time: several sources of
 * one group are merged at flush (the vCPUs' per-thread counters summed), and
 * a source with an id is also written as its own group `<group>_<id>`
 * (block_rootfs). A process-wide owner (the API router, the logger, the
 * seccomp handler, ...) declares its group with METRICS_PROCESS_GROUP: its
 * one static source comes with the group. A declared group without sources
 * is written as zeros, so the line always has every group Firecracker writes
 * (test/data/firecracker-metrics.txt); groups are written in declaration
 * order. This file knows no module: the vmm-thread object (vmm.c) declares
 * the groups in Firecracker's order and arms the flush timer.
 *
 * Counters are monotonic in memory and written as deltas since the previous
 * flush; "store" metrics (latencies, start-up time) are written as they are.
 * Flushing is serialised. Lines are flushed every 60 s (a timer the vmm
 * thread arms), on FlushMetrics, after InstanceStart and at exit
 * (metrics_flush_at_exit). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A PUT /metrics body or the config file's "metrics" key, validated. */
struct metrics_config {
	char *path;       /* owned */
	bool emit_id;     /* each line names the instance: a top-level "id" */
	char *properties; /* owned: the `properties` map as compact JSON, or NULL */
};

/* What `properties` may take as compact JSON: it goes into every line. */
#define METRICS_PROPERTIES_MAX 4096

/* Validates the required metrics_path, emit_id (a boolean) and properties
 * (a map of strings, at most METRICS_PROPERTIES_MAX bytes as JSON). 0 with
 * *ret filled (metrics_config_clear frees it), or -EINVAL / -ENOMEM with a
 * fault naming the field in err. */
int metrics_config_from_json(const json_t *j, struct metrics_config *ret, char *err, size_t errlen);
void metrics_config_clear(struct metrics_config *mc);

/* Opens the sink (file or FIFO, O_NONBLOCK|O_CLOEXEC, created 0600 when
 * absent). Each line then carries, right after utc_timestamp_ms,
 * `"id":"<instance_id>"` when emit_id and `"properties":{...}` when given,
 * as Firecracker's. Only once per process: -EALREADY the second time;
 * -errno when the path cannot be opened. */
int metrics_init(const char *path, bool emit_id, const char *instance_id, const char *properties);
bool metrics_configured(void);
/* Writes one line when a sink is configured (0 otherwise). Returns 0 or -errno;
 * a lost line is counted in metrics_lost_lines() (logger.missed_metrics_count),
 * a failed write also in metrics_failed_writes() (logger.metrics_fails). */
int metrics_flush(void);
/* What the writer lost so far (monotonic; async-signal-safe): for the
 * logger group's owner. */
uint64_t metrics_lost_lines(void);
uint64_t metrics_failed_writes(void);
/* The flush period; the vmm thread's timer calls metrics_flush() at it. */
#define METRICS_PERIOD_S 60
/* For exit paths, including fatal-signal handlers: formats into a static
 * buffer with no allocation and skips the flush if another one is running. */
void metrics_flush_at_exit(void);
/* Renders the current line (without consuming deltas) for tests; the caller frees it. */
char *metrics_render(void);
/* Closes the sink and forgets counters (tests only). */
void metrics_reset(void);

/* Registered groups. A field's kind says how it is written and merged:
 * COUNTER: a delta since the last flush, summed over sources; STORE: the
 * value, summed; MIN / MAX: a store merged as the smallest non-zero / the
 * largest value (Firecracker's latency aggregates, `*_agg.min_us`). */
enum metrics_kind { METRICS_COUNTER, METRICS_STORE, METRICS_MIN, METRICS_MAX };

struct metrics_field {
	const char *name; /* a `__` nests: exit_io_in_agg__min_us is "exit_io_in_agg":{"min_us":..} */
	enum metrics_kind kind;
};

struct metrics_group {
	const char *name;
	const struct metrics_field *fields;
	unsigned nfields;
	/* A process-wide group's counters (its one source, registered with the
	 * group and counted from process start), or NULL. */
	void *values;
	/* Called under the flush lock before values are read, for an owner that
	 * keeps its counts elsewhere and copies them in; async-signal-safe (the
	 * flush at exit runs in fatal-signal handlers). NULL: none. */
	void (*pull)(void *values);
};

/* METRICS_GROUP(var, "name", LIST) with LIST(X) calling X(field, kind) once
 * per counter defines `struct var` (the counters, each a uint64_t, written by
 * their owner with relaxed atomics) and `const struct metrics_group
 * var_group` (the names), from the one list; a static assertion checks the
 * two agree. The header declares the struct with METRICS_COUNTERS(var, LIST)
 * and the group with `extern const struct metrics_group var_group;`.
 *
 * METRICS_PROCESS_GROUP(var, "name", LIST, pull) is the same for a
 * process-wide owner: it also defines the counters, `static struct var var`,
 * private to the owner's file, which declaring the group registers. */
#define METRICS_MEMBER_(field, kind) uint64_t field;
#define METRICS_FIELD_(field, kind) { #field, kind },
#define METRICS_COUNTERS(var, LIST) struct var { LIST(METRICS_MEMBER_) }
/* The same with _Atomic members, for counters that several threads bump with ++. */
#define METRICS_ATOMIC_MEMBER_(field, kind) _Atomic uint64_t field;
#define METRICS_ATOMIC_COUNTERS(var, LIST) struct var { LIST(METRICS_ATOMIC_MEMBER_) }
#define METRICS_GROUP_(var, gname, LIST, values, pull)                                             \
	static const struct metrics_field var##_fields_[] = { LIST(METRICS_FIELD_) };              \
	_Static_assert(sizeof(struct var) == sizeof(var##_fields_) / sizeof(var##_fields_[0]) * sizeof(uint64_t), \
		       "struct " #var " must hold exactly the counters its list names");           \
	const struct metrics_group var##_group = { gname, var##_fields_,                           \
						   sizeof(var##_fields_) / sizeof(var##_fields_[0]), \
						   values, pull }
#define METRICS_GROUP(var, gname, LIST) METRICS_GROUP_(var, gname, LIST, NULL, NULL)
#define METRICS_PROCESS_GROUP(var, gname, LIST, pull)                                              \
	static struct var var;                                                                     \
	METRICS_GROUP_(var, gname, LIST, &var, pull)

/* Counting into a registered source. _inc and _add for a counter with one
 * writer thread (a relaxed load and store: no locked instruction, and a
 * reader never sees a torn value); _add_shared for several writers;
 * _record for a latency aggregate (min, max and sum fields in a row). */
#define metrics_local_add(counter, n)                                                              \
	__atomic_store_n(&(counter), __atomic_load_n(&(counter), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define metrics_local_inc(counter) metrics_local_add(counter, 1)
#define metrics_add_shared(counter, n) __atomic_fetch_add(&(counter), (n), __ATOMIC_RELAXED)
void metrics_record_latency(uint64_t *min_max_sum, uint64_t us);

/* Makes the group part of every line (zeros until a source registers), and
 * registers a process-wide group's counters. Idempotent. 0, or -ENOSPC past
 * METRICS_GROUPS_MAX groups or METRICS_SOURCES_MAX sources, -EINVAL. */
#define METRICS_GROUPS_MAX 48
int metrics_declare(const struct metrics_group *g);
/* Registers values (g->nfields counters, in `struct var` order) as a source
 * of g; with an id (at most METRICS_ID_MAX - 1 bytes) also as the group
 * `<g->name>_<id>`. Deltas start from the values at registration. Returns a
 * handle >= 0, or -ENOSPC (METRICS_SOURCES_MAX sources) / -EINVAL. The owner
 * unregisters before its counters go away; what it counted since the last
 * flush is still written once. Unregister accepts a negative handle. */
#define METRICS_SOURCES_MAX 128
#define METRICS_ID_MAX 72
#define METRICS_GROUP_FIELDS_MAX 32
int metrics_register(const struct metrics_group *g, const char *id, const void *values);
void metrics_unregister(int handle);
