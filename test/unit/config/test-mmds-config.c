/* config/mmds.c: Firecracker's MmdsConfig, its deserialisation texts, its
 * check order against the interfaces, and what GET /vm/config shows. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/mmds.h"

static char err[1024];

/* Two interfaces, "eth0" and "1", as net_set_put() would leave them (no TAP). */
static struct net_set nets(void)
{
	struct net_set s = { .count = 2 };

	snprintf(s.iface[0].iface_id, sizeof(s.iface[0].iface_id), "eth0");
	snprintf(s.iface[1].iface_id, sizeof(s.iface[1].iface_id), "1");
	s.iface[0].tap_fd = s.iface[1].tap_fd = -1;
	return s;
}

static int parse(const char *text, struct mmds_config *c)
{
	struct net_set s = nets();
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
	int r;

	assert_non_null(j);
	err[0] = '\0';
	r = mmds_config_parse(j, &s, c, err, sizeof(err));
	json_decref(j);
	return r;
}

static char *shown(const struct mmds_config *c)
{
	struct net_set s = nets();
	json_t *j = mmds_config_to_json(c, &s);
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(j);
	return text;
}

static void test_defaults(void **state)
{
	struct mmds_config c;
	char *text;

	/* The Go SDK's body (firectl --metadata). */
	assert_int_equal(parse("{\"network_interfaces\":[\"1\"],\"version\":\"V1\"}", &c), 0);
	assert_true(c.enabled);
	assert_int_equal(c.version, MMDS_V1);
	assert_int_equal(c.ipv4_address, MMDS_IPV4_DEFAULT);
	assert_false(c.imds_compat);
	assert_true(mmds_config_iface_enabled(&c, "1"));
	assert_false(mmds_config_iface_enabled(&c, "eth0"));
	text = shown(&c);
	assert_string_equal(text, "{\"version\":\"V1\",\"network_interfaces\":[\"1\"],"
				  "\"ipv4_address\":\"169.254.169.254\",\"imds_compat\":false}");
	free(text);
	/* version absent is V1; null address is the default */
	assert_int_equal(parse("{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":null}", &c), 0);
	assert_int_equal(c.version, MMDS_V1);
	assert_int_equal(c.ipv4_address, MMDS_IPV4_DEFAULT);
}

static void test_full(void **state)
{
	struct mmds_config c;
	char *text;

	assert_int_equal(parse("{\"version\":\"V2\",\"network_interfaces\":[\"1\",\"eth0\",\"1\"],"
			       "\"ipv4_address\":\"169.254.170.2\",\"imds_compat\":true}", &c), 0);
	assert_int_equal(c.version, MMDS_V2);
	assert_int_equal(c.ipv4_address, 0xa9feaa02u);
	assert_true(c.imds_compat);
	assert_int_equal(c.iface_count, 2); /* repeats kept once */
	/* listed in the interfaces' order, as Firecracker walks its devices */
	text = shown(&c);
	assert_string_equal(text, "{\"version\":\"V2\",\"network_interfaces\":[\"eth0\",\"1\"],"
				  "\"ipv4_address\":\"169.254.170.2\",\"imds_compat\":true}");
	free(text);
	/* not configured: null */
	c = (struct mmds_config){ 0 };
	assert_false(mmds_config_iface_enabled(&c, "eth0"));
	text = shown(&c);
	assert_string_equal(text, "null");
	free(text);
}

static void test_link_local_bounds(void **state)
{
	static const char *const good[] = { "169.254.1.0", "169.254.254.255", "169.254.169.254", "169.254.128.7" };
	static const char *const bad[] = { "169.254.0.255", "169.254.255.0", "169.253.169.254", "1.1.1.1",
					   "0.0.0.0", "255.255.255.255", "10.0.0.1" };
	struct mmds_config c;
	char body[160];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(body, sizeof(body), "{\"network_interfaces\":[\"1\"],\"ipv4_address\":\"%s\"}", good[i]);
		if (parse(body, &c) != 0)
			fail_msg("%s refused: %s", good[i], err);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"network_interfaces\":[\"1\"],\"ipv4_address\":\"%s\"}", bad[i]);
		assert_int_equal(parse(body, &c), -EINVAL);
		assert_string_equal(err, MMDS_ERR_NOT_LINK_LOCAL);
	}
}

