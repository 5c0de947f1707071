/* The devices' part of a snapshot, through the device manager's list: for
 * device i (attach order) a "device" section i with its kind's name, its id
 * and the kind's own state, and for a virtio device a "virtio-transport"
 * section i. On load the devices are first created from the snapshot's
 * configuration, then each that keeps state gets it back from the section
 * that names its kind and id. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct device_manager;
struct snap_file;
struct snap_writer;

/* Names the devices whose kind has no snapshot support into buf
 * ("net(id: eth0), vsock(id: vsock0)"); returns how many there are. */
int snap_devices_unsupported(const struct device_manager *m, char *buf, size_t size);
/* Quiesces and saves every device. 0 or -errno with err filled. */
int snap_devices_save(const struct device_manager *m, struct snap_writer *w, char *err, size_t errlen);
/* Restores every device that keeps state; a missing section, or a section
 * no device takes, is refused. 0 or -errno with err filled. */
int snap_devices_restore(const struct device_manager *m, const struct snap_file *f, char *err, size_t errlen);

/* A device section's head (ember-snapshot info, restore). */
struct snap_device_head {
	const char *name, *id; /* not terminated */
	size_t name_len, id_len;
	const uint8_t *state;
	size_t state_len;
};
int snap_device_head_parse(const uint8_t *data, size_t len, struct snap_device_head *ret);
