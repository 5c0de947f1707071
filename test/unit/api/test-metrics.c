/* The metrics module: every group on every line, counters as deltas since
 * the previous flush, store metrics as they are, a FIFO without a reader
 * never blocks and its lost lines are counted. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "metrics.h"
#include "metrics_line.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/ember-metrics-XXXXXX");
	assert_non_null(mkdtemp(dir));
	metrics_reset();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	metrics_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static json_t *line_n(const char *path, int n)
{
	FILE *f = fopen(path, "r");
	char buf[65536];
	json_t *v = NULL;

	assert_non_null(f);
	for (int i = 0; i <= n && fgets(buf, sizeof(buf), f); i++)
		if (i == n)
			v = json_loads(buf, 0, NULL);
	fclose(f);
	assert_non_null(v);
	return v;
}

static uint64_t get(json_t *line, const char *group, const char *name)
{
	json_t *v = json_object_get(json_object_get(line, group), name);
	assert_true(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

/* A process-wide owner's group: its counters, private here, come with the
 * group and count from process start; pull copies counts kept elsewhere. */
#define OWNER_METRICS(X)                                                                           \
	X(requests, METRICS_COUNTER)                                                               \
	X(latency, METRICS_STORE)                                                                  \
	X(pulled, METRICS_COUNTER)
METRICS_COUNTERS(owner_metrics, OWNER_METRICS);
static uint64_t kept_elsewhere;

static void owner_metrics_pull(void *values)
{
	((struct owner_metrics *)values)->pulled = kept_elsewhere;
}

METRICS_PROCESS_GROUP(owner_metrics, "owner", OWNER_METRICS, owner_metrics_pull);

static void test_deltas_and_store(void **state)
{
	char path[128];
	json_t *l0, *l1;

	snprintf(path, sizeof(path), "%s/m.json", dir);
	assert_int_equal(metrics_flush(), 0); /* no sink: nothing to do */
	assert_int_equal(metrics_init(path, false, NULL, NULL), 0);
	assert_int_equal(metrics_init(path, false, NULL, NULL), -EALREADY);
	metrics_local_add(owner_metrics.requests, 2); /* before the group is declared: still counted */
	kept_elsewhere = 5;
	assert_int_equal(metrics_declare(&owner_metrics_group), 0);
	assert_int_equal(metrics_declare(&owner_metrics_group), 0);
	metrics_local_add(owner_metrics.requests, 1);
	owner_metrics.latency = 42;
	assert_int_equal(metrics_flush(), 0);
	metrics_local_inc(owner_metrics.requests);
	kept_elsewhere = 7;
	assert_int_equal(metrics_flush(), 0);
	l0 = line_n(path, 0);
	l1 = line_n(path, 1);
	assert_int_equal(get(l0, "owner", "requests"), 3);
	assert_int_equal(get(l1, "owner", "requests"), 1);
	assert_int_equal(get(l0, "owner", "latency"), 42);
	assert_int_equal(get(l1, "owner", "latency"), 42);
	assert_int_equal(get(l0, "owner", "pulled"), 5);
	assert_int_equal(get(l1, "owner", "pulled"), 2);
	assert_true(json_integer_value(json_object_get(l1, "utc_timestamp_ms")) > 1600000000000);
	/* A process-wide group is not registered again as a source. */
	assert_int_equal(metrics_register(&owner_metrics_group, NULL, &owner_metrics), -EINVAL);
	json_decref(l0);
	json_decref(l1);
}

static void test_every_group(void **state)
{
	static const char *const groups[] = {
		"api_server", "balloon", "block", "deprecated_api", "entropy", "get_api_requests", "i8042",
		"latencies_us", "logger", "mmds", "net", "patch_api_requests", "put_api_requests", "rtc",
		"seccomp", "signals", "uart", "vcpu", "vhost_user_block", "vmm", "vsock", "interrupts", "pmem",
		"memory_hotplug",
	};
	char *text;
	json_t *v;

	/* What ember declares at start-up, before any device or vCPU exists. */
	assert_int_equal(metrics_line_declare(), 0);
	text = metrics_render();
	v = json_loads(text, 0, NULL);
	assert_non_null(v);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (!json_is_object(json_object_get(v, groups[i])))
			fail_msg("group %s missing", groups[i]);
	json_decref(v);
	free(text);
}

