/* The snapshot scenario's devices (scenario-snapshot.c), each where the
 * command line has it:
 *   net      ARP and 3 pings to probe.net_peer after each restore:
 *            PROBE snapshot.net ok
 *   MMDS     (probe.snap_mmds=1, over the net device at 169.254.169.254) a
 *            V2 token before the snapshot; after each restore it must be
 *            refused (401), and a new one work: PROBE snapshot.mmds ok
 *   vsock    after each restore the TRANSPORT_RESET event on the event
 *            queue, then a new connection to probe.vsock_connect (53)
 *            echoing 64 bytes: PROBE snapshot.vsock ok
 *   balloon  16 pages inflated before the snapshot (actual 16); after each
 *            restore 256 more inflated and deflated again
 *            (probe.snap_balloon_zero=1: the deflated pages must read zero,
 *            as under Uffd): PROBE snapshot.balloon ok
 *   kvmclock (probe.snap_kvmclock=1) enabled before ready;
 *            PROBE-INFO snapshot.kvmclock_ns <ns> at ready and after each
 *            restore */
#pragma once

/* Before `snapshot.ready`: finds and sets up the devices. */
void snapdev_setup(void);
/* At `snapshot.ready`. */
void snapdev_ready(void);
/* After restore number gen (from 1). */
void snapdev_restored(unsigned gen);
