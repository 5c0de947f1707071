/* libFuzzer: the jail manifest parser (<id>/jailer-manifest.json, read by
 * --cleanup and by a jailer that finds an existing <id>). Whatever it
 * accepts must keep --cleanup inside the jail: every entry one component
 * below "root", every cgroup level relative and ending in the id. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jailer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const char *path)
{
	const char *name = path + 5;

	if (strcmp(path, "root") == 0)
		return;
	if (strncmp(path, "root/", 5) || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jail_manifest *m = malloc(sizeof(*m));

	if (!m)
		return 0;
	if (jail_manifest_parse((const char *)data, size, m) == 0) {
		if (m->n_entries > JAIL_MANIFEST_ENTRY_MAX || m->n_cgroups > JAIL_HIER_MAX)
			__builtin_trap();
		for (size_t i = 0; i < m->n_entries; i++)
			check_entry(m->entries[i].path);
		check_entry(m->pid_file);
		for (size_t h = 0; h < m->n_cgroups; h++) {
			const struct jail_manifest_cgroup *c = &m->cgroups[h];
			const char *last = strrchr(c->levels[c->n_levels - 1], '/');

			if (c->n_levels == 0 || c->mount[0] != '/' || !last || strcmp(last + 1, m->id))
				__builtin_trap();
			for (size_t l = 0; l < c->n_levels; l++)
				if (jail_cgroup_check_parent(c->levels[l]) < 0)
					__builtin_trap();
		}
	}
	free(m);
	return 0;
}
