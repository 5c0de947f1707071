/* ember-snapshot's two views of a state file, on a buffer (main.c reads
 * the file; the fuzz target calls these directly). Both return 0, or -errno
 * with the reason in err. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The version, the machine configuration, the memory regions (guest
 * address, size, file offset) and each device (kind, id, backing path). */
int snap_tool_info(const uint8_t *buf, size_t len, FILE *out, char *err, size_t errlen);
/* Magic, version and CRC (and the sections' bounds): one line. */
int snap_tool_verify(const uint8_t *buf, size_t len, FILE *out, char *err, size_t errlen);
