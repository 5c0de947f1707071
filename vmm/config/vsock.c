#include "vsock.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "json_field.h"
#include "log.h"
#include "path_error.h"

static const char *const vsock_fields[] = { "vsock_id", "guest_cid", "uds_path", NULL };

static int vsock_read_fields(const json_t *obj, struct vsock_config *c, const char **ret_path, char *err,
			     size_t errlen)
{
	const char *id = NULL;
	uint64_t cid = 0;
	int r;

	r = json_field_check_object(obj, "VsockDeviceConfig", vsock_fields, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "vsock_id", false, &id, err, errlen);
	if (r >= 0)
		r = json_field_uint(obj, "guest_cid", true, UINT32_MAX, "u32", &cid, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "uds_path", true, ret_path, err, errlen);
	if (r < 0)
		return r;
	c->guest_cid = (uint32_t)cid;
	if (id) {
		if (strlen(id) > VSOCK_ID_MAX)
			return snprintf(err, errlen, "The vsock_id is longer than %u characters.", VSOCK_ID_MAX), -EINVAL;
		c->has_vsock_id = true;
		snprintf(c->vsock_id, sizeof(c->vsock_id), "%s", id);
	}
	return 0;
}

int vsock_config_parse(const json_t *obj, struct vsock_config *ret, char *err, size_t errlen)
{
	struct vsock_config c = { 0 };
	const char *path = NULL;
	int r = vsock_read_fields(obj, &c, &path, err, errlen);

	if (r < 0)
		return r;
	if (!*path || strlen(path) > VSOCK_UDS_PATH_MAX) {
		snprintf(err, errlen, "Invalid uds_path: it must be 1 to %u bytes (a Unix socket address).",
			 VSOCK_UDS_PATH_MAX);
		return -EINVAL;
	}
	memcpy(c.uds_path, path, strlen(path) + 1);
	*ret = c;
	return 0;
}

const char *vsock_cid_reserved(uint32_t cid)
{
	/* What the guest's vsock transport makes of it (Linux's af_vsock.c):
	 * its own CID equal to the host's sends its connections to the host
	 * into its loopback transport instead, when one is loaded
	 * (vsock_use_local_transport); the others only make the
	 * guest's own address one no peer could name. Connections through
	 * uds_path carry the CID unchanged either way. */
	switch (cid) {
	case 0:
		return "VMADDR_CID_HYPERVISOR: the guest's own address is reserved; connections through uds_path work";
	case 1:
		return "VMADDR_CID_LOCAL: the guest's own address is its loopback's; connections through uds_path work";
	case 2:
		return "VMADDR_CID_HOST: a Linux guest with vsock_loopback sends its connections to the host into "
		       "its own loopback; host-initiated connections through uds_path work";
	case UINT32_MAX:
		return "VMADDR_CID_ANY: the guest's own address is the wildcard; connections through uds_path work";
	default:
		return NULL;
	}
}

json_t *vsock_config_to_json(const struct vsock_config *c)
{
	return json_pack("{s:I, s:s}", "guest_cid", (json_int_t)c->guest_cid, "uds_path", c->uds_path);
}

int vsock_listener_bind(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	char why[PATH_MAX + 160];
	int r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		r = -ENAMETOOLONG;
		goto fail;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	/* bind() refuses an existing file with EADDRINUSE: a stale socket is
	 * the operator's to remove, as in Firecracker. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		unlink(path);
		goto fail;
	}
	return TAKE_FD(fd);
fail:
	snprintf(err, errlen, VSOCK_ERR_BIND "%s", path_error(why, sizeof(why), path, -r));
	return r;
}

/* Where a device with a reserved CID is made (the API and the config file
 * both come here): one line, rate-limited (the API may repeat it). */
static void vsock_cid_warn(uint32_t cid)
{
	const char *why = vsock_cid_reserved(cid);

	if (why)
		log_rl(LOG_WARNING, "vsock: guest_cid %" PRIu32 " is reserved (%s); taken as Firecracker takes it.", cid,
		       why);
}

int vsock_slot_put(struct vsock_slot *s, const struct vsock_config *c, char *err, size_t errlen)
{
	int fd;

	/* The same path is already ours: keep its listener (binding it again
	 * would find our own socket file). */
	if (s->present && strcmp(s->cfg.uds_path, c->uds_path) == 0) {
		vsock_cid_warn(c->guest_cid);
		s->cfg = *c;
		return 0;
	}
	fd = vsock_listener_bind(c->uds_path, err, errlen);
	if (fd < 0)
		return fd;
	vsock_cid_warn(c->guest_cid);
	vsock_slot_clear(s);
	s->present = true;
	s->cfg = *c;
	s->listen_fd = fd;
	return 0;
}

void vsock_slot_clear(struct vsock_slot *s)
{
	/* present: a zeroed slot (fd 0) owns nothing. */
	if (s->present && s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->cfg.uds_path);
	}
	*s = (struct vsock_slot)VSOCK_SLOT_INIT;
}

int vsock_slot_parse(const json_t *j, struct vsock_slot *s, char *err, size_t errlen)
{
	struct vsock_config c;
	int r;

	if (!json_is_object(j)) {
		snprintf(err, errlen, "expected one vsock device object (one device per VM)");
		return -EINVAL;
	}
	r = vsock_config_parse(j, &c, err, errlen);
	if (r < 0)
		return r;
	return vsock_slot_put(s, &c, err, errlen);
}
