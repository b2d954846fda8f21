/*
 * A polling virtio 1.x PCI driver for test guests (virtio.c): finds a device on PCI bus 0
 * through ECAM, gives its memory BARs addresses where no firmware did, negotiates features
 * and sets up split virtqueues that ring-3 code drives without interrupts.
 *
 * Ring 0 does the set-up (virtio_pci_find, virtio_negotiate, vq_setup, virtio_driver_ok);
 * the vq_* ring operations touch only memory and the notify register, so they run in ring 3.
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include "guest.h"

#define VIRTIO_ID_NET	   1
#define VIRTIO_ID_BLK	   2
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTQ_DESC_F_NEXT  1
#define VIRTQ_DESC_F_WRITE 2
#define VQ_MAX		   256 /* ring entries a struct vq has room for */

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct virtio_dev {
	uint8_t slot; /* PCI device number on bus 0 */
	uint64_t cfg; /* its ECAM configuration space */
	uint64_t bar[6];
	uint64_t common, notify, device; /* the capability structures */
	uint32_t notify_mult;
	uint64_t features; /* negotiated */
};

/* A split virtqueue (its rings are inside, page aligned). */
struct vq {
	struct vring_desc desc[VQ_MAX] ALIGNED(4096);
	volatile uint16_t avail[3 + VQ_MAX] ALIGNED(4096);    /* flags idx ring[] used_event */
	volatile uint32_t used[2 + 2 * VQ_MAX] ALIGNED(4096); /* flags|idx<<16 {id,len}[] event */
	uint16_t size, index;
	uint64_t notify;
	bool event_idx;
	uint16_t avail_idx, used_seen, last_notified;
};

/* Finds the first device of type (VIRTIO_ID_*) and maps it; reports a FAIL if there is none.
 * cmdline: ecam= (else the MCFG's, else 0xe0000000), mmio32= (BAR window, 0xc0000000). */
bool virtio_pci_find(struct virtio_dev *d, uint16_t type);
/* Reset, ACK, DRIVER, features offered & wanted (VERSION_1 is required), FEATURES_OK. */
bool virtio_negotiate(struct virtio_dev *d, uint64_t wanted);
/* Sets up queue index with at most max_size entries (a power of 2 <= VQ_MAX); no MSI-X
 * vector, no interrupts (NO_INTERRUPT flag, or used_event kept behind the driver). */
bool vq_setup(struct virtio_dev *d, struct vq *q, uint16_t index, uint16_t max_size);
void virtio_driver_ok(struct virtio_dev *d);
uint32_t virtio_cfg_read32(const struct virtio_dev *d, uint32_t off);
uint8_t virtio_cfg_read8(const struct virtio_dev *d, uint32_t off);

/* ---- ring operations (ring 3 safe) ---- */
/* Makes the chain starting at descriptor head available (not yet visible: vq_publish). */
void vq_add(struct vq *q, uint16_t head);
/* Publishes what vq_add queued and notifies the device if it asked for it. */
void vq_publish(struct vq *q);
/* Whether vq_add queued chains not yet published. */
bool vq_unpublished(const struct vq *q);
/* Takes the next used entry, if there is one: its head id and written length. */
bool vq_poll(struct vq *q, uint32_t *id, uint32_t *len);
/* Whether a used entry is waiting. */
bool vq_has_used(const struct vq *q);

#endif
