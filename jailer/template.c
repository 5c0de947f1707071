/* cgroup templates: strict YAML (libyaml events) → schema pairs → cgroup files.
 *
 * The schema (doc/cgroup-templates.md) is two levels deep: a section
 * (cpu, cpuset, memory, pids, io) mapping names to scalars. The parser walks
 * libyaml's event stream and accepts exactly that shape, so there is no
 * generic tree to build and nothing unbounded to hold. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "cleanup.h"
#include "fd.h"
#include "jailer.h"
#include "parse.h"
#include "path_error.h"

#define JAIL_TEMPLATE_MAX_BYTES 65536

enum jail_tv { TV_NUM_OR_MAX, TV_PERIOD, TV_CPULIST, TV_CPUMAX, TV_WEIGHT };

static const struct {
	const char *key;
	enum jail_tv type;
} jail_template_keys[] = {
	{ "cpu.quota_us", TV_NUM_OR_MAX }, { "cpu.period_us", TV_PERIOD }, { "cpu.max", TV_CPUMAX },
	{ "cpuset.cpus", TV_CPULIST },     { "cpuset.mems", TV_CPULIST },
	{ "memory.limit", TV_NUM_OR_MAX }, { "memory.swap", TV_NUM_OR_MAX },
	{ "pids.max", TV_NUM_OR_MAX },     { "io.weight", TV_WEIGHT },
};

static int jail_tv_check(enum jail_tv type, const char *v)
{
	uint64_t n;
	char q[32], per[32], extra;

	switch (type) {
	case TV_NUM_OR_MAX:
		return strcmp(v, "max") == 0 || parse_u64(v, false, INT64_MAX, &n) == 0 ? 0 : -EINVAL;
	case TV_PERIOD:
		return parse_u64(v, false, 1000000, &n) == 0 && n >= 1000 ? 0 : -EINVAL;
	case TV_WEIGHT:
		return parse_u64(v, false, 1000, &n) == 0 && n >= 10 ? 0 : -EINVAL;
	case TV_CPULIST:
		return v[0] && strlen(v) < 128 && strspn(v, "0123456789,-") == strlen(v) ? 0 : -EINVAL;
	case TV_CPUMAX:
		if (sscanf(v, "%31s %31s %c", q, per, &extra) != 2)
			return -EINVAL;
		return jail_tv_check(TV_NUM_OR_MAX, q) == 0 && jail_tv_check(TV_PERIOD, per) == 0 ? 0 : -EINVAL;
	}
	return -EINVAL;
}

static int jail_template_key_find(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(jail_template_keys); i++)
		if (strcmp(jail_template_keys[i].key, key) == 0)
			return (int)i;
	return -1;
}

/* Anchors, aliases and explicit tags have no place in a flat settings file;
 * refusing them closes off alias bombs and type confusion. */
static int jail_yaml_event_check(const yaml_event_t *e, char *err, size_t errlen)
{
	const unsigned char *anchor = NULL, *tag = NULL;

	if (e->type == YAML_ALIAS_EVENT) {
		jail_errf(err, errlen, "template line %zu: aliases are not allowed", e->start_mark.line + 1);
		return -EINVAL;
	}
	if (e->type == YAML_SCALAR_EVENT) {
		anchor = e->data.scalar.anchor;
		tag = e->data.scalar.tag;
	} else if (e->type == YAML_MAPPING_START_EVENT) {
		anchor = e->data.mapping_start.anchor;
		tag = e->data.mapping_start.tag;
	} else if (e->type == YAML_SEQUENCE_START_EVENT) {
		jail_errf(err, errlen, "template line %zu: lists are not allowed", e->start_mark.line + 1);
		return -EINVAL;
	}
	if (anchor || tag) {
		jail_errf(err, errlen, "template line %zu: %s are not allowed", e->start_mark.line + 1,
			  anchor ? "anchors" : "tags");
		return -EINVAL;
	}
	return 0;
}

/* Parser state: depth 0 = top mapping (sections), 1 = inside a section. */
struct jail_tp {
	int depth;
	char section[32];
	char key[32];            /* pending key at the current depth, "" if none */
	bool documents_done;
	bool sections_seen[8];
	size_t n;
};

static const char *const jail_sections[] = { "cpu", "cpuset", "memory", "pids", "io" };