static const struct {
	const char *body;
	const char *want;
} bad[] = {
	/* deserialisation, serde's words */
	{ "{}", "missing field `network_interfaces`" },
	{ "{\"network_interfaces\":[\"1\"],\"x\":1}",
	  "unknown field `x`, expected one of `version`, `network_interfaces`, `ipv4_address`, `imds_compat`" },
	{ "{\"network_interfaces\":[\"1\"],\"version\":\"foo\"}", "unknown variant `foo`, expected `V1` or `V2`" },
	{ "{\"network_interfaces\":[\"1\"],\"version\":\"v2\"}", "unknown variant `v2`" },
	{ "{\"network_interfaces\":\"1\"}", "invalid type: string \"1\", expected a sequence" },
	{ "{\"network_interfaces\":[1]}", "invalid type: integer `1`, expected a string" },
	{ "{\"network_interfaces\":[\"1\"],\"ipv4_address\":\"\"}", "invalid IPv4 address syntax" },
	{ "{\"network_interfaces\":[\"1\"],\"ipv4_address\":\"169.254.169.0254\"}", "invalid IPv4 address syntax" },
	{ "{\"network_interfaces\":[\"1\"],\"ipv4_address\":\"169.254.169\"}", "invalid IPv4 address syntax" },
	{ "{\"network_interfaces\":[\"1\"],\"ipv4_address\":7}", "expected a string" },
	{ "{\"network_interfaces\":[\"1\"],\"imds_compat\":\"yes\"}", "expected a boolean" },
	{ "[]", "expected struct MmdsConfig" },
	/* Firecracker's order: the address, then the empty list, then unknown ids */
	{ "{\"network_interfaces\":[],\"ipv4_address\":\"1.1.1.1\"}", MMDS_ERR_NOT_LINK_LOCAL },
	{ "{\"network_interfaces\":[\"nope\"],\"ipv4_address\":\"1.1.1.1\"}", MMDS_ERR_NOT_LINK_LOCAL },
	{ "{\"network_interfaces\":[]}", MMDS_ERR_EMPTY_LIST },
	{ "{\"network_interfaces\":[\"1\",\"foo\"]}", MMDS_ERR_UNKNOWN_IFACE },
	{ "{\"network_interfaces\":[\"ETH0\"]}", MMDS_ERR_UNKNOWN_IFACE },
};

static void test_errors(void **state)
{
	struct mmds_config c = { .iface_count = 77 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].body, &c), -EINVAL);
		if (!strstr(err, bad[i].want))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].body, err, bad[i].want);
		assert_int_equal(c.iface_count, 77); /* untouched on error */
	}
}

/* A hostile list: thousands of entries naming the two interfaces, and one
 * that is longer than any id. The result stays within its array. */
static void test_long_lists(void **state)
{
	struct mmds_config c;
	size_t n = 5000, len = 64 + n * 9;
	char *body = malloc(len), *p = body;

	assert_non_null(body);
	p += sprintf(p, "{\"network_interfaces\":[");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s\"%s\"", i ? "," : "", i % 2 ? "eth0" : "1");
	sprintf(p, "]}");
	assert_int_equal(parse(body, &c), 0);
	assert_int_equal(c.iface_count, 2);
	snprintf(body, len, "{\"network_interfaces\":[\"1\",\"%0300d\"]}", 0);
	assert_int_equal(parse(body, &c), -EINVAL);
	assert_string_equal(err, MMDS_ERR_UNKNOWN_IFACE);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_link_local_bounds),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
