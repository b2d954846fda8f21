/*
 * libFuzzer target for virtio-blk requests (src/virtio/blk.c) on a raw image
 * (src/backends/disk.c): the fuzzer plays a hostile driver that controls the queue layout
 * and all of guest RAM; every chain virtq_pop hands out goes through blk_request_parse and
 * blk_request_execute against a small real image file, as the device's I/O thread does.
 *
 * Input: a 16-byte header, then the image of guest RAM (copied from gpa 0; the rest is 0).
 *	le16 size	queue size as the driver wrote it
 *	u8   features	bit 0 EVENT_IDX, bit 1 INDIRECT_DESC
 *	u8   flags	bit 0 the disk is read-only
 *	le32 desc, avail, used	guest-physical addresses of the ring areas
 *
 * Guest RAM is two small malloc'd regions with a gap (0-64 KiB and 1 MiB-1 MiB+4 KiB), so
 * ASan catches any access past a region, including the kernel's preadv into guest buffers
 * (intercepted). The image is DISK_SECTORS sectors in an unlinked temporary file (on tmpfs
 * when /dev/shm exists, where write-zeroes falls back to writing zeros), restored
 * after every input that wrote to it. Properties, per request:
 *  - the status byte and every data segment lie inside the chain's buffers of the right
 *    direction; IN data never covers the status byte's place (in_len - 1 bytes at most);
 *  - the status is OK, IOERR or UNSUPP; OK for reads and writes only for whole sectors
 *    inside the image, never for a write-type request on a read-only disk;
 *  - a successful read returns the image's bytes, a successful write lands exactly there,
 *    a successful write-zeroes leaves zeros;
 *  - the image never changes size (nothing is written past its end), and it changes only
 *    through requests that succeed (never on a read-only disk).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/disk.h"
#include "fuzz_util.h"
#include "log.h"
#include "memory.h"
#include "virtio/blk.h"
#include "virtio/virtqueue.h"

#define HEADER_SIZE  16
#define MAX_POPS     32
#define DISK_SECTORS 16
#define DISK_SIZE    (DISK_SECTORS * VIRTIO_BLK_SECTOR)
#define SERIAL	     "fuzz-serial"

static struct disk disk;
static uint8_t image[DISK_SIZE];   /* what the file holds between inputs */
static uint8_t scratch[DISK_SIZE]; /* file contents read back */
static uint8_t data_copy[VIRTQ_MAX_CHAIN * 16];
static struct virtq_chain chain;
static struct blk_request req;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* tmpfs if there is one: FLUSH (fdatasync) stays cheap and nothing reaches a disk. */
	char path[64];
	int fd;

	fuzz_silence_stdio();
	log_set_level(LOG_ERROR); /* hostile rings trip warnings by design */
	for (size_t i = 0; i < DISK_SIZE; i++)
		image[i] = (uint8_t)(i * 131 + (i >> 9) + 1);
	snprintf(path, sizeof(path), "%s/kvmbox-fuzz-blk-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	fd = mkstemp(path);
	if (fd < 0 || pwrite(fd, image, DISK_SIZE, 0) != DISK_SIZE)
		abort();
	close(fd);
	if (disk_open(&disk, path, false, false) < 0)
		abort();
	unlink(path); /* the open fd keeps it; nothing left behind */
	return 0;
}

/* [p, p + len) inside one buffer of c with the given direction (and that buffer not empty). */
static bool inside_buffer(const struct virtq_chain *c, const void *p, size_t len, bool write)
{
	const uint8_t *q = p;

	for (uint16_t i = 0; i < c->nbufs; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		const uint8_t *h = b->host;
		if (b->write == write && b->len && q >= h && len <= b->len &&
		    (size_t)(q - h) <= b->len - len)
			return true;
	}
	return false;
}

static bool is_out_type(uint32_t type)
{
	return type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
	       type == VIRTIO_BLK_T_WRITE_ZEROES;
}

