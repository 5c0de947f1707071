/* See cond.h. */
#include "cond.h"

#include <errno.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define LOW32 0xffffffffull

static struct scmp_arg_cmp masked(unsigned arg, uint64_t mask, uint64_t value)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = value };
}

/* x < limit on the low 32 bits: for each set bit i of limit, the numbers that
 * agree with limit above bit i and have a 0 at bit i. */
static int expand_lt32(unsigned arg, uint64_t limit, struct scmp_arg_cmp *alts, size_t max)
{
	size_t n = 0;

	for (int i = 31; i >= 0; i--) {
		uint64_t bit = 1ull << i, above = (LOW32 << i) & LOW32;

		if (!(limit & bit))
			continue;
		if (n == max)
			return -E2BIG;
		alts[n++] = masked(arg, above, limit & above & ~bit);
	}
	return (int)n;
}

/* x > limit on the low 32 bits: for each clear bit i, the numbers that agree
 * with limit above bit i and have a 1 at bit i. */
static int expand_gt32(unsigned arg, uint64_t limit, struct scmp_arg_cmp *alts, size_t max)
{
	size_t n = 0;

	for (int i = 31; i >= 0; i--) {
		uint64_t bit = 1ull << i, above = (LOW32 << i) & LOW32;

		if (limit & bit)
			continue;
		if (n == max)
			return -E2BIG;
		alts[n++] = masked(arg, above, (limit & above) | bit);
	}
	return (int)n;
}

/* x != v on the low 32 bits: x agrees with v above some bit i and differs at i. */
static int expand_ne32(unsigned arg, uint64_t v, struct scmp_arg_cmp *alts, size_t max)
{
	if (max < 32)
		return -E2BIG;
	for (int i = 0; i < 32; i++) {
		uint64_t bit = 1ull << i, above = (LOW32 << i) & LOW32;

		alts[i] = masked(arg, above, (v & above) ^ bit);
	}
	return 32;
}

static int expand32(const struct policy_cond *c, struct scmp_arg_cmp *alts, size_t max)
{
	unsigned a = c->arg;
	uint64_t v = c->value;

	switch (c->op) {
	case POLICY_OP_EQ:
		alts[0] = masked(a, LOW32, v);
		return 1;
	case POLICY_OP_NE:
		return expand_ne32(a, v, alts, max);
	case POLICY_OP_LT:
		return expand_lt32(a, v, alts, max);
	case POLICY_OP_LE:
		return v == LOW32 ? -ERANGE : expand_lt32(a, v + 1, alts, max);
	case POLICY_OP_GT:
		return expand_gt32(a, v, alts, max);
	case POLICY_OP_GE:
		return v == 0 ? -ERANGE : expand_gt32(a, v - 1, alts, max);
	case POLICY_OP_MASKED_EQ:
		return (c->mask & LOW32) == 0 ? -ERANGE : (alts[0] = masked(a, c->mask & LOW32, v), 1);
	case POLICY_OP_IN:
		return (~v & LOW32) == 0 ? -ERANGE : (alts[0] = masked(a, ~v & LOW32, 0), 1);
	default:
		return -EINVAL;
	}
}

static int expand64(const struct policy_cond *c, struct scmp_arg_cmp *alts)
{
	static const enum scmp_compare ops[] = {
		[POLICY_OP_EQ] = SCMP_CMP_EQ, [POLICY_OP_NE] = SCMP_CMP_NE, [POLICY_OP_LT] = SCMP_CMP_LT,
		[POLICY_OP_LE] = SCMP_CMP_LE, [POLICY_OP_GT] = SCMP_CMP_GT, [POLICY_OP_GE] = SCMP_CMP_GE,
	};
	uint64_t v = c->value;

	if ((c->op == POLICY_OP_LT && v == 0) || (c->op == POLICY_OP_GT && v == UINT64_MAX))
		return 0;
	if ((c->op == POLICY_OP_LE && v == UINT64_MAX) || (c->op == POLICY_OP_GE && v == 0))
		return -ERANGE;
	if (c->op == POLICY_OP_MASKED_EQ)
		return c->mask == 0 ? -ERANGE : (alts[0] = masked(c->arg, c->mask, v), 1);
	if (c->op == POLICY_OP_IN)
		return ~v == 0 ? -ERANGE : (alts[0] = masked(c->arg, ~v, 0), 1);
	if ((unsigned)c->op >= ARRAY_LEN(ops))
		return -EINVAL;
	alts[0] = (struct scmp_arg_cmp){ .arg = c->arg, .op = ops[c->op], .datum_a = v };
	return 1;
}

int cond_expand(const struct policy_cond *c, struct scmp_arg_cmp *alts, size_t max)
{
	if (max == 0)
		return -E2BIG;
	if (c->op == POLICY_OP_ONE_OF) {
		if (c->n_values > max)
			return -E2BIG;
		for (size_t i = 0; i < c->n_values; i++)
			alts[i] = c->width == 32 ? masked(c->arg, LOW32, c->values[i])
						 : (struct scmp_arg_cmp){ .arg = c->arg, .op = SCMP_CMP_EQ,
									  .datum_a = c->values[i] };
		return (int)c->n_values;
	}
	return c->width == 32 ? expand32(c, alts, max) : expand64(c, alts);
}

bool cond_equal(const struct policy_cond *a, const struct policy_cond *b)
{
	if (a->arg != b->arg || a->width != b->width || a->op != b->op)
		return false;
	if (a->op != POLICY_OP_ONE_OF)
		return a->value == b->value && a->mask == b->mask;
	if (a->n_values != b->n_values)
		return false;
	for (size_t i = 0; i < a->n_values; i++) {
		bool found = false;

		for (size_t j = 0; j < b->n_values && !found; j++)
			found = a->values[i] == b->values[j];
		if (!found)
			return false;
	}
	return true;
}

bool cond_same_set(const struct policy_cond *a, size_t na, const struct policy_cond *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		bool found = false;

		for (size_t j = 0; j < nb && !found; j++)
			found = cond_equal(&a[i], &b[j]);
		if (!found)
			return false;
	}
	return true;
}
