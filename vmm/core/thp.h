/* The host's transparent huge page setting, for huge_pages "Transparent":
 * under "never" MADV_HUGEPAGE is accepted and does nothing, so ember warns
 * (doc/hugepages.md). */
#pragma once

enum thp_mode { THP_UNKNOWN, THP_ALWAYS, THP_MADVISE, THP_NEVER };

/* Reads /sys/kernel/mm/transparent_hugepage/enabled; THP_UNKNOWN when it is
 * absent (a jail without /sys, a kernel without THP) or unreadable. */
enum thp_mode thp_host_mode(void);
