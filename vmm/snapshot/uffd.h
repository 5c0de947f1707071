/* The Uffd memory backend of PUT /snapshot/load (doc/snapshots.md), as
 * Firecracker's (persist.rs guest_memory_from_uffd): guest RAM is anonymous
 * (hugetlb under huge_pages "2M"), registered MISSING on a userfaultfd made
 * with UFFD_FEATURE_EVENT_REMOVE, and a page server listening on a unix
 * stream socket receives, in one sendmsg, the uffd (SCM_RIGHTS) and a JSON
 * array describing each region:
 *   [{"base_host_virt_addr":N,"size":N,"offset":N,"page_size":N,"page_size_kib":N}]
 * offset is the region's offset in the snapshot's memory file; page_size
 * and (despite its name, as Firecracker sends it) page_size_kib are the
 * page size in bytes: 4096, or 2097152 under "2M". Nothing else is
 * exchanged. The memory keeps the uffd and the socket open for its life
 * (core/memory.h). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/memory.h"

/* Maps ram_size bytes with backing, registers it on a new userfaultfd and
 * hands both to the page server at socket_path, whose memory file holds
 * region i at offset[i]. On success the caller owns *ret. 0 or -errno with
 * Firecracker's text after "Error creating guest memory from uffd: " in err
 * (e.g. "Failed to connect to UDS Unix stream: No such file or directory
 * (os error 2) PATH"). */
int snap_uffd_memory(uint64_t ram_size, enum guest_backing backing, const uint64_t offset[GUEST_MAX_REGIONS],
		     const char *socket_path, struct guest_memory **ret, char *err, size_t errlen);

/* The handshake's JSON for m (its regions at offset[]) into buf; the
 * length, or -ENOSPC when buf is too small. */
int snap_uffd_json(const struct guest_memory *m, const uint64_t offset[GUEST_MAX_REGIONS], char *buf, size_t size);
