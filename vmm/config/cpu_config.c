#include "cpu_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_field.h"
#include "parse.h"

const char *const cpu_template_names[] = { "None", "C3", "T2", "T2S", "T2CL", "T2A" };
const char *const cpu_template_serde_order[] = { "C3", "T2", "T2S", "None", "T2CL", "T2A", NULL };
const enum cpu_template_name cpu_template_serde_value[] = {
	CPU_TEMPLATE_C3, CPU_TEMPLATE_T2, CPU_TEMPLATE_T2S, CPU_TEMPLATE_NONE, CPU_TEMPLATE_T2CL, CPU_TEMPLATE_T2A,
};

static const char *const template_fields[] = { "kvm_capabilities", "cpuid_modifiers", "msr_modifiers", NULL };
static const char *const leaf_fields[] = { "leaf", "subleaf", "flags", "modifiers", NULL };
static const char *const reg_fields[] = { "register", "bitmap", NULL };
static const char *const msr_fields[] = { "addr", "bitmap", NULL };

/* Rust's ParseIntError kinds, as Firecracker's messages print them. */
enum parse_int_kind { PARSE_OK, PARSE_EMPTY, PARSE_INVALID_DIGIT, PARSE_POS_OVERFLOW };

static const char *const parse_int_debug[] = {
	[PARSE_EMPTY] = "Empty", [PARSE_INVALID_DIGIT] = "InvalidDigit", [PARSE_POS_OVERFLOW] = "PosOverflow",
};
static const char *const parse_int_display[] = {
	[PARSE_EMPTY] = "cannot parse integer from empty string",
	[PARSE_INVALID_DIGIT] = "invalid digit found in string",
	[PARSE_POS_OVERFLOW] = "number too large to fit in target type",
};

/* Rust's from_str_radix for an unsigned type of `bits` bits: an optional
 * '+', then at least one digit of the base. */
static enum parse_int_kind parse_uint(const char *s, unsigned base, unsigned bits, uint64_t *ret)
{
	uint64_t max = bits == 64 ? UINT64_MAX : (1ull << bits) - 1, v = 0;
	bool plus = *s == '+';

	s += plus;
	if (!*s)
		return plus ? PARSE_INVALID_DIGIT : PARSE_EMPTY;
	for (; *s; s++) {
		int d = parse_digit(*s, base);

		if (d < 0)
			return PARSE_INVALID_DIGIT;
		if (v > (max - d) / base)
			return PARSE_POS_OVERFLOW;
		v = v * base + d;
	}
	*ret = v;
	return PARSE_OK;
}

/* The string at key (required): *ret points into j. */
static int field_string(const json_t *j, const char *key, const char *where, const char **ret, char *err,
			size_t errlen)
{
	const json_t *v = json_object_get(j, key);
	char desc[96];

	if (!v)
		return json_field_error(err, errlen, "missing field `%s` in %s", key, where);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		json_field_describe(v, desc, sizeof(desc));
		return json_field_error(err, errlen, "invalid type: %s, expected a string for field `%s` in %s", desc,
					key, where);
	}
	*ret = json_string_value(v);
	return 0;
}

/* Firecracker's deserialize_from_str_u32: "0x..." or "0b...". */
static int field_number(const json_t *j, const char *key, const char *where, uint32_t *ret, char *err,
			size_t errlen)
{
	const char *s;
	unsigned base;
	uint64_t v;
	enum parse_int_kind k;
	int r = field_string(j, key, where, &s, err, errlen);

	if (r < 0)
		return r;
	if (strncmp(s, "0b", 2) == 0)
		base = 2;
	else if (strncmp(s, "0x", 2) == 0)
		base = 16;
	else
		return json_field_error(err, errlen, "No supported number system prefix found in value [%.64s]. Make "
					"sure to prefix the number with '0x' for hexadecimal numbers or '0b' for "
					"binary numbers. (field `%s` in %s)", s, key, where);
	k = parse_uint(s + 2, base, 32, &v);
	if (k != PARSE_OK)
		return json_field_error(err, errlen, "Failed to parse string [%.64s] as a number for CPU template - "
					"ParseIntError { kind: %s } (field `%s` in %s)", s, parse_int_debug[k], key,
					where);
	*ret = (uint32_t)v;
	return 0;
}