#define TEST_METRICS(X)                                                                            \
	X(count, METRICS_COUNTER)                                                                  \
	X(lat__min_us, METRICS_MIN)                                                                \
	X(lat__max_us, METRICS_MAX)                                                                \
	X(lat__sum_us, METRICS_COUNTER)                                                            \
	X(size, METRICS_STORE)
METRICS_COUNTERS(test_metrics, TEST_METRICS);
METRICS_GROUP(test_metrics, "thing", TEST_METRICS);

static json_t *render(void)
{
	char *text = metrics_render();
	json_t *v = json_loads(text, 0, NULL);

	assert_non_null(v);
	free(text);
	return v;
}

static uint64_t get2(json_t *line, const char *group, const char *obj, const char *name)
{
	json_t *v = json_object_get(json_object_get(json_object_get(line, group), obj), name);

	assert_true(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

/* Two sources of one group: counters summed, MIN the smallest non-zero, MAX
 * the largest, `__` nested; a source with an id also as `<group>_<id>`; a
 * declared group without sources is all zeros. */
static void test_registered_groups_merge(void **state)
{
	struct test_metrics a = { 0 }, b = { 0 };
	int ha, hb;
	json_t *v;

	assert_int_equal(metrics_declare(&test_metrics_group), 0);
	v = render();
	assert_int_equal(get(v, "thing", "count"), 0);
	assert_int_equal(get2(v, "thing", "lat", "min_us"), 0);
	json_decref(v);
	ha = metrics_register(&test_metrics_group, NULL, &a);
	hb = metrics_register(&test_metrics_group, "disk1", &b);
	assert_true(ha >= 0 && hb >= 0);
	metrics_local_add(a.count, 3);
	metrics_local_add(b.count, 4);
	metrics_record_latency(&a.lat__min_us, 7);
	metrics_record_latency(&a.lat__min_us, 2);
	metrics_record_latency(&b.lat__min_us, 5);
	metrics_record_latency(&b.lat__min_us, 30);
	b.size = 9;
	v = render();
	assert_int_equal(get(v, "thing", "count"), 7);
	assert_int_equal(get2(v, "thing", "lat", "min_us"), 2);
	assert_int_equal(get2(v, "thing", "lat", "max_us"), 30);
	assert_int_equal(get2(v, "thing", "lat", "sum_us"), 44);
	assert_int_equal(get(v, "thing", "size"), 9);
	assert_int_equal(get(v, "thing_disk1", "count"), 4);
	assert_int_equal(get2(v, "thing_disk1", "lat", "min_us"), 5);
	assert_null(json_object_get(v, "thing_"));
	json_decref(v);
	metrics_unregister(ha);
	metrics_unregister(hb);
}

/* With a sink: deltas per source; a source that goes away is written once
 * more with what it counted since the last flush, then no more. */
static void test_registered_deltas_and_retire(void **state)
{
	struct test_metrics a = { 0 };
	char path[128];
	json_t *l;
	int h;

	snprintf(path, sizeof(path), "%s/m.json", dir);
	assert_int_equal(metrics_init(path, false, NULL, NULL), 0);
	a.count = 5; /* counted before registering: not reported */
	h = metrics_register(&test_metrics_group, "d", &a);
	metrics_local_add(a.count, 2);
	assert_int_equal(metrics_flush(), 0);
	metrics_local_add(a.count, 1);
	metrics_unregister(h);
	a.count = 1000; /* the owner's memory is gone: never read again */
	assert_int_equal(metrics_flush(), 0);
	assert_int_equal(metrics_flush(), 0);
	l = line_n(path, 0);
	assert_int_equal(get(l, "thing_d", "count"), 2);
	json_decref(l);
	l = line_n(path, 1);
	assert_int_equal(get(l, "thing_d", "count"), 1);
	assert_int_equal(get(l, "thing", "count"), 1);
	json_decref(l);
	l = line_n(path, 2);
	assert_null(json_object_get(l, "thing_d"));
	assert_int_equal(get(l, "thing", "count"), 0);
	json_decref(l);
}

static void test_register_limits(void **state)
{
	struct test_metrics a = { 0 };
	char id[METRICS_ID_MAX + 1];
	int h[METRICS_SOURCES_MAX];

	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	assert_int_equal(metrics_register(&test_metrics_group, id, &a), -EINVAL);
	for (int i = 0; i < METRICS_SOURCES_MAX; i++)
		assert_true((h[i] = metrics_register(&test_metrics_group, NULL, &a)) >= 0);
	assert_int_equal(metrics_register(&test_metrics_group, NULL, &a), -ENOSPC);
	metrics_unregister(-1);
	metrics_unregister(h[3]); /* retired, no sink: the slot is free at once */
	assert_int_equal(metrics_register(&test_metrics_group, NULL, &a), h[3]);
}

/* A FIFO nobody reads fills up; lines are then lost and counted, never waited for. */
static void test_fifo_without_reader(void **state)
{
	char path[128];
	int lost = 0;

	snprintf(path, sizeof(path), "%s/m.fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(metrics_init(path, false, NULL, NULL), 0);
	assert_int_equal(metrics_line_declare(), 0); /* whole lines, so that the FIFO fills */
	for (int i = 0; i < 200; i++)
		if (metrics_flush() < 0)
			lost++;
	assert_true(lost > 0);
	assert_true(metrics_lost_lines() >= (uint64_t)lost);
	/* The reader catches up: after one more flush, what it got is whole lines. */
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	char *buf = malloc(1 << 20);
	ssize_t n = read(rd, buf, 1 << 20), m;
	assert_true(n > 0);
	assert_int_equal(metrics_flush(), 0);
	m = read(rd, buf + n, (1 << 20) - 1 - (size_t)n);
	assert_true(m > 0);
	n += m;
	buf[n] = '\0';
	assert_int_equal(buf[n - 1], '\n');
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *v = json_loads(line, 0, NULL);
		assert_non_null(v);
		json_decref(v);
	}
	free(buf);
	close(rd);
}

/* The first keys of a line, in order, as one string ("a,b,c"). */
static void first_keys(const char *path, char *out, size_t len, int n)
{
	FILE *f = fopen(path, "r");
	char buf[65536];
	json_t *v;
	const char *k;
	json_t *val;

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	v = json_loads(buf, JSON_DECODE_ANY, NULL); /* jansson keeps insertion order */
	assert_non_null(v);
	out[0] = '\0';
	json_object_foreach(v, k, val) {
		if (n-- == 0)
			break;
		snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "", k);
	}
	json_decref(v);
}

/* emit_id and properties: top-level "id" and "properties" right after
 * utc_timestamp_ms; off, neither appears. */
static void test_emit_id_and_properties(void **state)
{
	struct metrics_config mc;
	char path[128], keys[256], err[256];
	json_t *j, *l;

	snprintf(path, sizeof(path), "%s/m.json", dir);
	j = json_pack("{s:s,s:b,s:{s:s,s:s}}", "metrics_path", path, "emit_id", 1, "properties", "zone", "a",
		      "host", "h1");
	assert_int_equal(metrics_config_from_json(j, &mc, err, sizeof(err)), 0);
	json_decref(j);
	assert_true(mc.emit_id);
	assert_string_equal(mc.properties, "{\"zone\":\"a\",\"host\":\"h1\"}");
	assert_int_equal(metrics_init(mc.path, mc.emit_id, "vm-7", mc.properties), 0);
	metrics_config_clear(&mc);
	assert_int_equal(metrics_declare(&owner_metrics_group), 0);
	assert_int_equal(metrics_flush(), 0);
	first_keys(path, keys, sizeof(keys), 4);
	assert_string_equal(keys, "utc_timestamp_ms,id,properties,owner");
	l = line_n(path, 0);
	assert_string_equal(json_string_value(json_object_get(l, "id")), "vm-7");
	assert_string_equal(json_string_value(json_object_get(json_object_get(l, "properties"), "host")), "h1");
	json_decref(l);

	/* Off (emit_id false, no properties): the line starts as before. */
	metrics_reset();
	snprintf(path, sizeof(path), "%s/m2.json", dir);
	j = json_pack("{s:s,s:b,s:n}", "metrics_path", path, "emit_id", 0, "properties");
	assert_int_equal(metrics_config_from_json(j, &mc, err, sizeof(err)), 0);
	json_decref(j);
	assert_null(mc.properties);
	assert_int_equal(metrics_init(mc.path, mc.emit_id, "vm-7", mc.properties), 0);
	metrics_config_clear(&mc);
	assert_int_equal(metrics_declare(&owner_metrics_group), 0);
	assert_int_equal(metrics_flush(), 0);
	first_keys(path, keys, sizeof(keys), 2);
	assert_string_equal(keys, "utc_timestamp_ms,owner");

	/* Only properties: no id. */
	metrics_reset();
	snprintf(path, sizeof(path), "%s/m3.json", dir);
	assert_int_equal(metrics_init(path, false, "vm-7", "{}"), 0);
	assert_int_equal(metrics_declare(&owner_metrics_group), 0);
	assert_int_equal(metrics_flush(), 0);
	first_keys(path, keys, sizeof(keys), 3);
	assert_string_equal(keys, "utc_timestamp_ms,properties,owner");
}

/* expect_refused BODY MESSAGE: metrics_config_from_json refuses BODY naming the field. */
static void expect_refused(const char *body, const char *message)
{
	struct metrics_config mc = { 0 };
	char err[512];
	json_t *j = json_loads(body, 0, NULL);

	assert_non_null(j);
	assert_int_equal(metrics_config_from_json(j, &mc, err, sizeof(err)), -EINVAL);
	json_decref(j);
	if (!strstr(err, message))
		fail_msg("'%s' lacks '%s'", err, message);
	assert_null(mc.path);
}

static void test_config_errors(void **state)
{
	char big[METRICS_PROPERTIES_MAX + 64];
	int n;

	expect_refused("{\"metrics_path\":\"/x\",\"properties\":{\"a\":\"b\",\"n\":5}}",
		       "invalid type: integer `5`, expected a string for field `properties.n`");
	expect_refused("{\"metrics_path\":\"/x\",\"properties\":{\"t\":true}}", "for field `properties.t`");
	expect_refused("{\"metrics_path\":\"/x\",\"properties\":{\"o\":{}}}", "for field `properties.o`");
	expect_refused("{\"metrics_path\":\"/x\",\"properties\":[\"a\"]}", "expected a map for field `properties`");
	expect_refused("{\"metrics_path\":\"/x\",\"properties\":\"a\"}", "expected a map for field `properties`");
	expect_refused("{\"metrics_path\":\"/x\",\"emit_id\":\"yes\"}", "for field `emit_id`");
	expect_refused("{\"metrics_path\":\"/x\",\"emit\":true}", "unknown field `emit`");
	/* A hard cap: the map goes into every line. */
	n = snprintf(big, sizeof(big), "{\"metrics_path\":\"/x\",\"properties\":{\"k\":\"");
	memset(big + n, 'v', METRICS_PROPERTIES_MAX);
	snprintf(big + n + METRICS_PROPERTIES_MAX, sizeof(big) - (size_t)n - METRICS_PROPERTIES_MAX, "\"}}");
	expect_refused(big, "`properties` takes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deltas_and_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registered_groups_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registered_deltas_and_retire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_without_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emit_id_and_properties, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
