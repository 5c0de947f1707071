/* libFuzzer target: `ember-snapshot info` and `verify` on hostile state
 * files, the CRC fixed by the harness so that the parser and the printing
 * behind it are reached. Output goes to /dev/null. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "info.h"
#include "snapshot/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	char err[512];
	uint8_t *buf;
	uint64_t crc;

	if (!null)
		null = fopen("/dev/null", "we");
	if (!null || size < SNAP_CRC_SIZE || size > (1u << 20))
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	crc = snap_crc64(buf, size - SNAP_CRC_SIZE);
	memcpy(buf + size - SNAP_CRC_SIZE, &crc, sizeof(crc));
	(void)snap_tool_info(buf, size, null, err, sizeof(err));
	(void)snap_tool_verify(buf, size, null, err, sizeof(err));
	free(buf);
	return 0;
}
