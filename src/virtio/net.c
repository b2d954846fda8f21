#include "virtio/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "backends/tap.h"
#include "event_loop.h"
#include "log.h"

#define NET_QUEUE_SIZE 256
#define NET_RXQ	       0
#define NET_TXQ	       1
#define NET_MAX_PACKET (65535 + 14 + 4 + sizeof(struct virtio_net_hdr)) /* GSO + VLAN */
#define NET_RX_BATCH   64 /* packets per wake-up before looking at the other queue */

struct virtio_net {
	struct virtio_dev vdev;
	char name[32];
	uint8_t mac[6];
	int tap; /* opened once per run (backends.c): the tap outlives reboots */
	struct event_loop loop;
	struct event_source tap_src, rx_kick, tx_kick;
	bool tap_polled; /* false while the guest has no receive buffers */
	bool mrg_rxbuf;
	/* A packet read from the tap that waits for receive buffers. */
	size_t pending_len;
	uint8_t pending[NET_MAX_PACKET];
	struct virtq_chain first, chain; /* receive: first chain of a packet, the others */
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

enum net_rx_result net_rx_packet(struct virtq *q, bool mrg_rxbuf, const uint8_t *pkt, size_t len,
				 struct virtq_chain *first, struct virtq_chain *chain)
{
	size_t off = 0;
	uint16_t used = 0;

	while (off < len) {
		struct virtq_chain *c = used ? chain : first;
		int r = virtq_pop(q, c);
		if (r < 0)
			return NET_RX_BROKEN;
		if (r == 0 || used == UINT16_MAX) {
			if (r == 1)
				used++;
			virtq_unpop(q, used);
			return NET_RX_NO_BUFFERS;
		}
		size_t w = virtq_chain_write(c, 0, pkt + off, len - off);
		if (w == 0 && c->in_len == 0) {
			virtq_unpop(q, used + 1);
			return NET_RX_BROKEN; /* a receive buffer nobody can fill */
		}
		virtq_fill(q, c, (uint32_t)w, used);
		used++;
		off += w;
		if (!mrg_rxbuf)
			break; /* one buffer per packet: the rest is cut off */
	}
	uint16_t nb = htole16(used);
	virtq_chain_write(first, offsetof(struct virtio_net_hdr, num_buffers), &nb, sizeof(nb));
	virtq_flush(q, used);
	return NET_RX_DELIVERED;
}

/* Copies the pending packet into receive buffers. false: not enough buffers (yet). */
static bool rx_deliver(struct virtio_net *n)
{
	switch (net_rx_packet(&n->vdev.queues[NET_RXQ].vq, n->mrg_rxbuf, n->pending, n->pending_len,
			      &n->first, &n->chain)) {
	case NET_RX_NO_BUFFERS:
		return false;
	case NET_RX_BROKEN:
		virtio_dev_needs_reset(&n->vdev);
		break; /* the packet is dropped */
	case NET_RX_DELIVERED:
		break;
	}
	n->pending_len = 0;
	return true;
}

static void set_tap_polling(struct virtio_net *n, bool on)
{
	if (n->tap_polled == on)
		return;
	n->tap_polled = on;
	if (event_loop_mod(&n->loop, &n->tap_src, on ? EPOLLIN : 0) < 0)
		log_once(log_warn, "%s: epoll on the tap", n->name);
}

/* Moves packets from the tap to the guest until the tap is empty or buffers run out. */
static void rx_run(struct virtio_net *n)
{
	struct virtio_queue *q = &n->vdev.queues[NET_RXQ];

	for (int i = 0; i < NET_RX_BATCH; i++) {
		if (!n->pending_len) {
			ssize_t len = read(n->tap, n->pending, sizeof(n->pending));
			if (len <= 0)
				break; /* EAGAIN: empty */
			n->pending_len = (size_t)len;
		}
		if (rx_deliver(n)) {
			set_tap_polling(n, true);
			continue;
		}
		/*
		 * Not enough buffers: wait for the driver to add more, unless it just did. Each
		 * retry counts against the batch, so a guest that keeps posting too-small
		 * buffers cannot hold this thread (and a device reset waiting for it).
		 */
		set_tap_polling(n, false);
		if (!virtq_enable_notify_for_more(&q->vq))
			break;
	}
	virtio_queue_interrupt(q);
}

static void on_tap(void *opaque, uint32_t events)
{
	rx_run(opaque);
}

static void on_rx_kick(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;

	eventfd_drain(n->vdev.queues[NET_RXQ].kick_fd);
	rx_run(n);
}

/* One packet to the tap: the header passes through, the tap speaks virtio_net_hdr too. */
static uint32_t tx_packet(void *opaque, struct virtq_chain *c)
{
	struct virtio_net *n = opaque;
	int niov = 0;

	for (uint16_t i = 0; i < c->nbufs; i++)
		if (!c->bufs[i].write)
			n->iov[niov++] =
			    (struct iovec){.iov_base = c->bufs[i].host, .iov_len = c->bufs[i].len};
	if (c->out_len >= sizeof(struct virtio_net_hdr) && writev(n->tap, n->iov, niov) < 0 &&
	    errno != EAGAIN)
		log_once(log_warn, "%s: writing to the tap", n->name);
	return 0;
}

static void on_tx_kick(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;

	virtio_queue_serve(&n->vdev.queues[NET_TXQ], &n->chain, tx_packet, n);
}

static void net_config_io(struct virtio_dev *v, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	struct virtio_net *n = v->priv;
	uint8_t cfg[12] = {0};

	if (is_write)
		return; /* the MAC is not writable without VIRTIO_NET_F_CTRL_MAC_ADDR */
	memcpy(cfg, n->mac, 6);
	cfg[6] = VIRTIO_NET_S_LINK_UP;
	virtio_config_read(cfg, sizeof(cfg), off, data, len);
}

static int net_start(struct virtio_dev *v)
{
	struct virtio_net *n = v->priv;
	unsigned int offload = 0;
	int r;

	if (virtio_negotiated(v, VIRTIO_NET_F_GUEST_CSUM)) {
		offload |= TUN_F_CSUM;
		if (virtio_negotiated(v, VIRTIO_NET_F_GUEST_TSO4))
			offload |= TUN_F_TSO4;
		if (virtio_negotiated(v, VIRTIO_NET_F_GUEST_TSO6))
			offload |= TUN_F_TSO6;
		if (virtio_negotiated(v, VIRTIO_NET_F_GUEST_ECN))
			offload |= TUN_F_TSO_ECN;
	}
	r = tap_set_offload(n->tap, offload);
	if (r < 0)
		return r;
	n->mrg_rxbuf = virtio_negotiated(v, VIRTIO_NET_F_MRG_RXBUF);
	n->pending_len = 0;
	set_tap_polling(n, true);
	return event_loop_start(&n->loop);
}

static void net_stop(struct virtio_dev *v)
{
	struct virtio_net *n = v->priv;

	event_loop_stop(&n->loop);
	set_tap_polling(n, false);
}

static const struct virtio_dev_ops net_ops = {
    .config_io = net_config_io,
    .start = net_start,
    .stop = net_stop,
};

struct virtio_net *virtio_net_create(const struct net_config *cfg, int tap, int index,
				     struct guest_memory *mem, struct irq_router *router)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	uint64_t features = 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
			    1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_GUEST_TSO4 |
			    1ull << VIRTIO_NET_F_GUEST_TSO6 | 1ull << VIRTIO_NET_F_GUEST_ECN |
			    1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6 |
			    1ull << VIRTIO_NET_F_HOST_ECN | 1ull << VIRTIO_NET_F_MRG_RXBUF |
			    1ull << VIRTIO_NET_F_STATUS;
	static const uint8_t default_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	int err;

