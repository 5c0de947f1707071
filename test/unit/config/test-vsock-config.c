#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/vsock.h"

static char err[1024];
static char dir[64], sock_a[96], sock_b[96], plain[96];

static int setup(void **state)
{
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/ember-test-vs-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock_a, sizeof(sock_a), "%s/a.sock", dir);
	snprintf(sock_b, sizeof(sock_b), "%s/b.sock", dir);
	snprintf(plain, sizeof(plain), "%s/file", dir);
	fd = open(plain, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(sock_a);
	unlink(sock_b);
	unlink(plain);
	rmdir(dir);
	return 0;
}

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);

	assert_non_null(j);
	return j;
}

static int parse(const char *text, struct vsock_config *c)
{
	json_t *j = load(text);
	int r;

	err[0] = '\0';
	r = vsock_config_parse(j, c, err, sizeof(err));
	json_decref(j);
	return r;
}

static void test_valid(void **state)
{
	struct vsock_config c;
	json_t *out;
	char *text;

	/* Kata's Go runtime's body. */
	assert_int_equal(parse("{\"guest_cid\":3,\"uds_path\":\"/kata.hvsock\",\"vsock_id\":\"root\"}", &c), 0);
	assert_int_equal(c.guest_cid, 3);
	assert_string_equal(c.uds_path, "/kata.hvsock");
	assert_true(c.has_vsock_id);
	assert_string_equal(c.vsock_id, "root");
	assert_int_equal(parse("{\"guest_cid\":4294967294,\"uds_path\":\"v.sock\"}", &c), 0);
	assert_false(c.has_vsock_id);
	assert_int_equal(parse("{\"guest_cid\":5,\"uds_path\":\"v.sock\",\"vsock_id\":null}", &c), 0);
	out = vsock_config_to_json(&c);
	text = json_dumps(out, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(text, "{\"guest_cid\":5,\"uds_path\":\"v.sock\"}");
	free(text);
	json_decref(out);
}

/* The CIDs Linux reserves are taken, as Firecracker takes them (engines send
 * 0 and 0xffffffff), each with its reason for the warning; the others have
 * none. */
static void test_reserved_cids(void **state)
{
	static const struct {
		uint32_t cid;
		const char *name;
	} reserved[] = { { 0, "VMADDR_CID_HYPERVISOR" }, { 1, "VMADDR_CID_LOCAL" }, { 2, "VMADDR_CID_HOST" },
			 { 4294967295u, "VMADDR_CID_ANY" } };
	struct vsock_config c;
	char body[96];

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		snprintf(body, sizeof(body), "{\"guest_cid\":%u,\"uds_path\":\"v\"}", reserved[i].cid);
		c.guest_cid = 77;
		assert_int_equal(parse(body, &c), 0);
		assert_int_equal(c.guest_cid, reserved[i].cid);
		assert_non_null(vsock_cid_reserved(reserved[i].cid));
		assert_non_null(strstr(vsock_cid_reserved(reserved[i].cid), reserved[i].name));
	}
	assert_null(vsock_cid_reserved(3));
	assert_null(vsock_cid_reserved(4294967294u));
}

static const struct {
	const char *body;
	const char *want;
} bad[] = {
	{ "{\"uds_path\":\"v.sock\"}", "missing field `guest_cid`" },
	{ "{\"guest_cid\":3}", "missing field `uds_path`" },
	{ "{\"guest_cid\":3,\"uds_path\":\"v\",\"x\":1}", "unknown field `x`" },
	{ "{\"guest_cid\":\"3\",\"uds_path\":\"v\"}", "expected u32" },
	{ "{\"guest_cid\":-1,\"uds_path\":\"v\"}", "expected u32" },
	{ "{\"guest_cid\":4294967296,\"uds_path\":\"v\"}", "expected u32" },
	{ "{\"guest_cid\":3,\"uds_path\":\"\"}", "Invalid uds_path" },
	{ "{\"guest_cid\":3,\"uds_path\":7}", "expected a string" },
	{ "{\"guest_cid\":3,\"uds_path\":\"a\\u0000b\"}", "NUL byte" },
	{ "{\"guest_cid\":3,\"uds_path\":\"v\",\"vsock_id\":3}", "expected a string" },
	{ "[1]", "expected struct VsockDeviceConfig" },
};

