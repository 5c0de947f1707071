/* Real TAPs for the tests and benches that need them (root only): a private
 * network namespace, which dies with the process, so nothing is left on the
 * host even when a check fails, and persistent TAPs made in it the way
 * `ip tuntap add` makes them. ember itself never makes a TAP.
 *
 *   tn_enter      unshare(CLONE_NEWNET), after checking root and
 *                 /dev/net/tun; false, with a "# skip: why" line on
 *                 stderr, where it cannot
 *   tn_no_ipv6    links made from now on get no IPv6 (its autoconfiguration
 *                 would send frames of its own)
 *   tn_tap_make   a persistent TAP, brought up while attached when asked
 *   tn_link_up    IFF_UP on a link
 * Both return 0 or -errno. */
#pragma once

#include <stdbool.h>

bool tn_enter(void);
int tn_no_ipv6(void);
/* Up while attached means carrier on: the link gets its qdisc at once, so
 * frames sent on it are not dropped (QDISC_DROP) until linkwatch runs. */
int tn_tap_make(const char *name, short extra_flags, bool up);
int tn_link_up(const char *name);
