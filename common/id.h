/* Firecracker's two id rules, each written once.
 *
 * Instance ids (`--id` of ember and of the jailer): 1 to ID_INSTANCE_MAX
 * characters of [A-Za-z0-9-]. A leading '-' is accepted, as Firecracker's
 * validate_instance_id accepts it (the jailer builds paths from the id; a
 * '-' is harmless there, and '/', '.' and control bytes cannot appear).
 *
 * Resource ids (drive_id, iface_id, the {id} of a path): non-empty
 * [A-Za-z0-9_]+, Firecracker's "alphanumeric characters and underscores".
 *
 * Both return 0, or -EINVAL with *ret_pos at the first bad character (the
 * length, for a bad length). */
#pragma once

#include <stddef.h>

#define ID_INSTANCE_MAX 64

int id_instance_check(const char *id, size_t *ret_pos);
int id_resource_check(const char *id, size_t *ret_pos);
