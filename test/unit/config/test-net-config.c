/* The NetworkInterface / PartialNetworkInterface validators and the
 * interface set: each field wrong once with Firecracker's texts, the MAC
 * rule, replacement that keeps or opens a TAP, a refused PUT that changes
 * nothing, the PATCH merge and GET /vm/config's form. The TAP is a stand-in
 * here (test-tap.c opens real ones). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/json_field.h"
#include "config/net.h"

static int opens;
static int open_result; /* 0: a real fd on /dev/null, else -errno */

static int fake_tap_open(const char *name, char *err, size_t errlen)
{
	opens++;
	if (open_result < 0) {
		snprintf(err, errlen, NET_ERR_CREATE "Open tap device failed: fake (%s)", name);
		return open_result;
	}
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

static int parse(const char *text, struct net_config *n, char *err, size_t errlen)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
	int r;

	assert_non_null(j);
	r = net_config_parse(j, n, err, errlen);
	json_decref(j);
	return r;
}

static void expect_error(const char *text, const char *want)
{
	struct net_config n;
	char err[512] = "";

	assert_true(parse(text, &n, err, sizeof(err)) < 0);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(j);
	assert_non_null(s);
	return s;
}

/* The Go SDK's and firectl's body. */
static void test_good_iface(void **state)
{
	struct net_config n;
	char err[512], *s;

	assert_int_equal(parse("{\"guest_mac\":\"AA:FC:00:00:00:01\",\"host_dev_name\":\"tap0\",\"iface_id\":\"1\"}",
			       &n, err, sizeof(err)), 0);
	assert_string_equal(n.iface_id, "1");
	assert_string_equal(n.host_dev_name, "tap0");
	assert_true(n.has_mac);
	assert_int_equal(n.guest_mac[0], 0xaa);
	assert_int_equal(n.guest_mac[5], 0x01);
	assert_int_equal(n.mtu, 0);
	assert_int_equal(n.tap_fd, -1);
	s = dump(net_config_to_json(&n));
	assert_string_equal(s, "{\"guest_mac\":\"aa:fc:00:00:00:01\",\"host_dev_name\":\"tap0\",\"iface_id\":\"1\","
			       "\"mtu\":null,\"rx_rate_limiter\":null,\"tx_rate_limiter\":null}");
	free(s);
	net_config_clear(&n);
}

/* Kata's empty limiters, an MTU at both ends of its range. */
static void test_kata_and_mtu(void **state)
{
	struct net_config n;
	char err[512], *s;

	assert_int_equal(parse("{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap_kata\",\"rx_rate_limiter\":{},"
			       "\"tx_rate_limiter\":{},\"mtu\":68}", &n, err, sizeof(err)), 0);
	assert_true(n.rx_rate_limiter.present && n.tx_rate_limiter.present);
	assert_false(n.has_mac);
	assert_int_equal(n.mtu, 68);
	s = dump(net_config_to_json(&n));
	assert_non_null(strstr(s, "\"guest_mac\":null"));
	assert_non_null(strstr(s, "\"rx_rate_limiter\":{\"bandwidth\":null,\"ops\":null}"));
	free(s);
	assert_int_equal(parse("{\"iface_id\":\"e\",\"host_dev_name\":\"t\",\"mtu\":65535}", &n, err, sizeof(err)),
			 0);
	assert_int_equal(n.mtu, 65535);
}

static void test_bad_fields(void **state)
{
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"t\",\"allow_mmds_requests\":true}",
		     JSON_DESERIALIZE_PREFIX "unknown field `allow_mmds_requests`, expected one of `iface_id`");
	expect_error("{\"iface_id\":\"a\"}", "missing field `host_dev_name`");
	expect_error("{\"host_dev_name\":\"t\"}", "missing field `iface_id`");
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":7}", "invalid type: integer `7`, expected a string");
	expect_error("{\"iface_id\":\"a-b\",\"host_dev_name\":\"t\"}",
		     "API Resource IDs can only contain alphanumeric characters and underscores.");
	expect_error("{\"iface_id\":\"\",\"host_dev_name\":\"t\"}", "The ID cannot be empty.");
	expect_error("[]", "invalid type");
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"t\",\"rx_rate_limiter\":{\"ops\":{\"size\":1}}}",
		     "missing field `refill_time`");
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"t\",\"tx_rate_limiter\":[]}", "invalid type");
}

static void test_bad_mac(void **state)
{
	static const char *const bad[] = { "AA:FC:00:00:00", "AA:FC:00:00:00:01:02", "AA-FC-00-00-00-01",
					   "AA:FC:00:00:00:0G", "A:FC:00:00:00:011", "", "AA:FC:00:00:00:01 " };
	char text[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"iface_id\":\"a\",\"host_dev_name\":\"t\",\"guest_mac\":\"%s\"}", bad[i]);
		expect_error(text, JSON_DESERIALIZE_PREFIX "The provided MAC address is not valid.");
	}
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"t\",\"guest_mac\":1}", "invalid type");
}

