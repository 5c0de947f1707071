/* The kernel command line: built once in vm_create, then copied to
 * LAYOUT_CMDLINE. At most LAYOUT_CMDLINE_MAX (2048) bytes including the NUL,
 * Linux's COMMAND_LINE_SIZE on x86. Only printable ASCII is accepted: the
 * line is operator input and ends up parsed by the guest kernel.
 *
 * The VMM owns the parts it appends (virtio_mmio.device=4K@0x...:IRQ for each
 * virtio-mmio device, root=...); devices call cmdline_append() from their
 * attach step in vm_create. */
#pragma once

#include <stddef.h>

#include "core/layout.h"

/* Firecracker's default when boot_args is absent (reference §1). */
#define CMDLINE_DEFAULT                                                                            \
	"reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd "         \
	"swiotlb=noforce"

struct cmdline {
	char buf[LAYOUT_CMDLINE_MAX];
	size_t len; /* without the NUL */
};

/* Checks that s would be a valid line on its own: printable ASCII, at most
 * LAYOUT_CMDLINE_MAX - 1 bytes. Returns 0 or -EINVAL/-E2BIG with Firecracker's
 * reason in err ("The kernel command line is invalid: " is the caller's). */
int cmdline_validate(const char *s, char *err, size_t errlen);
/* Starts the line with boot_args, or CMDLINE_DEFAULT when boot_args is NULL.
 * Returns 0 or the errors of cmdline_validate(). */
int cmdline_init(struct cmdline *cl, const char *boot_args, char *err, size_t errlen);
/* Appends part, separated by one space. On error the line is unchanged:
 * -E2BIG when it would not fit, -EINVAL for a bad character or an empty part. */
int cmdline_append(struct cmdline *cl, const char *part, char *err, size_t errlen);
/* Bytes to copy into the guest, including the NUL. */
static inline size_t cmdline_size(const struct cmdline *cl)
{
	return cl->len + 1;
}