static void test_errors(void **state)
{
	struct vsock_config c = { .guest_cid = 77 };
	char longpath[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].body, &c), -EINVAL);
		if (!strstr(err, bad[i].want))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].body, err, bad[i].want);
		assert_int_equal(c.guest_cid, 77); /* untouched on error */
	}
	snprintf(longpath, sizeof(longpath), "{\"guest_cid\":3,\"uds_path\":\"/%0120d\"}", 0);
	assert_int_equal(parse(longpath, &c), -EINVAL);
	assert_non_null(strstr(err, "Invalid uds_path"));
}

static struct vsock_config cfg(const char *path, uint32_t cid)
{
	struct vsock_config c = { .guest_cid = cid };

	snprintf(c.uds_path, sizeof(c.uds_path), "%s", path);
	return c;
}

static bool is_socket(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void test_bind_errors(void **state)
{
	char want[512], missing[160];

	/* An existing file is never replaced. */
	assert_int_equal(vsock_listener_bind(plain, err, sizeof(err)), -EADDRINUSE);
	snprintf(want, sizeof(want), VSOCK_ERR_BIND "%s: Address already in use (os error 98)", plain);
	assert_string_equal(err, want);
	snprintf(missing, sizeof(missing), "%s/no/such/dir.sock", dir);
	assert_int_equal(vsock_listener_bind(missing, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "Cannot create backend for vsock device: Error binding to the host-side Unix socket: "));
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, "No such file or directory"));
}

static void test_slot_replace(void **state)
{
	struct vsock_slot s = VSOCK_SLOT_INIT;
	struct vsock_config a = cfg(sock_a, 3), b = cfg(sock_b, 4), file = cfg(plain, 5);
	int first;

	assert_int_equal(vsock_slot_put(&s, &a, err, sizeof(err)), 0);
	assert_true(s.present);
	assert_true(is_socket(sock_a));
	first = s.listen_fd;
	/* A second put onto an existing file fails and leaves the first. */
	assert_int_equal(vsock_slot_put(&s, &file, err, sizeof(err)), -EADDRINUSE);
	assert_int_equal(s.listen_fd, first);
	assert_int_equal(s.cfg.guest_cid, 3);
	assert_true(is_socket(sock_a));
	/* The same path again: the listener is kept, the CID changes. */
	a.guest_cid = 9;
	assert_int_equal(vsock_slot_put(&s, &a, err, sizeof(err)), 0);
	assert_int_equal(s.listen_fd, first);
	assert_int_equal(s.cfg.guest_cid, 9);
	/* Another path: the new socket is bound, the old one unlinked. */
	assert_int_equal(vsock_slot_put(&s, &b, err, sizeof(err)), 0);
	assert_true(is_socket(sock_b));
	assert_false(is_socket(sock_a));
	assert_int_equal(s.cfg.guest_cid, 4);
	vsock_slot_clear(&s);
	assert_false(s.present);
	assert_int_equal(s.listen_fd, -1);
	assert_false(is_socket(sock_b));
}

static void test_slot_parse(void **state)
{
	struct vsock_slot s = VSOCK_SLOT_INIT;
	char text[256];
	json_t *j;

	j = load("[{\"guest_cid\":3,\"uds_path\":\"x\"},{\"guest_cid\":4,\"uds_path\":\"y\"}]");
	assert_int_equal(vsock_slot_parse(j, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "one vsock device"));
	assert_false(s.present);
	json_decref(j);
	snprintf(text, sizeof(text), "{\"guest_cid\":3,\"uds_path\":\"%s\"}", sock_a);
	j = load(text);
	assert_int_equal(vsock_slot_parse(j, &s, err, sizeof(err)), 0);
	assert_true(is_socket(sock_a));
	json_decref(j);
	vsock_slot_clear(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_reserved_cids),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bind_errors),
		cmocka_unit_test(test_slot_replace),
		cmocka_unit_test(test_slot_parse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