static int jail_tp_scalar(struct jail_tp *t, const char *v, size_t line, struct jail_template_value *out, size_t max,
			  char *err, size_t errlen)
{
	char full[JAIL_CGROUP_FILE_MAX];
	int k;

	if (t->depth == 0 || !t->key[0]) {
		if (strlen(v) >= sizeof(t->key)) {
			jail_errf(err, errlen, "template line %zu: key too long", line);
			return -EINVAL;
		}
		snprintf(t->key, sizeof(t->key), "%s", v);
		if (t->depth == 0) {
			jail_errf(err, errlen, "template line %zu: section \"%s\" must be a mapping", line, v);
			return -EAGAIN; /* a key at depth 0 is legal only if a mapping follows */
		}
		return 0;
	}
	snprintf(full, sizeof(full), "%s.%s", t->section, t->key);
	t->key[0] = '\0';
	k = jail_template_key_find(full);
	if (k < 0) {
		jail_errf(err, errlen, "template line %zu: unknown key %s", line, full);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(out[i].key, full) == 0) {
			jail_errf(err, errlen, "template line %zu: duplicate key %s", line, full);
			return -EINVAL;
		}
	if (strlen(v) >= JAIL_CGROUP_VALUE_MAX || jail_tv_check(jail_template_keys[k].type, v) < 0) {
		jail_errf(err, errlen, "template line %zu: invalid value for %s: \"%.64s\"", line, full, v);
		return -EINVAL;
	}
	if (t->n >= max) {
		jail_errf(err, errlen, "template: too many values");
		return -E2BIG;
	}
	snprintf(out[t->n].key, sizeof(out[t->n].key), "%s", full);
	snprintf(out[t->n].value, sizeof(out[t->n].value), "%s", v);
	t->n++;
	return 0;
}

static int jail_tp_section(struct jail_tp *t, size_t line, char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(jail_sections); i++) {
		if (strcmp(t->key, jail_sections[i]) != 0)
			continue;
		if (t->sections_seen[i]) {
			jail_errf(err, errlen, "template line %zu: duplicate section %s", line, t->key);
			return -EINVAL;
		}
		t->sections_seen[i] = true;
		snprintf(t->section, sizeof(t->section), "%s", t->key);
		t->key[0] = '\0';
		t->depth = 1;
		return 0;
	}
	jail_errf(err, errlen, "template line %zu: unknown section \"%s\"", line, t->key);
	return -EINVAL;
}

static int jail_tp_event(struct jail_tp *t, const yaml_event_t *e, struct jail_template_value *out, size_t max,
			 char *err, size_t errlen, bool *pending_section)
{
	size_t line = e->start_mark.line + 1;
	int r = jail_yaml_event_check(e, err, errlen);

	if (r < 0)
		return r;
	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (t->documents_done) {
			jail_errf(err, errlen, "template line %zu: only one document is allowed", line);
			return -EINVAL;
		}
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		t->documents_done = true;
		return 0;
	case YAML_MAPPING_START_EVENT:
		if (t->depth == -1) {
			t->depth = 0;
			return 0;
		}
		if (t->depth == 0 && *pending_section) {
			*pending_section = false;
			return jail_tp_section(t, line, err, errlen);
		}
		jail_errf(err, errlen, "template line %zu: a mapping is not allowed here", line);
		return -EINVAL;
	case YAML_MAPPING_END_EVENT:
		t->depth--;
		return 0;
	case YAML_SCALAR_EVENT:
		if (t->depth < 0 || (t->depth == 0 && *pending_section)) {
			jail_errf(err, errlen, "template line %zu: %s", line,
				  t->depth < 0 ? "the template must be a mapping" : "a section must be a mapping");
			return -EINVAL;
		}
		r = jail_tp_scalar(t, (const char *)e->data.scalar.value, line, out, max, err, errlen);
		if (r == -EAGAIN) {
			*pending_section = true;
			return 0;
		}
		return r;
	default:
		return 0;
	}
}

