/* Routing, validation and the controller's state rules, through
 * api_serve_local: method, path and body in, Firecracker's bytes out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "api/controller.h"
#include "api/counters.h"
#include "api/methods.h"
#include "api/router.h"
#include "api/server.h"
#include "config/mmds.h"
#include "config/vm_config.h"
#include "config/vsock.h"
#include "devices/kind.h"
#include "metrics.h"
#include "mmds/store.h"

static int starts, pauses, resumes, cads;

static int fake_start(void *ctx, char *err, size_t errlen)
{
	starts++;
	return 0;
}

static int fake_pause(void *ctx, char *err, size_t errlen)
{
	pauses++;
	return 0;
}

static int fake_resume(void *ctx, char *err, size_t errlen)
{
	resumes++;
	return 0;
}

static int fake_cad(void *ctx, char *err, size_t errlen)
{
	cads++;
	return 0;
}

static const struct api_vm_ops fake_ops = {
	.start = fake_start, .pause = fake_pause, .resume = fake_resume, .ctrl_alt_del = fake_cad,
};

struct fixture {
	struct api_controller c;
	struct mmds_store *mmds;
	struct vm_config config;
};

/* The API's groups count from process start: a test counts against the
 * line rendered at its setup. */
static json_t *metrics_before;

static json_t *metrics_now(void)
{
	char *text = metrics_render();
	json_t *v = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	assert_non_null(v);
	return v;
}

static uint64_t metric_of(json_t *line, const char *group, const char *field)
{
	json_t *v = json_object_get(json_object_get(line, group), field);

	if (!json_is_integer(v))
		fail_msg("no %s.%s in the metrics line", group, field);
	return (uint64_t)json_integer_value(v);
}

/* What group.field counted since setup, in line (NULL: the current one). */
static uint64_t counted(json_t *line, const char *group, const char *field)
{
	json_t *now = line ? json_incref(line) : metrics_now();
	uint64_t n = metric_of(now, group, field) - metric_of(metrics_before, group, field);

	json_decref(now);
	return n;
}

static void metrics_setup(void)
{
	static const struct metrics_group *const groups[] = {
		&api_server_metrics_group, &deprecated_api_metrics_group, &get_api_requests_metrics_group,
		&latencies_us_metrics_group, &patch_api_requests_metrics_group, &put_api_requests_metrics_group,
	};

	metrics_reset();
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		assert_int_equal(metrics_declare(groups[i]), 0);
	metrics_before = metrics_now();
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_int_equal(mmds_store_new(64, &f->mmds), 0);
	vm_config_init(&f->config);
	f->c = (struct api_controller){ .instance_id = "vm1", .mmds = f->mmds, .ops = &fake_ops, .config = &f->config };
	starts = pauses = resumes = cads = 0;
	metrics_setup();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vm_config_clear(&f->config);
	mmds_store_free(f->mmds);
	free(f);
	json_decref(metrics_before);
	metrics_before = NULL;
	metrics_reset();
	return 0;
}

/* The whole last response (headers too). */
static char *last;

/* Serves a request; returns the status and leaves the body in body (static). */
static int req(struct fixture *f, const char *method, const char *path, const char *body, const char **ret_body)
{
	size_t len;
	int status;

	free(last);
	assert_int_equal(api_serve_local(&f->c, method, path, body, body ? strlen(body) : 0, &last, &len), 0);
	last = realloc(last, len + 1);
	last[len] = '\0';
	assert_int_equal(sscanf(last, "HTTP/1.1 %d ", &status), 1);
	if (ret_body) {
		const char *b = strstr(last, "\r\n\r\n");
		*ret_body = b ? b + 4 : "";
	}
	return status;
}

static void expect(struct fixture *f, const char *method, const char *path, const char *body, int status,
		   const char *body_part)
{
	const char *got;
	int s = req(f, method, path, body, &got);

	if (s != status || (body_part && !strstr(got, body_part)))
		fail_msg("%s %s %s: got %d '%s', want %d '%s'", method, path, body ? body : "", s, got, status,
			 body_part ? body_part : "");
}

