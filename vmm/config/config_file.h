/* --config-file: the whole VM in one JSON object, with Firecracker's
 * kebab-case keys (those of GET /vm/config). Each key's value goes through the
 * same validator as its API resource. */
#pragma once

#include <stddef.h>

#include "vm_config.h"

/* The largest config file ember reads. */
#define CONFIG_FILE_MAX_BYTES (1u << 20)

/* Reads path and applies it to *cfg (initialised by vm_config_init()).
 * Unknown keys, keys of capabilities this build lacks (with a non-empty
 * value), malformed JSON, duplicate keys and every validator error are
 * refused, naming the key. Returns 0 or -errno with the reason in err. */
int config_file_load(const char *path, struct vm_config *cfg, char *err, size_t errlen);
/* The same from a buffer (for tests and the fuzzer). */
int config_file_parse(const char *buf, size_t len, struct vm_config *cfg, char *err, size_t errlen);