int jail_template_parse(const char *buf, size_t len, struct jail_template_value *ret, size_t max, char *err,
			size_t errlen)
{
	struct jail_tp t = { .depth = -1 };
	yaml_parser_t parser;
	bool done = false, pending = false;
	int r = 0;

	if (len > JAIL_TEMPLATE_MAX_BYTES) {
		jail_errf(err, errlen, "template larger than %d bytes", JAIL_TEMPLATE_MAX_BYTES);
		return -EFBIG;
	}
	if (memchr(buf, '\0', len)) {
		jail_errf(err, errlen, "template contains a NUL byte");
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && r >= 0) {
		yaml_event_t e;

		if (!yaml_parser_parse(&parser, &e)) {
			jail_errf(err, errlen, "template line %zu: %s", parser.problem_mark.line + 1,
				  parser.problem ? parser.problem : "YAML syntax error");
			r = -EINVAL;
			break;
		}
		done = e.type == YAML_STREAM_END_EVENT;
		r = jail_tp_event(&t, &e, ret, max, err, errlen, &pending);
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&parser);
	if (r >= 0 && pending) {
		jail_errf(err, errlen, "template: section \"%s\" must be a mapping", t.key);
		r = -EINVAL;
	}
	return r < 0 ? r : (int)t.n;
}

static const char *jail_tpl_get(const struct jail_template_value *in, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(in[i].key, key) == 0)
			return in[i].value;
	return NULL;
}

static int jail_tpl_emit(struct jail_cgroup_value *out, size_t *n, size_t max, const char *file, const char *value,
			 bool optional)
{
	struct jail_cgroup_value *v;

	if (*n >= max)
		return -E2BIG;
	v = &out[*n];
	memset(v, 0, sizeof(*v));
	v->hier = -1;
	v->optional = optional;
	snprintf(v->file, sizeof(v->file), "%s", file);
	snprintf(v->value, sizeof(v->value), "%s", value);
	if (jail_cgroup_check_file(v->file, v->controller, sizeof(v->controller)) < 0 ||
	    jail_cgroup_check_value(v->value) < 0)
		return -EINVAL;
	(*n)++;
	return 0;
}

/* v1: memory.memsw.limit_in_bytes is memory plus swap, so it needs a limit. */
static int jail_tpl_memory(const struct jail_template_value *in, size_t nin, int version,
			   struct jail_cgroup_value *out, size_t *n, size_t max, char *err, size_t errlen)
{
	const char *limit = jail_tpl_get(in, nin, "memory.limit"), *swap = jail_tpl_get(in, nin, "memory.swap");
	uint64_t l, sw;
	char sum[32];
	int r = 0;

	if (limit)
		r = jail_tpl_emit(out, n, max, version == 1 ? "memory.limit_in_bytes" : "memory.max", limit, false);
	if (r < 0 || !swap)
		return r;
	if (version == 2)
		return jail_tpl_emit(out, n, max, "memory.swap.max", swap, false);
	if (!limit || strcmp(limit, "max") == 0 || strcmp(swap, "max") == 0) {
		if (!limit || strcmp(limit, "max") != 0 || strcmp(swap, "max") != 0) {
			jail_errf(err, errlen, "template: on cgroup v1 memory.swap needs a numeric memory.limit");
			return -EINVAL;
		}
		return jail_tpl_emit(out, n, max, "memory.memsw.limit_in_bytes", "-1", false);
	}
	parse_u64(limit, false, INT64_MAX, &l);
	parse_u64(swap, false, INT64_MAX, &sw);
	if (l > INT64_MAX - sw) {
		jail_errf(err, errlen, "template: memory.limit + memory.swap overflows");
		return -EINVAL;
	}
	snprintf(sum, sizeof(sum), "%llu", (unsigned long long)(l + sw));
	return jail_tpl_emit(out, n, max, "memory.memsw.limit_in_bytes", sum, false);
}

