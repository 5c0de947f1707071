/* A small AML encoder (ACPI 6.5 §20, "ACPI Machine Language Specification")
 * for the DSDT ember generates: namespace objects, data objects and resource
 * templates, emitted in order into one growing buffer.
 *
 * Objects that carry a PkgLength (Scope, Device, Method, Package, Buffer)
 * are opened with *_begin() and closed with aml_end(): the body is written
 * first, then its length is encoded in the shortest form (1 to 4 bytes,
 * §20.2.4) and the body moved behind it. A Package counts its elements as
 * they are written. Errors are sticky: the first one (-EINVAL for a bad name
 * or an unbalanced aml_end, -E2BIG past AML_MAX_SIZE or AML_MAX_DEPTH,
 * -ENOMEM) is kept in aml->err, later calls do nothing, and aml_finish()
 * returns it. The input is ember's own, but bounded all the same.
 *
 * Usage:
 *	struct aml a;
 *	aml_init(&a);
 *	aml_scope_begin(&a, "\\_SB_");
 *	aml_device_begin(&a, "COM1");
 *	aml_name(&a, "_HID"); aml_eisa_id(&a, "PNP0501");
 *	aml_end(&a); aml_end(&a);
 *	r = aml_finish(&a);   0: a.buf holds a.len bytes; aml_free(&a) after. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_SIZE (2u * 1024u * 1024u) /* room for a 4-byte PkgLength; a DSDT for 19 devices is about 2 KiB */
#define AML_MAX_DEPTH 16u

enum aml_frame_kind { AML_FRAME_PLAIN, AML_FRAME_PACKAGE, AML_FRAME_BUFFER };

struct aml_frame {
	size_t pkglen_at;   /* where the PkgLength goes */
	size_t body_at;     /* Package: after NumElements; Buffer: the byte list */
	enum aml_frame_kind kind;
	unsigned elements;  /* Package: its elements so far */
};

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err;
	unsigned depth;
	struct aml_frame frame[AML_MAX_DEPTH];
};

void aml_init(struct aml *a);
/* Frees the buffer; accepts an aml that never grew. */
void aml_free(struct aml *a);
/* 0 when every object is closed and nothing failed, else the sticky error
 * (-EINVAL for objects left open). */
int aml_finish(struct aml *a);

/* ---- names (§20.2.2) ---- */
/* A NameString: an optional root '\' or parent '^' prefixes, then segments
 * of 1 to 4 characters ([A-Z_][A-Z0-9_]*) separated by '.', each padded with
 * '_' to 4. Encodes as one NameSeg, DualNamePrefix or MultiNamePrefix. */
void aml_name_string(struct aml *a, const char *path);

/* ---- data objects (§20.2.3) ---- */
/* The shortest encoding: ZeroOp, OneOp, then Byte, Word, DWord or QWord prefix. */
void aml_integer(struct aml *a, uint64_t v);
/* A String: printable ASCII, NUL-terminated in the AML. */
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0501"): three upper-case letters and four hex digits,
 * compressed into the 32-bit integer iasl produces (§19.6.35). */
void aml_eisa_id(struct aml *a, const char *id);

/* ---- named objects and control (§20.2.5) ---- */
/* Name(path, ...): the caller writes one data object next. */
void aml_name(struct aml *a, const char *path);
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *path);
/* Method(name, argc 0..7, Serialized/NotSerialized); sync level 0. */
void aml_method_begin(struct aml *a, const char *name, unsigned argc, bool serialized);
/* Return(...): the caller writes the one object returned next. */
void aml_return(struct aml *a);
/* Package(){...}: the elements that follow until aml_end() are counted
 * (at most 255, the NumElements byte). */
void aml_package_begin(struct aml *a);
/* Closes the innermost open object. */
void aml_end(struct aml *a);

/* ---- expressions and statements in a method body (§20.2.5.3, §20.2.6) ---- */
/* If(predicate){...}: the caller writes the predicate, then the body, then
 * aml_end(). */
void aml_if_begin(struct aml *a);
/* LEqual(x, y): the caller writes the two operands next. */
void aml_lequal(struct aml *a);
/* Arg0..Arg6: the method's arguments. */
void aml_arg(struct aml *a, unsigned n);
/* Notify(path, value): path names the object notified (a NameString). */
void aml_notify(struct aml *a, const char *path, uint64_t value);

/* ---- resource templates (§6.4) ---- */
/* ResourceTemplate(){...}: a Buffer whose close appends the End Tag. */
void aml_resource_template_begin(struct aml *a);
void aml_resource_template_end(struct aml *a);
/* Memory32Fixed(ReadWrite|ReadOnly, base, length) (§6.4.3.4). */
void aml_memory32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t length);
/* IO(Decode16, min, max, alignment, length) (§6.4.2.5). */
void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
/* IRQNoFlags(){irq} (§6.4.2.1, the 2-byte form), irq 0..15. */
void aml_irq_no_flags(struct aml *a, unsigned irq);
/* Interrupt(ResourceConsumer, Edge|Level, ActiveHigh|ActiveLow,
 * Exclusive|Shared){gsi} (§6.4.3.6), one interrupt, no resource source. */
void aml_interrupt(struct aml *a, bool edge, bool active_low, bool shared, uint32_t gsi);
