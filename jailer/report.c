/* What the jailer tells the operator: the --dry-run plan, the one-line error,
 * the --status-fd JSON line, and the outcome pipe between the jailer the
 * operator started and the process that becomes the VMM. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "jailer.h"
#include "parse.h"

static void jail_print_namespaces(const struct jail_plan *p, FILE *f)
{
	fprintf(f, "namespaces: mount%s%s%s%s%s%s\n", p->new_pid_ns ? " pid" : "", p->new_user_ns ? " user" : "",
		p->new_ipc_ns ? " ipc" : "", p->new_uts_ns ? " uts" : "", p->netns[0] ? " net=" : "", p->netns);
}

static void jail_print_cgroups(const struct jail_plan *p, FILE *f)
{
	if (p->n_cgroups == 0) {
		fprintf(f, "cgroups: none\n");
		return;
	}
	fprintf(f, "cgroup-version: %d\n", p->cgroup_version);
	for (size_t h = 0; h < p->n_hier; h++)
		fprintf(f, "cgroup-dir: %s/%s/%s%s%s\n", p->hier[h].mount, p->parent_cgroup, p->id,
			p->hier[h].version == 2 ? " enable=" : "", p->hier[h].version == 2 ? p->hier[h].controllers : "");
	for (size_t i = 0; i < p->n_cgroups; i++)
		fprintf(f, "cgroup-file: %s/%s/%s/%s = %s\n", p->hier[p->cgroups[i].hier].mount, p->parent_cgroup, p->id,
			p->cgroups[i].file, p->cgroups[i].value);
}

/* --dry-run: one "key: value" line per fact, in step order. */
void jail_plan_print(const struct jail_plan *p, int fd)
{
	FILE *f = fdopen(dup(fd), "w");

	if (!f)
		return;
	fprintf(f, "# jailer plan for %s (dry run: nothing on the host was changed)\n", p->id);
	fprintf(f, "id: %s\nexec-file: %s\nuid: %u\ngid: %u\n", p->id, p->exec_path, (unsigned)p->uid, (unsigned)p->gid);
	fprintf(f, "mkdir: %s (0700, kept if present)\nlock: %s.lock\n", p->exec_dir, p->id_dir);
	fprintf(f, "mkdir: %s (0700 with its manifest, or adopted if the caller made it)\n", p->id_dir);
	fprintf(f, "mkdir: %s (0700, or adopted if the caller made it)\n", p->chroot_dir);
	fprintf(f, "copy: %s -> %s/%s (owner %u:%u)\n", p->exec_path, p->chroot_dir, p->exec_name, (unsigned)p->uid,
		(unsigned)p->gid);
	fprintf(f, "netns: %s\n", p->netns[0] ? p->netns : "(unchanged)");
	jail_print_cgroups(p, f);
	jail_print_namespaces(p, f);
	for (size_t i = 0; i < p->n_binds; i++)
		fprintf(f, "bind: %s -> %s/%s (%s, nosuid nodev noexec, in the jail's mount namespace only)\n",
			p->binds[i].host, p->chroot_dir, p->binds[i].name, p->binds[i].rw ? "rw" : "ro");
	fprintf(f, "pivot_root: %s\n", p->chroot_dir);
	fprintf(f, "dirs: / /dev /dev/net /run (0700 %u:%u)\n", (unsigned)p->uid, (unsigned)p->gid);
	for (size_t i = 0; i < p->n_nodes; i++)
		fprintf(f, "node: /%s c %u:%u 0600 %u:%u%s\n", p->nodes[i].path, p->nodes[i].major, p->nodes[i].minor,
			(unsigned)p->uid, (unsigned)p->gid, p->nodes[i].required ? "" : " (optional)");
	fprintf(f, "daemonize: %s\n", p->daemonize ? "yes" : "no");
	fprintf(f, "pid-file: %s/%s.pid\n", p->chroot_dir, p->exec_name);
	fprintf(f, "rlimit: nofile=%llu", (unsigned long long)p->rlimit_nofile);
	if (p->has_fsize)
		fprintf(f, " fsize=%llu", (unsigned long long)p->rlimit_fsize);
	fprintf(f, "\ndrop: groups=none gid=%u uid=%u caps=none bounding=none ambient=none securebits=locked "
		"no_new_privs=1\n", (unsigned)p->gid, (unsigned)p->uid);
	fprintf(f, "exec: /%s --id %s --start-time-us <t> --start-time-cpu-us <t> --parent-cpu-time-us <t>",
		p->exec_name, p->id);
	for (size_t i = 0; i < p->n_vmm_args; i++)
		fprintf(f, " %s", p->vmm_args[i]);
	fprintf(f, "\n");
	fclose(f);
}