/* quota_us/period_us and cpu.max say the same thing; one of the two forms. */
static int jail_tpl_cpu(const struct jail_template_value *in, size_t nin, int version, struct jail_cgroup_value *out,
			size_t *n, size_t max, char *err, size_t errlen)
{
	const char *quota = jail_tpl_get(in, nin, "cpu.quota_us"), *period = jail_tpl_get(in, nin, "cpu.period_us");
	const char *cmax = jail_tpl_get(in, nin, "cpu.max");
	char q[32] = "max", per[32] = "100000", buf[80];
	int r = 0;

	if (cmax && (quota || period)) {
		jail_errf(err, errlen, "template: give cpu.max or cpu.quota_us/period_us, not both");
		return -EINVAL;
	}
	if (cmax)
		sscanf(cmax, "%31s %31s", q, per);
	/* Both were checked by jail_tv_check: at most 19 digits or "max". */
	if (quota && snprintf(q, sizeof(q), "%s", quota) >= (int)sizeof(q))
		return -EINVAL;
	if (period && snprintf(per, sizeof(per), "%s", period) >= (int)sizeof(per))
		return -EINVAL;
	if (!cmax && !quota && !period)
		return 0;
	if (version == 2) {
		snprintf(buf, sizeof(buf), "%s %s", q, per);
		return jail_tpl_emit(out, n, max, "cpu.max", buf, false);
	}
	r = jail_tpl_emit(out, n, max, "cpu.cfs_period_us", per, false);
	if (r >= 0)
		r = jail_tpl_emit(out, n, max, "cpu.cfs_quota_us", strcmp(q, "max") ? q : "-1", false);
	return r;
}

int jail_template_to_files(const struct jail_template_value *in, size_t nin, int version,
			   struct jail_cgroup_value *out, size_t max, char *err, size_t errlen)
{
	const char *v;
	size_t n = 0;
	int r;

	/* cpuset first: a v1 cpuset takes no task before cpus and mems are set. */
	r = (v = jail_tpl_get(in, nin, "cpuset.cpus")) ? jail_tpl_emit(out, &n, max, "cpuset.cpus", v, false) : 0;
	if (r >= 0 && (v = jail_tpl_get(in, nin, "cpuset.mems")))
		r = jail_tpl_emit(out, &n, max, "cpuset.mems", v, false);
	if (r >= 0)
		r = jail_tpl_cpu(in, nin, version, out, &n, max, err, errlen);
	if (r >= 0)
		r = jail_tpl_memory(in, nin, version, out, &n, max, err, errlen);
	if (r >= 0 && (v = jail_tpl_get(in, nin, "pids.max")))
		r = jail_tpl_emit(out, &n, max, "pids.max", v, false);
	if (r >= 0 && (v = jail_tpl_get(in, nin, "io.weight")))
		r = jail_tpl_emit(out, &n, max, version == 1 ? "blkio.weight" : "io.weight", v, true);
	if (r < 0 && !err[0])
		jail_errf(err, errlen, "template: a value maps to an invalid cgroup file or value");
	return r < 0 ? r : (int)n;
}

static int jail_template_path(const char *name_or_path, const char *dir, char *ret, size_t len, char *err,
			      size_t errlen)
{
	if (strchr(name_or_path, '/')) {
		snprintf(ret, len, "%s", name_or_path);
		return 0;
	}
	if (!name_or_path[0] || strlen(name_or_path) > 64 ||
	    strspn(name_or_path, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(name_or_path)) {
		jail_errf(err, errlen, "Invalid cgroup template name: %.64s ([a-z0-9-_], or a path with '/')",
			  name_or_path);
		return -EINVAL;
	}
	if (snprintf(ret, len, "%s/%s.yaml", dir, name_or_path) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int jail_template_load(const char *name_or_path, const char *templates_dir, int version,
		       struct jail_cgroup_value *out, size_t max, char *err, size_t errlen)
{
	struct jail_template_value pairs[ARRAY_SIZE(jail_template_keys)];
	char path[PATH_MAX], perr[256] = "";
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t len;
	int r, n;

	r = jail_template_path(name_or_path, templates_dir, path, sizeof(path), err, errlen);
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		char why[PATH_MAX + 160];

		jail_errf(err, errlen, "Cannot open cgroup template %s", path_error(why, sizeof(why), path, e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		jail_errf(err, errlen, "Cgroup template %s is not a regular file", path);
		return -EINVAL;
	}
	r = fd_read_all(fd, JAIL_TEMPLATE_MAX_BYTES, &buf, &len);
	if (r < 0) {
		jail_errf(err, errlen, "Cannot read cgroup template %s: %s", path, strerror(-r));
		return r;
	}
	n = jail_template_parse(buf, len, pairs, ARRAY_SIZE(pairs), perr, sizeof(perr));
	if (n >= 0)
		n = jail_template_to_files(pairs, (size_t)n, version, out, max, perr, sizeof(perr));
	if (n < 0)
		jail_errf(err, errlen, "cgroup template %s: %s", path, perr);
	return n;
}
