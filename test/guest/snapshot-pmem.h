/* The snapshot scenario's pmem part (snapshot-pmem.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Before `snapshot.ready`: finds the first virtio-pmem device, if any, and
 * writes its page 1. false (after a FAIL line) when one is there and cannot
 * be set up; true otherwise. */
bool snap_pmem_prepare(uint64_t seed);
/* After restore gen: `PROBE snapshot.pmem ok` when a device was prepared. */
void snap_pmem_after(unsigned gen);
