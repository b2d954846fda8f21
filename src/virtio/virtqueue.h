/*
 * Split virtqueues (virtio 1.2, 2.7), device side. A device takes chains with virtq_pop,
 * works on them through the host pointers in the chain, returns them with virtq_push and
 * asks virtq_should_notify once per batch:
 *
 *	virtq_disable_notify(q);
 *	for (;;) {
 *		while ((r = virtq_pop(q, &c)) == 1)
 *			virtq_push(q, &c, handle(&c));
 *		if (r < 0 || !virtq_enable_notify(q))
 *			break;
 *		virtq_disable_notify(q);
 *	}
 *	if (r < 0)
 *		set VIRTIO_STATUS_DEVICE_NEEDS_RESET;
 *	if (virtq_should_notify(q))
 *		interrupt the driver;
 *
 * (Plain "pop until 0" also works: an empty pop re-arms the driver's notification.)
 *
 * The driver is untrusted. Everything it controls is checked before use: the ring areas once
 * in virtq_init, every descriptor and buffer in virtq_pop (through gpa_to_host with the full
 * length). A driver that breaks a ring rule gets the queue marked broken: virtq_pop returns
 * -1 from then on and the transport should set VIRTIO_STATUS_DEVICE_NEEDS_RESET. Nothing a
 * driver writes can make this code crash, loop without bound or touch memory outside RAM.
 *
 * A struct virtq belongs to one thread at a time (the device's worker); the guest's vCPUs
 * are the other side, synchronised by the memory ordering the spec prescribes.
 */
#ifndef KVMBOX_VIRTIO_VIRTQUEUE_H
#define KVMBOX_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"
#include "virtio/virtio.h"

/*
 * Most buffers a chain may have. The spec lets a device pick "a reasonable limit"
 * (2.7.4.1); 1024 is QEMU's VIRTQUEUE_MAX_SIZE, which Linux drivers already respect. Longer
 * chains break the queue, as do direct chains longer than the queue size. An indirect table
 * is bounded by its own length (Linux may use more entries than the queue size).
 */
#define VIRTQ_MAX_CHAIN 1024

struct virtq {
	/* Set by virtq_init (the transport calls it when the driver enables the queue). */
	struct guest_memory *mem;
	uint16_t size;
	bool enabled;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */

	uint16_t last_avail; /* next avail entry the device will take */
	uint16_t used_idx;   /* device's copy of used->idx */
	bool broken;	     /* the driver broke the ring rules: the device must be reset */

	/* Private. */
	bool notify_disabled;	      /* between virtq_disable_notify and virtq_enable_notify */
	uint32_t unsignalled;	      /* pushes since the last virtq_should_notify */
	uint8_t *desc, *avail, *used; /* host pointers to the areas, checked by virtq_init */
};

struct virtq_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
	void *host; /* gpa_to_host(gpa, len), never NULL */
};

/* Readable buffers come first, then writable ones (checked by virtq_pop). 24 KiB. */
struct virtq_chain {
	uint16_t head; /* what virtq_push reports back */
	uint16_t nbufs;
	uint32_t in_len;  /* total device-writable bytes */
	uint32_t out_len; /* total device-readable bytes */
	struct virtq_buf bufs[VIRTQ_MAX_CHAIN];
};

/*
 * Sets up q for a queue the driver enabled: size a power of two up to 32768, desc 16-,
 * avail 2- and used 4-byte aligned, each area (sizes per 2.7, including the event fields)
 * inside RAM. Indices start at 0. Returns 0, or -EINVAL (logged once) with q disabled.
 */
int virtq_init(struct virtq *q, struct guest_memory *mem, uint16_t size, uint64_t desc,
	       uint64_t avail, uint64_t used, bool event_idx, bool indirect);

/*
 * Takes the next available chain into *c: 1 = got one, 0 = none available (or the queue is
 * not enabled), -1 = the ring is broken (q->broken set, the rule logged once). *c is left
 * alone when 0 is returned and holds garbage after -1.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/*
 * Returns a chain to the driver with `written` bytes written to the start of its
 * device-writable part (clamped to c->in_len). Works on a broken queue too, so requests in
 * flight can complete before the reset.
 */
void virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t written);

/*
 * For a device that answers one request with several chains (virtio-net's mergeable
 * receive buffers): virtq_fill writes used entry used_idx + i without publishing it,
 * virtq_flush publishes the next n entries at once. virtq_unpop gives back the last n
 * chains taken with virtq_pop (not yet filled), e.g. when a packet does not fit.
 */
void virtq_fill(struct virtq *q, const struct virtq_chain *c, uint32_t written, uint16_t i);
void virtq_flush(struct virtq *q, uint16_t n);
void virtq_unpop(struct virtq *q, uint16_t n);

/* After one or more pushes: should the driver be interrupted? (used_event / NO_INTERRUPT) */
bool virtq_should_notify(struct virtq *q);
/* Whether the driver has made buffers available that virtq_pop has not taken yet. */
bool virtq_has_avail(const struct virtq *q);

/*
 * Available-buffer notification suppression while the device drains the queue in a batch
 * (VIRTQ_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX). virtq_enable_notify returns true
 * if more chains arrived meanwhile: the device must pop again, the driver may not notify.
 */
void virtq_disable_notify(struct virtq *q);
bool virtq_enable_notify(struct virtq *q);
/*
 * For a device that took what was available and needs more (a packet larger than the
 * receive buffers posted so far): asks to be notified when the driver adds buffers beyond
 * those available now. Returns true if some were added meanwhile. Without this, the chains
 * it handed back (virtq_unpop) would count as "available" and it would retry forever.
 */
bool virtq_enable_notify_for_more(struct virtq *q);

/*
 * Copy from the chain's readable / to its writable buffers as if they were one byte stream,
 * starting `offset` bytes into it. Return the bytes copied (short at the end of the chain).
 */
size_t virtq_chain_read(const struct virtq_chain *c, size_t offset, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, size_t offset, const void *src, size_t len);

#endif
