/*
 * Virtio constants and ring layouts shared by the virtqueue layer, the transports and the
 * devices. Reference: virtio 1.2 (OASIS), sections 2.1 (device status), 2.7 (split
 * virtqueues), 5 (device IDs), 6 (reserved feature bits). All ring fields are little endian.
 */
#ifndef KVMBOX_VIRTIO_VIRTIO_H
#define KVMBOX_VIRTIO_VIRTIO_H

#include <stdint.h>

/* Device status field (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1
#define VIRTIO_STATUS_DRIVER		 2
#define VIRTIO_STATUS_DRIVER_OK		 4
#define VIRTIO_STATUS_FEATURES_OK	 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED		 128

/* Feature bit numbers (6): test with (features >> VIRTIO_F_xxx) & 1. */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32

/* Device IDs (5), the ones kvmbox may offer. */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4 /* entropy source */
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_SCSI	  8
#define VIRTIO_ID_9P	  9
#define VIRTIO_ID_GPU	  16
#define VIRTIO_ID_INPUT	  18
#define VIRTIO_ID_VSOCK	  19
#define VIRTIO_ID_FS	  26
#define VIRTIO_ID_PMEM	  27

/* Queue sizes are powers of two up to this (2.7). */
#define VIRTQ_MAX_SIZE 32768

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2 /* device-writable; else device-readable */
#define VIRTQ_DESC_F_INDIRECT 4 /* addr/len describe a table of descriptors (2.7.5.3) */

/* avail->flags (2.7.7): ignored when EVENT_IDX is negotiated. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
/* used->flags (2.7.10): the device sets it only when EVENT_IDX is not negotiated. */
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Alignment of the three ring areas (2.7). */
#define VIRTQ_DESC_ALIGN  16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN  4

struct virtq_desc {
	uint64_t addr; /* guest-physical */
	uint32_t len;
	uint16_t flags;
	uint16_t next; /* valid if flags & VIRTQ_DESC_F_NEXT */
};

/*
 * avail: le16 flags, le16 idx, le16 ring[size], le16 used_event.
 * used:  le16 flags, le16 idx, struct virtq_used_elem ring[size], le16 avail_event.
 * used_event / avail_event are only meaningful with VIRTIO_RING_F_EVENT_IDX but the areas
 * always include them.
 */
struct virtq_used_elem {
	uint32_t id; /* head of the chain */
	uint32_t len;
};

#define VIRTQ_DESC_SIZE(size)  (16ULL * (size))
#define VIRTQ_AVAIL_SIZE(size) (6ULL + 2ULL * (size))
#define VIRTQ_USED_SIZE(size)  (6ULL + 8ULL * (size))

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc layout");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem layout");

#endif
