/* Strict number parsing for outside input (CLI, config files, templates).
 *
 * Accepted forms are plain decimal ("0", "4096") and, only where the caller
 * allows it, 0x-prefixed hex. No sign, no whitespace, no octal, no trailing
 * garbage, no empty string. Results are written only on success. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The value of digit c in base (up to 16, either case), or -1 when c is not one. */
int parse_digit(char c, unsigned base);

/* Returns 0, -EINVAL for a malformed string, -ERANGE when the value exceeds max. */
int parse_u64(const char *s, bool allow_hex, uint64_t max, uint64_t *ret);
int parse_u32(const char *s, uint32_t *ret);