static void test_bad_mtu(void **state)
{
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"t\",\"mtu\":67}",
		     NET_ERR_CREATE "MTU 67 is out of range [68, 65535]");
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"t\",\"mtu\":0}", "MTU 0 is out of range [68, 65535]");
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"t\",\"mtu\":65536}",
		     "invalid value: integer `65536`, expected u16");
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"t\",\"mtu\":-1}", "expected u16");
}

static void test_bad_ifname(void **state)
{
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"a123456789abcdef\"}",
		     NET_ERR_CREATE "Open tap device failed: Invalid interface name `a123456789abcdef`");
	expect_error("{\"iface_id\":\"a\",\"host_dev_name\":\"\"}", "Invalid interface name");
}

static void put(struct net_set *s, const char *text, int want)
{
	struct net_config n;
	char err[512] = "";

	assert_int_equal(parse(text, &n, err, sizeof(err)), 0);
	assert_int_equal(net_set_put(s, &n, fake_tap_open, err, sizeof(err)), want);
	net_config_clear(&n);
}

static void test_set(void **state)
{
	struct net_set s = { 0 };
	struct net_config n;
	char err[512];
	int fd;

	opens = 0;
	open_result = 0;
	put(&s, "{\"iface_id\":\"a\",\"host_dev_name\":\"ta\",\"guest_mac\":\"02:00:00:00:00:01\"}", 0);
	put(&s, "{\"iface_id\":\"b\",\"host_dev_name\":\"tb\",\"guest_mac\":\"02:00:00:00:00:02\"}", 0);
	assert_int_equal(opens, 2);
	assert_true(s.iface[0].tap_fd >= 0);
	/* the same MAC on another id: refused before any TAP is opened */
	assert_int_equal(parse("{\"iface_id\":\"c\",\"host_dev_name\":\"tc\",\"guest_mac\":\"02:00:00:00:00:01\"}",
			       &n, err, sizeof(err)), 0);
	assert_int_equal(net_set_put(&s, &n, fake_tap_open, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, NET_ERR_PREFIX "The MAC address is already in use: 02:00:00:00:00:01");
	assert_int_equal(opens, 2);
	net_config_clear(&n);
	/* replacing a with the same TAP keeps its fd (a second attach would be busy) */
	fd = s.iface[0].tap_fd;
	put(&s, "{\"iface_id\":\"a\",\"host_dev_name\":\"ta\",\"guest_mac\":\"02:00:00:00:00:01\",\"mtu\":1500}", 0);
	assert_int_equal(opens, 2);
	assert_int_equal(s.iface[0].tap_fd, fd);
	assert_int_equal(s.iface[0].mtu, 1500);
	assert_int_equal(s.count, 2);
	assert_string_equal(s.iface[0].iface_id, "a"); /* keeps its place */
	/* a replacement whose TAP fails to open loses nothing */
	open_result = -EBUSY;
	assert_int_equal(parse("{\"iface_id\":\"a\",\"host_dev_name\":\"other\"}", &n, err, sizeof(err)), 0);
	assert_int_equal(net_set_put(&s, &n, fake_tap_open, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "Open tap device failed: fake (other)"));
	assert_int_equal(s.iface[0].tap_fd, fd);
	assert_string_equal(s.iface[0].host_dev_name, "ta");
	assert_true(s.iface[0].has_mac);
	net_config_clear(&n);
	/* a's own MAC may move to a itself; b can take a's old MAC only once a lets go */
	open_result = 0;
	put(&s, "{\"iface_id\":\"a\",\"host_dev_name\":\"ta2\",\"guest_mac\":\"02:00:00:00:00:03\"}", 0);
	assert_true(fcntl(fd, F_GETFD) < 0); /* the old TAP was closed */
	put(&s, "{\"iface_id\":\"b\",\"host_dev_name\":\"tb\",\"guest_mac\":\"02:00:00:00:00:01\"}", 0);
	assert_int_equal(net_set_find(&s, "b"), 1);
	assert_int_equal(net_set_find(&s, "zz"), -ENOENT);
	net_set_clear(&s);
	assert_int_equal(s.count, 0);
}

static void test_set_cap(void **state)
{
	struct net_set s = { 0 };
	char text[128];

	open_result = 0;
	for (unsigned i = 0; i < NET_IFACES_MAX; i++) {
		snprintf(text, sizeof(text), "{\"iface_id\":\"i%u\",\"host_dev_name\":\"t%u\"}", i, i);
		put(&s, text, 0);
	}
	put(&s, "{\"iface_id\":\"more\",\"host_dev_name\":\"tm\"}", -ENOSPC);
	put(&s, "{\"iface_id\":\"i3\",\"host_dev_name\":\"t3b\"}", 0); /* a replacement still fits */
	net_set_clear(&s);
}

static void test_set_parse_and_json(void **state)
{
	json_t *j = json_loads("[{\"iface_id\":\"eth0\",\"host_dev_name\":\"t0\",\"guest_mac\":\"AA:FC:00:00:00:01\"},"
			       "{\"iface_id\":\"eth1\",\"host_dev_name\":\"t1\",\"tx_rate_limiter\":{\"bandwidth\":"
			       "{\"size\":1000,\"refill_time\":10}}}]", 0, NULL);
	struct net_set s = { 0 };
	char err[512], *out;

	open_result = 0;
	assert_int_equal(net_set_parse(j, &s, fake_tap_open, err, sizeof(err)), 0);
	json_decref(j);
	assert_int_equal(s.count, 2);
	out = dump(net_set_to_json(&s));
	assert_non_null(strstr(out, "\"iface_id\":\"eth0\""));
	assert_non_null(strstr(out, "\"guest_mac\":\"aa:fc:00:00:00:01\""));
	assert_non_null(strstr(out, "\"tx_rate_limiter\":{\"bandwidth\":{\"one_time_burst\":null,\"refill_time\":10,"
				    "\"size\":1000},\"ops\":null}"));
	free(out);
	net_set_clear(&s);
	j = json_loads("{\"iface_id\":1}", 0, NULL);
	assert_true(net_set_parse(j, &s, fake_tap_open, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "expected a sequence"));
	json_decref(j);
	assert_int_equal(net_set_parse(json_null(), &s, fake_tap_open, err, sizeof(err)), 0);
}

static void update(const char *text, struct net_update *u, int want, const char *want_err)
{
	json_t *j = json_loads(text, 0, NULL);
	char err[512] = "";

	assert_non_null(j);
	assert_int_equal(net_update_parse(j, u, err, sizeof(err)), want);
	if (want_err && !strstr(err, want_err))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want_err);
	json_decref(j);
}

