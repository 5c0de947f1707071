/* The probe's virtio-balloon driver (virtio 1.3 §5.5), shaped like Linux's
 * virtio_balloon.c: queues numbered from the negotiated features (inflate 0,
 * deflate 1, then stats, free_page_vq, reporting_vq when negotiated), PFN
 * buffers of at most 256 le32 page numbers, a config space of le32
 * num_pages, actual and free_page_hint_cmd_id. Polling only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "virtio-probe.h"

#define BP_F_STATS_VQ (1ull << 1)
#define BP_F_DEFLATE_ON_OOM (1ull << 2)
#define BP_F_FREE_PAGE_HINT (1ull << 3)
#define BP_F_PAGE_REPORTING (1ull << 5)
#define BP_CFG_NUM_PAGES 0u
#define BP_CFG_ACTUAL 4u
#define BP_CFG_CMD_ID 8u
#define BP_CMD_ID_STOP 0u
#define BP_CMD_ID_DONE 1u
#define BP_PFNS_MAX 256u
#define BP_PAGE 4096ul
#define BP_MIB (1ul << 20)

struct bp {
	struct vp_dev dev;
	unsigned extra; /* the optional queue's index (2), when one was negotiated */
	uint64_t region; /* the guest memory the scenario owns: probe.balloon_addr_mib, default 32 MiB */
};

/* Finds the balloon (device ID 5), negotiates want (∩ offered) and sets up
 * its queues. An error text, or NULL. */
const char *bp_open(struct bp *b, uint64_t want);
uint32_t bp_cfg(const struct bp *b, unsigned off);
void bp_cfg_write(const struct bp *b, unsigned off, uint32_t v);
/* Posts the chain at desc 0 of queue qi (descriptors filled by the caller)
 * and polls for its return until ms pass: whether it came back. */
bool bp_submit(struct bp *b, unsigned qi, uint64_t ms);
/* Sends n PFNs (<= BP_PFNS_MAX) on queue qi (0 inflate, 1 deflate). */
bool bp_send_pfns(struct bp *b, unsigned qi, const uint32_t *pfn, unsigned n);
/* The PFNs of pages [first, first + n) of the region, in batches of 256. */
bool bp_send_range(struct bp *b, unsigned qi, uint64_t first, uint64_t n);
/* Writes a byte to each 4 KiB page of [gpa, gpa + len): the host backs them. */
void bp_touch(uint64_t gpa, uint64_t len);
/* The top of the RAM the probe may use for its region (identity-mapped,
 * below 1 GiB), from the memory map. */
uint64_t bp_ram_top(void);
/* A probe.* parameter or its default. */
uint64_t bp_param(const char *key, uint64_t def);
/* Acknowledges whatever the interrupt status register shows. */
void bp_ack(const struct bp *b);
