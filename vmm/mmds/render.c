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
