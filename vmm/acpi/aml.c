/* See aml.h. Opcodes and encodings: ACPI 6.5 §20.2 (AML grammar) and §6.4
 * (resource data types). */
#include "aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AML_ZERO_OP 0x00u
#define AML_ONE_OP 0x01u
#define AML_NAME_OP 0x08u
#define AML_BYTE_PREFIX 0x0au
#define AML_WORD_PREFIX 0x0bu
#define AML_DWORD_PREFIX 0x0cu
#define AML_STRING_PREFIX 0x0du
#define AML_QWORD_PREFIX 0x0eu
#define AML_SCOPE_OP 0x10u
#define AML_BUFFER_OP 0x11u
#define AML_PACKAGE_OP 0x12u
#define AML_METHOD_OP 0x14u
#define AML_DUAL_NAME_PREFIX 0x2eu
#define AML_MULTI_NAME_PREFIX 0x2fu
#define AML_EXT_OP_PREFIX 0x5bu
#define AML_DEVICE_OP 0x82u /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR '\\'
#define AML_PARENT_CHAR '^'
#define AML_RETURN_OP 0xa4u
#define AML_IF_OP 0xa0u
#define AML_LEQUAL_OP 0x93u
#define AML_ARG0_OP 0x68u
#define AML_NOTIFY_OP 0x86u
#define AML_MAX_ARG 6u

/* Resource descriptors: small items are tag (type << 3 | length), large
 * items 0x80 | type, then a 16-bit length (§6.4.1). */
#define RES_IRQ_NO_FLAGS 0x22u   /* small type 4, length 2 */
#define RES_IO 0x47u             /* small type 8, length 7 */
#define RES_END_TAG 0x79u        /* small type 0xf, length 1 */
#define RES_MEMORY32_FIXED 0x86u /* large type 6 */
#define RES_EXT_INTERRUPT 0x89u  /* large type 9 */

#define PKGLEN_MAX ((1u << 28) - 1)
#define NAME_SEG_LEN 4u
#define NAME_MAX_SEGS 255u

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

/* Room for n more bytes; false (error recorded) when it cannot grow. */
static bool aml_reserve(struct aml *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->err)
		return false;
	if (n > AML_MAX_SIZE - a->len) {
		aml_fail(a, -E2BIG);
		return false;
	}
	if (a->len + n <= a->cap)
		return true;
	cap = a->cap ? a->cap : 256;
	while (cap < a->len + n)
		cap *= 2;
	p = realloc(a->buf, cap);
	if (!p) {
		aml_fail(a, -ENOMEM);
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!aml_reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Little-endian, n bytes of v. */
static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/* A data object starts: it is one more element of an enclosing Package. */
static void aml_element(struct aml *a)
{
	if (a->depth && a->frame[a->depth - 1].kind == AML_FRAME_PACKAGE)
		a->frame[a->depth - 1].elements++;
}

/* ---- names ---- */

static bool name_lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return name_lead_char(c) || (c >= '0' && c <= '9');
}

/* One segment of path starting at p, ending at '.' or NUL; its length or 0
 * when it is not a valid NameSeg. */
static size_t name_seg_len(const char *p)
{
	size_t n = 0;

	if (!name_lead_char(p[0]))
		return 0;
	while (p[n] && p[n] != '.') {
		if (n == NAME_SEG_LEN || !name_char(p[n]))
			return 0;
		n++;
	}
	return n;
}

static void aml_name_seg(struct aml *a, const char *p, size_t n)
{
	char seg[NAME_SEG_LEN] = { '_', '_', '_', '_' };

	memcpy(seg, p, n);
	aml_bytes(a, seg, NAME_SEG_LEN);
}

/* The number of segments in path, 0 when one is invalid. */
static unsigned name_count_segs(const char *p)
{
	unsigned segs = 0;

	for (;;) {
		size_t n = name_seg_len(p);

		if (n == 0 || ++segs > NAME_MAX_SEGS)
			return 0;
		p += n;
		if (*p == 0)
			return segs;
		p++; /* '.' */
	}
}

