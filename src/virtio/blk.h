/*
 * virtio-blk (virtio 1.2, 5.2) on a raw image: read, write, flush, discard, write-zeroes,
 * get-id, read-only, one I/O thread per queue (multi-queue up to the vCPU count).
 */
#ifndef KVMBOX_VIRTIO_BLK_H
#define KVMBOX_VIRTIO_BLK_H

#include <stdint.h>
#include <sys/uio.h>

#include "backends/disk.h"
#include "config.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_SECTOR	512
#define VIRTIO_BLK_ID_BYTES	20
#define VIRTIO_BLK_MAX_SEGMENTS 32 /* discard / write-zeroes ranges per request */

struct virtio_blk_outhdr {
	uint32_t type;
	uint32_t reserved; /* ioprio */
	uint64_t sector;
} __attribute__((packed));

struct virtio_blk_discard_write_zeroes {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags; /* bit 0: unmap */
} __attribute__((packed));

/* A request as the guest laid it out (5.2.6), host pointers already checked. */
struct blk_request {
	uint32_t type;
	uint64_t sector;
	struct iovec iov[VIRTQ_MAX_CHAIN]; /* the data part: readable (OUT) or writable (IN) */
	int niov;
	uint64_t data_len;
	uint8_t *status;
};

/*
 * Splits a chain into header, data and status byte. Returns 0, or -1 when the chain cannot
 * even carry a status (no 16-byte header or no writable byte at the end).
 */
int blk_request_parse(const struct virtq_chain *c, struct blk_request *r);
/* Runs a parsed request against the disk; returns the VIRTIO_BLK_S_* status. */
uint8_t blk_request_execute(struct disk *d, const char *serial, const struct blk_request *r,
			    const struct virtq_chain *c);

struct virtio_blk;

/* A device on an open image, which it borrows (NULL after one line on stderr on failure). */
struct virtio_blk *virtio_blk_create(const struct disk_config *cfg, struct disk *disk,
				     uint32_t vcpus, struct guest_memory *mem,
				     struct irq_router *router);
struct virtio_dev *virtio_blk_dev(struct virtio_blk *b);
void virtio_blk_destroy(struct virtio_blk *b);

#endif
