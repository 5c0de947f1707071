/* The two id rules of common/id.c: instance ids (ember and the jailer) and
 * resource ids (the API's drive_id and path ids), each against Firecracker's. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "id.h"

static void test_instance_ids(void **state)
{
	static const char *const good[] = { "vm1", "a", "-", "-leading-dash", "A-b-9" };
	static const struct {
		const char *id;
		size_t pos;
	} bad[] = { { "", 0 }, { "a_b", 1 }, { "a/b", 1 }, { "..", 0 }, { "a b", 1 }, { "caf\xc3\xa9", 3 } };
	char max[ID_INSTANCE_MAX + 2];
	size_t pos;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(id_instance_check(good[i], &pos), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(id_instance_check(bad[i].id, &pos), -EINVAL);
		assert_int_equal(pos, bad[i].pos);
	}
	memset(max, 'x', ID_INSTANCE_MAX);
	max[ID_INSTANCE_MAX] = '\0';
	assert_int_equal(id_instance_check(max, &pos), 0);
	max[ID_INSTANCE_MAX] = 'x';
	max[ID_INSTANCE_MAX + 1] = '\0';
	assert_int_equal(id_instance_check(max, &pos), -EINVAL);
	assert_int_equal(pos, ID_INSTANCE_MAX + 1); /* a bad length: the position is the length */
}

static void test_resource_ids(void **state)
{
	size_t pos;

	assert_int_equal(id_resource_check("rootfs", &pos), 0);
	assert_int_equal(id_resource_check("_a_1_", &pos), 0);
	assert_int_equal(id_resource_check("", &pos), -EINVAL);
	assert_int_equal(id_resource_check("a-b", &pos), -EINVAL);
	assert_int_equal(pos, 1);
	assert_int_equal(id_resource_check("disk.img", &pos), -EINVAL);
	assert_int_equal(pos, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instance_ids),
		cmocka_unit_test(test_resource_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
