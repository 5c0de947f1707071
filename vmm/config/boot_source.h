/* The boot-source resource: PUT /boot-source and the config file's
 * "boot-source" key. As in Firecracker, the kernel and initrd files are opened
 * when the resource is set (O_RDONLY|O_CLOEXEC), so a bad path is reported
 * then, and the files read at start are the ones that were validated. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "vm_config.h"

#define BOOT_SOURCE_ERR_PREFIX "Boot source error: "

/* Validates j (kernel_image_path required; initrd_path, boot_args optional),
 * checks boot_args as a kernel command line and opens the files. On success
 * the previous contents of *inout are released and replaced (PUT semantics).
 * Returns 0 or -errno with Firecracker's text in err; *inout is unchanged on
 * error. */
int boot_source_parse(const json_t *j, struct boot_source *inout, char *err, size_t errlen);

/* Releases strings and fds and marks the resource unconfigured. */
void boot_source_clear(struct boot_source *bs);

/* The resource as GET /vm/config shows it (a new reference). */
json_t *boot_source_to_json(const struct boot_source *bs);
