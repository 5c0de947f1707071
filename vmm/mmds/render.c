/* Guest-side reads of the MMDS data store: path lookup and the IMDS text
 * format (see store.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "mmds/store.h"

/* Decodes one JSON Pointer segment (RFC 6901 §4: ~1 is '/', ~0 is '~'). */
static char *segment_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '~' && i + 1 < len && (s[i + 1] == '0' || s[i + 1] == '1')) {
			*o++ = s[++i] == '0' ? '~' : '/';
			continue;
		}
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static const json_t *segment_step(const json_t *v, const char *seg)
{
	char *end;
	unsigned long idx;

	if (json_is_object(v))
		return json_object_get(v, seg);
	if (!json_is_array(v) || !*seg || (seg[0] == '0' && seg[1]) || seg[0] < '0' || seg[0] > '9')
		return NULL;
	idx = strtoul(seg, &end, 10);
	return *end ? NULL : json_array_get(v, idx);
}

int mmds_store_lookup(const struct mmds_store *store, const char *path, const json_t **ret)
{
	const json_t *v = mmds_store_data(store);
	const char *p = path;

	if (!path || path[0] != '/')
		return -EINVAL;
	if (!v)
		return -ENOENT;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		_cleanup_free_ char *seg = segment_decode(p, len);
		if (!seg)
			return -ENOMEM;
		v = segment_step(v, seg);
		if (!v)
			return -ENOENT;
		p += len;
	}
	*ret = v;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int render_object(const json_t *v, char **ret)
{
	size_t n = json_object_size(v), i = 0, total = 1;
	_cleanup_free_ const char **keys = calloc(n ? n : 1, sizeof(*keys));
	const char *k;
	json_t *e;
	char *out, *o;

	if (!keys)
		return -ENOMEM;
	json_object_foreach((json_t *)v, k, e) {
		keys[i++] = k;
		total += strlen(k) + 2;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	out = o = malloc(total);
	if (!out)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		size_t len = strlen(keys[i]);
		if (i)
			*o++ = '\n';
		memcpy(o, keys[i], len);
		o += len;
		if (json_is_object(json_object_get(v, keys[i])))
			*o++ = '/';
	}
	*o = '\0';
	*ret = out;
	return 0;
}

int mmds_render_imds(const json_t *v, char **ret)
{
	char *s;

	if (json_is_object(v))
		return render_object(v, ret);
	if (!json_is_string(v))
		return -EPROTONOSUPPORT;
	/* memcpy, not strndup: a JSON string may hold NUL ("\u0000"). */
	s = malloc(json_string_length(v) + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, json_string_value(v), json_string_length(v) + 1);
	*ret = s;
	return 0;
}

/* serde_json's escapes (what Firecracker answers): the two-character forms
 * it has, \u00xx in lowercase hex for the other control characters; every
 * other byte, UTF-8 included, as it is. */
static size_t json_escape(unsigned char c, char out[6])
{
	static const char hex[] = "0123456789abcdef";
	static const char *const two[0x20] = { ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r",
					       ['\t'] = "\\t" };

	if (c == '"' || c == '\\') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	if (c >= 0x20) {
		out[0] = (char)c;
		return 1;
	}
	if (two[c]) {
		memcpy(out, two[c], 2);
		return 2;
	}
	memcpy(out, "\\u00", 4);
	out[4] = hex[c >> 4];
	out[5] = hex[c & 0xf];
	return 6;
}

int mmds_render_json_string(const json_t *v, char **ret)
{
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	size_t len = json_string_length(v), n = 1;
	char *out, *p;

	/* jansson's own dump walks a string one code point at a time through
	 * its buffer: a 10 KiB value took ~60 us; this is one pass. */
	out = malloc(len * 6 + 3);
	if (!out)
		return -ENOMEM;
	out[0] = '"';
	for (size_t i = 0; i < len; i++) {
		size_t run = i;

		while (run < len && s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
			run++;
		memcpy(out + n, s + i, run - i);
		n += run - i;
		if (run == len)
			break;
		n += json_escape(s[run], out + n);
		i = run;
	}
	out[n++] = '"';
	out[n] = 0;
	p = realloc(out, n + 1);
	*ret = p ? p : out;
	return 0;
}

void mmds_json_lowercase_escapes(char *text)
{
	for (char *p = text; *p; p++) {
		if (*p != '\\' || !p[1])
			continue;
		if (p[1] == 'u')
			for (int i = 2; i < 6 && p[i]; i++)
				if (p[i] >= 'A' && p[i] <= 'F')
					p[i] = (char)(p[i] - 'A' + 'a');
		p++; /* the escaped character is not the start of another escape */
	}
}
