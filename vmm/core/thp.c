/* The host's transparent huge page setting: see thp.h. */
#include "thp.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

#define THP_ENABLED_PATH "/sys/kernel/mm/transparent_hugepage/enabled"

enum thp_mode thp_host_mode(void)
{
	_cleanup_close_ int fd = open(THP_ENABLED_PATH, O_RDONLY | O_CLOEXEC);
	char buf[128];
	ssize_t n;

	if (fd < 0)
		return THP_UNKNOWN;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return THP_UNKNOWN;
	buf[n] = 0;
	/* The kernel brackets the active choice: "always [madvise] never". */
	if (strstr(buf, "[never]"))
		return THP_NEVER;
	if (strstr(buf, "[madvise]"))
		return THP_MADVISE;
	if (strstr(buf, "[always]"))
		return THP_ALWAYS;
	return THP_UNKNOWN;
}