/* Unicode 3.9, table 3-7: the second byte's range depends on the first. */
static size_t jail_utf8_seq(const unsigned char *c, size_t *ret_need)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c[0] < 0x80)
		return *ret_need = 1, 1;
	if (c[0] >= 0xc2 && c[0] <= 0xdf)
		need = 2;
	else if (c[0] >= 0xe0 && c[0] <= 0xef)
		need = 3, lo = c[0] == 0xe0 ? 0xa0 : 0x80, hi = c[0] == 0xed ? 0x9f : 0xbf;
	else if (c[0] >= 0xf0 && c[0] <= 0xf4)
		need = 4, lo = c[0] == 0xf0 ? 0x90 : 0x80, hi = c[0] == 0xf4 ? 0x8f : 0xbf;
	else
		return *ret_need = 0, 1; /* 0x80-0xc1, 0xf5-0xff: never a lead byte */
	for (i = 1; i < need; i++, lo = 0x80, hi = 0xbf)
		if (c[i] < lo || c[i] > hi)
			return *ret_need = 0, i; /* the maximal subpart: one U+FFFD */
	return *ret_need = need, need;
}

size_t jail_utf8_sanitize(const char *in, char *out, size_t outlen)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *c = (const unsigned char *)in;
	size_t o = 0;

	if (outlen == 0)
		return 0;
	while (*c) {
		size_t ok, used = jail_utf8_seq(c, &ok);
		const char *src = ok ? (const char *)c : fffd;
		size_t n = ok ? used : 3;

		if (o + n >= outlen)
			break;
		memcpy(out + o, src, n);
		o += n;
		c += used;
	}
	out[o] = '\0';
	return o;
}

/* A JSON string of any bytes: ill-formed UTF-8 becomes U+FFFD (jansson
 * refuses such a string, and the line must be written whatever a path holds). */
static json_t *jail_json_str(const char *in)
{
	size_t len = strlen(in ? in : "") * 3 + 1;
	_cleanup_free_ char *buf = malloc(len);

	if (!buf)
		return json_string("");
	jail_utf8_sanitize(in ? in : "", buf, len);
	return json_string(buf);
}

static void jail_status_emit(int fd, json_t *o)
{
	char *line = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	if (line) {
		fd_write_full(fd, line, strlen(line));
		fd_write_full(fd, "\n", 1);
	}
	free(line);
	json_decref(o);
}

void jail_status_write_plan(int fd, const char *id, const char *error)
{
	if (fd < 0)
		return;
	jail_status_emit(fd, json_pack("{s:s, s:o, s:s, s:o}", "outcome", "error", "id", id ? jail_json_str(id) : json_null(), "step",
				       "plan", "error", jail_json_str(error)));
}

void jail_status_write_done(const struct jail_plan *p, const char *what, int code)
{
	if (p->status_fd < 0)
		return;
	jail_status_emit(p->status_fd, json_pack("{s:s, s:o, s:b, s:i}", "outcome", code ? "error" : "ok", "id",
						  jail_json_str(p->id), what, 1, "exit_code", code));
}

/* One line per run: ok (with "ready"), a failed step or exec, or the VMM's
 * own failure ("step":"vmm_ready", its exit code and message). */
