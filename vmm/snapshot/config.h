/* The snapshot's configuration section: the microVM's configuration as
 * JSON, in GET /vm/config's shape (machine-config, boot-source, mmds-config
 * and each device kind's key, e.g. drives). On load it goes through the
 * same validators as the config file, so a restored VM is built from a
 * configuration checked like any other, its drives re-opened by path; only
 * the boot source's files are not opened (the kernel is in the memory). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct snap_overrides;
struct vm_config;

/* The JSON text (malloc'd, NUL-terminated) of cfg; NULL on ENOMEM. */
char *snap_config_dump(const struct vm_config *cfg);
/* Fills *cfg (initialised with vm_config_init(), left with what was read on
 * failure: the caller clears it) from the section's text, with the load's
 * overrides (ov, may be NULL) applied first. 0 or -errno with the key at
 * fault in err; -ENODEV when an override names a device the snapshot does
 * not have (err: Firecracker's "Unknown Network Device." or "Unknown Vsock
 * Device."). */
int snap_config_load(const uint8_t *text, size_t len, const struct snap_overrides *ov, struct vm_config *cfg,
		     char *err, size_t errlen);
