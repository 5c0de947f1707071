/* Device nodes in the jail: /dev/kvm, /dev/net/tun, /dev/urandom and, when the
 * host has it, /dev/userfaultfd.
 *
 * Major and minor numbers come from the host's own nodes at planning time,
 * never from constants: a host with a different misc minor for userfaultfd
 * (or a renumbered kvm) still gets the right device. /dev/kvm and
 * /dev/net/tun are required, as in Firecracker: the VMM cannot run a guest
 * without the first nor attach a network device without the second, and a
 * jail that fails later inside the VMM is harder to diagnose than a jailer
 * that refuses up front. /dev/urandom is optional (MMDS v2 tokens need it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "jailer.h"
#include "log.h"

static const struct {
	const char *name;  /* below /dev */
	bool required;
} jail_nodes[] = {
	{ "kvm", true },
	{ "net/tun", true },
	{ "urandom", false },
	{ "userfaultfd", false },
};

int jail_devices_plan(struct jail_plan *p, const char *devroot, char *err, size_t errlen)
{
	p->n_nodes = 0;
	for (size_t i = 0; i < ARRAY_SIZE(jail_nodes); i++) {
		char path[PATH_MAX];
		struct stat st;
		struct jail_node *n;

		snprintf(path, sizeof(path), "%s/%s", devroot, jail_nodes[i].name);
		if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode)) {
			if (!jail_nodes[i].required)
				continue;
			jail_errf(err, errlen, "/dev/%s is missing on the host (%s): the jail needs it",
				  jail_nodes[i].name, errno && !S_ISCHR(st.st_mode) ? strerror(errno) : "not a character device");
			return -ENODEV;
		}
		n = &p->nodes[p->n_nodes++];
		snprintf(n->path, sizeof(n->path), "dev/%s", jail_nodes[i].name);
		n->major = major(st.st_rdev);
		n->minor = minor(st.st_rdev);
		n->required = jail_nodes[i].required;
	}
	return 0;
}

/* Runs after pivot_root, relative to the jail's "/": 0600, owned uid:gid. */
int jail_step_make_nodes(const struct jail_plan *p, struct jail_state *s)
{
	_cleanup_close_ int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (root < 0)
		return jail_fail(s, errno, "opening the jail's /");
	for (size_t i = 0; i < p->n_nodes; i++) {
		const struct jail_node *n = &p->nodes[i];

		if (mknodat(root, n->path, S_IFCHR | 0600, makedev(n->major, n->minor)) < 0 ||
		    fchownat(root, n->path, p->uid, p->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(root, n->path, 0600, 0) < 0) {
			if (n->required)
				return jail_fail(s, errno, "creating /%s (%u,%u)", n->path, n->major, n->minor);
			log_warn("Warning! Could not create /%s device inside jailer: %s", n->path, strerror(errno));
		}
	}
	return 0;
}