void jail_status_write(const struct jail_plan *p, const struct jail_state *s, enum jail_outcome out)
{
	json_t *o, *cg;

	if (p->status_fd < 0)
		return;
	cg = json_array();
	for (size_t h = 0; h < p->n_hier; h++)
		json_array_append_new(cg, jail_json_str(s->cgroup_paths[h]));
	if (out == JAIL_OUTCOME_READY || out == JAIL_OUTCOME_SILENT)
		o = json_pack("{s:s, s:o, s:I, s:o, s:o, s:b}", "outcome", "ok", "id", jail_json_str(p->id), "pid",
			      (json_int_t)s->vmm_pid, "chroot", jail_json_str(p->chroot_dir), "cgroups", cg, "ready",
			      out == JAIL_OUTCOME_READY);
	else if (out == JAIL_OUTCOME_VMM_FAILED)
		o = json_pack("{s:s, s:o, s:s, s:I, s:i, s:s, s:o}", "outcome", "error", "id", jail_json_str(p->id),
			      "step", "vmm_ready", "pid", (json_int_t)s->vmm_pid, "exit_code", s->vmm_exit_code, "error",
			      "the VMM failed before it was ready (the jail stays: run jailer --cleanup)", "detail",
			      jail_json_str(s->detail));
	else
		o = json_pack("{s:s, s:o, s:o, s:i, s:s, s:o}", "outcome", "error", "id", jail_json_str(p->id), "step",
			      jail_json_str(s->failed_step ? s->failed_step : "unknown"), "errno", s->failed_errno,
			      "error", strerror(s->failed_errno), "detail", jail_json_str(s->detail));
	if (out != JAIL_OUTCOME_READY && out != JAIL_OUTCOME_SILENT)
		json_decref(cg);
	jail_status_emit(p->status_fd, o);
}

static void jail_print_failure(const struct jail_state *s)
{
	fprintf(stderr, "jailer: step %s failed: %s (errno %d)%s%s\n", s->failed_step ? s->failed_step : "unknown",
		strerror(s->failed_errno), s->failed_errno, s->detail[0] ? ": " : "", s->detail);
}

int jail_report_failure(const struct jail_plan *p, struct jail_state *s, int undo_result)
{
	int code = undo_result < 0 ? JAIL_EXIT_UNDO : JAIL_EXIT_STEP;

	if (s->refused && undo_result >= 0)
		code = JAIL_EXIT_USAGE; /* what exists is not this jailer's to use: nothing changed */

	if (s->report_wfd >= 0) {
		dprintf(s->report_wfd, "fail %d %d %s %s\n", code, s->failed_errno,
			s->failed_step ? s->failed_step : "unknown", s->detail);
		return code;
	}
	jail_print_failure(s);
	jail_status_write(p, s, JAIL_OUTCOME_FAILED);
	return code;
}

void jail_report_success(const struct jail_plan *p, struct jail_state *s)
{
	if (s->report_wfd >= 0) {
		if (!p->new_pid_ns)
			dprintf(s->report_wfd, "pid %d\n", (int)getpid());
		return;
	}
	s->vmm_pid = getpid();
	jail_status_write(p, s, JAIL_OUTCOME_SILENT); /* not reached with --status-fd: it forks */
}

/* Parses "fail CODE ERRNO STEP DETAIL". The step name is kept in a static
 * buffer: this process exits right after reporting. */
static int jail_report_parse_fail(struct jail_state *s, char *line)
{
	static char step[64];
	char *f[4];
	uint32_t code, err;

	for (int i = 0; i < 4; i++) {
		f[i] = line;
		line = line ? strchr(line, ' ') : NULL;
		if (line)
			*line++ = '\0';
	}
	if (!f[3] || parse_u32(f[1], &code) < 0 || parse_u32(f[2], &err) < 0)
		return JAIL_EXIT_STEP;
	snprintf(step, sizeof(step), "%s", f[3]);
	s->failed_step = step;
	s->failed_errno = (int)err;
	snprintf(s->detail, sizeof(s->detail), "%s", line ? line : "");
	return (int)code;
}

/* Reads the readiness pipe up to its first newline, EOF or the deadline.
 * Returns the bytes read (0: EOF at once) or -ETIMEDOUT. */
static ssize_t jail_ready_read(int fd, char *buf, size_t len)
{
	struct timespec t0, now;
	size_t got = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got + 1 < len && !memchr(buf, '\n', got)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left_ms;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left_ms = JAIL_READY_TIMEOUT_S * 1000L - ((now.tv_sec - t0.tv_sec) * 1000L +
							   (now.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left_ms <= 0)
			return got ? (ssize_t)got : -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left_ms) < 0 && errno != EINTR)
			return -errno;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return (ssize_t)got;
}

enum jail_outcome jail_ready_parse(const char *line, int *ret_code, char *detail, size_t len)
{
	const char *sp = strncmp(line, "failed ", 7) == 0 ? strchr(line + 7, ' ') : NULL;
	char num[12];
	uint32_t code;