static void test_instance_and_version(void **state)
{
	struct fixture *f = *state;

	expect(f, "GET", "/", NULL, 200, "\"state\":\"Not started\"");
	expect(f, "GET", "/", NULL, 200, "\"id\":\"vm1\"");
	expect(f, "GET", "/version", NULL, 200, "\"firecracker_version\":");
	expect(f, "GET", "/", "{}", 400, "GET request cannot have a body.");
	assert_int_equal(counted(NULL, "get_api_requests", "instance_info_count"), 2);
}

static void test_generic_errors(void **state)
{
	struct fixture *f = *state;

	expect(f, "PATCH", "/boot-source", "{}", 400, "Invalid request method and/or path: PATCH boot-source.");
	expect(f, "GET", "/nothing/here", NULL, 400, "Invalid request method and/or path: GET nothing.");
	expect(f, "PUT", "/actions", NULL, 400, "Empty PUT request.");
	expect(f, "PATCH", "/vm", NULL, 400, "Empty PATCH request.");
	expect(f, "POST", "/", NULL, 400, "Invalid HTTP Method");
	expect(f, "PUT", "/actions", "{", 400, "An error occurred when deserializing the json body of a request");
	expect(f, "PUT", "/actions", "{\"action_type\":\"InstanceStart\",\"action_type\":\"InstanceStart\"}", 400,
	       "duplicate");
}

static void test_ids(void **state)
{
	struct fixture *f = *state;

	expect(f, "PUT", "/drives/rootfs", "{}", 400, "missing field `drive_id`");
	expect(f, "PUT", "/drives/rootfs", "{\"drive_id\":\"other\"}", 400,
	       "The id from the path does not match the id from the body!");
	expect(f, "PUT", "/network-interfaces/eth0", "{}", 400, "missing field `iface_id`");
	expect(f, "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth1\",\"host_dev_name\":\"t\"}", 400,
	       "The id from the path does not match the id from the body!");
	expect(f, "DELETE", "/network-interfaces/eth0", NULL, 400, "does not provide network interface hot-unplug");
	expect(f, "PUT", "/vsock", "{}", 400, "missing field `guest_cid`");
	expect(f, "PUT", "/snapshot/create", "{}", 400, "missing field `snapshot_path`");
	expect(f, "PUT", "/snapshot/create", "{\"snapshot_type\":\"Delta\",\"snapshot_path\":\"s\",\"mem_file_path\":\"m\"}",
	       400, "unknown variant `Delta`");
	expect(f, "PUT", "/snapshot/load", "{\"snapshot_path\":\"s\"}", 400,
	       "missing field: either `mem_backend` or `mem_file_path` is required");
}

static void test_machine_config(void **state)
{
	struct fixture *f = *state;

	expect(f, "GET", "/machine-config", NULL, 200, "\"vcpu_count\":1");
	expect(f, "GET", "/machine-config", NULL, 200, "\"mem_size_mib\":128");
	expect(f, "PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256}", 204, NULL);
	expect(f, "GET", "/machine-config", NULL, 200, "\"vcpu_count\":2");
	expect(f, "PATCH", "/machine-config", "{\"mem_size_mib\":512}", 204, NULL);
	expect(f, "GET", "/machine-config", NULL, 200, "\"mem_size_mib\":512");
	expect(f, "GET", "/machine-config", NULL, 200, "\"vcpu_count\":2");
	expect(f, "PUT", "/machine-config", "{\"vcpu_count\":\"2\",\"mem_size_mib\":256}", 400,
	       "expected u8 for field `vcpu_count`");
	expect(f, "PUT", "/machine-config", "{\"mem_size_mib\":256}", 400, "missing field `vcpu_count`");
	expect(f, "PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":256,\"foo\":1}", 400,
	       "unknown field `foo`");
	expect(f, "PUT", "/machine-config", "{\"vcpu_count\":3,\"mem_size_mib\":256,\"smt\":true}", 400,
	       "Machine config error: ");
	expect(f, "PATCH", "/machine-config", "{}", 400, "Empty PATCH request.");
	expect(f, "GET", "/machine-config", NULL, 200, "\"mem_size_mib\":512");
	f->c.state = VM_RUNNING;
	expect(f, "PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256}", 400, "after starting");
	expect(f, "PATCH", "/machine-config", "{\"vcpu_count\":2}", 400, "after starting");
}

