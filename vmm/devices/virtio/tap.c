#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "config/net.h"

#define TAP_ERR NET_ERR_CREATE "Open tap device failed: "

static int tap_fail(int r, const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 TAP_ERR "Error while creating ifreq structure: %s (os error %d). Invalid TUN/TAP Backend provided by "
			 "%s. Check our documentation on setting up the network devices.",
		 strerror(-r), -r, name);
	return r;
}

/* The interface index of name in this network namespace, or -errno (-ENODEV
 * when there is none). SIOCGIFINDEX on any socket answers for the caller's
 * namespace; an AF_UNIX datagram socket needs no network privilege. */
static int tap_ifindex(const char *name)
{
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	return ifr.ifr_ifindex;
}

/* Attaches fd to name. Returns 0 or -errno. */
static int tap_attach(int fd, const char *name)
{
	struct ifreq ifr = { 0 };
	int hdr = TAP_VNET_HDR_LEN;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	return 0;
}

int tap_open(const char *name, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	int index, again, r;

	if (!*name || strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, TAP_ERR "Invalid interface name `%.64s`", name);
		return -EINVAL;
	}
	index = tap_ifindex(name);
	if (index < 0)
		return tap_fail(index, name, err, errlen);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, TAP_ERR "Couldn't open /dev/net/tun: %s (os error %d) (TAP %s)", strerror(-r),
			 -r, name);
		return r;
	}
	r = tap_attach(fd, name);
	if (r < 0)
		return tap_fail(r, name, err, errlen);
	/* The name may have been deleted and reused (or made by this attach)
	 * between the lookup and TUNSETIFF: only the interface looked up counts. */
	again = tap_ifindex(name);
	if (again != index)
		return tap_fail(again < 0 ? again : -ENODEV, name, err, errlen);
	return TAKE_FD(fd);
}

int tap_set_offload(int fd, unsigned flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}