static void check_parsed(const struct virtq_chain *c, const struct blk_request *r)
{
	bool out = is_out_type(r->type);
	uint64_t total = 0;

	FUZZ_CHECK(inside_buffer(c, r->status, 1, true), "status byte outside the chain");
	FUZZ_CHECK(r->niov >= 0 && r->niov <= c->nbufs, "niov %d of %u buffers", r->niov, c->nbufs);
	for (int i = 0; i < r->niov; i++) {
		FUZZ_CHECK(r->iov[i].iov_len > 0, "empty segment %d", i);
		FUZZ_CHECK(inside_buffer(c, r->iov[i].iov_base, r->iov[i].iov_len, !out),
			   "segment %d outside the chain's %s buffers", i,
			   out ? "readable" : "writable");
		total += r->iov[i].iov_len;
	}
	FUZZ_CHECK(total == r->data_len, "segments add up to %llu, data_len %llu",
		   (unsigned long long)total, (unsigned long long)r->data_len);
	if (out)
		FUZZ_CHECK(r->data_len == c->out_len - 16, "out data %llu of %u readable bytes",
			   (unsigned long long)r->data_len, c->out_len);
	else
		FUZZ_CHECK(r->data_len <= c->in_len - 1, "in data %llu of %u writable bytes",
			   (unsigned long long)r->data_len, c->in_len);
}

/* Copies the request's data segments into dst (at most cap bytes); returns the count. */
static size_t gather(const struct blk_request *r, uint8_t *dst, size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < r->niov && n < cap; i++) {
		size_t k = r->iov[i].iov_len < cap - n ? r->iov[i].iov_len : cap - n;
		memcpy(dst + n, r->iov[i].iov_base, k);
		n += k;
	}
	return n;
}

/* Do any two of the writable places (segments and status) overlap? Small requests only. */
static bool writable_overlap(const struct blk_request *r)
{
	if (r->niov > 16)
		return true;
	for (int i = 0; i < r->niov; i++) {
		const uint8_t *a = r->iov[i].iov_base;
		if (r->status >= a && r->status < a + r->iov[i].iov_len)
			return true;
		for (int j = i + 1; j < r->niov; j++) {
			const uint8_t *b = r->iov[j].iov_base;
			if (a < b + r->iov[j].iov_len && b < a + r->iov[i].iov_len)
				return true;
		}
	}
	return false;
}

static void read_image(void)
{
	FUZZ_CHECK(pread(disk.fd, scratch, DISK_SIZE, 0) == DISK_SIZE, "image read back");
}

