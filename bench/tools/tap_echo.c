/*
 * tap_echo: the host end of tests/guests/vnetbench.c. On an AF_PACKET socket at one
 * interface (a VMM's tap), it takes the frames of EtherType 0x88B5 that the guest sent and
 * whose first payload byte is 'E', and sends them back with the MAC addresses swapped.
 * (The guest's flood uses another EtherType: it never wakes this program.) Prints "ready"
 * once listening, and its count when stopped (SIGTERM/SIGINT): "tap_echo: <n> echoed".
 *
 * usage: tap_echo IFNAME
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETHERTYPE 0x88b5

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: recv returns EINTR */
	struct sockaddr_ll addr = {.sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE)};
	unsigned long echoed = 0;
	unsigned char frame[2048], mac[6];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: tap_echo IFNAME\n");
		return 2;
	}
	addr.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (!addr.sll_ifindex) {
		fprintf(stderr, "tap_echo: no interface %s\n", argv[1]);
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE));
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("tap_echo: AF_PACKET socket");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		ssize_t n =
		    recvfrom(fd, frame, sizeof(frame), 0, (struct sockaddr *)&from, &fromlen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("tap_echo: recvfrom");
			return 1;
		}
		if (from.sll_pkttype == PACKET_OUTGOING || n < ETHER_HDR_LEN + 1)
			continue;
		if (frame[ETHER_HDR_LEN] == 'E') {
			memcpy(mac, frame, 6);
			memcpy(frame, frame + 6, 6);
			memcpy(frame + 6, mac, 6);
			if (send(fd, frame, (size_t)n, 0) == n)
				echoed++;
		}
	}
	printf("tap_echo: %lu echoed\n", echoed);
	return 0;
}
