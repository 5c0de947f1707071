/* virtio-pmem on the host side: the file mapping and its 2 MiB padding
 * (pmem-map.h), the pmem config rules (config/pmem.h) and the device's
 * request handling through the mmio transport (no KVM: vm_fd -1). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/pmem.h"
#include "core/device_env.h"
#include "core/guest_space.h"
#include "core/layout.h"
#include "devices/virtio/pmem-map.h"
#include "devices/virtio/pmem-state.h"
#include "devices/virtio/pmem.h"
#include "log.h"
#include "virtio-driver.h"

#define MiB (1ull << 20)

static char dir[] = "/tmp/ember-test-pmem.XXXXXX";

static const char *file_of(const char *name, size_t size, char ret[256])
{
	int fd;

	snprintf(ret, 256, "%s/%s", dir, name);
	fd = open(ret, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(size + 1);

	assert_non_null(buf);
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	free(buf);
	close(fd);
	return ret;
}

static void test_map_size(void **state)
{
	assert_int_equal(pmem_map_size(0), 0);
	assert_int_equal(pmem_map_size(1), 2 * MiB);
	assert_int_equal(pmem_map_size(2 * MiB), 2 * MiB);
	assert_int_equal(pmem_map_size(2 * MiB + 1), 4 * MiB);
	assert_int_equal(pmem_map_size(PMEM_FILE_MAX), PMEM_FILE_MAX);
	assert_int_equal(pmem_map_size(PMEM_FILE_MAX + 1), 0);
	assert_int_equal(pmem_map_size(UINT64_MAX), 0);
}

/* A 5000-byte file: a 2 MiB window, the file's bytes then zeros; stores in
 * the padding never reach the file, stores in the file do. */
static void test_padding(void **state)
{
	char path[256];
	struct pmem_map m;
	int fd = open(file_of("pad", 5000, path), O_RDWR | O_CLOEXEC);
	uint8_t b;

	assert_int_equal(pmem_map_file(fd, false, &m), 0);
	assert_int_equal(m.file_size, 5000);
	assert_int_equal(m.map_size, 2 * MiB);
	assert_int_equal(m.host[4999], (uint8_t)(4999 * 7 + 3));
	for (uint64_t i = 5000; i < m.map_size; i += 4093)
		assert_int_equal(m.host[i], 0);
	m.host[0] = 0x5a;
	m.host[6000] = 0x77;
	m.host[m.map_size - 1] = 0x77;
	assert_int_equal(msync(m.host, m.file_size, MS_SYNC), 0);
	pmem_map_release(&m);
	assert_int_equal(lseek(fd, 0, SEEK_END), 5000);
	assert_int_equal(pread(fd, &b, 1, 0), 1);
	assert_int_equal(b, 0x5a);
	close(fd);
}

static void test_map_errors(void **state)
{
	char path[256];
	struct pmem_map m = { 0 };
	int fd = open(file_of("empty", 0, path), O_RDONLY | O_CLOEXEC);

	assert_int_equal(pmem_map_file(fd, true, &m), -ENODATA);
	assert_null(m.host);
	close(fd);
}

static struct pmem_config cfg_of(const char *id, bool root)
{
	return (struct pmem_config){ .path_on_host = strdup("/x"), .root_device = root, .id = { 0 } };
}

static void test_config_roots(void **state)
{
	struct pmem_set s = { 0 };
	struct pmem_config p;
	char err[256], arg[64];

	p = cfg_of("a", true);
	strcpy(p.id, "a");
	assert_int_equal(pmem_set_put(&s, &p, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Pmem config error: Attempt to add pmem as a root device while the root device "
				 "defined as a block device");
	assert_int_equal(pmem_set_put(&s, &p, false, err, sizeof(err)), 0);
	p = cfg_of("b", true);
	strcpy(p.id, "b");
	assert_int_equal(pmem_set_put(&s, &p, false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Pmem config error: A root pmem device already exist");
	p.root_device = false;
	assert_int_equal(pmem_set_put(&s, &p, false, err, sizeof(err)), 0);
	assert_int_equal(pmem_set_root_arg(&s, arg, sizeof(arg)), (int)strlen("root=/dev/pmem0 rw"));
	assert_string_equal(arg, "root=/dev/pmem0 rw");
	/* Replacing "a" without the root, then "b" with it: b keeps index 1. */
	p = cfg_of("a", false);
	strcpy(p.id, "a");
	assert_int_equal(pmem_set_put(&s, &p, false, err, sizeof(err)), 0);
	p = cfg_of("b", true);
	strcpy(p.id, "b");
	p.read_only = true;
	assert_int_equal(pmem_set_put(&s, &p, false, err, sizeof(err)), 0);
	assert_int_equal(s.count, 2);
	pmem_set_root_arg(&s, arg, sizeof(arg));
	assert_string_equal(arg, "root=/dev/pmem1 ro");
	pmem_set_clear(&s);
}

static void test_config_parse(void **state)
{
	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "{\"id\":\"pmem\"}", "An error occurred when deserializing the json body of a request: missing field "
				      "`path_on_host`" },
		{ "{\"id\":\"p\",\"path_on_host\":\"/x\",\"cache\":1}", "unknown field `cache`" },
		{ "{\"id\":\"p\",\"path_on_host\":\"/x\",\"read_only\":1}", "invalid type" },
		{ "{\"id\":\"a-b\",\"path_on_host\":\"/x\"}", "API Resource IDs can only contain" },
	};
	struct pmem_config p;
	struct pmem_update u;
	char err[512];
	json_t *j;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i].json, 0, NULL);
		assert_true(pmem_config_parse(j, &p, err, sizeof(err)) < 0);
		if (!strstr(err, bad[i].err))
			fail_msg("%s: %s", bad[i].json, err);
		json_decref(j);
	}
	j = json_loads("{\"id\":\"p\",\"path_on_host\":\"foo\",\"rate_limiter\":{\"ops\":{\"size\":1,\"refill_time\":1}}}",
		       0, NULL);
	assert_true(pmem_update_parse(j, &u, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "unknown field `path_on_host`"));
	json_decref(j);
}

