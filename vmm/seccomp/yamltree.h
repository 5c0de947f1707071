/* A small, strict YAML tree for policy files, built from libyaml events.
 *
 * Working at the event level (not yaml_document_t) lets the loader see what
 * the document API hides or resolves: anchors, aliases, tags, directives and
 * the style of each scalar. All of these are refused here, with the position
 * of the offending token, so that a policy means exactly what it shows. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum ytree_kind { YT_SCALAR, YT_SEQ, YT_MAP };

struct ytree {
	enum ytree_kind kind;
	unsigned line, col;   /* 1-based position of the node's first character */
	char *scalar;         /* YT_SCALAR: the value, NUL-terminated */
	bool plain;           /* YT_SCALAR: written without quotes or block style */
	struct ytree **items; /* YT_SEQ: elements; YT_MAP: key, value, key, value ... */
	size_t n;             /* number of entries in items */
};

/* The first error found: a message and where it points. */
struct ytree_error {
	unsigned line, col;
	char msg[200];
};

/* Caps that keep hostile input from growing the tree without bound. */
#define YTREE_MAX_INPUT (1u << 20)
#define YTREE_MAX_DEPTH 16
#define YTREE_MAX_NODES 100000

/* Parses one YAML document of len bytes. On success *ret_root owns the tree
 * (free it with ytree_free). Returns 0, -EINVAL (err filled in) or -ENOMEM. */
int ytree_parse(const char *buf, size_t len, struct ytree **ret_root, struct ytree_error *err);

/* Frees a tree; accepts NULL and returns NULL. */
struct ytree *ytree_free(struct ytree *t);

/* For a YT_MAP: the value under key, or NULL. */
const struct ytree *ytree_map_get(const struct ytree *map, const char *key);
