/*
 * Split virtqueues, device side (virtio 1.2, 2.7). See virtqueue.h for the API and the
 * threat model.
 *
 * Model:
 *  - virtq_init checks the three ring areas once (alignment, size, inside RAM) and keeps
 *    their host pointers; the areas cannot move until the next init.
 *  - Ring fields the guest writes concurrently are read with __atomic loads: avail->idx with
 *    acquire (2.7.13: the driver's barrier before the idx update pairs with it), then ring
 *    entries and descriptors. Each descriptor is copied out once and only the copy is used,
 *    so a guest rewriting it meanwhile cannot get a check and a use to disagree.
 *  - Used entries are written before a release store of used->idx (2.7.8); a full fence
 *    separates that store from reading the driver's suppression fields, and the device's
 *    own avail_event / flags store from re-reading avail->idx (2.7.10, 2.7.7).
 *  - Every walk is bounded: a direct chain visits at most `size` descriptors, an indirect
 *    table at most len / 16, and no chain holds more than VIRTQ_MAX_CHAIN buffers.
 */
#include "virtio/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "log.h"

/* The driver broke a ring rule (logged once per rule): the queue stays broken until init. */
#define virtq_break(q, ...)                                                                        \
	({                                                                                         \
		log_once(log_warnx, "virtio: queue needs reset: " __VA_ARGS__);                    \
		(q)->broken = true;                                                                \
		-1;                                                                                \
	})

/* --- ring fields ------------------------------------------------------------------------- */

/* avail: flags at 0, idx at 2, ring[i] at 4 + 2 i, used_event at 4 + 2 size. */
static uint16_t *avail_field(const struct virtq *q, uint32_t off)
{
	return (uint16_t *)(q->avail + off);
}

/* used: flags at 0, idx at 2, ring[i] at 4 + 8 i, avail_event at 4 + 8 size. */
static uint16_t *used_field(const struct virtq *q, uint32_t off)
{
	return (uint16_t *)(q->used + off);
}

static uint16_t load16(const uint16_t *p, int order)
{
	return le16toh(__atomic_load_n(p, order));
}

static void store16(uint16_t *p, uint16_t v, int order)
{
	__atomic_store_n(p, htole16(v), order);
}

static uint16_t avail_idx(const struct virtq *q)
{
	return load16(avail_field(q, 2), __ATOMIC_ACQUIRE);
}

/* Asks the driver to notify once it makes entry last_avail available (EVENT_IDX). */
static void publish_avail_event_at(struct virtq *q, uint16_t idx)
{
	store16(used_field(q, 4 + 8 * (uint32_t)q->size), idx, __ATOMIC_RELAXED);
}

static void publish_avail_event(struct virtq *q)
{
	publish_avail_event_at(q, q->last_avail);
}

/* The EVENT_IDX test (2.7.10): did used->idx pass used_event going from old to new? */
static bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* --- setup ------------------------------------------------------------------------------- */

int virtq_init(struct virtq *q, struct guest_memory *mem, uint16_t size, uint64_t desc,
	       uint64_t avail, uint64_t used, bool event_idx, bool indirect)
{
	memset(q, 0, sizeof(*q));
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1))) {
		log_once(log_warnx, "virtio: queue size %u is not a power of two <= %u", size,
			 VIRTQ_MAX_SIZE);
		return -EINVAL;
	}
	if (desc % VIRTQ_DESC_ALIGN || avail % VIRTQ_AVAIL_ALIGN || used % VIRTQ_USED_ALIGN) {
		log_once(log_warnx,
			 "virtio: queue areas misaligned (desc 0x%llx, avail 0x%llx, used 0x%llx)",
			 (unsigned long long)desc, (unsigned long long)avail,
			 (unsigned long long)used);
		return -EINVAL;
	}
	q->desc = gpa_to_host(mem, desc, VIRTQ_DESC_SIZE(size));
	q->avail = gpa_to_host(mem, avail, VIRTQ_AVAIL_SIZE(size));
	q->used = gpa_to_host(mem, used, VIRTQ_USED_SIZE(size));
	if (!q->desc || !q->avail || !q->used) {
		log_once(log_warnx,
			 "virtio: queue areas outside RAM (size %u, desc 0x%llx, avail 0x%llx, "
			 "used 0x%llx)",
			 size, (unsigned long long)desc, (unsigned long long)avail,
			 (unsigned long long)used);
		memset(q, 0, sizeof(*q));
		return -EINVAL;
	}
	q->mem = mem;
	q->size = size;
	q->desc_gpa = desc;
	q->avail_gpa = avail;
	q->used_gpa = used;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->enabled = true;
	return 0;
}

