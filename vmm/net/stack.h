/* The MMDS network stack of one virtio-net interface (Firecracker:
 * mmds/ns.rs): the detour that takes the guest's frames for the MMDS off the
 * transmit path, the ARP answer, the TCP endpoint on port 80, and the frames
 * that go back to the guest through the receive path.
 *
 * The detour (TX, before the TAP and the rate limiter) takes, with no false
 * negatives:
 *   - an ARP frame whose target protocol address is the MMDS IP: a request is
 *     answered with MMDS_MAC (only the latest pending request is kept), any
 *     other is dropped;
 *   - an IPv4 frame whose destination is the MMDS IP: TCP goes to the
 *     endpoint, anything else (another protocol, options, a fragment, a bad
 *     header) is dropped;
 *   - any frame to MMDS_MAC, and 802.1Q-tagged frames carrying either of the
 *     above (the stack speaks no VLAN): dropped.
 * Everything else goes on to the TAP unchanged. Whether a frame is taken
 * depends only on those address fields, never on its being well formed.
 *
 * Answers are pulled: the receive path asks for the next frame when the
 * guest has posted a buffer for it, so nothing is lost to a slow guest, and
 * what waits is bounded by the connection table (30 x one response) and the
 * reset queue. Time is passed in (monotonic ms); mmds_stack_deadline() says
 * when the retransmission timers next need mmds_stack_tick().
 *
 * The stack runs on the vmm thread under its device's lock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mmds/guest-metrics.h"
#include "net/tcp-conn.h"

#define MMDS_TCP_PORT 80u
/* The frames the stack writes are at most this long (an MTU of 1500). */
#define MMDS_FRAME_MAX (ETH_HDR_LEN + 1500u)
/* A frame for the MMDS longer than this cannot be valid (the window is 2500
 * bytes); it is cut here and then dropped as malformed. */
#define MMDS_RX_FRAME_MAX 4096u

extern const uint8_t MMDS_MAC[ETH_ADDR_LEN];

struct mmds_stack_config {
	uint32_t ipv4;           /* the MMDS address, host byte order */
	uint16_t mtu;            /* the interface's MTU; 0 means 1500 (larger is capped there) */
	tcp_respond_fn respond;  /* the HTTP server */
	void *ctx;
	uint64_t seed;           /* initial sequence numbers; non-zero */
	struct mmds_metrics *m;  /* shared by every interface's stack */
};

struct mmds_stack;

/* 0 or -ENOMEM; the caller owns *ret. */
int mmds_stack_new(const struct mmds_stack_config *cfg, struct mmds_stack **ret);
/* Accepts NULL; returns NULL. */
struct mmds_stack *mmds_stack_free(struct mmds_stack *s);

/* The detour. frame (len bytes, starting with the Ethernet header) was sent
 * by the guest; csum_partial when its virtio header asked for checksum
 * offload (the TCP checksum is then not checked). True when the frame was
 * for the MMDS: it is taken and must not reach the TAP. */
bool mmds_stack_detour(struct mmds_stack *s, const uint8_t *frame, size_t len, bool csum_partial, uint64_t now);
/* The same for a frame in iovecs, after skip bytes (the virtio-net header). */
bool mmds_stack_detour_iov(struct mmds_stack *s, const struct iovec *iov, unsigned n, size_t skip,
			   bool csum_partial, uint64_t now);
/* Whether a frame waits for the guest. */
bool mmds_stack_pending(const struct mmds_stack *s);
/* Writes the next frame into frame (cap bytes): an ARP reply first, then
 * resets, then the connections in turn. Its length, or 0 when nothing waits
 * or the next frame does not fit cap. */
size_t mmds_stack_write(struct mmds_stack *s, uint8_t *frame, size_t cap, uint64_t now);
/* The same into iovecs (cap bytes of them), after hdr_len zero bytes (the
 * virtio-net header, no offloads; at most 16). Returns hdr_len + the frame,
 * or 0. */
size_t mmds_stack_write_iov(struct mmds_stack *s, const struct iovec *iov, unsigned n, size_t cap, size_t hdr_len,
			    uint64_t now);
/* Runs the TCP timers. */
void mmds_stack_tick(struct mmds_stack *s, uint64_t now);
/* When mmds_stack_tick() is next due (monotonic ms), 0 for never. */
uint64_t mmds_stack_deadline(const struct mmds_stack *s);
/* Connections in use (tests, the benchmark). */
unsigned mmds_stack_connections(const struct mmds_stack *s);
