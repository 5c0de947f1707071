/* Constants shared by entry.S and the C side of the probe. */
#pragma once

/* probe_main()'s second argument: how the probe was entered. */
#define PROBE_BOOT_ZERO_PAGE 0 /* Linux 64-bit boot protocol, info = struct boot_params */
#define PROBE_BOOT_PVH 1       /* PVH, info = struct hvm_start_info */

#define PROBE_STACK_SIZE 16384

/* struct probe_entry_state (boot-entry.c): what the loader left in the CPU at
 * the 64-bit entry, recorded by entry.S before the probe changes anything. */
#define PROBE_ES_RFLAGS 0
#define PROBE_ES_CR0 8
#define PROBE_ES_CR3 16
#define PROBE_ES_CR4 24
#define PROBE_ES_EFER 32
#define PROBE_ES_RSP 40
#define PROBE_ES_GDTR 48 /* sgdt: 2-byte limit, 8-byte base */
#define PROBE_ES_CS 58
#define PROBE_ES_DS 60
#define PROBE_ES_ES 62
#define PROBE_ES_SS 64
#define PROBE_ES_VALID 66
#define PROBE_ES_SIZE 72