void aml_name_string(struct aml *a, const char *path)
{
	bool root = *path == AML_ROOT_CHAR;
	unsigned segs;

	if (root)
		aml_byte(a, *path++);
	else
		while (*path == AML_PARENT_CHAR)
			aml_byte(a, *path++);
	if (*path == 0 && root) {
		aml_byte(a, 0); /* NullName: "\" is the root itself */
		return;
	}
	segs = name_count_segs(path);
	if (segs == 0) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (segs == 2)
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	else if (segs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)segs);
	}
	while (segs--) {
		size_t n = name_seg_len(path);

		aml_name_seg(a, path, n);
		path += n + (segs ? 1 : 0);
	}
}

/* ---- data objects ---- */

void aml_integer(struct aml *a, uint64_t v)
{
	aml_element(a);
	if (v == 0)
		aml_byte(a, AML_ZERO_OP);
	else if (v == 1)
		aml_byte(a, AML_ONE_OP);
	else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p > 0x7f) {
			aml_fail(a, -EINVAL);
			return;
		}
	aml_element(a);
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* §19.6.35: three letters in 5 bits each ('A' = 1), four hex digits, stored
 * big-endian (iasl's AnCheckId/OpcDoEisaId). */
void aml_eisa_id(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (unsigned i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(a, -EINVAL);
			return;
		}
		v = v << 5 | (uint32_t)(id[i] - 'A' + 1);
	}
	for (unsigned i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);

		if (d < 0) {
			aml_fail(a, -EINVAL);
			return;
		}
		v = v << 4 | (uint32_t)d;
	}
	aml_integer(a, __builtin_bswap32(v));
}

/* ---- objects with a PkgLength ---- */

static void aml_open(struct aml *a, enum aml_frame_kind kind)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		aml_fail(a, -E2BIG);
		return;
	}
	a->frame[a->depth++] = (struct aml_frame){ .pkglen_at = a->len, .body_at = a->len, .kind = kind };
}

/* §20.2.4: the length counts itself; 1 byte holds up to 63, longer forms
 * put the byte count minus one in bits 7-6 of the lead byte, the low nibble
 * in bits 3-0 and the rest in the following bytes. */
static unsigned pkglen_encode(size_t body, uint8_t out[4])
{
	unsigned n;
	size_t total;

	if (body + 1 <= 0x3f) {
		out[0] = (uint8_t)(body + 1);
		return 1;
	}
	for (n = 2; n <= 4; n++) {
		total = body + n;
		if (total < (1u << (4 + 8 * (n - 1))))
			break;
	}
	if (n > 4 || total > PKGLEN_MAX)
		return 0;
	out[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
	for (unsigned i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

/* Inserts n bytes at offset at, moving what follows. */
static void aml_insert(struct aml *a, size_t at, const uint8_t *p, size_t n)
{
	if (!aml_reserve(a, n))
		return;
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, p, n);
	a->len += n;
}

/* A Buffer's BufferSize (an Integer) and a Package's NumElements go in
 * front of the body, inside the PkgLength. */
static void aml_insert_prefix(struct aml *a, const struct aml_frame *f)
{
	if (f->kind == AML_FRAME_PACKAGE) {
		uint8_t count = (uint8_t)f->elements;

		if (f->elements > UINT8_MAX)
			aml_fail(a, -E2BIG);
		aml_insert(a, f->body_at, &count, 1);
	} else if (f->kind == AML_FRAME_BUFFER) {
		struct aml size;

		aml_init(&size);
		aml_integer(&size, a->len - f->body_at);
		if (size.err)
			aml_fail(a, size.err);
		else
			aml_insert(a, f->body_at, size.buf, size.len);
		aml_free(&size);
	}
}

void aml_end(struct aml *a)
{
	struct aml_frame f;
	uint8_t pkglen[4];
	unsigned n;

	if (a->err)
		return;
	if (a->depth == 0) {
		aml_fail(a, -EINVAL);
		return;
	}
	f = a->frame[--a->depth];
	aml_insert_prefix(a, &f);
	n = pkglen_encode(a->len - f.pkglen_at, pkglen);
	if (n == 0)
		aml_fail(a, -E2BIG);
	else
		aml_insert(a, f.pkglen_at, pkglen, n);
}

int aml_finish(struct aml *a)
{
	if (!a->err && a->depth)
		aml_fail(a, -EINVAL);
	return a->err;
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, path);
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_open(a, AML_FRAME_PLAIN);
	aml_name_string(a, path);
}

void aml_device_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_open(a, AML_FRAME_PLAIN);
	aml_name_string(a, path);
}

