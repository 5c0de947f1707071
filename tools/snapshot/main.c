/* ember-snapshot: inspects a snapshot's state file with ember's parser.
 *
 *   ember-snapshot info FILE     version, machine configuration, memory
 *                                regions, devices
 *   ember-snapshot verify FILE   magic, version and CRC: exit 0, or 1 and why
 *   ember-snapshot rebase BASE DIFF
 *   ember-snapshot rebase --memory-path BASE --diff-path DIFF
 *                                copies a Diff memory file's data extents
 *                                into its base memory file (rebase.h)
 *
 * Exit codes: 0 ok, 1 the file is refused (the reason on stderr), 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "info.h"
#include "rebase.h"
#include "snapshot/format.h"

static int usage(void)
{
	fprintf(stderr, "usage: ember-snapshot info FILE\n       ember-snapshot verify FILE\n"
		"       ember-snapshot rebase BASE DIFF\n"
		"       ember-snapshot rebase --memory-path BASE --diff-path DIFF\n");
	return 2;
}

/* rebase's arguments: two paths, or the two options in either order. */
static int rebase_main(int argc, char **argv)
{
	const char *base = NULL, *diff = NULL;
	char err[1024];

	if (argc == 4 && argv[2][0] != '-' && argv[3][0] != '-') {
		base = argv[2];
		diff = argv[3];
	} else if (argc == 6) {
		for (int i = 2; i < 6; i += 2) {
			if (!strcmp(argv[i], "--memory-path") && !base)
				base = argv[i + 1];
			else if (!strcmp(argv[i], "--diff-path") && !diff)
				diff = argv[i + 1];
		}
	}
	if (!base || !diff)
		return usage();
	if (snap_tool_rebase(base, diff, stdout, err, sizeof(err)) < 0) {
		fprintf(stderr, "ember-snapshot rebase: %s\n", err);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int (*view)(const uint8_t *, size_t, FILE *, char *, size_t);
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[512];
	int fd, r;

	if (argc >= 2 && !strcmp(argv[1], "rebase"))
		return rebase_main(argc, argv);
	if (argc != 3)
		return usage();
	if (!strcmp(argv[1], "info"))
		view = snap_tool_info;
	else if (!strcmp(argv[1], "verify"))
		view = snap_tool_verify;
	else
		return usage();
	fd = open(argv[2], O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	r = fd < 0 ? -errno : snap_read_fd(fd, &buf, &len);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		fprintf(stderr, "ember-snapshot: %s: %s\n", argv[2],
			r == -EFBIG ? "larger than the 10 MiB a state file may have" : strerror(-r));
		return 1;
	}
	r = view(buf, len, stdout, err, sizeof(err));
	free(buf);
	if (r < 0) {
		fprintf(stderr, "ember-snapshot: %s: %s\n", argv[2], err);
		return 1;
	}
	return 0;
}
