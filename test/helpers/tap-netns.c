/* Real TAPs in a private network namespace (see tap-netns.h). */
#include "tap-netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"

bool tn_enter(void)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		fprintf(stderr, "# skip: needs root and /dev/net/tun\n");
		return false;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "# skip: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return false;
	}
	return true;
}

int tn_no_ipv6(void)
{
	_cleanup_close_ int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return write(fd, "1", 1) == 1 ? 0 : -EIO;
}

/* SIOCSIFFLAGS needs a socket of any family; the flags are the link's. */
int tn_link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

int tn_tap_make(const char *name, short extra_flags, bool up)
{
	struct ifreq ifr = { .ifr_flags = (short)(IFF_TAP | IFF_NO_PI | extra_flags) };
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		return -errno;
	return up ? tn_link_up(name) : 0;
}
