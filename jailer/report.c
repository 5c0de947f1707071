/* What the jailer tells the operator: the --dry-run plan, the one-line error,
 * the --status-fd JSON line, and the outcome pipe between the jailer the
 * operator started and the process that becomes the VMM. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
		fprintf(f, "bind-ro: %s -> %s/%s (in the jail's mount namespace only)\n", p->binds[i].host, p->chroot_dir,
			p->binds[i].name);
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

void jail_status_write(const struct jail_plan *p, const struct jail_state *s, bool ok)
{
	json_t *o, *cg;
	char *line;

	if (p->status_fd < 0)
		return;
	cg = json_array();
	for (size_t h = 0; h < p->n_hier; h++)
		json_array_append_new(cg, json_string(s->cgroup_paths[h]));
	if (ok)
		o = json_pack("{s:s, s:s, s:I, s:s, s:o}", "outcome", "ok", "id", p->id, "pid", (json_int_t)s->vmm_pid,
			      "chroot", p->chroot_dir, "cgroups", cg);
	else
		o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "outcome", "error", "id", p->id, "step",
			      s->failed_step ? s->failed_step : "unknown", "errno", s->failed_errno, "error",
			      strerror(s->failed_errno), "detail", s->detail);
	if (!ok)
		json_decref(cg);
	line = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	if (line) {
		fd_write_full(p->status_fd, line, strlen(line));
		fd_write_full(p->status_fd, "\n", 1);
	}
	free(line);
	json_decref(o);
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
	jail_status_write(p, s, false);
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
	jail_status_write(p, s, true);
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

int jail_report_wait(const struct jail_plan *p, struct jail_state *s, pid_t child)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	int status, code = -1;

	for (;;) {
		char chunk[512];
		ssize_t n = read(s->report_rfd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + (size_t)n + 1 > cap) {
			char *nb = realloc(buf, cap = len + (size_t)n + 1);

			if (!nb)
				break;
			buf = nb;
		}
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
	}
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
	}
	jail_status_write(p, s, code == JAIL_EXIT_OK);
	return code;
}
