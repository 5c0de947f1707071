/* libFuzzer: the host's `CONNECT <port>\n` line, fed the way a host peer
 * can split it (one read per chunk, the chunk sizes taken from the input).
 * Oracles: a complete line is at most 32 bytes, ends with a newline and
 * names the port its digits spell; the answer does not depend on how the
 * bytes were split; more bytes never turn a refusal into a line. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/vsock-mux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	uint32_t port = 0, port2;
	size_t used = 0, used2, have = 0;
	int whole, r = 0;

	whole = vsock_connect_line_parse(buf, size, &port, &used);
	if (whole == 1 && (used > VSOCK_CONNECT_LINE_MAX || buf[used - 1] != '\n'))
		abort();
	if (whole == 1) {
		char line[VSOCK_CONNECT_LINE_MAX + 1];

		memcpy(line, buf, used);
		line[used] = '\0';
		if (strtoul(line + 7, NULL, 10) != port)
			abort();
	}
	/* Byte by byte in chunks: the first definite answer must match. */
	while (have < size) {
		size_t step = 1 + (size_t)(data[have] % 7);

		have = have + step < size ? have + step : size;
		r = vsock_connect_line_parse(buf, have, &port2, &used2);
		if (r != 0)
			break;
	}
	if (r != whole || (r == 1 && (port2 != port || used2 != used)))
		abort();
	return 0;
}
