#include "virtio/blk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "event_loop.h"
#include "log.h"

#define BLK_QUEUE_SIZE	256
#define BLK_CONFIG_SIZE 60

struct blk_queue {
	struct virtio_blk *blk;
	uint16_t index;
	struct event_loop loop;
	struct event_source kick;
	struct virtq_chain chain;
	struct blk_request req;
};

struct virtio_blk {
	struct virtio_dev vdev;
	struct disk *disk; /* opened once per run (backends.c): it outlives reboots */
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	char name[32];
	uint16_t nqueues;
	struct blk_queue *queues;
};

int blk_request_parse(const struct virtq_chain *c, struct blk_request *r)
{
	struct virtio_blk_outhdr hdr;
	uint64_t skip = sizeof(hdr), data_in = 0;
	const struct virtq_buf *last = NULL;

	if (c->out_len < sizeof(hdr) || c->in_len < 1 ||
	    virtq_chain_read(c, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return -1;
	/* The status is the last writable byte: skip zero-length buffers after it. */
	for (uint16_t i = 0; i < c->nbufs; i++)
		if (c->bufs[i].write && c->bufs[i].len)
			last = &c->bufs[i];
	r->type = hdr.type;
	r->sector = hdr.sector;
	r->status = (uint8_t *)last->host + last->len - 1;
	r->niov = 0;
	r->data_len = 0;
	/* Writes, discards and write-zeroes carry data after the header; the rest return data
	 * in the writable part before the status byte. Either may share a buffer. */
	bool out = r->type == VIRTIO_BLK_T_OUT || r->type == VIRTIO_BLK_T_DISCARD ||
		   r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	for (uint16_t i = 0; i < c->nbufs; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		uint64_t off = 0, len = b->len;
		if (b->write != !out)
			continue;
		if (out) {
			uint64_t s = skip < len ? skip : len;
			skip -= s;
			off = s;
			len -= s;
		} else {
			uint64_t room = c->in_len - 1 - data_in;
			if (len > room)
				len = room;
			data_in += len;
		}
		if (len == 0)
			continue;
		r->iov[r->niov++] =
		    (struct iovec){.iov_base = (uint8_t *)b->host + off, .iov_len = (size_t)len};
		r->data_len += len;
	}
	return 0;
}

/* [sector, sector + count) inside the disk? */
static bool in_range(const struct disk *d, uint64_t sector, uint64_t count)
{
	uint64_t end;

	return !__builtin_add_overflow(sector, count, &end) && end <= d->size / VIRTIO_BLK_SECTOR;
}

static uint8_t status_of(int err)
{
	return err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* Copies the data part of an OUT-type request into buf (up to len bytes). */
static size_t gather(const struct blk_request *r, void *buf, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < r->niov && done < len; i++) {
		size_t n = r->iov[i].iov_len < len - done ? r->iov[i].iov_len : len - done;
		memcpy((uint8_t *)buf + done, r->iov[i].iov_base, n);
		done += n;
	}
	return done;
}

static uint8_t ranges(struct disk *d, const struct blk_request *r)
{
	struct virtio_blk_discard_write_zeroes seg[VIRTIO_BLK_MAX_SEGMENTS];
	size_t n = (size_t)(r->data_len / sizeof(seg[0]));
	bool zeroes = r->type == VIRTIO_BLK_T_WRITE_ZEROES;

	if (d->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (r->data_len % sizeof(seg[0]) || n == 0 || n > VIRTIO_BLK_MAX_SEGMENTS)
		return VIRTIO_BLK_S_UNSUPP;
	gather(r, seg, n * sizeof(seg[0]));
	for (size_t i = 0; i < n; i++) {
		/* Discard knows no flags; write-zeroes only "unmap" (5.2.6.2). */
		if (seg[i].flags & (zeroes ? ~1u : ~0u))
			return VIRTIO_BLK_S_UNSUPP;
		if (!in_range(d, seg[i].sector, seg[i].num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t off = seg[i].sector * VIRTIO_BLK_SECTOR;
		uint64_t len = (uint64_t)seg[i].num_sectors * VIRTIO_BLK_SECTOR;
		int err = zeroes ? disk_write_zeroes(d, off, len, seg[i].flags & 1)
				 : disk_discard(d, off, len);
		if (err)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

uint8_t blk_request_execute(struct disk *d, const char *serial, const struct blk_request *r,
			    const struct virtq_chain *c)
{
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->data_len % VIRTIO_BLK_SECTOR ||
		    !in_range(d, r->sector, r->data_len / VIRTIO_BLK_SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (r->type == VIRTIO_BLK_T_OUT && d->readonly)
			return VIRTIO_BLK_S_IOERR;
		return status_of(
		    r->type == VIRTIO_BLK_T_IN
			? disk_preadv(d, r->iov, r->niov, r->sector * VIRTIO_BLK_SECTOR)
			: disk_pwritev(d, r->iov, r->niov, r->sector * VIRTIO_BLK_SECTOR));
	case VIRTIO_BLK_T_FLUSH:
		return status_of(disk_flush(d));
	case VIRTIO_BLK_T_GET_ID: {
		uint8_t id[VIRTIO_BLK_ID_BYTES] = {0};
		size_t done = 0;
		memcpy(id, serial, strnlen(serial, VIRTIO_BLK_ID_BYTES));
		for (int i = 0; i < r->niov && done < sizeof(id); i++) {
			size_t n = r->iov[i].iov_len < sizeof(id) - done ? r->iov[i].iov_len
									 : sizeof(id) - done;
			memcpy(r->iov[i].iov_base, id + done, n);
			done += n;
		}
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return ranges(d, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static uint32_t blk_handle(void *opaque, struct virtq_chain *c)
{
	struct blk_queue *bq = opaque;
	struct virtio_blk *b = bq->blk;
	struct blk_request *r = &bq->req;

	if (blk_request_parse(c, r) < 0) {
		log_once(log_warnx, "%s: request without header or status byte", b->name);
		return 0;
	}
	*r->status = blk_request_execute(b->disk, b->serial, r, c);
	return 1 + (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID
			? (uint32_t)r->data_len
			: 0);
}

static void blk_kick(void *opaque, uint32_t events)
{
	struct blk_queue *bq = opaque;

	virtio_queue_serve(&bq->blk->vdev.queues[bq->index], &bq->chain, blk_handle, bq);
}

static void put(uint8_t *cfg, size_t off, uint64_t v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static void blk_config_io(struct virtio_dev *v, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	struct virtio_blk *b = v->priv;
	uint8_t cfg[BLK_CONFIG_SIZE] = {0};

	if (is_write)
		return; /* writeback toggling (CONFIG_WCE) is not offered: read-only */
	put(cfg, 0, b->disk->size / VIRTIO_BLK_SECTOR, 8); /* capacity */
	put(cfg, 12, BLK_QUEUE_SIZE - 2, 4);		   /* seg_max */
	put(cfg, 20, VIRTIO_BLK_SECTOR, 4);		   /* blk_size */
	put(cfg, 34, b->nqueues, 2);			   /* num_queues */
	put(cfg, 36, UINT32_MAX / VIRTIO_BLK_SECTOR, 4);   /* max_discard_sectors */
	put(cfg, 40, VIRTIO_BLK_MAX_SEGMENTS, 4);	   /* max_discard_seg */
	put(cfg, 44, 1, 4);				   /* discard_sector_alignment */
	put(cfg, 48, UINT32_MAX / VIRTIO_BLK_SECTOR, 4);   /* max_write_zeroes_sectors */
	put(cfg, 52, VIRTIO_BLK_MAX_SEGMENTS, 4);	   /* max_write_zeroes_seg */
	cfg[56] = 1;					   /* write_zeroes_may_unmap */
	virtio_config_read(cfg, sizeof(cfg), off, data, len);
}

static int blk_start(struct virtio_dev *v)
{
	struct virtio_blk *b = v->priv;

	for (uint16_t i = 0; i < b->nqueues; i++) {
		int r = event_loop_start(&b->queues[i].loop);
		if (r < 0) {
			while (i--)
				event_loop_stop(&b->queues[i].loop);
			return r;
		}
	}
	return 0;
}

static void blk_stop(struct virtio_dev *v)
{
	struct virtio_blk *b = v->priv;

	for (uint16_t i = 0; i < b->nqueues; i++)
		event_loop_stop(&b->queues[i].loop);
}

static const struct virtio_dev_ops blk_ops = {
    .config_io = blk_config_io,
    .start = blk_start,
    .stop = blk_stop,
};

struct virtio_blk *virtio_blk_create(const struct disk_config *cfg, struct disk *disk,
				     uint32_t vcpus, struct guest_memory *mem,
				     struct irq_router *router)
{
	static int count;
	struct virtio_blk *b = calloc(1, sizeof(*b));
	uint64_t features = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
			    1ull << VIRTIO_BLK_F_FLUSH;
	int err;

	if (!b) {
		log_errorx("out of memory creating virtio-blk");
		return NULL;
	}
	b->disk = disk;
	snprintf(b->name, sizeof(b->name), "virtio-blk%d", count++);
	memcpy(b->serial, cfg->serial,
	       sizeof(cfg->serial) < sizeof(b->serial) ? sizeof(cfg->serial) : sizeof(b->serial));
	b->nqueues = (uint16_t)(cfg->queues ? cfg->queues : vcpus);
	if (b->nqueues > VIRTIO_MAX_QUEUES - 1)
		b->nqueues = VIRTIO_MAX_QUEUES - 1;
	if (cfg->readonly)
		features |= 1ull << VIRTIO_BLK_F_RO;
	else
		features |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	if (b->nqueues > 1)
		features |= 1ull << VIRTIO_BLK_F_MQ;
	b->queues = calloc(b->nqueues, sizeof(*b->queues));
	if (!b->queues) {
		log_errorx("out of memory creating %s", b->name);
		free(b);
		return NULL;
	}
	err = virtio_pci_init(&b->vdev, b->name, VIRTIO_ID_BLOCK, &blk_ops, b, features, b->nqueues,
			      BLK_QUEUE_SIZE, mem, router);
	if (err < 0) {
		log_errorx("%s: setting up virtio: %s", b->name, strerror(-err));
		goto fail_queues;
	}
	b->vdev.pci.cfg[PCI_CLASS_DEVICE] = 0x80; /* mass storage, other */
	b->vdev.pci.cfg[PCI_CLASS_DEVICE + 1] = 0x01;
	for (uint16_t i = 0; i < b->nqueues; i++)
		b->queues[i].loop.epfd = b->queues[i].loop.stop_fd = -1;
	for (uint16_t i = 0; i < b->nqueues; i++) {
		struct blk_queue *bq = &b->queues[i];
		bq->blk = b;
		bq->index = i;
		bq->kick = (struct event_source){
		    .fd = b->vdev.queues[i].kick_fd, .fn = blk_kick, .opaque = bq};
		/* The queue has its I/O thread to itself: polling delays nothing else. */
		b->vdev.queues[i].poll.enabled = true;
		if (event_loop_init(&bq->loop, "virtio-blk") < 0 ||
		    event_loop_add(&bq->loop, &bq->kick, EPOLLIN) < 0) {
			log_errorx("%s: cannot create its I/O thread", b->name);
			virtio_blk_destroy(b);
			return NULL;
		}
	}
	return b;
fail_queues:
	free(b->queues);
	free(b);
	return NULL;
}

struct virtio_dev *virtio_blk_dev(struct virtio_blk *b)
{
	return &b->vdev;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	virtio_pci_destroy(&b->vdev);
	for (uint16_t i = 0; i < b->nqueues; i++)
		event_loop_destroy(&b->queues[i].loop);
	free(b->queues);
	free(b);
}
