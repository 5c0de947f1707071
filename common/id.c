/* See id.h. */
#include "id.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool id_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The first position whose character is neither alphanumeric nor `extra`, or len. */
static size_t id_first_bad(const char *id, size_t len, char extra)
{
	size_t i = 0;

	while (i < len && (id_alnum(id[i]) || id[i] == extra))
		i++;
	return i;
}

int id_instance_check(const char *id, size_t *ret_pos)
{
	size_t len = strlen(id);

	*ret_pos = len;
	if (len < 1 || len > ID_INSTANCE_MAX)
		return -EINVAL;
	*ret_pos = id_first_bad(id, len, '-');
	return *ret_pos == len ? 0 : -EINVAL;
}

int id_resource_check(const char *id, size_t *ret_pos)
{
	size_t len = strlen(id);

	*ret_pos = id_first_bad(id, len, '_');
	return len > 0 && *ret_pos == len ? 0 : -EINVAL;
}