/* Runs one parsed request and checks what it did; returns whether the image may differ. */
static bool execute_and_check(struct disk *d, const struct virtq_chain *c,
			      const struct blk_request *r)
{
	bool rw_ok, in_image;
	uint64_t end;
	size_t copied = 0;
	uint8_t s;
	struct stat st;

	if (r->type == VIRTIO_BLK_T_OUT || r->type == VIRTIO_BLK_T_WRITE_ZEROES)
		copied = gather(r, data_copy, sizeof(data_copy));
	s = blk_request_execute(d, SERIAL, r, c);
	FUZZ_CHECK(s == VIRTIO_BLK_S_OK || s == VIRTIO_BLK_S_IOERR || s == VIRTIO_BLK_S_UNSUPP,
		   "status %u", s);
	*r->status = s;
	FUZZ_CHECK(fstat(d->fd, &st) == 0 && st.st_size == DISK_SIZE, "image size now %lld",
		   (long long)st.st_size);

	in_image = !__builtin_add_overflow(r->sector, r->data_len / VIRTIO_BLK_SECTOR, &end) &&
		   end <= DISK_SECTORS;
	rw_ok = r->data_len % VIRTIO_BLK_SECTOR == 0 && in_image;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		FUZZ_CHECK(s == (rw_ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR),
			   "read of %llu bytes at sector %llu: status %u",
			   (unsigned long long)r->data_len, (unsigned long long)r->sector, s);
		if (s == VIRTIO_BLK_S_OK && !writable_overlap(r)) {
			uint8_t *got = data_copy;
			size_t n = gather(r, got, sizeof(data_copy));
			read_image();
			FUZZ_CHECK(n == r->data_len &&
				       !memcmp(got, scratch + r->sector * VIRTIO_BLK_SECTOR, n),
				   "read returned other bytes than the image's");
		}
		return false;
	case VIRTIO_BLK_T_OUT:
		FUZZ_CHECK(s == (rw_ok && !d->readonly ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR),
			   "write of %llu bytes at sector %llu (ro %d): status %u",
			   (unsigned long long)r->data_len, (unsigned long long)r->sector,
			   d->readonly, s);
		if (s == VIRTIO_BLK_S_OK && copied == r->data_len) {
			read_image();
			FUZZ_CHECK(
			    !memcmp(scratch + r->sector * VIRTIO_BLK_SECTOR, data_copy, copied),
			    "written bytes not in the image");
		}
		return s == VIRTIO_BLK_S_OK && r->data_len;
	case VIRTIO_BLK_T_WRITE_ZEROES:
	case VIRTIO_BLK_T_DISCARD:
		FUZZ_CHECK(!(d->readonly && s == VIRTIO_BLK_S_OK), "%s on a read-only disk",
			   r->type == VIRTIO_BLK_T_DISCARD ? "discard" : "write-zeroes");
		if (s == VIRTIO_BLK_S_OK && r->type == VIRTIO_BLK_T_WRITE_ZEROES &&
		    copied == r->data_len) {
			struct virtio_blk_discard_write_zeroes seg;
			read_image();
			for (size_t off = 0; off + sizeof(seg) <= copied; off += sizeof(seg)) {
				memcpy(&seg, data_copy + off, sizeof(seg));
				FUZZ_CHECK(seg.sector + seg.num_sectors <= DISK_SECTORS,
					   "write-zeroes accepted sectors %llu+%u",
					   (unsigned long long)seg.sector, seg.num_sectors);
				FUZZ_CHECK(
				    fuzz_all_zero(scratch + seg.sector * VIRTIO_BLK_SECTOR,
						  (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR),
				    "write-zeroes left data behind");
			}
		}
		return s == VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_GET_ID:
		FUZZ_CHECK(s == VIRTIO_BLK_S_OK, "type %u: status %u", r->type, s);
		return false;
	default:
		FUZZ_CHECK(s == VIRTIO_BLK_S_UNSUPP, "unknown type %u: status %u", r->type, s);
		return false;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_memory mem;
	struct virtq q;
	struct disk d;
	bool dirty = false;

	if (size < HEADER_SIZE)
		return 0;
	fuzz_ring_memory(&mem, data + HEADER_SIZE, size - HEADER_SIZE);
	d = disk;
	d.readonly = data[3] & 1; /* the same file, refused writes (flock forbids a 2nd open) */
	if (virtq_init(&q, &mem, le16_at(data), le32_at(data + 4), le32_at(data + 8),
		       le32_at(data + 12), data[2] & 1, data[2] & 2) < 0)
		return 0;

	for (int i = 0; i < MAX_POPS; i++) {
		int r = virtq_pop(&q, &chain);
		uint32_t written = 0;

		if (r <= 0)
			break;
		if (blk_request_parse(&chain, &req) == 0) {
			check_parsed(&chain, &req);
			dirty |= execute_and_check(&d, &chain, &req);
			written =
			    1 + (req.type == VIRTIO_BLK_T_IN || req.type == VIRTIO_BLK_T_GET_ID
				     ? (uint32_t)req.data_len
				     : 0);
		} else {
			FUZZ_CHECK(chain.out_len < 16 || chain.in_len == 0,
				   "refused a chain with %u readable and %u writable bytes",
				   chain.out_len, chain.in_len);
		}
		virtq_push(&q, &chain, written);
	}
	virtq_should_notify(&q);

	if (dirty) { /* next input starts from the same image */
		FUZZ_CHECK(!d.readonly, "a read-only disk was written");
		FUZZ_CHECK(pwrite(disk.fd, image, DISK_SIZE, 0) == DISK_SIZE, "image restore");
	} else { /* nothing succeeded that writes: nothing may have changed */
		read_image();
		FUZZ_CHECK(!memcmp(scratch, image, DISK_SIZE), "image changed (read-only %d)",
			   d.readonly);
	}
	return 0;
}
