/* The pure parts of the vsock unix-socket muxer: the host's `CONNECT <port>\n`
 * line, the host-side port allocator and the bounded connection table.
 *
 * Host-initiated connections: a host process connects to uds_path and
 * writes `CONNECT <port>\n`; ember answers `OK <local_port>\n` once the guest
 * accepts. Guest-initiated ones go to `<uds_path>_<port>`. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsock-conn.h"

/* Firecracker reads at most this many bytes of the line, newline included. */
#define VSOCK_CONNECT_LINE_MAX 32u
/* Firecracker's MAX_CONNECTIONS: REQUESTs past it get a RST, host
 * connections past it are closed. */
#define VSOCK_CONNS_MAX 1023u
/* Host-side ports handed out for host-initiated connections:
 * [2^30, 2^31), round robin from the first (Firecracker's range). */
#define VSOCK_LOCAL_PORT_FIRST (1u << 30)
#define VSOCK_LOCAL_PORT_END (1u << 31)

/* Parses the line in buf[0..len) (bytes read so far, not NUL-terminated):
 * "CONNECT" in any case, blanks, a decimal u32 port, optional blanks, and
 * "\n" (a "\r" before it is allowed). Returns 1 with *ret_port (and
 * *ret_used, the bytes of the line) when complete, 0 when more bytes are
 * needed, -EINVAL when the line cannot become valid (a wrong byte, or
 * VSOCK_CONNECT_LINE_MAX bytes without a newline). */
int vsock_connect_line_parse(const char *buf, size_t len, uint32_t *ret_port, size_t *ret_used);

/* The bounded table of live connections, keyed by (local port, peer port). */
struct vsock_conn_table {
	struct vsock_conn *conn[VSOCK_CONNS_MAX];
	unsigned count;
	uint32_t next_local_port;
};

void vsock_conn_table_init(struct vsock_conn_table *t);
/* The connection for the pair, or NULL. */
struct vsock_conn *vsock_conn_table_find(const struct vsock_conn_table *t, uint32_t local_port,
					 uint32_t peer_port);
/* Allocates a zeroed connection and adds it. Returns it, or NULL with
 * errno ENOSPC at VSOCK_CONNS_MAX (or ENOMEM). */
struct vsock_conn *vsock_conn_table_add(struct vsock_conn_table *t);
/* Removes and frees the connection at index i (the last one takes its place). */
void vsock_conn_table_remove(struct vsock_conn_table *t, unsigned i);
/* Removes the connection at index i without freeing it (the last one takes
 * its place) and returns it; the caller owns it. NULL when i is out of range. */
struct vsock_conn *vsock_conn_table_take(struct vsock_conn_table *t, unsigned i);
/* Frees every connection. */
void vsock_conn_table_clear(struct vsock_conn_table *t);
/* The next host-side port for a host-initiated connection: round robin in
 * [VSOCK_LOCAL_PORT_FIRST, VSOCK_LOCAL_PORT_END), skipping ports a live
 * connection uses. Returns 0 and *ret, or -ENOSPC (table full). */
int vsock_local_port_alloc(struct vsock_conn_table *t, uint32_t *ret);
