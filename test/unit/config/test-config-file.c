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

#include "config/config_file.h"

static char err[1024];
static char path[64];

static int setup(void **state)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/ember-test-cf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

__attribute__((format(printf, 2, 3))) static int load(struct vm_config *c, const char *fmt, ...)
{
	char text[4096];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	vm_config_init(c);
	err[0] = '\0';
	r = config_file_parse(text, strlen(text), c, err, sizeof(err));
	return r;
}

static void expect(const char *want, const char *text)
{
	struct vm_config c;

	assert_true(load(&c, "%s", text) < 0);
	if (!strstr(err, want))
		fail_msg("%s\n  got:  %s\n  want: %s", text, err, want);
	vm_config_clear(&c);
}

static void test_valid(void **state)
{
	struct vm_config c;

	assert_int_equal(load(&c, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"a=b\"}, "
			 "\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 1024}, "
			 "\"drives\": [], \"balloon\": null}", path), 0);
	assert_true(c.boot.configured);
	assert_true(c.boot.kernel_fd >= 0);
	assert_int_equal(c.machine.vcpu_count, 2);
	assert_int_equal(c.machine.mem_size_mib, 1024);
	vm_config_clear(&c);
	assert_int_equal(c.boot.kernel_fd, -1);

	/* machine-config is optional: Firecracker's defaults apply. */
	assert_int_equal(load(&c, "{\"boot-source\": {\"kernel_image_path\": \"%s\"}}", path), 0);
	assert_int_equal(c.machine.vcpu_count, 1);
	assert_int_equal(c.machine.mem_size_mib, 128);
	vm_config_clear(&c);
}

static void test_errors_name_the_key(void **state)
{
	expect("Invalid JSON: ", "{\"machine-config\": ");
	expect("Invalid JSON: the configuration must be an object", "[]");
	expect("Invalid JSON: ", "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 1}, "
				 "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 1}}");
	/* the device kinds' keys (from their descriptors) where the table marks them */
	expect("unknown configuration key \"foo\", expected one of \"boot-source\", \"machine-config\", \"serial\", \"drives\", "
	       "\"network-interfaces\", \"pmem\", \"vsock\", \"balloon\", \"entropy\", \"logger\", \"metrics\", \"mmds-config\"", "{\"foo\": 1}");
	expect("machine-config: An error occurred when deserializing the json body of a request: invalid type: "
	       "string \"1\", expected u8 for field `vcpu_count`.",
	       "{\"machine-config\": {\"vcpu_count\": \"1\", \"mem_size_mib\": 1}}");
	expect("machine-config: An error occurred when deserializing the json body of a request: invalid type: "
	       "integer `3`, expected struct MachineConfig.", "{\"machine-config\": 3}");
	expect("boot-source: An error occurred when deserializing the json body of a request: missing field "
	       "`kernel_image_path`.", "{\"boot-source\": {}}");
	expect("boot-source: Boot source error: The kernel file cannot be opened: /nonexistent/vmlinux: No such file "
	       "or directory",
	       "{\"boot-source\": {\"kernel_image_path\": \"/nonexistent/vmlinux\"}}");
	expect("machine-config: Machine config error: The number of vCPUs",
	       "{\"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 128}}");
}

