/* The freestanding minimum: memory functions (gcc may emit calls to them)
 * and a small printf-style formatter for the probe's output lines. */
#include "probe.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

size_t strlen(const char *s)
{
	return strnlen(s, SIZE_MAX);
}

struct fmt_out {
	char *buf;
	size_t len, pos;
};

static void fmt_putc(struct fmt_out *o, char c)
{
	if (o->pos + 1 < o->len)
		o->buf[o->pos] = c;
	o->pos++;
}

static void fmt_number(struct fmt_out *o, uint64_t v, unsigned base, unsigned width, bool neg)
{
	char tmp[24];
	unsigned n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		fmt_putc(o, '-');
	while (width > n && width--)
		fmt_putc(o, '0');
	while (n)
		fmt_putc(o, tmp[--n]);
}

/* One conversion at *fmt (after the '%'); returns the advanced format. */
static const char *fmt_conv(struct fmt_out *o, const char *fmt, va_list *ap)
{
	unsigned width = 0, longs = 0;
	const char *s;

	while (*fmt >= '0' && *fmt <= '9')
		width = width * 10 + (unsigned)(*fmt++ - '0');
	while (*fmt == 'l' || *fmt == 'z')
		longs += *fmt++ == 'z' ? 2 : 1;
	switch (*fmt) {
	case 'd': {
		int64_t v = longs ? va_arg(*ap, int64_t) : va_arg(*ap, int);

		fmt_number(o, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 10, width, v < 0);
		break;
	}
	case 'u':
	case 'x':
		fmt_number(o, longs ? va_arg(*ap, uint64_t) : va_arg(*ap, unsigned), *fmt == 'x' ? 16 : 10, width, false);
		break;
	case 'c':
		fmt_putc(o, (char)va_arg(*ap, int));
		break;
	case 's':
		for (s = va_arg(*ap, const char *); s && *s; s++)
			fmt_putc(o, *s);
		break;
	case '\0':
		return fmt;
	default:
		fmt_putc(o, *fmt);
	}
	return fmt + 1;
}

int probe_vfmt(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct fmt_out o = { .buf = buf, .len = len };
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%')
			fmt_putc(&o, *fmt++);
		else
			fmt = fmt_conv(&o, fmt + 1, &aq);
	}
	va_end(aq);
	if (len)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	return (int)o.pos;
}

int probe_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = probe_vfmt(buf, len, fmt, ap);
	va_end(ap);
	return n;
}
