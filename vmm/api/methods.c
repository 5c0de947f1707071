/* See methods.h. */
#include "methods.h"

#include <stddef.h>
#include <string.h>

static const struct api_method api_methods[] = {
	{ "GET", "Get" },
	{ "PUT", "Put" },
	{ "PATCH", "Patch" },
	{ "DELETE", "Delete" },
};

const struct api_method *api_method_find(const char *m)
{
	for (size_t i = 0; i < sizeof(api_methods) / sizeof(api_methods[0]); i++)
		if (!strcmp(m, api_methods[i].name))
			return &api_methods[i];
	return NULL;
}
