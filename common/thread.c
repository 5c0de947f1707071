/* See thread.h. */
#include "thread.h"

#include <errno.h>
#include <sys/prctl.h>

int thread_set_comm(const char *comm)
{
	return prctl(PR_SET_NAME, comm, 0, 0, 0) < 0 ? -errno : 0;
}