/* Firecracker's merge: absent limiters and buckets stay, size 0 switches a
 * bucket off (kept as given so GET shows it), `{}` removes the limiter. */
static void test_update_merge(void **state)
{
	struct rate_limiter_spec rx = { 0 };
	struct net_update u;

	update("{\"iface_id\":\"1\",\"rx_rate_limiter\":{\"bandwidth\":{\"size\":100,\"refill_time\":10},"
	       "\"ops\":{\"size\":5,\"refill_time\":10}}}", &u, 0, NULL);
	assert_string_equal(u.iface_id, "1");
	assert_false(u.tx_rate_limiter.present);
	net_limiter_merge(&rx, &u.rx_rate_limiter);
	assert_int_equal(rx.cfg.bucket[RATE_LIMITER_OPS].size, 5);
	update("{\"iface_id\":\"1\",\"rx_rate_limiter\":{\"ops\":{\"size\":0,\"refill_time\":10}}}", &u, 0, NULL);
	net_limiter_merge(&rx, &u.rx_rate_limiter);
	assert_int_equal(rx.cfg.bucket[RATE_LIMITER_BANDWIDTH].size, 100);
	assert_int_equal(rx.cfg.bucket[RATE_LIMITER_OPS].size, 0);
	update("{\"iface_id\":\"1\",\"tx_rate_limiter\":null}", &u, 0, NULL);
	net_limiter_merge(&rx, &u.rx_rate_limiter);
	assert_true(rx.present);
	update("{\"iface_id\":\"1\",\"rx_rate_limiter\":{}}", &u, 0, NULL);
	net_limiter_merge(&rx, &u.rx_rate_limiter);
	assert_false(rx.present);
	update("{\"iface_id\":\"1\",\"host_dev_name\":\"t\"}", &u, -EINVAL,
	       "unknown field `host_dev_name`, expected one of `iface_id`, `rx_rate_limiter`, `tx_rate_limiter`");
	update("{\"rx_rate_limiter\":{}}", &u, -EINVAL, "missing field `iface_id`");
}

static void test_mac_text(void **state)
{
	uint8_t mac[NET_MAC_LEN];
	char buf[18];

	assert_int_equal(net_mac_parse("0a:Bc:DE:f0:12:34", mac), 0);
	net_mac_format(mac, buf, sizeof(buf));
	assert_string_equal(buf, "0a:bc:de:f0:12:34");
	assert_int_equal(net_mac_parse("0a:bc:de:f0:12:3", mac), -EINVAL);
	assert_int_equal(net_mac_parse("0a:bc:de:f0:12:34:", mac), -EINVAL);
	assert_int_equal(net_mac_parse("0a:bc:de:f0:12;34", mac), -EINVAL);
}

static void test_body_id(void **state)
{
	json_t *j = json_loads("{\"iface_id\":\"x\",\"foo\":1}", 0, NULL);
	const char *id = NULL;
	char err[256];

	assert_int_equal(net_body_id(j, &id, err, sizeof(err)), 0);
	assert_string_equal(id, "x");
	json_decref(j);
	j = json_loads("[1]", 0, NULL);
	assert_int_equal(net_body_id(j, &id, err, sizeof(err)), -EINVAL);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_iface), cmocka_unit_test(test_kata_and_mtu),
		cmocka_unit_test(test_bad_fields), cmocka_unit_test(test_bad_mac),
		cmocka_unit_test(test_bad_mtu),	   cmocka_unit_test(test_bad_ifname),
		cmocka_unit_test(test_set),	   cmocka_unit_test(test_set_cap),
		cmocka_unit_test(test_set_parse_and_json), cmocka_unit_test(test_update_merge),
		cmocka_unit_test(test_mac_text),   cmocka_unit_test(test_body_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
