#include "sigsafe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

struct sink {
	char *buf;
	size_t len, n; /* n counts every byte, written or not */
};

static void put_char(struct sink *s, char c)
{
	if (s->n + 1 < s->len)
		s->buf[s->n] = c;
	s->n++;
}

static void put_str(struct sink *s, const char *str, int max)
{
	if (!str)
		str = "(null)";
	for (int i = 0; str[i] && (max < 0 || i < max); i++)
		put_char(s, str[i]);
}

static void put_num(struct sink *s, uint64_t v, bool negative, unsigned base)
{
	char digits[24];
	unsigned n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (negative)
		put_char(s, '-');
	while (n)
		put_char(s, digits[--n]);
}

/* One integer conversion: size is 0 (int), 1 (long), 2 (long long) or 3 (size_t). */
static void put_int(struct sink *s, char conv, int size, va_list *ap)
{
	uint64_t u;
	int64_t v;

	if (conv == 'd' || conv == 'i') {
		v = size == 0 ? va_arg(*ap, int) : size == 1 ? va_arg(*ap, long) :
		    size == 2 ? va_arg(*ap, long long) : (int64_t)va_arg(*ap, size_t);
		put_num(s, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0, 10);
		return;
	}
	u = size == 0 ? va_arg(*ap, unsigned) : size == 1 ? va_arg(*ap, unsigned long) :
	    size == 2 ? va_arg(*ap, unsigned long long) : va_arg(*ap, size_t);
	put_num(s, u, false, conv == 'x' ? 16 : 10);
}

int sigsafe_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .len = len };
	va_list aq;

	va_copy(aq, ap);
	for (const char *p = fmt; *p; p++) {
		int size = 0, max = -1;

		if (*p != '%') {
			put_char(&s, *p);
			continue;
		}
		p++;
		if (p[0] == '.' && p[1] == '*') {
			max = va_arg(aq, int);
			p += 2;
			if (*p != 's')
				goto bad;
		}
		for (; *p == 'l' && size < 2; p++)
			size++;
		if (*p == 'z' && size == 0) {
			size = 3;
			p++;
		}
		if (*p == '%' && size == 0)
			put_char(&s, '%');
		else if (*p == 's' && size == 0)
			put_str(&s, va_arg(aq, const char *), max < 0 ? -1 : max);
		else if (*p == 'c' && size == 0)
			put_char(&s, (char)va_arg(aq, int));
		else if (*p == 'd' || *p == 'i' || *p == 'u' || *p == 'x')
			put_int(&s, *p, size, &aq);
		else
			goto bad;
	}
	va_end(aq);
	if (len)
		buf[s.n < len ? s.n : len - 1] = '\0';
	return (int)s.n;
bad:
	va_end(aq);
	if (len)
		buf[0] = '\0';
	return -EINVAL;
}

int sigsafe_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = sigsafe_vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return r;
}
