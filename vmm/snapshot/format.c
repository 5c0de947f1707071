/* See format.h. */
#include "format.h"

#include <errno.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

/* What each type may hold: its name (ember-snapshot, errors), the largest
 * payload and how many instances. The KVM structures are a few KiB at most;
 * the config JSON is bounded by the API's own limits well below 256 KiB. */
static const struct {
	uint32_t type;
	const char *name;
	uint32_t max_len;
	uint32_t max_instances;
} snap_types[] = {
	{ SNAP_SEC_CONFIG, "config", 256u << 10, 1 },
	{ SNAP_SEC_MEMORY, "memory", 4 + 8 * 24, 1 },
	{ SNAP_SEC_VCPU_REGS, "vcpu-regs", 4096, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_SREGS, "vcpu-sregs", 4096, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_XSAVE, "vcpu-xsave", 16384, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_XCRS, "vcpu-xcrs", 4096, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_DEBUGREGS, "vcpu-debugregs", 4096, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_LAPIC, "vcpu-lapic", 4096, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_MP_STATE, "vcpu-mp-state", 64, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_EVENTS, "vcpu-events", 4096, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_MSRS, "vcpu-msrs", SNAP_MAX_MSRS * 16, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_CPUID, "vcpu-cpuid", SNAP_MAX_CPUID * 40, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VCPU_TSC_KHZ, "vcpu-tsc-khz", 4, SNAP_MAX_VCPUS },
	{ SNAP_SEC_VM_PIC_MASTER, "pic-master", 4096, 1 },
	{ SNAP_SEC_VM_PIC_SLAVE, "pic-slave", 4096, 1 },
	{ SNAP_SEC_VM_IOAPIC, "ioapic", 4096, 1 },
	{ SNAP_SEC_VM_PIT, "pit", 4096, 1 },
	{ SNAP_SEC_VM_CLOCK, "kvm-clock", 4096, 1 },
	{ SNAP_SEC_VM_SPLIT_IOAPIC, "split-ioapic", 4096, 1 },
	{ SNAP_SEC_VM_ACPI, "acpi", 4096, 1 },
	{ SNAP_SEC_DEVICE, "device", 64u << 10, SNAP_MAX_DEVICES },
	{ SNAP_SEC_DEVICE_VIRTIO, "virtio-transport", 64u << 10, SNAP_MAX_DEVICES },
	{ SNAP_SEC_GENERATION, "generation", 4096, 1 },
};

static int snap_type_index(uint32_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(snap_types); i++)
		if (snap_types[i].type == type)
			return (int)i;
	return -1;
}

const char *snap_section_name(uint32_t type)
{
	int i = snap_type_index(type);

	return i < 0 ? NULL : snap_types[i].name;
}