	*ret_code = -1;
	if (strcmp(line, "ready") == 0)
		return JAIL_OUTCOME_READY;
	if (sp && (size_t)(sp - line - 7) < sizeof(num)) {
		snprintf(num, sizeof(num), "%.*s", (int)(sp - line - 7), line + 7);
		if (parse_u32(num, &code) == 0 && code <= 255)
			*ret_code = (int)code;
		snprintf(detail, len, "%s", sp + 1);
	} else if (line[0]) {
		snprintf(detail, len, "unexpected words on the readiness pipe: %.200s", line);
	} else {
		snprintf(detail, len, "the VMM closed its readiness pipe (fd %d) without a word: it exited or closed "
			 "the fd", JAIL_READY_FD);
	}
	/* The VMM is not trusted: no terminal escapes into the operator's log. */
	for (char *c = detail; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return JAIL_OUTCOME_VMM_FAILED;
}

/* After the exec: "ready" from ember, "failed CODE MESSAGE" or EOF (the VMM
 * died or closed fd 3), or silence (a VMM that is not ember). */
static enum jail_outcome jail_ready_wait(struct jail_state *s)
{
	char buf[1024];
	ssize_t n = jail_ready_read(s->ready_rfd, buf, sizeof(buf));
	enum jail_outcome out;

	if (n == -ETIMEDOUT) {
		fprintf(stderr, "jailer: warning: the VMM (pid %d) said nothing on fd %d (EMBER_READY_FD) within %d s; "
			"it runs, but is it ember?\n", (int)s->vmm_pid, JAIL_READY_FD, JAIL_READY_TIMEOUT_S);
		return JAIL_OUTCOME_SILENT;
	}
	out = jail_ready_parse(n > 0 ? buf : "", &s->vmm_exit_code, s->detail, sizeof(s->detail));
	if (out == JAIL_OUTCOME_READY)
		return out;
	if (s->vmm_exit_code >= 0)
		fprintf(stderr, "jailer: the VMM (pid %d) failed before it was ready, exit code %d: %s\n",
			(int)s->vmm_pid, s->vmm_exit_code, s->detail);
	else
		fprintf(stderr, "jailer: the VMM (pid %d) failed before it was ready: %s\n", (int)s->vmm_pid, s->detail);
	fprintf(stderr, "jailer: the jail stays: run jailer --cleanup\n");
	return out;
}

/* Reads the whole outcome pipe (the jail side closes it at exec or exit). */
static int jail_report_read(struct jail_state *s, char **ret_buf)
{
	char *buf = NULL;
	size_t len = 0;

	for (;;) {
		char chunk[512], *nb;
		ssize_t n = read(s->report_rfd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || len + (size_t)n > 65536)
			break;
		nb = realloc(buf, len + (size_t)n + 1);
		if (!nb)
			break;
		buf = nb;
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
	}
	*ret_buf = buf;
	return 0;
}

int jail_report_wait(const struct jail_plan *p, struct jail_state *s, pid_t child)
{
	_cleanup_free_ char *buf = NULL;
	enum jail_outcome out = JAIL_OUTCOME_FAILED;
	int status, code = -1;

	jail_report_read(s, &buf);
	for (char *l = buf ? strtok(buf, "\n") : NULL; l; l = strtok(NULL, "\n")) {
		uint32_t pid;

		if (strncmp(l, "pid ", 4) == 0 && parse_u32(l + 4, &pid) == 0) {
			s->vmm_pid = (pid_t)pid;
			code = code < 0 ? JAIL_EXIT_OK : code;
		} else if (strncmp(l, "fail ", 5) == 0) {
			code = jail_report_parse_fail(s, l);
		}
	}
	if (code < 0) {
		/* The jail side died without a word (killed): undo from here. */
		waitpid(child, &status, 0);
		s->failed_step = "jail process";
		s->failed_errno = ECHILD;
		snprintf(s->detail, sizeof(s->detail), "it died before exec");
		code = jail_undo_run(s) < 0 ? JAIL_EXIT_UNDO : JAIL_EXIT_STEP;
	}
	if (code != JAIL_EXIT_OK) {
		waitpid(child, &status, WNOHANG);
		jail_print_failure(s);
	} else if (s->ready_rfd >= 0) {
		out = jail_ready_wait(s);
		code = out == JAIL_OUTCOME_VMM_FAILED ? JAIL_EXIT_UNDO : JAIL_EXIT_OK;
	} else {
		out = JAIL_OUTCOME_SILENT;
	}
	jail_status_write(p, s, out);
	return code;
}
