/* See devices.h. */
#include "devices.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "devices/kind.h"
#include "devices/manager.h"
#include "devices/virtio/virtio.h"
#include "format.h"

#define DEVICE_STATE_MAX (16u << 10)

static bool kind_supported(const struct device_kind *k)
{
	return k->snapshot_stateless || (k->snapshot_save && k->snapshot_restore);
}

int snap_devices_unsupported(const struct device_manager *m, char *buf, size_t size)
{
	const struct device_kind *k;
	struct virtio_transport *t;
	size_t off = 0;
	void *dev;
	int n = 0;

	buf[0] = 0;
	for (unsigned i = 0; devices_entry(m, i, &k, &dev, &t); i++) {
		if (kind_supported(k))
			continue;
		if (off < size) {
			int w = k->id ? snprintf(buf + off, size - off, "%s%s(id: %s)", n ? ", " : "", k->name, k->id(dev))
				      : snprintf(buf + off, size - off, "%s%s", n ? ", " : "", k->name);

			off += w > 0 ? (size_t)w : 0;
		}
		n++;
	}
	return n;
}

/* The section's head: the kind's name and the device's id, each a length
 * byte and the bytes; restore checks both against the device it is for. */
static size_t device_head(uint8_t *buf, const char *name, const char *id)
{
	size_t nl = strnlen(name, 255), il = strnlen(id, 255);

	buf[0] = (uint8_t)nl;
	memcpy(buf + 1, name, nl);
	buf[1 + nl] = (uint8_t)il;
	memcpy(buf + 2 + nl, id, il);
	return 2 + nl + il;
}

int snap_device_head_parse(const uint8_t *data, size_t len, struct snap_device_head *ret)
{
	size_t nl, il;

	if (len < 1 || (nl = data[0]) + 2 > len || (il = data[1 + nl]) + nl + 2 > len)
		return -EINVAL;
	ret->name = (const char *)data + 1;
	ret->name_len = nl;
	ret->id = (const char *)data + 2 + nl;
	ret->id_len = il;
	ret->state = data + 2 + nl + il;
	ret->state_len = len - 2 - nl - il;
	return 0;
}

static int device_save(const struct device_kind *k, void *dev, struct virtio_transport *t, unsigned i,
		       struct snap_writer *w, char *err, size_t errlen)
{
	static uint8_t buf[DEVICE_STATE_MAX + 600]; /* vmm thread only */
	size_t head = device_head(buf, k->name, k->id ? k->id(dev) : "");
	int n = 0;

	if (k->snapshot_quiesce)
		k->snapshot_quiesce(dev);
	if (t) {
		uint8_t tbuf[VIRTIO_TRANSPORT_STATE_MAX];
		size_t tl = virtio_transport_save(t, tbuf, sizeof(tbuf));

		if (!tl) {
			snprintf(err, errlen, "the %s's transport state does not fit", k->name);
			return -ENOSPC;
		}
		snap_put(w, SNAP_SEC_DEVICE_VIRTIO, i, tbuf, tl);
	}
	if (k->snapshot_save) {
		n = k->snapshot_save(dev, buf + head, DEVICE_STATE_MAX);
		if (n < 0) {
			snprintf(err, errlen, "cannot save the %s: %s", k->name, strerror(-n));
			return n;
		}
	}
	snap_put(w, SNAP_SEC_DEVICE, i, buf, head + (size_t)n);
	return 0;
}

int snap_devices_save(const struct device_manager *m, struct snap_writer *w, char *err, size_t errlen)
{
	const struct device_kind *k;
	struct virtio_transport *t;
	void *dev;

	for (unsigned i = 0; devices_entry(m, i, &k, &dev, &t); i++) {
		int r = device_save(k, dev, t, i, w, err, errlen);

		if (r < 0)
			return r;
	}
	return 0;
}

/* The device section naming this kind and id: devices are matched by what
 * they are, not by position, so that a stateless device present in one
 * process and not the other (the boot timer of --boot-timer) shifts
 * nothing. */
static const struct snap_section *device_section(const struct snap_file *f, const char *name, const char *id,
						 struct snap_device_head *ret)
{
	for (unsigned i = 0; i < f->n; i++) {
		const struct snap_section *s = &f->sec[i];

		if (s->type == SNAP_SEC_DEVICE && snap_device_head_parse(s->data, s->len, ret) == 0 &&
		    ret->name_len == strlen(name) && !memcmp(ret->name, name, ret->name_len) &&
		    ret->id_len == strlen(id) && !memcmp(ret->id, id, ret->id_len))
			return s;
	}
	return NULL;
}

static int device_restore(const struct device_kind *k, void *dev, struct virtio_transport *t,
			  const struct snap_file *f, char *err, size_t errlen)
{
	const char *id = k->id ? k->id(dev) : "";
	struct snap_device_head h;
	const struct snap_section *s = device_section(f, k->name, id, &h), *ts;
	int r;

	if (!s) {
		snprintf(err, errlen, "no state for the %s%s%s%s in the snapshot", k->name, *id ? " (id: " : "", id,
			 *id ? ")" : "");
		return -EINVAL;
	}
	if (t) {
		ts = snap_find(f, SNAP_SEC_DEVICE_VIRTIO, s->instance);
		if (!ts) {
			snprintf(err, errlen, "no transport state for the %s", k->name);
			return -EINVAL;
		}
		r = virtio_transport_restore(t, ts->data, ts->len, err, errlen);
		if (r < 0)
			return r;
	}
	if (k->snapshot_restore)
		return k->snapshot_restore(dev, h.state, h.state_len, err, errlen);
	return 0;
}

/* Whether a device section is for a kind that keeps state (the others may
 * be there or not). */
static bool section_stateful(const struct snap_section *s)
{
	struct snap_device_head h;

	if (s->type != SNAP_SEC_DEVICE || snap_device_head_parse(s->data, s->len, &h) < 0)
		return false;
	for (size_t i = 0; i < device_kinds_count; i++)
		if (strlen(device_kinds[i]->name) == h.name_len && !memcmp(device_kinds[i]->name, h.name, h.name_len))
			return !device_kinds[i]->snapshot_stateless;
	return true; /* a kind this build does not know: never matched, so refused below */
}

int snap_devices_restore(const struct device_manager *m, const struct snap_file *f, char *err, size_t errlen)
{
	const struct device_kind *k;
	struct virtio_transport *t;
	unsigned restored = 0, saved = 0;
	void *dev;

	for (unsigned i = 0; devices_entry(m, i, &k, &dev, &t); i++) {
		int r;

		if (k->snapshot_stateless)
			continue;
		r = device_restore(k, dev, t, f, err, errlen);
		if (r < 0)
			return r;
		restored++;
	}
	for (unsigned i = 0; i < f->n; i++)
		saved += section_stateful(&f->sec[i]);
	if (saved != restored) {
		snprintf(err, errlen, "the snapshot holds %u devices with state, its configuration creates %u", saved,
			 restored);
		return -EINVAL;
	}
	return 0;
}
