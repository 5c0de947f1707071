/* vsock configuration: Firecracker's VsockDeviceConfig (`PUT /vsock` and the
 * config file's `vsock` key), validated once here.
 *
 * Parsing is pure. The host-side listening socket is bound by
 * vsock_slot_put() at PUT time, as in Firecracker, so a bad uds_path fails the
 * request, not InstanceStart. One device per VM: a second put replaces the
 * first, binding the new socket before the old one is closed and unlinked, so
 * a refused second PUT leaves the first device working (Firecracker unlinks
 * the old socket first). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CIDs 0 (hypervisor), 1 (loopback) and 2 (host) are reserved, and
 * 0xffffffff is VMADDR_CID_ANY: Linux gives a guest none of them. Firecracker
 * takes any u32 and engines send some (firecracker-containerd 0, Kata's
 * runtime-rs 0xffffffff), so ember takes them too, with a warning
 * (vsock_cid_reserved, doc/vsock.md). */
#define VSOCK_CID_MIN 3u
#define VSOCK_CID_MAX 0xfffffffeu
/* sockaddr_un.sun_path holds 108 bytes with its NUL. */
#define VSOCK_UDS_PATH_MAX 107u
#define VSOCK_ID_MAX 64u

#define VSOCK_ERR_BACKEND "Cannot create backend for vsock device: "
#define VSOCK_ERR_BIND VSOCK_ERR_BACKEND "Error binding to the host-side Unix socket: "

struct vsock_config {
	uint32_t guest_cid;
	char uds_path[VSOCK_UDS_PATH_MAX + 1];
	bool has_vsock_id; /* the deprecated field was given (not shown by GET) */
	char vsock_id[VSOCK_ID_MAX + 1];
};

/* Parses and validates a VsockDeviceConfig object: unknown fields, types and
 * missing fields with serde's texts; any u32 guest_cid (as Firecracker) and a
 * uds_path that fits a sockaddr_un, each refused naming the field. Returns 0
 * or -EINVAL with the text in err; *ret is written only on success. */
int vsock_config_parse(const json_t *obj, struct vsock_config *ret, char *err, size_t errlen);
/* For a CID Linux reserves (outside [VSOCK_CID_MIN, VSOCK_CID_MAX]): its
 * name and what using it costs the guest, for the warning; NULL for a CID a
 * guest can have. Static text. */
const char *vsock_cid_reserved(uint32_t cid);
/* JSON as GET /vm/config shows it (new reference, NULL on ENOMEM). */
json_t *vsock_config_to_json(const struct vsock_config *c);

/* Binds and listens on path (AF_UNIX stream, non-blocking, O_CLOEXEC). An
 * existing file there is refused (EADDRINUSE), never removed. Returns the fd
 * or -errno with VSOCK_ERR_BIND and the path and reason in err. */
int vsock_listener_bind(const char *path, char *err, size_t errlen);

/* The VM's one vsock device as configured: the config and its bound
 * listener (listen_fd -1 when none). */
struct vsock_slot {
	bool present;
	struct vsock_config cfg;
	int listen_fd; /* owned */
};

#define VSOCK_SLOT_INIT { .present = false, .listen_fd = -1 }

/* Sets the slot to c: binds c->uds_path first (or keeps the listener when the
 * path is the one already bound), then closes and unlinks the old socket.
 * Returns 0 or -errno with err; on error the slot is unchanged and nothing is
 * bound. */
int vsock_slot_put(struct vsock_slot *s, const struct vsock_config *c, char *err, size_t errlen);
/* Closes the listener and unlinks its socket file; the slot is empty again. */
void vsock_slot_clear(struct vsock_slot *s);
/* The config file's `vsock` key: one object (anything else names `vsock`). */
int vsock_slot_parse(const json_t *j, struct vsock_slot *s, char *err, size_t errlen);
