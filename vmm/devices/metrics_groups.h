/* The device metrics groups that exist before (or without) any device. */
#pragma once

/* Declares every device kind's metrics group, so that a line written before
 * the devices exist, or in a VM without them, has their groups as zeros as
 * Firecracker's has: the groups of the manager's kinds (their descriptors'
 * metrics_group: uart, i8042, block, net, vsock), interrupts, the groups of
 * devices ember does not have yet (balloon, entropy, pmem, memory_hotplug),
 * the aarch64 rtc and vhost_user_block, which ember keeps writing
 * (test/data/firecracker-metrics.txt, "ember keeps"). A device that arrives
 * moves its group's list from here into its own header and names the group
 * in its descriptor. */
void devices_metrics_declare(void);