/* PUT /vsock binds its socket at PUT; vsock_id is deprecated (header and
 * counter); a refused second PUT leaves the first; after boot it is refused. */
static void test_vsock(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/ember-test-router-vs-XXXXXX", body[256], sock[64];
	const char *got;

	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	snprintf(body, sizeof(body), "{\"guest_cid\":3,\"uds_path\":\"%s\",\"vsock_id\":\"root\"}", sock);
	assert_int_equal(req(f, "PUT", "/vsock", body, &got), 204);
	assert_int_equal(counted(NULL, "deprecated_api", "deprecated_http_api_calls"), 1);
	const struct vsock_slot *slot = vm_config_slot(&f->config, device_kind_by_key("vsock"));

	assert_non_null(slot);
	assert_true(slot->present);
	assert_int_equal(access(sock, F_OK), 0);
	expect(f, "GET", "/vm/config", NULL, 200, "\"vsock\":{\"guest_cid\":3,\"uds_path\":\"");
	snprintf(body, sizeof(body), "{\"guest_cid\":4,\"uds_path\":\"%s/no/dir.sock\"}", dir);
	expect(f, "PUT", "/vsock", body, 400,
	       "Cannot create backend for vsock device: Error binding to the host-side Unix socket: ");
	expect(f, "PUT", "/vsock", "{\"guest_cid\":4294967296,\"uds_path\":\"x\"}", 400, "expected u32");
	assert_int_equal(slot->cfg.guest_cid, 3);
	assert_int_equal(counted(NULL, "put_api_requests", "vsock_count"), 3);
	assert_int_equal(counted(NULL, "put_api_requests", "vsock_fails"), 2);
	assert_int_equal(counted(NULL, "deprecated_api", "deprecated_http_api_calls"), 1);
	f->c.state = VM_RUNNING;
	expect(f, "PUT", "/vsock", "{\"guest_cid\":3,\"uds_path\":\"y\"}", 400, "after starting");
	vm_config_clear(&f->config);
	assert_int_equal(access(sock, F_OK), -1); /* the socket goes with the device */
	rmdir(dir);
}

static void test_boot_source(void **state)
{
	struct fixture *f = *state;
	char body[256];

	expect(f, "GET", "/vm/config", NULL, 200,
	       "\"boot-source\":{\"kernel_image_path\":\"\",\"initrd_path\":null,\"boot_args\":null}");
	expect(f, "PUT", "/boot-source", "{\"kernel_image_path\":\"/nonexistent/vmlinux\"}", 400,
	       "Boot source error: ");
	expect(f, "PUT", "/boot-source", "{\"kernel_image_path\":7}", 400, "for field `kernel_image_path`");
	expect(f, "PUT", "/boot-source", "{}", 400, "missing field `kernel_image_path`");
	expect(f, "PUT", "/boot-source", "{\"kernel\":\"x\"}", 400, "unknown field `kernel`");
	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"/proc/self/exe\",\"boot_args\":\"console=ttyS0\"}");
	expect(f, "PUT", "/boot-source", body, 204, NULL);
	expect(f, "GET", "/vm/config", NULL, 200,
	       "\"boot-source\":{\"kernel_image_path\":\"/proc/self/exe\",\"initrd_path\":null,\"boot_args\":\"console=ttyS0\"}");
	f->c.state = VM_PAUSED;
	expect(f, "PUT", "/boot-source", body, 400, "after starting");
}

