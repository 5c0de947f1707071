/* The snapshot's configuration section: the microVM's configuration as
 * JSON, in GET /vm/config's shape (machine-config, boot-source, mmds-config
 * and each device kind's key, e.g. drives). On load it goes through the
 * same validators as the config file, so a restored VM is built from a
 * configuration checked like any other, its drives re-opened by path; only
 * the boot source's files are not opened (the kernel is in the memory). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct vm_config;

/* The JSON text (malloc'd, NUL-terminated) of cfg; NULL on ENOMEM. */
char *snap_config_dump(const struct vm_config *cfg);
/* Fills *cfg (initialised with vm_config_init(), left with what was read on
 * failure: the caller clears it) from the section's text. 0 or -errno with
 * the key at fault in err. */
int snap_config_load(const uint8_t *text, size_t len, struct vm_config *cfg, char *err, size_t errlen);