/* --- taking chains ----------------------------------------------------------------------- */

/*
 * Walks the chain starting at descriptor `head` into *c. Returns 0, or -1 with the queue
 * broken. The table being walked is the descriptor table or, after an INDIRECT descriptor,
 * the indirect table; `visited` counts descriptors read from it, so a cycle ends the walk.
 */
static int virtq_walk_chain(struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	const uint8_t *table = q->desc;
	uint32_t entries = q->size, visited = 0, total = 0;
	bool in_indirect = false;
	uint16_t i = head;

	c->head = head;
	c->nbufs = 0;
	c->in_len = c->out_len = 0;
	for (;;) {
		struct virtq_desc d;
		struct virtq_buf *b;
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		void *host;

		if (++visited > entries)
			return virtq_break(q, "descriptor chain loops (head %u)", head);
		memcpy(&d, table + (size_t)i * sizeof(d), sizeof(d));
		addr = le64toh(d.addr);
		len = le32toh(d.len);
		flags = le16toh(d.flags);

		if (flags & VIRTQ_DESC_F_INDIRECT) {
			/* 2.7.5.3.1; the WRITE flag of this descriptor is ignored (2.7.5.3.2). */
			if (!q->indirect)
				return virtq_break(q, "INDIRECT descriptor not negotiated");
			if (in_indirect)
				return virtq_break(q, "nested indirect table");
			if (flags & VIRTQ_DESC_F_NEXT)
				return virtq_break(q, "INDIRECT descriptor with NEXT");
			if (len == 0 || len % sizeof(d))
				return virtq_break(q, "indirect table length %u", len);
			table = gpa_to_host(q->mem, addr, len);
			if (!table)
				return virtq_break(q, "indirect table 0x%llx+%u outside RAM",
						   (unsigned long long)addr, len);
			entries = len / sizeof(d);
			visited = 0;
			in_indirect = true;
			i = 0;
			continue;
		}

		if (c->nbufs == VIRTQ_MAX_CHAIN)
			return virtq_break(q, "chain longer than %u buffers", VIRTQ_MAX_CHAIN);
		/* 2.7.4.2: device-writable buffers follow all device-readable ones. */
		if (!(flags & VIRTQ_DESC_F_WRITE) && c->nbufs && c->bufs[c->nbufs - 1].write)
			return virtq_break(q, "readable descriptor after a writable one");
		if (__builtin_add_overflow(total, len, &total))
			return virtq_break(q, "chain longer than 4 GiB");
		host = gpa_to_host(q->mem, addr, len);
		if (!host)
			return virtq_break(q, "buffer 0x%llx+%u outside RAM",
					   (unsigned long long)addr, len);

		b = &c->bufs[c->nbufs++];
		*b = (struct virtq_buf){
		    .gpa = addr, .len = len, .write = flags & VIRTQ_DESC_F_WRITE, .host = host};
		if (b->write)
			c->in_len += len;
		else
			c->out_len += len;

		if (!(flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = le16toh(d.next);
		if (i >= entries)
			return virtq_break(q, "next index %u >= %u", i, entries);
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t idx, head;

	if (q->broken)
		return -1;
	if (!q->enabled)
		return 0;

	idx = avail_idx(q);
	if (idx == q->last_avail && q->event_idx && !q->notify_disabled) {
		/* Going idle: re-arm the driver's notification, then look once more. */
		publish_avail_event(q);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		idx = avail_idx(q);
	}
	if (idx == q->last_avail)
		return 0;
	/* Also catches a decremented idx (2.7.6.1), which looks like a jump of almost 64 Ki. */
	if ((uint16_t)(idx - q->last_avail) > q->size)
		return virtq_break(q, "avail idx %u is more than %u ahead of %u", idx, q->size,
				   q->last_avail);

	head = load16(avail_field(q, 4 + 2 * (uint32_t)(q->last_avail & (q->size - 1))),
		      __ATOMIC_RELAXED);
	if (head >= q->size)
		return virtq_break(q, "chain head %u >= queue size %u", head, q->size);
	if (virtq_walk_chain(q, head, c) < 0)
		return -1;
	q->last_avail++;
	return 1;
}

/* --- returning chains -------------------------------------------------------------------- */

void virtq_fill(struct virtq *q, const struct virtq_chain *c, uint32_t written, uint16_t i)
{
	struct virtq_used_elem e = {
	    .id = htole32(c->head),
	    .len = htole32(written < c->in_len ? written : c->in_len),
	};

	if (!q->enabled)
		return;
	memcpy(q->used + 4 + 8 * (size_t)((uint16_t)(q->used_idx + i) & (q->size - 1)), &e,
	       sizeof(e));
}

void virtq_flush(struct virtq *q, uint16_t n)
{
	if (!q->enabled)
		return;
	q->used_idx = (uint16_t)(q->used_idx + n);
	store16(used_field(q, 2), q->used_idx, __ATOMIC_RELEASE);
	q->unsignalled += n;
}

void virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t written)
{
	virtq_fill(q, c, written, 0);
	virtq_flush(q, 1);
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

bool virtq_should_notify(struct virtq *q)
{
	uint32_t n = q->unsignalled;
	uint16_t used_event;

	q->unsignalled = 0;
	if (!q->enabled || n == 0)
		return false;
	/* Our used->idx store must be visible before we read what the driver asked for. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(avail_field(q, 0), __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (n > UINT16_MAX)
		return true; /* used->idx went all the way round: used_event was passed */
	used_event = load16(avail_field(q, 4 + 2 * (uint32_t)q->size), __ATOMIC_RELAXED);
	return vring_need_event(used_event, q->used_idx, (uint16_t)(q->used_idx - n));
}

bool virtq_has_avail(const struct virtq *q)
{
	return q->enabled && !q->broken && avail_idx(q) != q->last_avail;
}

/* --- available-buffer notifications ------------------------------------------------------ */

void virtq_disable_notify(struct virtq *q)
{
	if (!q->enabled || q->notify_disabled)
		return;
	q->notify_disabled = true;
	/* With EVENT_IDX the device keeps flags 0 (2.7.10.2) and just stops moving avail_event. */
	if (!q->event_idx)
		store16(used_field(q, 0), VIRTQ_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!q->enabled || q->broken)
		return false;
	q->notify_disabled = false;
	if (q->event_idx)
		publish_avail_event(q);
	else
		store16(used_field(q, 0), 0, __ATOMIC_RELAXED);
	/* Pairs with the driver's barrier between its idx update and reading our fields. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_idx(q) != q->last_avail;
}

bool virtq_enable_notify_for_more(struct virtq *q)
{
	uint16_t seen;

	if (!q->enabled || q->broken)
		return false;
	q->notify_disabled = false;
	seen = avail_idx(q);
	if (q->event_idx)
		publish_avail_event_at(q, seen);
	else
		store16(used_field(q, 0), 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_idx(q) != seen;
}

/* --- copying across buffers -------------------------------------------------------------- */

/* Copies between `buf` and the chain's buffers with the given write flag, as one stream. */
static size_t virtq_chain_copy(const struct virtq_chain *c, bool write, size_t offset, void *buf,
			       size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	for (uint16_t i = 0; i < c->nbufs && done < len; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		size_t n;

		if (b->write != write)
			continue;
		if (offset >= b->len) {
			offset -= b->len;
			continue;
		}
		n = b->len - offset;
		if (n > len - done)
			n = len - done;
		if (write)
			memcpy((uint8_t *)b->host + offset, p + done, n);
		else
			memcpy(p + done, (const uint8_t *)b->host + offset, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t offset, void *dst, size_t len)
{
	return virtq_chain_copy(c, false, offset, dst, len);
}

size_t virtq_chain_write(const struct virtq_chain *c, size_t offset, const void *src, size_t len)
{
	return virtq_chain_copy(c, true, offset, (void *)src, len);
}