/* MethodFlags (§20.2.5.2): ArgCount in bits 0-2, SerializeFlag bit 3,
 * SyncLevel bits 4-7. */
void aml_method_begin(struct aml *a, const char *name, unsigned argc, bool serialized)
{
	if (argc > 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_METHOD_OP);
	aml_open(a, AML_FRAME_PLAIN);
	aml_name_string(a, name);
	aml_byte(a, (uint8_t)(argc | (serialized ? 0x08u : 0)));
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

void aml_package_begin(struct aml *a)
{
	aml_element(a);
	aml_byte(a, AML_PACKAGE_OP);
	aml_open(a, AML_FRAME_PACKAGE);
}

/* ---- method bodies ---- */

void aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	aml_open(a, AML_FRAME_PLAIN);
}

void aml_lequal(struct aml *a)
{
	aml_byte(a, AML_LEQUAL_OP);
}

void aml_arg(struct aml *a, unsigned n)
{
	if (n > AML_MAX_ARG) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, (uint8_t)(AML_ARG0_OP + n));
}

/* NotifyObject is a SuperName: a NameString here (§20.2.5.3 DefNotify). */
void aml_notify(struct aml *a, const char *path, uint64_t value)
{
	aml_byte(a, AML_NOTIFY_OP);
	aml_name_string(a, path);
	aml_integer(a, value);
}

/* ---- resource templates ---- */

void aml_resource_template_begin(struct aml *a)
{
	aml_element(a);
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a, AML_FRAME_BUFFER);
}

/* The End Tag's checksum byte 0 means "treat the checksum as valid"
 * (§6.4.2.9); iasl writes 0 too. */
void aml_resource_template_end(struct aml *a)
{
	if (!a->err && (a->depth == 0 || a->frame[a->depth - 1].kind != AML_FRAME_BUFFER)) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);
	aml_end(a);
}

void aml_memory32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t length)
{
	aml_byte(a, RES_MEMORY32_FIXED);
	aml_le(a, 9, 2);
	aml_byte(a, writable ? 1 : 0);
	aml_le(a, base, 4);
	aml_le(a, length, 4);
}

void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t alignment, uint8_t length)
{
	aml_byte(a, RES_IO);
	aml_byte(a, 1); /* Decode16 */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_byte(a, alignment);
	aml_byte(a, length);
}

void aml_irq_no_flags(struct aml *a, unsigned irq)
{
	if (irq > 15) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, RES_IRQ_NO_FLAGS);
	aml_le(a, 1u << irq, 2);
}

/* Flags (§6.4.3.6): bit 0 consumer, bit 1 edge, bit 2 active low, bit 3 shared. */
void aml_interrupt(struct aml *a, bool edge, bool active_low, bool shared, uint32_t gsi)
{
	aml_byte(a, RES_EXT_INTERRUPT);
	aml_le(a, 6, 2);
	aml_byte(a, (uint8_t)(0x01u | (edge ? 0x02u : 0) | (active_low ? 0x04u : 0) | (shared ? 0x08u : 0)));
	aml_byte(a, 1);
	aml_le(a, gsi, 4);
}