	if (!n) {
		log_errorx("out of memory creating virtio-net");
		return NULL;
	}
	n->loop.epfd = n->loop.stop_fd = -1;
	snprintf(n->name, sizeof(n->name), "virtio-net%d", index);
	memcpy(n->mac, cfg->mac_set ? cfg->mac : default_mac, 6);
	if (!cfg->mac_set)
		n->mac[5] = (uint8_t)(n->mac[5] + index);
	n->tap = tap;
	err = virtio_pci_init(&n->vdev, n->name, VIRTIO_ID_NET, &net_ops, n, features, 2,
			      NET_QUEUE_SIZE, mem, router);
	if (err < 0) {
		log_errorx("%s: setting up virtio: %s", n->name, strerror(-err));
		free(n);
		return NULL;
	}
	n->vdev.pci.cfg[PCI_CLASS_DEVICE] = 0x00; /* network, Ethernet */
	n->vdev.pci.cfg[PCI_CLASS_DEVICE + 1] = 0x02;
	n->tap_src = (struct event_source){.fd = n->tap, .fn = on_tap, .opaque = n};
	n->rx_kick = (struct event_source){
	    .fd = n->vdev.queues[NET_RXQ].kick_fd, .fn = on_rx_kick, .opaque = n};
	n->tx_kick = (struct event_source){
	    .fd = n->vdev.queues[NET_TXQ].kick_fd, .fn = on_tx_kick, .opaque = n};
	if (event_loop_init(&n->loop, "virtio-net") < 0 ||
	    event_loop_add(&n->loop, &n->tap_src, 0) < 0 ||
	    event_loop_add(&n->loop, &n->rx_kick, EPOLLIN) < 0 ||
	    event_loop_add(&n->loop, &n->tx_kick, EPOLLIN) < 0) {
		log_errorx("%s: cannot create its I/O thread", n->name);
		virtio_net_destroy(n);
		return NULL;
	}
	return n;
}

struct virtio_dev *virtio_net_dev(struct virtio_net *n)
{
	return &n->vdev;
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	virtio_pci_destroy(&n->vdev);
	event_loop_destroy(&n->loop);
	free(n);
}