/* The device through the transport: config space, a FLUSH, broken chains. */
#define RAM (1u << 20)
static void test_device_requests(void **state)
{
	struct guest_memory *m = NULL;
	struct guest_space space;
	struct device_env env = { .vm_fd = -1 };
	struct pmem_config cfg = { .id = "p0" };
	struct virtio_mmio *t;
	struct pmem *p = NULL;
	char path[256], why[256];
	uint32_t type = 0, status = 0xeeeeeeee, id, len;

	assert_int_equal(guest_memory_create(RAM, &m), 0);
	guest_space_init(&space, -1, LAYOUT_PMEM_BASE, LAYOUT_PMEM_END, 2);
	env.mem = m;
	env.space = &space;
	cfg.path_on_host = (char *)file_of("dev", 3 * MiB, path);
	assert_int_equal(pmem_create(&env, &cfg, NULL, &p, why, sizeof(why)), 0);
	assert_int_equal(pmem_start(p), LAYOUT_PMEM_BASE);
	assert_int_equal(pmem_size(p), 4 * MiB);
	assert_int_equal(virtio_mmio_create(&env, 0, pmem_virtio(p), &t), 0);
	assert_int_equal(vd_read(t, VIRTIO_MMIO_DEVICE_ID), 27);
	vd_init(t, 16, ~0ull);
	assert_int_equal(vd_read(t, 0x100), (uint32_t)LAYOUT_PMEM_BASE);
	assert_int_equal(vd_read(t, 0x104), (uint32_t)(LAYOUT_PMEM_BASE >> 32));
	assert_int_equal(vd_read(t, 0x108), 4 * MiB);
	/* A good FLUSH, then an unknown type, then a status-less chain. */
	guest_memory_write(m, H_BUF, &type, 4);
	guest_memory_write(m, H_BUF + 4, &status, 4);
	h_desc(m, 0, H_BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	h_desc(m, 1, H_BUF + 4, 4, VIRTQ_DESC_F_WRITE, 0);
	h_offer(m, 16, 0);
	type = htole32(7);
	guest_memory_write(m, H_BUF + 8, &type, 4);
	h_desc(m, 2, H_BUF + 8, 4, VIRTQ_DESC_F_NEXT, 3);
	h_desc(m, 3, H_BUF + 12, 4, VIRTQ_DESC_F_WRITE, 0);
	h_offer(m, 16, 2);
	h_desc(m, 4, H_BUF, 4, 0, 0);
	h_offer(m, 16, 4);
	virtio_mmio_notify(t, 0);
	assert_int_equal(h_used_idx(m), 3);
	h_used_elem(m, 16, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 4);
	guest_memory_read(m, H_BUF + 4, &status, 4);
	assert_int_equal(status, 0);
	h_used_elem(m, 16, 1, &id, &len);
	assert_int_equal(len, 0);
	h_used_elem(m, 16, 2, &id, &len);
	assert_int_equal(id, 4);
	assert_int_equal(len, 0);
	virtio_mmio_destroy(t);
	pmem_destroy(p);
	assert_int_equal(space.n, 0);
	guest_memory_destroy(m);
}

static void test_device_zero_size(void **state)
{
	struct guest_space space;
	struct device_env env = { .vm_fd = -1, .space = &space };
	struct pmem_config cfg = { .id = "z" };
	struct pmem *p = NULL;
	char path[256], why[256];

	guest_space_init(&space, -1, LAYOUT_PMEM_BASE, LAYOUT_PMEM_END, 2);
	cfg.path_on_host = (char *)file_of("zero", 0, path);
	assert_true(pmem_create(&env, &cfg, NULL, &p, why, sizeof(why)) < 0);
	assert_string_equal(why, "Error backing file size is 0");
	cfg.path_on_host = (char *)"/nonexistent/pmem.img";
	assert_true(pmem_create(&env, &cfg, NULL, &p, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "/nonexistent/pmem.img"));
	assert_int_equal(space.n, 0);
}

/* The saved state: a round trip, the size rule in Firecracker's words, and
 * the checks of pmem_state_parse on hostile bytes. */
static void test_snapshot_state(void **state)
{
	struct guest_space space;
	struct device_env env = { .vm_fd = -1, .space = &space };
	struct pmem_config cfg = { .id = "s" };
	struct pmem *p = NULL;
	struct pmem_state st;
	uint8_t buf[PMEM_STATE_SIZE + 8];
	char path[256], why[256];
	int n;

	guest_space_init(&space, -1, LAYOUT_PMEM_BASE, LAYOUT_PMEM_END, 2);
	cfg.path_on_host = (char *)file_of("snap", 1 * MiB, path);
	assert_int_equal(pmem_create(&env, &cfg, NULL, &p, why, sizeof(why)), 0);
	assert_int_equal(pmem_snapshot_save(p, buf, 8), -ENOSPC);
	n = pmem_snapshot_save(p, buf, sizeof(buf));
	assert_int_equal(n, PMEM_STATE_SIZE);
	assert_int_equal(pmem_state_parse(buf, (size_t)n, &st, why, sizeof(why)), 0);
	assert_int_equal(st.start, LAYOUT_PMEM_BASE);
	assert_int_equal(st.size, 2 * MiB);
	assert_false(st.read_only);
	assert_int_equal(pmem_snapshot_restore(p, buf, (size_t)n, why, sizeof(why)), 0);
	assert_int_equal(pmem_snapshot_restore(p, buf, (size_t)n - 1, why, sizeof(why)), -EINVAL);
	/* A saved size other than this mapping's. */
	st.size = 4 * MiB;
	pmem_state_write(&st, buf, sizeof(buf));
	assert_int_equal(pmem_snapshot_restore(p, buf, (size_t)n, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "pmem s: Restored pmem size 4194304 does not match backing file mapping size 2097152");
	/* Read-only against the configuration. */
	st.size = 2 * MiB;
	st.read_only = true;
	pmem_state_write(&st, buf, sizeof(buf));
	assert_int_equal(pmem_snapshot_restore(p, buf, (size_t)n, why, sizeof(why)), -EINVAL);
	/* Moved to a free place: the window follows. */
	st.read_only = false;
	st.start = LAYOUT_PMEM_BASE + 8 * MiB;
	pmem_state_write(&st, buf, sizeof(buf));
	assert_int_equal(pmem_snapshot_restore(p, buf, (size_t)n, why, sizeof(why)), 0);
	assert_int_equal(pmem_start(p), LAYOUT_PMEM_BASE + 8 * MiB);
	/* Hostile windows and flags. */
	static const uint64_t bad[][2] = {
		{ 0, 2 * MiB }, { LAYOUT_PMEM_BASE - 2 * MiB, 2 * MiB }, { LAYOUT_PMEM_BASE + MiB, 2 * MiB },
		{ LAYOUT_PMEM_BASE, 0 }, { LAYOUT_PMEM_BASE, 3 * MiB }, { LAYOUT_PMEM_END - 2 * MiB, 4 * MiB },
		{ UINT64_MAX - 2 * MiB + 1, 2 * MiB }, { LAYOUT_PMEM_BASE, UINT64_MAX - 2 * MiB + 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st.start = bad[i][0];
		st.size = bad[i][1];
		pmem_state_write(&st, buf, sizeof(buf));
		assert_int_equal(pmem_state_parse(buf, PMEM_STATE_SIZE, &st, why, sizeof(why)), -EINVAL);
		assert_int_equal(pmem_snapshot_restore(p, buf, PMEM_STATE_SIZE, why, sizeof(why)), -EINVAL);
	}
	assert_int_equal(pmem_start(p), LAYOUT_PMEM_BASE + 8 * MiB);
	st = (struct pmem_state){ .start = LAYOUT_PMEM_BASE, .size = 2 * MiB };
	pmem_state_write(&st, buf, sizeof(buf));
	buf[16] = 2; /* an unknown flag */
	assert_int_equal(pmem_state_parse(buf, PMEM_STATE_SIZE, &st, why, sizeof(why)), -EINVAL);
	pmem_destroy(p);
	assert_int_equal(space.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_size),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_map_errors),
		cmocka_unit_test(test_config_roots),
		cmocka_unit_test(test_config_parse),
		cmocka_unit_test(test_device_requests),
		cmocka_unit_test(test_device_zero_size),
		cmocka_unit_test(test_snapshot_state),
	};
	int r;

	log_set_level(LOG_OFF);
	if (!mkdtemp(dir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	for (const char *n = "pad\0empty\0dev\0zero\0"; *n; n += strlen(n) + 1) {
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", dir, n);
		unlink(p);
	}
	rmdir(dir);
	return r;
}
