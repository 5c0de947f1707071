/* The machine-config resource: PUT/PATCH /machine-config and the config
 * file's "machine-config" key. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vm_config.h"

#define MACHINE_CONFIG_ERR_PREFIX "Machine config error: "

/* Validates j and applies it to *inout. patch = false (PUT): vcpu_count and
 * mem_size_mib are required and unspecified optional fields return to their
 * defaults; patch = true (PATCH): only the given fields change, and an empty
 * object is "Empty PATCH request.". The combined result is checked as a whole:
 * vcpu_count 1..32 and 1 or even with smt, mem_size_mib > 0 and at most
 * LAYOUT_MAX_RAM_MIB. cpu_template (deprecated) is kept when absent, in PUT
 * too; whether it applies on this host is InstanceStart's question
 * (core/cpu_template.h). huge_pages is None, 2M or Transparent; with either
 * huge page kind mem_size_mib must be even (Firecracker's "not a multiple of
 * the configured page size"). Dirty page tracking, which this build lacks,
 * is refused, saying so.
 * Returns 0, or -EINVAL with Firecracker's text in err; *inout is changed only
 * on success. */
int machine_config_parse(const json_t *j, bool patch, struct machine_config *inout, char *err, size_t errlen);

/* The resource as GET /machine-config shows it (a new reference). */
json_t *machine_config_to_json(const struct machine_config *mc);