static void test_absent_capabilities(void **state)
{
	/* drives exist now: an incomplete one gets the validator's text */
	expect("drives: An error occurred when deserializing the json body of a request: missing field "
	       "`is_root_device`", "{\"drives\": [{\"drive_id\": \"root\"}]}");
	expect("network-interfaces: An error occurred when deserializing the json body of a request: missing field "
	       "`iface_id`", "{\"network-interfaces\": [{}]}");
	expect("vsock: An error occurred when deserializing the json body of a request: missing field `guest_cid`",
	       "{\"vsock\": {}}");
	expect("vsock: expected one vsock device object (one device per VM)", "{\"vsock\": [{}, {}]}");
	expect("balloon: An error occurred when deserializing the json body of a request: missing field "
	       "`deflate_on_oom`", "{\"balloon\": {\"amount_mib\": 1}}");
	expect("balloon: expected one balloon device object (one device per VM)", "{\"balloon\": []}");
	/* the balloon may not outgrow RAM, whichever key comes first */
	expect("balloon: Amount of pages requested is too large.",
	       "{\"balloon\": {\"amount_mib\": 65, \"deflate_on_oom\": false}, "
	       "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64}}");
	expect("serial: An error occurred when deserializing the json body of a request: unknown field `x`",
	       "{\"serial\": {\"x\": 1}}");
	expect("entropy: An error occurred when deserializing the json body of a request: unknown field `x`",
	       "{\"entropy\": {\"x\": 1}}");
	/* kinds this build lacks (devices/absent.c): null or [] only */
	expect("pmem: An error occurred when deserializing the json body of a request: missing field `id`",
	       "{\"pmem\": [{}]}");
	expect("pmem: Pmem config error: Attempt to add pmem as a root device while the root device defined as a "
	       "block device", "{\"drives\": [{\"drive_id\": \"r\", \"path_on_host\": \"/etc/passwd\", \"is_read_only\": true, "
	       "\"is_root_device\": true}], \"pmem\": [{\"id\": \"p\", \"path_on_host\": \"x\", \"root_device\": true}]}");
	expect("memory-hotplug: this build does not provide memory hotplug yet", "{\"memory-hotplug\": {}}");
	expect("logger: An error occurred when deserializing the json body of a request: unknown field `x`",
	       "{\"logger\": {\"x\": 1}}");
	expect("metrics: An error occurred when deserializing the json body of a request: missing field "
	       "`metrics_path`", "{\"metrics\": {}}");
	expect("mmds-config: An error occurred when deserializing the json body of a request: missing field "
	       "`network_interfaces`", "{\"mmds-config\": {}}");
	expect("mmds-config: " MMDS_ERR_EMPTY_LIST, "{\"mmds-config\": {\"network_interfaces\": []}}");
	expect("mmds-config: " MMDS_ERR_UNKNOWN_IFACE, "{\"mmds-config\": {\"network_interfaces\": [\"eth0\"]}}");
}

/* What GET /vm/config prints for resources never set loads back as "not set". */
static void test_nulls_of_get_vm_config(void **state)
{
	struct vm_config c;

	assert_int_equal(load(&c, "%s", "{\"balloon\":null,\"drives\":[],\"boot-source\":null,\"cpu-config\":null,"
			      "\"logger\":null,\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":64,\"smt\":false,"
			      "\"track_dirty_pages\":false,\"huge_pages\":\"None\"},\"metrics\":null,"
			      "\"memory-hotplug\":null,\"mmds-config\":null,\"network-interfaces\":[],\"pmem\":[],"
			      "\"vsock\":null,\"entropy\":null}"), 0);
	assert_false(c.boot.configured);
	assert_false(c.has_logger);
	assert_null(c.metrics.path);
	assert_int_equal(c.machine.vcpu_count, 2);
	vm_config_clear(&c);
	/* null is "not set", not a wrong type, only where GET prints it */
	expect("machine-config: An error occurred when deserializing the json body of a request: invalid type: null",
	       "{\"machine-config\": null}");
}

static void test_load_file(void **state)
{
	struct vm_config c;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "{\"machine-config\": {\"vcpu_count\": 4, \"mem_size_mib\": 64}}");
	fclose(f);
	vm_config_init(&c);
	assert_int_equal(config_file_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.machine.vcpu_count, 4);
	vm_config_clear(&c);
	assert_int_equal(config_file_load("/nonexistent/cfg.json", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open the configuration file /nonexistent/cfg.json: No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_errors_name_the_key),
		cmocka_unit_test(test_absent_capabilities),
		cmocka_unit_test(test_nulls_of_get_vm_config),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
