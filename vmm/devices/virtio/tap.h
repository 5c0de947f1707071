/* The host side of virtio-net: an existing TAP interface, attached through
 * /dev/net/tun.
 *
 * ember never creates a TAP. TUNSETIFF creates the interface when the name
 * is unknown and the caller holds CAP_NET_ADMIN (ember as root without the
 * jailer), so tap_open() first resolves the name in ember's network
 * namespace, attaches, and then checks that the interface it holds still has
 * that index; any difference (the name was free, or replaced in between)
 * closes the fd, which deletes a TAP the attach may have made.
 *
 * The fd is IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (never IFF_MULTI_QUEUE: a
 * multiqueue TAP refuses the attach with EINVAL), O_NONBLOCK | O_CLOEXEC, with
 * a 12-byte vnet header (struct virtio_net_hdr_v1, num_buffers included). */
#pragma once

#include <stddef.h>

#define TAP_VNET_HDR_LEN 12

/* Opens and attaches the TAP named name. Returns the fd, or -errno with
 * Firecracker's text in err ("Network config error: Could not create the
 * network device: Open tap device failed: ..." naming the TAP and the
 * reason). Fits net_tap_open_fn (config/net.h). */
int tap_open(const char *name, char *err, size_t errlen);
/* TUNSETOFFLOAD with TUN_F_* flags (see net_offload_flags()). 0 or -errno. */
int tap_set_offload(int fd, unsigned flags);
