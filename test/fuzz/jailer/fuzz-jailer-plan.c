/* libFuzzer: argv → plan. The input is split at NUL bytes into arguments
 * after a fixed prefix that makes most runs reach the deeper checks; the plan
 * builder only reads (realpath, stat, mountinfo), so fuzzing it is safe. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jailer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jail_plan plan;
	char *argv[300], err[1024];
	char *buf = malloc(size + 1);
	int argc = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"jailer";
	if (size > 0 && buf[0] == 'P') {
		/* A valid base most of the flags build on. */
		static char *prefix[] = { "--id", "fuzz", "--exec-file", "/proc/self/exe", "--uid", "1", "--gid", "1",
					  "--chroot-base-dir", "/tmp", "--dry-run" };
		for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
			argv[argc++] = prefix[i];
	}
	for (char *a = buf + (size > 0 && buf[0] == 'P'); argc < 299 && a <= buf + size; a += strlen(a) + 1)
		argv[argc++] = a;
	argv[argc] = NULL;
	jail_plan_build(argc, argv, &plan, err, sizeof(err));
	free(buf);
	return 0;
}
