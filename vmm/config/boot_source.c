#include "boot_source.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/boot/cmdline.h"
#include "cleanup.h"
#include "fd.h"
#include "json_field.h"
#include "path_error.h"

static const char *const boot_source_fields[] = { "kernel_image_path", "initrd_path", "boot_args", NULL };

/* Opens a boot file read-only; a directory or other non-regular file is refused. */
static int boot_source_open(const char *path)
{
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	return fd_open_image(path, O_RDONLY, false);
}

static int boot_source_files(struct boot_source *bs, char *err, size_t errlen)
{
	char why[PATH_MAX + 160];

	bs->kernel_fd = boot_source_open(bs->kernel_image_path);
	if (bs->kernel_fd < 0) {
		snprintf(err, errlen, BOOT_SOURCE_ERR_PREFIX "The kernel file cannot be opened: %s",
			 path_error(why, sizeof(why), bs->kernel_image_path, -bs->kernel_fd));
		return bs->kernel_fd;
	}
	if (!bs->initrd_path)
		return 0;
	bs->initrd_fd = boot_source_open(bs->initrd_path);
	if (bs->initrd_fd < 0) {
		snprintf(err, errlen, BOOT_SOURCE_ERR_PREFIX "The initrd file cannot be opened due to invalid path "
			 "or invalid permissions. %s", path_error(why, sizeof(why), bs->initrd_path, -bs->initrd_fd));
		return bs->initrd_fd;
	}
	return 0;
}

static int boot_source_read(const json_t *j, struct boot_source *bs, char *err, size_t errlen)
{
	const char *kernel = NULL, *initrd = NULL, *args = NULL;
	char why[160];
	int r = json_field_check_object(j, "BootSource", boot_source_fields, err, errlen);

	if (r >= 0)
		r = json_field_string(j, "kernel_image_path", true, &kernel, err, errlen);
	if (r >= 0)
		r = json_field_string(j, "initrd_path", false, &initrd, err, errlen);
	if (r >= 0)
		r = json_field_string(j, "boot_args", false, &args, err, errlen);
	if (r < 0)
		return r;
	if (args && cmdline_validate(args, why, sizeof(why)) < 0) {
		snprintf(err, errlen, BOOT_SOURCE_ERR_PREFIX "The kernel command line is invalid: %s", why);
		return -EINVAL;
	}
	bs->kernel_image_path = strdup(kernel);
	bs->initrd_path = initrd ? strdup(initrd) : NULL;
	bs->boot_args = args ? strdup(args) : NULL;
	if (!bs->kernel_image_path || (initrd && !bs->initrd_path) || (args && !bs->boot_args)) {
		snprintf(err, errlen, BOOT_SOURCE_ERR_PREFIX "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int boot_source_parse(const json_t *j, struct boot_source *inout, char *err, size_t errlen)
{
	struct boot_source bs = { .kernel_fd = -1, .initrd_fd = -1 };
	int r = boot_source_read(j, &bs, err, errlen);

	if (r >= 0)
		r = boot_source_files(&bs, err, errlen);
	if (r < 0) {
		boot_source_clear(&bs);
		return r;
	}
	bs.configured = true;
	boot_source_clear(inout);
	*inout = bs;
	return 0;
}

void boot_source_clear(struct boot_source *bs)
{
	free(bs->kernel_image_path);
	free(bs->initrd_path);
	free(bs->boot_args);
	if (bs->kernel_fd >= 0)
		close(bs->kernel_fd);
	if (bs->initrd_fd >= 0)
		close(bs->initrd_fd);
	*bs = (struct boot_source){ .kernel_fd = -1, .initrd_fd = -1 };
}

json_t *boot_source_to_json(const struct boot_source *bs)
{
	/* Firecracker's BootSourceConfig: every field, unset ones null; before
	 * any PUT the kernel path is "" (its default), never an absent object. */
	return json_pack("{s:s, s:s?, s:s?}", "kernel_image_path",
			 bs->configured && bs->kernel_image_path ? bs->kernel_image_path : "", "initrd_path",
			 bs->configured ? bs->initrd_path : NULL, "boot_args", bs->configured ? bs->boot_args : NULL);
}
