#include "yamltree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cleanup.h"

struct ybuild {
	yaml_parser_t parser;
	struct ytree_error *err;
	size_t nodes;
	bool failed;
};

_printf_(3, 4) static int yfail(struct ybuild *b, const yaml_mark_t *mark, const char *fmt, ...)
{
	va_list ap;

	if (!b->failed) {
		b->failed = true;
		b->err->line = (unsigned)mark->line + 1;
		b->err->col = (unsigned)mark->column + 1;
		va_start(ap, fmt);
		vsnprintf(b->err->msg, sizeof(b->err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

struct ytree *ytree_free(struct ytree *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		ytree_free(t->items[i]);
	free(t->items);
	free(t->scalar);
	return mfree(t);
}

/* YAML 1.1 reads these plain words as booleans while YAML 1.2 reads them as
 * strings: a reader cannot tell which the author meant, so they are refused. */
static bool is_yaml11_bool(const char *s)
{
	static const char *const words[] = { "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
					     "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
					     "ON", "off", "Off", "OFF" };
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

/* 0644 is octal in YAML 1.1 and decimal in 1.2; 0o644 only in 1.2. */
static bool is_octal_like(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		return true;
	return s[0] == '0' && s[1] >= '0' && s[1] <= '9';
}

static int node_new(struct ybuild *b, const yaml_event_t *ev, enum ytree_kind kind, struct ytree **ret)
{
	struct ytree *t;

	if (++b->nodes > YTREE_MAX_NODES)
		return yfail(b, &ev->start_mark, "too many nodes (at most %u)", YTREE_MAX_NODES);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->kind = kind;
	t->line = (unsigned)ev->start_mark.line + 1;
	t->col = (unsigned)ev->start_mark.column + 1;
	*ret = t;
	return 0;
}

static int check_props(struct ybuild *b, const yaml_event_t *ev, const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor)
		return yfail(b, &ev->start_mark, "anchors are not allowed (&%s)", (const char *)anchor);
	if (tag)
		return yfail(b, &ev->start_mark, "tags are not allowed (%s)", (const char *)tag);
	return 0;
}

static int scalar_build(struct ybuild *b, const yaml_event_t *ev, struct ytree **ret)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	struct ytree *t;
	int r;

	r = check_props(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
	if (r < 0)
		return r;
	if (memchr(v, '\0', len))
		return yfail(b, &ev->start_mark, "NUL byte in a scalar");
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (is_yaml11_bool(v))
			return yfail(b, &ev->start_mark,
				     "'%s' is a boolean in YAML 1.1 and a string in 1.2: quote it", v);
		if (is_octal_like(v))
			return yfail(b, &ev->start_mark,
				     "'%s' looks octal: write integers in decimal or 0x-hex", v);
	}
	r = node_new(b, ev, YT_SCALAR, &t);
	if (r < 0)
		return r;
	t->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	t->scalar = strndup(v, len);
	if (!t->scalar) {
		ytree_free(t);
		return -ENOMEM;
	}
	*ret = t;
	return 0;
}

static int next_event(struct ybuild *b, yaml_event_t *ev)
{
	yaml_mark_t mark;

	if (yaml_parser_parse(&b->parser, ev))
		return 0;
	mark = b->parser.problem_mark;
	return yfail(b, &mark, "YAML syntax: %s%s%s", b->parser.problem ? b->parser.problem : "error",
		     b->parser.context ? " " : "", b->parser.context ? b->parser.context : "");
}

static int node_build(struct ybuild *b, yaml_event_t *ev, unsigned depth, struct ytree **ret);

static int items_push(struct ytree *t, struct ytree *item)
{
	struct ytree **n = realloc(t->items, (t->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	t->items = n;
	t->items[t->n++] = item;
	return 0;
}

/* Refuses non-scalar keys and a key that the mapping already has. */
static int map_check_key(struct ybuild *b, const struct ytree *map, const struct ytree *key,
			 const yaml_event_t *ev)
{
	if (key->kind != YT_SCALAR)
		return yfail(b, &ev->start_mark, "mapping keys must be scalars");
	for (size_t i = 0; i < map->n; i += 2)
		if (strcmp(map->items[i]->scalar, key->scalar) == 0) {
			yaml_mark_t m = { .line = key->line - 1, .column = key->col - 1 };
			return yfail(b, &m, "duplicate key '%s' (first at %u:%u)", key->scalar,
				     map->items[i]->line, map->items[i]->col);
		}
	return 0;
}

static int collection_build(struct ybuild *b, yaml_event_t *start, unsigned depth, struct ytree **ret)
{
	bool is_map = start->type == YAML_MAPPING_START_EVENT;
	yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
	struct ytree *t;
	int r;

	if (depth > YTREE_MAX_DEPTH)
		return yfail(b, &start->start_mark, "nesting deeper than %u levels", YTREE_MAX_DEPTH);
	r = is_map ? check_props(b, start, start->data.mapping_start.anchor, start->data.mapping_start.tag)
		   : check_props(b, start, start->data.sequence_start.anchor, start->data.sequence_start.tag);
	if (r < 0)
		return r;
	r = node_new(b, start, is_map ? YT_MAP : YT_SEQ, &t);
	if (r < 0)
		return r;
	for (;;) {
		yaml_event_t ev;
		struct ytree *child = NULL;

		r = next_event(b, &ev);
		if (r < 0)
			break;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			*ret = t;
			return 0;
		}
		r = node_build(b, &ev, depth + 1, &child);
		if (r >= 0 && is_map && t->n % 2 == 0)
			r = map_check_key(b, t, child, &ev);
		yaml_event_delete(&ev);
		if (r >= 0)
			r = items_push(t, child);
		if (r < 0) {
			ytree_free(child);
			break;
		}
	}
	ytree_free(t);
	return r;
}

static int node_build(struct ybuild *b, yaml_event_t *ev, unsigned depth, struct ytree **ret)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return scalar_build(b, ev, ret);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return collection_build(b, ev, depth, ret);
	case YAML_ALIAS_EVENT:
		return yfail(b, &ev->start_mark, "aliases are not allowed (*%s)", (const char *)ev->data.alias.anchor);
	default:
		return yfail(b, &ev->start_mark, "unexpected YAML event %d", (int)ev->type);
	}
}

static int expect_event(struct ybuild *b, yaml_event_type_t type, const char *what)
{
	yaml_event_t ev;
	int r = next_event(b, &ev);

	if (r < 0)
		return r;
	if (ev.type != type)
		r = yfail(b, &ev.start_mark, "%s", what);
	else if (type == YAML_DOCUMENT_START_EVENT &&
		 (ev.data.document_start.version_directive || ev.data.document_start.tag_directives.start))
		r = yfail(b, &ev.start_mark, "%%YAML and %%TAG directives are not allowed");
	yaml_event_delete(&ev);
	return r;
}

static int document_build(struct ybuild *b, struct ytree **ret)
{
	yaml_event_t ev;
	struct ytree *root = NULL;
	int r;

	r = expect_event(b, YAML_STREAM_START_EVENT, "expected a YAML stream");
	if (r >= 0)
		r = expect_event(b, YAML_DOCUMENT_START_EVENT, "the file holds no YAML document");
	if (r >= 0)
		r = next_event(b, &ev);
	if (r < 0)
		return r;
	r = node_build(b, &ev, 0, &root);
	yaml_event_delete(&ev);
	if (r >= 0)
		r = expect_event(b, YAML_DOCUMENT_END_EVENT, "expected the end of the document");
	if (r >= 0)
		r = expect_event(b, YAML_STREAM_END_EVENT, "only one YAML document is allowed");
	if (r < 0) {
		ytree_free(root);
		return r;
	}
	*ret = root;
	return 0;
}

int ytree_parse(const char *buf, size_t len, struct ytree **ret_root, struct ytree_error *err)
{
	struct ybuild b = { .err = err };
	struct ytree *root = NULL;
	int r;

	memset(err, 0, sizeof(*err));
	if (len > YTREE_MAX_INPUT) {
		err->line = err->col = 1;
		snprintf(err->msg, sizeof(err->msg), "policy larger than %u bytes", YTREE_MAX_INPUT);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&b.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);
	r = document_build(&b, &root);
	yaml_parser_delete(&b.parser);
	if (r < 0)
		return b.failed ? -EINVAL : r;
	*ret_root = root;
	return 0;
}

const struct ytree *ytree_map_get(const struct ytree *map, const char *key)
{
	if (!map || map->kind != YT_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (strcmp(map->items[i]->scalar, key) == 0)
			return map->items[i + 1];
	return NULL;
}