static void test_actions(void **state)
{
	struct fixture *f = *state;

	expect(f, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", 400,
	       "not supported before starting the microVM.");
	expect(f, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", 400, "before starting");
	expect(f, "PUT", "/actions", "{\"action_type\":\"Reboot\"}", 400,
	       "unknown variant `Reboot`, expected one of `InstanceStart`, `FlushMetrics`, `SendCtrlAltDel`");
	expect(f, "PUT", "/actions", "{\"action_type\":1}", 400, "invalid type: integer `1`, expected a string");
	expect(f, "PUT", "/actions", "{}", 400, "missing field `action_type`");
	expect(f, "PUT", "/actions", "{\"action_type\":\"InstanceStart\",\"x\":1}", 400,
	       "unknown field `x`, expected one of `action_type`");
	expect(f, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	assert_int_equal(starts, 1);
	expect(f, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 400,
	       "not supported after starting the microVM.");
	expect(f, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", 204, NULL);
	expect(f, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", 204, NULL);
	assert_int_equal(cads, 1);
	expect(f, "GET", "/", NULL, 200, "\"state\":\"Running\"");
	assert_int_equal(counted(NULL, "put_api_requests", "actions_count"), 10);
	assert_int_equal(counted(NULL, "put_api_requests", "actions_fails"), 7);
}

static void test_pause_resume(void **state)
{
	struct fixture *f = *state;

	expect(f, "PATCH", "/vm", "{\"state\":\"Paused\"}", 400, "not supported before starting");
	f->c.state = VM_RUNNING;
	expect(f, "PATCH", "/vm", "{\"state\":\"Stopped\"}", 400, "unknown variant `Stopped`");
	expect(f, "PATCH", "/vm", "{\"state\":\"Paused\"}", 204, NULL);
	expect(f, "PATCH", "/vm", "{\"state\":\"Paused\"}", 204, NULL);
	expect(f, "GET", "/", NULL, 200, "\"state\":\"Paused\"");
	expect(f, "PATCH", "/vm", "{\"state\":\"Resumed\"}", 204, NULL);
	expect(f, "PATCH", "/vm", "{\"state\":\"Resumed\"}", 204, NULL);
	assert_int_equal(pauses, 1);
	assert_int_equal(resumes, 1);
}

static void test_mmds(void **state)
{
	struct fixture *f = *state;

	expect(f, "GET", "/mmds", NULL, 200, "{}");
	expect(f, "PATCH", "/mmds", "{\"a\":1}", 400, "The MMDS data store is not initialized.");
	expect(f, "PUT", "/mmds", "{\"a\":{\"b\":1}}", 204, NULL);
	expect(f, "PATCH", "/mmds", "{\"a\":{\"c\":2}}", 204, NULL);
	expect(f, "GET", "/mmds", NULL, 200, "{\"a\":{\"b\":1,\"c\":2}}");
	expect(f, "PATCH", "/mmds", "{\"big\":\"0123456789012345678901234567890123456789012345678901234567890\"}", 413,
	       "The MMDS patch request doesn't fit.");
	expect(f, "GET", "/mmds", NULL, 200, "{\"a\":{\"b\":1,\"c\":2}}");
	expect(f, "PUT", "/mmds", "\"just a string\"", 204, NULL);
	expect(f, "GET", "/mmds", NULL, 200, "\"just a string\"");
}

static void add_iface(struct fixture *f, const char *id)
{
	struct net_set *s = vm_config_slot_get(&f->config, device_kind_by_key("network-interfaces"));
	struct net_config *n;

	assert_non_null(s);
	n = &s->iface[s->count++];

	snprintf(n->iface_id, sizeof(n->iface_id), "%s", id);
	n->tap_fd = -1;
}

static bool deprecated(void)
{
	return strstr(last, "\r\nDeprecation: true\r\n") != NULL;
}

#define MMDS_V1_BODY(ifaces) "{\"network_interfaces\":" ifaces "}"

static void test_mmds_config(void **state)
{
	struct fixture *f = *state;

	expect(f, "GET", "/vm/config", NULL, 200, "\"mmds-config\":null");
	/* no interface yet */
	expect(f, "PUT", "/mmds/config", MMDS_V1_BODY("[\"eth0\"]"), 400, "MMMDS config error: " MMDS_ERR_UNKNOWN_IFACE);
	assert_true(deprecated()); /* V1 by default: flagged even when refused */
	add_iface(f, "eth0");
	add_iface(f, "1");
	expect(f, "PUT", "/mmds/config", MMDS_V1_BODY("[]"), 400, "MMMDS config error: " MMDS_ERR_EMPTY_LIST);
	expect(f, "PUT", "/mmds/config", "{\"network_interfaces\":[],\"ipv4_address\":\"169.254.0.1\"}", 400,
	       "MMMDS config error: " MMDS_ERR_NOT_LINK_LOCAL);
	expect(f, "PUT", "/mmds/config", "{\"network_interfaces\":[\"1\"],\"version\":\"V3\"}", 400,
	       "unknown variant `V3`, expected `V1` or `V2`");
	assert_false(deprecated()); /* a body that does not deserialise is not V1 */
	expect(f, "PUT", "/mmds/config", "{\"network_interfaces\":[\"1\"],\"x\":1}", 400, "unknown field `x`");
	assert_false(f->config.mmds.enabled);
	/* the Go SDK's body */
	expect(f, "PUT", "/mmds/config", "{\"network_interfaces\":[\"1\"],\"version\":\"V1\"}", 204, NULL);
	assert_true(deprecated());
	assert_true(mmds_config_iface_enabled(&f->config.mmds, "1"));
	expect(f, "GET", "/vm/config", NULL, 200, "\"mmds-config\":{\"version\":\"V1\",\"network_interfaces\":[\"1\"],"
	       "\"ipv4_address\":\"169.254.169.254\",\"imds_compat\":false}");
	/* a re-PUT replaces the whole config; a refused one changes nothing */
	expect(f, "PUT", "/mmds/config", "{\"version\":\"V2\",\"network_interfaces\":[\"eth0\"],"
	       "\"ipv4_address\":\"169.254.170.2\",\"imds_compat\":true}", 204, NULL);
	assert_false(deprecated());
	assert_false(mmds_config_iface_enabled(&f->config.mmds, "1"));
	expect(f, "PUT", "/mmds/config", "{\"version\":\"V2\",\"network_interfaces\":[\"1\",\"nope\"]}", 400,
	       MMDS_ERR_UNKNOWN_IFACE);
	expect(f, "GET", "/vm/config", NULL, 200, "\"mmds-config\":{\"version\":\"V2\",\"network_interfaces\":"
	       "[\"eth0\"],\"ipv4_address\":\"169.254.170.2\",\"imds_compat\":true}");
	/* counted as PUT /mmds requests, V1 ones as deprecated calls */
	assert_int_equal(counted(NULL, "put_api_requests", "mmds_count"), 8);
	assert_int_equal(counted(NULL, "put_api_requests", "mmds_fails"), 6);
	assert_int_equal(counted(NULL, "deprecated_api", "deprecated_http_api_calls"), 4);
	/* after boot: refused, V1 still flagged and counted */
	f->c.state = VM_RUNNING;
	expect(f, "PUT", "/mmds/config", MMDS_V1_BODY("[\"1\"]"), 400,
	       "The requested operation is not supported after starting the microVM.");
	assert_true(deprecated());
	assert_int_equal(counted(NULL, "deprecated_api", "deprecated_http_api_calls"), 5);
	expect(f, "PUT", "/mmds/config", "{\"version\":\"V2\",\"network_interfaces\":[\"1\"]}", 400, "after starting");
	assert_false(deprecated());
	assert_int_equal(f->config.mmds.version, MMDS_V2);
	/* the data store stays writable */
	expect(f, "PUT", "/mmds", "{}", 204, NULL);
	expect(f, "PATCH", "/mmds", "{\"a\":1}", 204, NULL);
}

static void test_logger_and_metrics(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/ember-metrics-XXXXXX";
	char body[256], line[65536];
	int fd = mkstemp(path);
	ssize_t n;

	expect(f, "PUT", "/logger", "{\"level\":\"Loud\"}", 400, "unknown variant `Loud`");
	expect(f, "PUT", "/logger", "{\"level\":7}", 400, "invalid type: integer `7`, expected a string");
	expect(f, "PUT", "/logger", "{\"lvl\":\"Info\"}", 400, "unknown field `lvl`");
	expect(f, "PUT", "/logger", "{\"level\":\"warn\",\"show_level\":true}", 204, NULL);
	expect(f, "PUT", "/logger", "{\"level\":\"info\",\"show_level\":false}", 204, NULL);
	expect(f, "PUT", "/metrics", "{}", 400, "missing field `metrics_path`");
	expect(f, "PUT", "/metrics", "{\"metrics_path\":false}", 400, "invalid type: boolean `false`");
	snprintf(body, sizeof(body), "{\"metrics_path\":\"%s\"}", path);
	expect(f, "PUT", "/metrics", body, 204, NULL);
	expect(f, "PUT", "/metrics", body, 400, "Reinitialization of metrics not allowed.");
	/* Firecracker's GET /vm/config leaves the process's metrics and logger out. */
	expect(f, "GET", "/vm/config", NULL, 200, "\"metrics\":null");
	expect(f, "GET", "/vm/config", NULL, 200, "\"logger\":null");
	f->c.state = VM_RUNNING;
	expect(f, "PUT", "/logger", "{\"level\":\"Info\"}", 400, "not supported after starting");
	expect(f, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", 204, NULL);
	n = pread(fd, line, sizeof(line) - 1, 0);
	assert_true(n > 0);
	line[n] = '\0';
	json_error_t e;
	json_t *m = json_loads(line, JSON_DISABLE_EOF_CHECK, &e);
	assert_non_null(m);
	assert_int_equal(counted(m, "put_api_requests", "metrics_count"), 4);
	assert_int_equal(counted(m, "put_api_requests", "logger_fails"), 4);
	assert_non_null(json_object_get(m, "utc_timestamp_ms"));
	assert_non_null(json_object_get(m, "api_server"));
	json_decref(m);
	close(fd);
	unlink(path);
}

/* For the resources with path ids that later work adds (/drives/{id}, ...). */
static void test_body_id(void **state)
{
	struct api_action *a = api_route_request("PUT", "/drives/rootfs", "{}", 2);

	assert_non_null(a);
	assert_string_equal(a->id, "rootfs");
	http_response_clear(&a->resp);
	assert_int_equal(api_check_body_id(a, "rootfs"), 0);
	assert_int_equal(api_check_body_id(a, "other"), -EINVAL);
	assert_non_null(strstr(a->resp.body, "The id from the path does not match the id from the body!"));
	assert_int_equal(api_check_body_id(a, "bad id"), -EINVAL);
	assert_non_null(strstr(a->resp.body, "can only contain alphanumeric characters and underscores"));
	api_action_free(a);
}

/* The one method list: exact, case-sensitive names (HTTP methods are), with
 * the titles Firecracker's log lines use. */
static void test_method_list(void **state)
{
	static const char *const titles[][2] = { { "GET", "Get" }, { "PUT", "Put" }, { "PATCH", "Patch" },
						 { "DELETE", "Delete" } };

	for (size_t i = 0; i < 4; i++) {
		assert_non_null(api_method_find(titles[i][0]));
		assert_string_equal(api_method_find(titles[i][0])->title, titles[i][1]);
	}
	assert_null(api_method_find("get"));
	assert_null(api_method_find("POST"));
	assert_null(api_method_find("GETX"));
	assert_null(api_method_find(""));
}

/* Every device kind is served whole (devices/kind.h): GET /vm/config shows
 * its key (api/vm.c's list is Firecracker's; a key missing there would be
 * silently dropped), each of its routes is found as its own row, and none
 * repeats a row of the hand-wired table (which it would shadow). An absent
 * kind's routes say what this build lacks. */
static void test_device_kinds(void **state)
{
	struct fixture *f = *state;
	const char *got;
	char key[96];

	assert_int_equal(req(f, "GET", "/vm/config", NULL, &got), 200);
	for (size_t k = 0; k < device_kinds_count; k++) {
		const struct device_kind *kind = device_kinds[k];

		/* a kind without a renderer keeps its key to the config file (serial, as Firecracker's GET has none) */
		if (kind->config_key && (kind->config_to_json || kind->unprovided)) {
			snprintf(key, sizeof(key), "\"%s\":", kind->config_key);
			if (!strstr(got, key))
				fail_msg("GET /vm/config lacks %s's key %s", kind->name, kind->config_key);
		}
		for (size_t i = 0; i < kind->routes_count; i++) {
			const struct api_route *r = &kind->routes[i];

			for (size_t j = 0; j < api_routes_count; j++)
				if (!strcmp(api_routes[j].method, r->method) && !strcmp(api_routes[j].path, r->path))
					fail_msg("%s %s is both %s's and the table's", r->method, r->path, kind->name);
			assert_true(!kind->unprovided || r->unprovided);
		}
	}
	expect(f, "PUT", "/hotplug/memory", "{}", 400, "does not provide memory hot-plugging");
	/* Firecracker's answers under /balloon it does not know, and the bodiless hinting PATCHes */
	expect(f, "GET", "/balloon/foo", NULL, 400, "Unrecognized GET request path `foo`.");
	expect(f, "GET", "/balloon/hinting/foo", NULL, 400, "Unrecognized GET request path `/hinting/foo`.");
	expect(f, "PATCH", "/balloon/hinting/bar", NULL, 400, "Unrecognized PATCH request path `/hinting/bar`.");
	expect(f, "PATCH", "/balloon/statistics", NULL, 400, "Empty PATCH request.");
	/* the balloon and the machine's memory limit each other, both ways */
	expect(f, "GET", "/balloon", NULL, 400, "Balloon config error: No balloon device found.");
	expect(f, "PUT", "/balloon", "{\"amount_mib\":129,\"deflate_on_oom\":true}", 400,
	       "Balloon config error: Amount of pages requested is too large.");
	expect(f, "PUT", "/balloon", "{\"amount_mib\":100,\"deflate_on_oom\":true}", 204, NULL);
	expect(f, "PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64}", 400,
	       "Machine config error: The memory size (MiB) is smaller than the previously set balloon device target size.");
	expect(f, "PATCH", "/machine-config", "{\"mem_size_mib\":99}", 400, "smaller than the previously set balloon");
	expect(f, "PATCH", "/machine-config", "{\"mem_size_mib\":100}", 204, NULL);
	expect(f, "GET", "/balloon", NULL, 200, "\"amount_mib\":100,\"deflate_on_oom\":true,\"stats_polling_interval_s\":0");
	expect(f, "GET", "/balloon/statistics", NULL, 400, "not supported before starting");
	expect(f, "PATCH", "/balloon/hinting/start", NULL, 400, "not supported before starting");
	expect(f, "DELETE", "/pmem/p0", NULL, 400, "not supported before starting the microVM");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_method_list),
		cmocka_unit_test_setup_teardown(test_instance_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generic_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmds_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logger_and_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_kinds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