uint64_t snap_crc64(const uint8_t *buf, size_t len)
{
	return lzma_crc64(buf, len, 0);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* ---- writing ---- */

void snap_writer_init(struct snap_writer *w)
{
	*w = (struct snap_writer){ 0 };
}

static uint8_t *snap_reserve(struct snap_writer *w, size_t n)
{
	size_t want;

	if (w->err)
		return NULL;
	if (n > SNAP_MAX_FILE || w->len + n > SNAP_MAX_FILE) {
		w->err = -EFBIG;
		return NULL;
	}
	want = w->len + n;
	if (want > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *b;

		while (cap < want)
			cap *= 2;
		b = realloc(w->buf, cap);
		if (!b) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = b;
		w->cap = cap;
	}
	w->len = want;
	return w->buf + want - n;
}

void snap_put(struct snap_writer *w, uint32_t type, uint32_t instance, const void *data, size_t len)
{
	uint8_t *p;

	if (!w->len && !snap_reserve(w, SNAP_HEADER_SIZE))
		return;
	if (++w->nsec > SNAP_MAX_SECTIONS || len > UINT32_MAX) {
		w->err = w->err ? w->err : -EFBIG;
		return;
	}
	p = snap_reserve(w, SNAP_SECTION_HEADER_SIZE + len);
	if (!p)
		return;
	put_le32(p, type);
	put_le32(p + 4, instance);
	put_le32(p + 8, (uint32_t)len);
	put_le32(p + 12, 0);
	if (len)
		memcpy(p + SNAP_SECTION_HEADER_SIZE, data, len);
}

int snap_writer_finish(struct snap_writer *w)
{
	uint8_t *p;

	if (!w->len && !snap_reserve(w, SNAP_HEADER_SIZE))
		return w->err;
	if (w->err)
		return w->err;
	memcpy(w->buf, SNAP_MAGIC, 8);
	put_le16(w->buf + 8, SNAP_VERSION_MAJOR);
	put_le16(w->buf + 10, SNAP_VERSION_MINOR);
	put_le16(w->buf + 12, SNAP_VERSION_PATCH);
	put_le16(w->buf + 14, 0);
	put_le32(w->buf + 16, w->nsec);
	put_le32(w->buf + 20, 0);
	p = snap_reserve(w, SNAP_CRC_SIZE);
	if (!p)
		return w->err;
	put_le64(p, snap_crc64(w->buf, w->len - SNAP_CRC_SIZE));
	return 0;
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	*w = (struct snap_writer){ 0 };
}

/* ---- reading ---- */

int snap_peek_version(const uint8_t *buf, size_t len, struct snap_version *ret)
{
	if (len < SNAP_HEADER_SIZE || memcmp(buf, SNAP_MAGIC, 8) != 0)
		return -EINVAL;
	*ret = (struct snap_version){ get_le16(buf + 8), get_le16(buf + 10), get_le16(buf + 12) };
	return 0;
}

static int snap_check_header(const uint8_t *buf, size_t len, struct snap_version *v, uint32_t *nsec, char *err,
			     size_t errlen)
{
	uint64_t magic;

	if (len < SNAP_HEADER_SIZE + SNAP_CRC_SIZE) {
		snprintf(err, errlen, "File too short to contain the header (%zu bytes)", len);
		return -EINVAL;
	}
	if (snap_peek_version(buf, len, v) < 0) {
		memcpy(&magic, buf, 8);
		snprintf(err, errlen, "Magic value does not match: 0x%016" PRIx64, magic);
		return -EINVAL;
	}
	if (v->major != SNAP_VERSION_MAJOR || v->minor > SNAP_VERSION_MINOR) {
		snprintf(err, errlen, "Invalid data version: %u.%u.%u (this ember reads %u.0.0 to %u.%u.x)", v->major,
			 v->minor, v->patch, SNAP_VERSION_MAJOR, SNAP_VERSION_MAJOR, SNAP_VERSION_MINOR);
		return -EPROTO;
	}
	*nsec = get_le32(buf + 16);
	if (*nsec > SNAP_MAX_SECTIONS || get_le16(buf + 14) || get_le32(buf + 20)) {
		snprintf(err, errlen, "Invalid header: %" PRIu32 " sections (at most %u) or reserved bits set", *nsec,
			 SNAP_MAX_SECTIONS);
		return -EINVAL;
	}
	return 0;
}

/* One section at *off: bounds, a known type, its instance and length in
 * range, no duplicate of an earlier one. */
static int snap_read_section(const uint8_t *buf, size_t end, size_t *off, struct snap_file *f, char *err,
			     size_t errlen)
{
	struct snap_section s;
	int t;

	if (end - *off < SNAP_SECTION_HEADER_SIZE) {
		snprintf(err, errlen, "Section %u: truncated header at offset %zu", f->n, *off);
		return -EINVAL;
	}
	s.type = get_le32(buf + *off);
	s.instance = get_le32(buf + *off + 4);
	s.len = get_le32(buf + *off + 8);
	t = snap_type_index(s.type);
	if (t < 0) {
		snprintf(err, errlen, "Section %u: unknown type 0x%" PRIx32, f->n, s.type);
		return -EINVAL;
	}
	if (get_le32(buf + *off + 12) || s.instance >= snap_types[t].max_instances || s.len > snap_types[t].max_len) {
		snprintf(err, errlen, "Section %u (%s): instance %" PRIu32 " or length %" PRIu32 " out of range "
			 "(at most %" PRIu32 " instances of %" PRIu32 " bytes)", f->n, snap_types[t].name, s.instance,
			 s.len, snap_types[t].max_instances, snap_types[t].max_len);
		return -EINVAL;
	}
	*off += SNAP_SECTION_HEADER_SIZE;
	if (end - *off < s.len) {
		snprintf(err, errlen, "Section %u (%s): %" PRIu32 " bytes past the end of the file", f->n,
			 snap_types[t].name, s.len);
		return -EINVAL;
	}
	if (snap_find(f, s.type, s.instance)) {
		snprintf(err, errlen, "Section %u (%s): instance %" PRIu32 " appears twice", f->n, snap_types[t].name,
			 s.instance);
		return -EINVAL;
	}
	s.data = buf + *off;
	*off += s.len;
	f->sec[f->n++] = s;
	return 0;
}

int snap_parse(const uint8_t *buf, size_t len, struct snap_file *ret, char *err, size_t errlen)
{
	struct snap_file f = { 0 };
	uint64_t crc, want;
	uint32_t nsec;
	size_t off = SNAP_HEADER_SIZE, end;
	int r;

	if (len < SNAP_CRC_SIZE) {
		snprintf(err, errlen, "IO Error: File too short to contain CRC");
		return -EINVAL;
	}
	if (len > SNAP_MAX_FILE) {
		snprintf(err, errlen, "File larger than %u bytes", SNAP_MAX_FILE);
		return -EFBIG;
	}
	end = len - SNAP_CRC_SIZE;
	want = get_le64(buf + end);
	crc = snap_crc64(buf, end);
	if (crc != want) {
		snprintf(err, errlen, "CRC64 validation failed: computed 0x%016" PRIx64 ", stored 0x%016" PRIx64, crc,
			 want);
		return -EBADMSG;
	}
	r = snap_check_header(buf, len, &f.version, &nsec, err, errlen);
	if (r < 0)
		return r;
	f.sec = calloc(nsec ? nsec : 1, sizeof(f.sec[0]));
	if (!f.sec) {
		snprintf(err, errlen, "Out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nsec; i++) {
		r = snap_read_section(buf, end, &off, &f, err, errlen);
		if (r < 0) {
			snap_file_free(&f);
			return r;
		}
	}
	if (off != end) {
		snprintf(err, errlen, "%zu bytes after the last section", end - off);
		snap_file_free(&f);
		return -EINVAL;
	}
	*ret = f;
	return 0;
}

void snap_file_free(struct snap_file *f)
{
	free(f->sec);
	*f = (struct snap_file){ 0 };
}

const struct snap_section *snap_find(const struct snap_file *f, uint32_t type, uint32_t instance)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->sec[i].type == type && f->sec[i].instance == instance)
			return &f->sec[i];
	return NULL;
}

int snap_read_fd(int fd, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = malloc(SNAP_MAX_FILE + 1);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	while (len <= SNAP_MAX_FILE) {
		ssize_t n = read(fd, buf + len, SNAP_MAX_FILE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SNAP_MAX_FILE)
		return -EFBIG;
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}
