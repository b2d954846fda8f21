#include "backends/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "log.h"

/* Sets IFF_UP so packets flow as soon as the guest's driver is ready. */
static int link_up(const char *name)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (s < 0)
		return -errno;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		r = -errno;
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			r = -errno;
	}
	close(s);
	return r;
}

int tap_open(const char *name, int vnet_hdr_len)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int r;

	if (fd < 0)
		return log_errorx("--net tap=%s: cannot open /dev/net/tun: %s (is the tun module "
				  "loaded?)",
				  name, strerror(errno));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;
		close(fd);
		if (err == EPERM)
			return log_errorx(
			    "--net tap=%s: cannot create or attach the tap: permission "
			    "denied; run as root (CAP_NET_ADMIN) or create it first "
			    "with 'ip tuntap add %s mode tap user $USER'",
			    name, name);
		if (err == EBUSY)
			return log_errorx("--net tap=%s: the tap is in use by another process",
					  name);
		return log_errorx("--net tap=%s: cannot attach: %s", name, strerror(err));
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &vnet_hdr_len) < 0) {
		log_errorx("--net tap=%s: TUNSETVNETHDRSZ: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	r = link_up(name);
	if (r < 0)
		log_warnx("--net tap=%s: cannot bring the link up (%s); do it with 'ip link set %s "
			  "up'",
			  name, strerror(-r), name);
	return fd;
}

int tap_set_offload(int fd, unsigned int flags)
{
	return ioctl(fd, TUNSETOFFLOAD, flags) < 0 ? -errno : 0;
}
