#include "parse.h"

#include <errno.h>
#include <stddef.h>

int parse_digit(char c, unsigned base)
{
	unsigned v;

	if (c >= '0' && c <= '9')
		v = (unsigned)(c - '0');
	else if (c >= 'a' && c <= 'f')
		v = (unsigned)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		v = (unsigned)(c - 'A' + 10);
	else
		return -1;
	return v < base ? (int)v : -1;
}

int parse_u64(const char *s, bool allow_hex, uint64_t max, uint64_t *ret)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (!allow_hex)
			return -EINVAL;
		base = 16;
		s += 2;
		if (!*s)
			return -EINVAL;
	} else if (s[0] == '0' && s[1] != '\0') {
		return -EINVAL; /* a leading zero reads as octal to some tools: refuse the ambiguity */
	}
	for (; *s; s++) {
		int d = parse_digit(*s, base);

		if (d < 0)
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return -ERANGE;
		v = v * base + (uint64_t)d;
	}
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r = parse_u64(s, false, UINT32_MAX, &v);

	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}