int cpu_config_bitmap(const char *s, unsigned bits, struct reg_filter64 *f, char *err, size_t errlen)
{
	const char *digits = strncmp(s, "0b", 2) == 0 ? s + 2 : s;
	struct reg_filter64 out = { 0 };
	unsigned i = 0;

	/* Least significant bit last, as Firecracker reads it: from the end. */
	for (size_t n = strlen(digits); n-- > 0;) {
		char c = digits[n];

		if (i == bits) /* checked before the character, as Firecracker does (a trailing '_' too) */
			return json_field_error(err, errlen, "Failed to parse string [%.80s] as a bitmap - string is "
					        "too long", s);
		if (c == '_')
			continue;
		if (c != 'x' && c != '0' && c != '1')
			return json_field_error(err, errlen, "Failed to parse string [%.80s] as a bitmap - unknown "
						"character: %u", s, (unsigned char)c);
		if (c != 'x')
			out.filter |= 1ull << i;
		if (c == '1')
			out.value |= 1ull << i;
		i++;
	}
	*f = out;
	return 0;
}

static int field_bitmap(const json_t *j, unsigned bits, const char *where, struct reg_filter64 *f, char *err,
			size_t errlen)
{
	const char *s;
	int r = field_string(j, "bitmap", where, &s, err, errlen);

	return r < 0 ? r : cpu_config_bitmap(s, bits, f, err, errlen);
}

struct list_ctx {
	struct cpu_config *c;
	struct cpuid_leaf_modifier *leaf; /* for a leaf's modifiers */
	unsigned index;
	char where[64];
};

static int add_register(const json_t *v, void *p, char *err, size_t errlen)
{
	static const char *const names[] = { "eax", "ebx", "ecx", "edx" };
	struct list_ctx *ctx = p;
	struct cpuid_leaf_modifier *l = ctx->leaf;
	struct cpuid_reg_modifier *m;
	struct reg_filter64 f;
	const char *name;
	char where[96];
	int r;

	snprintf(where, sizeof(where), "%s.modifiers[%u]", ctx->where, ctx->index++);
	if (l->nmods == CPU_CONFIG_MAX_REG_MODS)
		return json_field_error(err, errlen, "%s: at most %u register modifiers per leaf", where,
					CPU_CONFIG_MAX_REG_MODS);
	m = &l->mods[l->nmods];
	r = json_field_check_object(v, "CpuidRegisterModifier", reg_fields, err, errlen);
	if (r >= 0)
		r = field_string(v, "register", where, &name, err, errlen);
	if (r < 0)
		return r;
	for (m->reg = CPUID_EAX; m->reg <= CPUID_EDX && strcmp(name, names[m->reg]) != 0; m->reg++)
		;
	if (m->reg > CPUID_EDX)
		return json_field_error(err, errlen, "Invalid CPUID register. Must be one of [eax, ebx, ecx, edx] "
					"(field `register` in %s)", where);
	r = field_bitmap(v, 32, where, &f, err, errlen);
	if (r < 0)
		return r;
	m->bitmap = (struct reg_filter32){ (uint32_t)f.filter, (uint32_t)f.value };
	l->nmods++;
	return 0;
}

static int add_leaf(const json_t *v, void *p, char *err, size_t errlen)
{
	struct list_ctx *ctx = p, sub = { .c = ctx->c };
	struct cpuid_leaf_modifier *l;
	uint64_t flags = 0;
	int r;

	snprintf(sub.where, sizeof(sub.where), "cpuid_modifiers[%u]", ctx->index++);
	if (ctx->c->nleaves == CPU_CONFIG_MAX_LEAVES)
		return json_field_error(err, errlen, "cpuid_modifiers: at most %u leaves", CPU_CONFIG_MAX_LEAVES);
	l = sub.leaf = &ctx->c->leaves[ctx->c->nleaves];
	*l = (struct cpuid_leaf_modifier){ 0 };
	r = json_field_check_object(v, "CpuidLeafModifier", leaf_fields, err, errlen);
	if (r >= 0)
		r = field_number(v, "leaf", sub.where, &l->leaf, err, errlen);
	if (r >= 0)
		r = field_number(v, "subleaf", sub.where, &l->subleaf, err, errlen);
	if (r >= 0)
		r = json_field_uint(v, "flags", true, UINT32_MAX, "u32", &flags, err, errlen);
	if (r < 0)
		return r;
	l->flags = (uint32_t)flags;
	if (!json_object_get(v, "modifiers"))
		return json_field_error(err, errlen, "missing field `modifiers` in %s", sub.where);
	r = json_field_sequence(json_object_get(v, "modifiers"), add_register, &sub, err, errlen);
	if (r < 0)
		return r;
	ctx->c->nleaves++;
	return 0;
}

