#include "path_error.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct {
	bool known;
	char cwd[PATH_MAX];
	unsigned uid, gid;
} ids;

void path_error_init(void)
{
	if (!getcwd(ids.cwd, sizeof(ids.cwd)))
		ids.cwd[0] = '\0'; /* removed or too long: relative paths are shown as given only */
	ids.uid = (unsigned)geteuid();
	ids.gid = (unsigned)getegid();
	ids.known = true;
}

const char *path_error(char *buf, size_t len, const char *path, int err)
{
	const char *rel = path;
	char ids_text[48] = "";
	size_t n = 0;

	if (!len)
		return buf;
	if (!ids.known)
		path_error_init();
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2; /* "./vmlinux" resolves like "vmlinux" */
	if (err == EACCES)
		snprintf(ids_text, sizeof(ids_text), "; uid %u, gid %u", ids.uid, ids.gid);
	if (path[0] != '/' && ids.cwd[0])
		n = (size_t)snprintf(buf, len, "%s (resolved: %s%s%s): ", path, ids.cwd,
				     strcmp(ids.cwd, "/") ? "/" : "", rel);
	else
		n = (size_t)snprintf(buf, len, "%s: ", path);
	if (n < len)
		snprintf(buf + n, len - n, "%s (os error %d%s)", strerror(err), err, ids_text);
	return buf;
}
