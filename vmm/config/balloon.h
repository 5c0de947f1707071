/* Balloon configuration: Firecracker's BalloonDeviceConfig (`PUT /balloon`
 * and the config file's `balloon` key) and the bodies of the post-boot
 * requests (`PATCH /balloon`, `PATCH /balloon/statistics`, `PATCH
 * /balloon/hinting/start`), validated once here. Parsing is pure. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Firecracker's texts (vmm_config/balloon.rs, devices/virtio/balloon/mod.rs). */
#define BALLOON_ERR_CONFIG "Balloon config error: "
#define BALLOON_ERR_UPDATE "Balloon update error: "
#define BALLOON_ERR_NOT_FOUND "No balloon device found."
#define BALLOON_ERR_TOO_LARGE "Amount of pages requested is too large."
#define BALLOON_ERR_NOT_ACTIVE "Balloon: Device not activated yet."
#define BALLOON_ERR_STATS_DISABLED "Balloon: Received stats query when stats are disabled."
#define BALLOON_ERR_STATS_CHANGE "Balloon: Statistics cannot be enabled/disabled after activation."
#define BALLOON_ERR_HINTING "Balloon: Attempting to use hinting when not enabled"
#define BALLOON_ERR_DEVICE_NOT_FOUND "Failed perform action on device: Device not found"
#define BALLOON_ERR_INTERNAL "Internal VMM error: "

/* 4 KiB pages per MiB: the balloon counts in 4 KiB pages whatever the
 * guest's page size (virtio 1.3 §5.5.6). */
#define BALLOON_PAGES_PER_MIB 256u
/* The largest target whose page count fits the u32 num_pages field. */
#define BALLOON_MAX_MIB (UINT32_MAX / BALLOON_PAGES_PER_MIB)

struct balloon_config {
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint16_t stats_polling_interval_s; /* 0: no statistics queue */
	bool free_page_hinting;
	bool free_page_reporting;
};

/* A BalloonDeviceConfig: unknown fields, types and missing required fields
 * (amount_mib, deflate_on_oom; amount_mib within u32) with serde's texts; the bounds against RAM and the
 * u32 page count are the callers' (they need the machine config). 0 or -EINVAL
 * with err; *ret only on success. */
int balloon_config_parse(const json_t *obj, struct balloon_config *ret, char *err, size_t errlen);
/* GET /balloon and GET /vm/config's value (a new reference; NULL on ENOMEM). */
json_t *balloon_config_to_json(const struct balloon_config *c);
/* Whether the target fits guest memory of mem_size_mib (Firecracker refuses
 * a balloon larger than RAM, in either order of the two resources). */
bool balloon_config_fits(const struct balloon_config *c, uint64_t mem_size_mib);

/* PATCH /balloon: {"amount_mib": u32}. */
int balloon_update_parse(const json_t *obj, uint32_t *ret_amount_mib, char *err, size_t errlen);
/* PATCH /balloon/statistics: {"stats_polling_interval_s": u16}. */
int balloon_stats_update_parse(const json_t *obj, uint16_t *ret_interval_s, char *err, size_t errlen);
/* PATCH /balloon/hinting/start: no body, or {"acknowledge_on_stop": bool}
 * (default true, as Firecracker's StartHintingCmd). obj NULL: no body. */
int balloon_hint_start_parse(const json_t *obj, bool *ret_ack_on_stop, char *err, size_t errlen);

/* The VM's one balloon as configured (the kind's slot). */
struct balloon_slot {
	bool present;
	struct balloon_config cfg;
};

/* The config file's `balloon` key: one object (anything else names it). */
int balloon_slot_parse(const json_t *j, struct balloon_slot *s, char *err, size_t errlen);