static int add_msr(const json_t *v, void *p, char *err, size_t errlen)
{
	struct list_ctx *ctx = p;
	struct msr_modifier *m;
	char where[64];
	int r;

	snprintf(where, sizeof(where), "msr_modifiers[%u]", ctx->index++);
	if (ctx->c->nmsrs == CPU_CONFIG_MAX_MSRS)
		return json_field_error(err, errlen, "msr_modifiers: at most %u MSRs", CPU_CONFIG_MAX_MSRS);
	m = &ctx->c->msrs[ctx->c->nmsrs];
	r = json_field_check_object(v, "RegisterModifier", msr_fields, err, errlen);
	if (r >= 0)
		r = field_number(v, "addr", where, &m->addr, err, errlen);
	if (r >= 0)
		r = field_bitmap(v, 64, where, &m->bitmap, err, errlen);
	if (r < 0)
		return r;
	ctx->c->nmsrs++;
	return 0;
}

/* Firecracker's KvmCapability: "N" requires capability N, "!N" drops it
 * from the required list; N is a decimal u32. */
static int add_cap(const json_t *v, void *p, char *err, size_t errlen)
{
	struct list_ctx *ctx = p;
	struct kvm_cap_modifier *m;
	const char *s;
	char desc[96];
	uint64_t n = 0;
	enum parse_int_kind k;

	if (ctx->c->ncaps == CPU_CONFIG_MAX_KVM_CAPS)
		return json_field_error(err, errlen, "kvm_capabilities: at most %u entries", CPU_CONFIG_MAX_KVM_CAPS);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		json_field_describe(v, desc, sizeof(desc));
		return json_field_error(err, errlen, "invalid type: %s, expected a string for field "
					"`kvm_capabilities[%u]`", desc, ctx->index);
	}
	s = json_string_value(v);
	m = &ctx->c->caps[ctx->c->ncaps];
	m->remove = *s == '!';
	k = parse_uint(s + m->remove, 10, 32, &n);
	if (k != PARSE_OK)
		return json_field_error(err, errlen, "Failed to parse string [%.64s] as a kvm capability - can not "
					"convert to numeric: %s (field `kvm_capabilities[%u]`)", s,
					parse_int_display[k], ctx->index);
	m->cap = (uint32_t)n;
	ctx->index++;
	ctx->c->ncaps++;
	return 0;
}

/* An optional list (absent or null: empty). */
static int field_list(const json_t *j, const char *key, int (*add)(const json_t *v, void *ctx, char *err, size_t errlen),
		      struct list_ctx *ctx, char *err, size_t errlen)
{
	const json_t *v = json_object_get(j, key);

	return v ? json_field_sequence(v, add, ctx, err, errlen) : 0;
}

int cpu_config_parse(const json_t *j, struct cpu_config **ret, char *err, size_t errlen)
{
	_cleanup_free_ struct cpu_config *c = calloc(1, sizeof(*c));
	struct list_ctx caps = { .c = c }, leaves = { .c = c }, msrs = { .c = c };
	int r;

	if (!c)
		return -ENOMEM;
	r = json_field_check_object(j, "CustomCpuTemplate", template_fields, err, errlen);
	if (r >= 0)
		r = field_list(j, "kvm_capabilities", add_cap, &caps, err, errlen);
	if (r >= 0)
		r = field_list(j, "cpuid_modifiers", add_leaf, &leaves, err, errlen);
	if (r >= 0)
		r = field_list(j, "msr_modifiers", add_msr, &msrs, err, errlen);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}
