#include "cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int cmdline_check_chars(const char *s, size_t len, char *err, size_t errlen)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e) {
			snprintf(err, errlen, "String contains a non-printable ASCII character (byte %zu)", i);
			return -EINVAL;
		}
	}
	return 0;
}

int cmdline_validate(const char *s, char *err, size_t errlen)
{
	size_t len = strnlen(s, LAYOUT_CMDLINE_MAX);

	if (len >= LAYOUT_CMDLINE_MAX) {
		snprintf(err, errlen, "Inserting string would make command line too long (limit %u bytes)",
			 LAYOUT_CMDLINE_MAX);
		return -E2BIG;
	}
	return cmdline_check_chars(s, len, err, errlen);
}

int cmdline_init(struct cmdline *cl, const char *boot_args, char *err, size_t errlen)
{
	const char *s = boot_args ? boot_args : CMDLINE_DEFAULT;
	int r = cmdline_validate(s, err, errlen);

	if (r < 0)
		return r;
	cl->len = strlen(s);
	memcpy(cl->buf, s, cl->len + 1);
	return 0;
}

int cmdline_append(struct cmdline *cl, const char *part, char *err, size_t errlen)
{
	size_t sep = cl->len ? 1 : 0;
	size_t len = strnlen(part, LAYOUT_CMDLINE_MAX);
	int r;

	if (len == 0) {
		snprintf(err, errlen, "String is empty");
		return -EINVAL;
	}
	r = cmdline_check_chars(part, len, err, errlen);
	if (r < 0)
		return r;
	if (cl->len + sep + len + 1 > LAYOUT_CMDLINE_MAX) {
		snprintf(err, errlen, "Inserting string would make command line too long (limit %u bytes)",
			 LAYOUT_CMDLINE_MAX);
		return -E2BIG;
	}
	if (sep)
		cl->buf[cl->len++] = ' ';
	memcpy(cl->buf + cl->len, part, len + 1);
	cl->len += len;
	return 0;
}
