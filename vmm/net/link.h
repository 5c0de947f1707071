/* An interface's MMDS stack on the vmm loop: what virtio-net holds when
 * the MMDS configuration enables the interface.
 *
 * It adds time to net/stack.h: the monotonic clock in ms, and a one-shot
 * timerfd on the loop armed at the stack's next TCP deadline only while a
 * connection has one (data or a SYN/FIN unacknowledged, or a shut window to
 * probe). When it fires, the device's kick runs (on the vmm thread); the
 * kick takes the device lock and calls mmds_link_tick() and then the
 * receive path, which pulls what is due. Every call but the free runs under
 * the device's lock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct event_loop;
struct mmds_guest;
struct mmds_link;

struct mmds_link_ops {
	void (*kick)(void *ctx); /* the timer fired: tick and run the receive path */
	void *ctx;
};

/* The link of interface iface_id (its MTU, 0 for 1500) when g enables it,
 * else *ret = NULL. loop may be NULL (tests, the benchmark: no timer; they
 * call mmds_link_tick() themselves). 0 or -errno; the caller owns *ret. */
int mmds_link_new(struct mmds_guest *g, struct event_loop *loop, const char *iface_id, uint16_t mtu,
		  const struct mmds_link_ops *ops, struct mmds_link **ret);
/* Unregisters the timer and frees. Accepts NULL; returns NULL. */
struct mmds_link *mmds_link_free(struct mmds_link *l);
/* The detour (net/stack.h) of a transmit chain's readable iovecs after the
 * skip-byte virtio-net header. True: the frame is taken, not for the TAP. */
bool mmds_link_detour(struct mmds_link *l, const struct iovec *iov, unsigned n, size_t skip, bool csum_partial);
/* Whether an answer frame waits for the guest's buffers. */
bool mmds_link_pending(const struct mmds_link *l);
/* Writes the next answer into the guest's buffers (cap bytes) after a
 * zeroed hdr_len-byte virtio-net header; its length with the header, or 0. */
size_t mmds_link_read(struct mmds_link *l, const struct iovec *iov, unsigned n, size_t cap, size_t hdr_len);
/* The timer's work: drains it, runs the TCP timers, arms it again if needed. */
void mmds_link_tick(struct mmds_link *l);
/* The stack itself (tests, the benchmark). */
struct mmds_stack *mmds_link_stack(struct mmds_link *l);
/* When the timer is set to fire (monotonic ms), 0 when it is disarmed (tests). */
uint64_t mmds_link_armed(const struct mmds_link *l);
