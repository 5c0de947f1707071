/* tap_open() against real TAPs in a private network namespace (root only;
 * the test skips and says why otherwise): the attach flags, busy,
 * missing (and that no TAP appears), multiqueue, not a TAP, a long name,
 * and TUNSETOFFLOAD. The namespace dies with the test process, so nothing is
 * left on the host even when a check fails. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/net.h"
#include "devices/virtio/tap.h"
#include "tap-netns.h"

static bool in_netns;

static int group_setup(void **state)
{
	in_netns = tn_enter();
	if (in_netns) {
		assert_int_equal(tn_tap_make("emt0", 0, false), 0);
		assert_int_equal(tn_tap_make("emtmq", IFF_MULTI_QUEUE, false), 0);
	}
	return 0;
}

static void expect_fail(const char *name, int want, const char *want_err)
{
	char err[512] = "";

	assert_int_equal(tap_open(name, err, sizeof(err)), want);
	if (!strstr(err, want_err))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want_err);
}

static void test_attach(void **state)
{
	struct ifreq ifr = { 0 };
	char err[512];
	int fd, hdr = 0;

	if (!in_netns)
		skip();
	fd = tap_open("emt0", err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, TUNGETIFF, &ifr), 0);
	assert_string_equal(ifr.ifr_name, "emt0");
	assert_int_equal(ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE),
			 IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	assert_int_equal(ioctl(fd, TUNGETVNETHDRSZ, &hdr), 0);
	assert_int_equal(hdr, TAP_VNET_HDR_LEN);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* held: a second attach is busy, and says which TAP and why */
	expect_fail("emt0", -EBUSY,
		    NET_ERR_CREATE "Open tap device failed: Error while creating ifreq structure: Device or resource "
				   "busy (os error 16). Invalid TUN/TAP Backend provided by emt0. Check our "
				   "documentation on setting up the network devices.");
	/* offloads: TSO needs the checksum offload, as the kernel says */
	assert_int_equal(tap_set_offload(fd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6), 0);
	assert_int_equal(tap_set_offload(fd, TUN_F_TSO4), -EINVAL);
	assert_int_equal(tap_set_offload(fd, 0), 0);
	close(fd);
	/* released: attachable again */
	fd = tap_open("emt0", err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
}

/* As root TUNSETIFF would create a missing TAP; tap_open() must not. */
static void test_missing_creates_nothing(void **state)
{
	if (!in_netns)
		skip();
	expect_fail("emtnone", -ENODEV, "No such device (os error 19). Invalid TUN/TAP Backend provided by emtnone.");
	assert_int_equal(if_nametoindex("emtnone"), 0);
}

static void test_refused_backends(void **state)
{
	if (!in_netns)
		skip();
	expect_fail("emtmq", -EINVAL, "Invalid argument (os error 22). Invalid TUN/TAP Backend provided by emtmq.");
	expect_fail("lo", -EINVAL, "Invalid TUN/TAP Backend provided by lo.");
	expect_fail("a123456789abcdef", -EINVAL, "Open tap device failed: Invalid interface name `a123456789abcdef`");
	expect_fail("", -EINVAL, "Invalid interface name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_missing_creates_nothing),
		cmocka_unit_test(test_refused_backends),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
