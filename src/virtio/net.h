/*
 * virtio-net (virtio 1.2, 5.1) on a host TAP device: one receive and one transmit queue,
 * checksum and TSO offloads in both directions, mergeable receive buffers, link status.
 * Both queues and the tap are served by one I/O thread.
 */
#ifndef KVMBOX_VIRTIO_NET_H
#define KVMBOX_VIRTIO_NET_H

#include "config.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN	9
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_ECN	13
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_S_LINK_UP	1

/* virtio_net_hdr_v1 (5.1.6): what precedes every packet, in both directions. */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr_v1 layout");

struct virtio_net;

enum net_rx_result {
	NET_RX_DELIVERED,  /* in the used ring, num_buffers set, not yet signalled */
	NET_RX_NO_BUFFERS, /* not enough buffers: all handed back, try after the next kick */
	NET_RX_BROKEN,	   /* the driver broke the ring or posted a buffer nobody can fill */
};

/*
 * Copies one packet (virtio_net_hdr first) into q's receive buffers: one chain, with the
 * rest cut off, or (mrg_rxbuf) as many chains as it takes, their count in num_buffers.
 * first and chain are scratch space. The I/O thread's receive step; a fuzz target's too.
 */
enum net_rx_result net_rx_packet(struct virtq *q, bool mrg_rxbuf, const uint8_t *pkt, size_t len,
				 struct virtq_chain *first, struct virtq_chain *chain);

/*
 * A NIC on an open tap (backends/tap.h), which it borrows: NULL after one line on stderr on
 * failure. index picks the default MAC.
 */
struct virtio_net *virtio_net_create(const struct net_config *cfg, int tap, int index,
				     struct guest_memory *mem, struct irq_router *router);
struct virtio_dev *virtio_net_dev(struct virtio_net *n);
void virtio_net_destroy(struct virtio_net *n);

#endif
