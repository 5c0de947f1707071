/* Constants shared by entry.S and the C side of the probe. */
#pragma once

/* probe_main()'s second argument: how the probe was entered. */
#define PROBE_BOOT_ZERO_PAGE 0 /* Linux 64-bit boot protocol, info = struct boot_params */
#define PROBE_BOOT_PVH 1       /* PVH, info = struct hvm_start_info */

#define PROBE_STACK_SIZE 16384
