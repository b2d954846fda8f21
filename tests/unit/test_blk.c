/*
 * Tests for virtio-blk requests (src/virtio/blk.c) and the raw image backend
 * (src/backends/disk.c). Chains are built directly as struct virtq_chain with host pointers
 * (what virtq_pop hands the device after checking them), so each test lays out exactly the
 * buffers a driver could: a header split anywhere, data and status sharing a buffer, buffers
 * of length 0. Requests run against real temporary image files; the tests check the status,
 * the data and that nothing outside the request's sectors (or the guest's buffers) changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_util.h"

#include "backends/disk.h"
#include "log.h"
#include "virtio/blk.h"
#include "virtio/virtqueue.h"

#define SECTOR	     VIRTIO_BLK_SECTOR
#define DISK_SECTORS 128
#define DISK_SIZE    (DISK_SECTORS * SECTOR)
#define SERIAL	     "kvmbox-serial-1"

struct fixture {
	char path[TEST_TEMP_PATH_MAX];
	uint8_t *image; /* what the file held at setup */
	struct disk disk;
	bool open;
	struct virtq_chain *c;
	struct blk_request r;
	uint8_t status;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->c = calloc(1, sizeof(*f->c));
	assert_non_null(f->c);
	f->image = test_pattern_bytes(DISK_SIZE);
	test_write_temp_file(f->path, f->image, DISK_SIZE);
	assert_int_equal(disk_open(&f->disk, f->path, false, false), 0);
	f->open = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->open)
		disk_close(&f->disk);
	unlink(f->path);
	free(f->image);
	free(f->c);
	free(f);
	return 0;
}

/* --- chains -------------------------------------------------------------------------------- */

static void chain_reset(struct virtq_chain *c)
{
	c->head = 0;
	c->nbufs = 0;
	c->in_len = c->out_len = 0;
}

/* Appends a buffer; readable ones must come first (as virtq_pop guarantees). */
static void chain_add(struct virtq_chain *c, void *host, uint32_t len, bool write)
{
	assert_true(c->nbufs < VIRTQ_MAX_CHAIN);
	if (c->nbufs)
		assert_true(write || !c->bufs[c->nbufs - 1].write);
	c->bufs[c->nbufs++] = (struct virtq_buf){
	    .gpa = 0x100000 + 0x1000ULL * c->nbufs, .len = len, .write = write, .host = host};
	if (write)
		c->in_len += len;
	else
		c->out_len += len;
}

static void put_hdr(void *p, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {.type = type, .reserved = 0, .sector = sector};

	memcpy(p, &h, sizeof(h));
}

/* Parses f->c into f->r (must succeed), runs it, writes the status byte, returns it. */
static uint8_t run(struct fixture *f)
{
	uint8_t s;

	assert_int_equal(blk_request_parse(f->c, &f->r), 0);
	s = blk_request_execute(&f->disk, SERIAL, &f->r, f->c);
	*f->r.status = s;
	return s;
}

/* A request with header, one data buffer and a separate status byte. */
static uint8_t simple(struct fixture *f, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	static uint8_t hdr[16];
	bool out = type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
		   type == VIRTIO_BLK_T_WRITE_ZEROES;

	chain_reset(f->c);
	put_hdr(hdr, type, sector);
	chain_add(f->c, hdr, sizeof(hdr), false);
	if (out && len)
		chain_add(f->c, data, len, false);
	if (!out && len)
		chain_add(f->c, data, len, true);
	f->status = 0xee;
	chain_add(f->c, &f->status, 1, true);
	return run(f);
}

static void file_read(struct fixture *f, uint64_t off, void *buf, size_t len)
{
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static uint64_t file_size(struct fixture *f)
{
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	return (uint64_t)st.st_size;
}

/* The image file still holds exactly what setup wrote. */
static void assert_image_unchanged(struct fixture *f)
{
	uint8_t *now = malloc(DISK_SIZE);

	assert_non_null(now);
	assert_int_equal(file_size(f), DISK_SIZE);
	file_read(f, 0, now, DISK_SIZE);
	assert_memory_equal(now, f->image, DISK_SIZE);
	free(now);
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* --- blk_request_parse --------------------------------------------------------------------- */

static void test_blk__parse_header_data_status(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[16], data[1024], st;

	chain_reset(f->c);
	put_hdr(hdr, VIRTIO_BLK_T_IN, 77);
	chain_add(f->c, hdr, 16, false);
	chain_add(f->c, data, sizeof(data), true);
	chain_add(f->c, &st, 1, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), 0);
	assert_int_equal(f->r.type, VIRTIO_BLK_T_IN);
	assert_int_equal(f->r.sector, 77);
	assert_int_equal(f->r.niov, 1);
	assert_ptr_equal(f->r.iov[0].iov_base, data);
	assert_int_equal(f->r.iov[0].iov_len, sizeof(data));
	assert_int_equal(f->r.data_len, sizeof(data));
	assert_ptr_equal(f->r.status, &st);
}

static void test_blk__parse_header_split_across_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[16], a[3], b[9], c[4 + 512], st;

	/* 3 + 9 + 4 header bytes, the last part sharing its buffer with the data. */
	put_hdr(hdr, VIRTIO_BLK_T_OUT, 0x0102030405060708ULL);
	memcpy(a, hdr, 3);
	memcpy(b, hdr + 3, 9);
	memcpy(c, hdr + 12, 4);
	chain_reset(f->c);
	chain_add(f->c, a, sizeof(a), false);
	chain_add(f->c, b, sizeof(b), false);
	chain_add(f->c, c, sizeof(c), false);
	chain_add(f->c, &st, 1, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), 0);
	assert_int_equal(f->r.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(f->r.sector, 0x0102030405060708ULL);
	assert_int_equal(f->r.niov, 1);
	assert_ptr_equal(f->r.iov[0].iov_base, c + 4);
	assert_int_equal(f->r.iov[0].iov_len, 512);
	assert_int_equal(f->r.data_len, 512);
	assert_ptr_equal(f->r.status, &st);
}

static void test_blk__parse_out_data_in_header_buffer(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16 + 1024], more[512], st;

	put_hdr(buf, VIRTIO_BLK_T_OUT, 3);
	chain_reset(f->c);
	chain_add(f->c, buf, sizeof(buf), false);
	chain_add(f->c, more, sizeof(more), false);
	chain_add(f->c, &st, 1, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), 0);
	assert_int_equal(f->r.niov, 2);
	assert_ptr_equal(f->r.iov[0].iov_base, buf + 16);
	assert_int_equal(f->r.iov[0].iov_len, 1024);
	assert_ptr_equal(f->r.iov[1].iov_base, more);
	assert_int_equal(f->r.data_len, 1536);
}

static void test_blk__parse_data_and_status_share_a_buffer(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[16], in[512 + 1];

	put_hdr(hdr, VIRTIO_BLK_T_IN, 0);
	chain_reset(f->c);
	chain_add(f->c, hdr, 16, false);
	chain_add(f->c, in, sizeof(in), true);
	assert_int_equal(blk_request_parse(f->c, &f->r), 0);
	assert_int_equal(f->r.niov, 1);
	assert_ptr_equal(f->r.iov[0].iov_base, in);
	assert_int_equal(f->r.iov[0].iov_len, 512);
	assert_int_equal(f->r.data_len, 512);
	assert_ptr_equal(f->r.status, &in[512]);

	/* Data over three writable buffers, the status the last byte of the third. */
	{
		uint8_t a[100], b[300], c[112 + 1];
		chain_reset(f->c);
		chain_add(f->c, hdr, 16, false);
		chain_add(f->c, a, sizeof(a), true);
		chain_add(f->c, b, sizeof(b), true);
		chain_add(f->c, c, sizeof(c), true);
		assert_int_equal(blk_request_parse(f->c, &f->r), 0);
		assert_int_equal(f->r.niov, 3);
		assert_int_equal(f->r.iov[2].iov_len, 112);
		assert_int_equal(f->r.data_len, 512);
		assert_ptr_equal(f->r.status, &c[112]);
	}
}

static void test_blk__parse_header_and_status_only(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[16], st;

	put_hdr(hdr, VIRTIO_BLK_T_FLUSH, 0);
	chain_reset(f->c);
	chain_add(f->c, hdr, 16, false);
	chain_add(f->c, &st, 1, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), 0);
	assert_int_equal(f->r.type, VIRTIO_BLK_T_FLUSH);
	assert_int_equal(f->r.niov, 0);
	assert_int_equal(f->r.data_len, 0);
	assert_ptr_equal(f->r.status, &st);
}

static void test_blk__parse_refuses_short_header_or_missing_status(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[16], data[512], st;

	put_hdr(hdr, VIRTIO_BLK_T_IN, 0);
	/* No writable byte for the status. */
	chain_reset(f->c);
	chain_add(f->c, hdr, 16, false);
	chain_add(f->c, data, sizeof(data), false);
	assert_int_equal(blk_request_parse(f->c, &f->r), -1);
	/* Only zero-length writable buffers. */
	chain_reset(f->c);
	chain_add(f->c, hdr, 16, false);
	chain_add(f->c, &st, 0, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), -1);
	/* A 15-byte header. */
	chain_reset(f->c);
	chain_add(f->c, hdr, 15, false);
	chain_add(f->c, data, sizeof(data), true);
	chain_add(f->c, &st, 1, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), -1);
	/* The header in writable buffers does not count. */
	chain_reset(f->c);
	chain_add(f->c, hdr, 16, true);
	chain_add(f->c, &st, 1, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), -1);
	/* Nothing at all. */
	chain_reset(f->c);
	assert_int_equal(blk_request_parse(f->c, &f->r), -1);
}

static void test_blk__parse_status_skips_trailing_empty_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[16], data[512], *st = malloc(1), *empty = malloc(16);

	/*
	 * A zero-length writable descriptor after the status byte is legal for virtq_pop. The
	 * status is still the last byte of the device-writable part, never the byte before a
	 * zero-length buffer (outside anything the guest handed over).
	 */
	assert_non_null(st);
	assert_non_null(empty);
	put_hdr(hdr, VIRTIO_BLK_T_IN, 0);
	chain_reset(f->c);
	chain_add(f->c, hdr, 16, false);
	chain_add(f->c, data, sizeof(data), true);
	chain_add(f->c, st, 1, true);
	chain_add(f->c, empty + 8, 0, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), 0);
	assert_ptr_equal(f->r.status, st);
	assert_int_equal(f->r.data_len, 512);
	assert_ptr_equal(f->r.iov[0].iov_base, data);

	/* The same with the data and status sharing a buffer, two empty ones behind. */
	chain_reset(f->c);
	chain_add(f->c, hdr, 16, false);
	chain_add(f->c, data, sizeof(data), true);
	chain_add(f->c, empty + 8, 0, true);
	chain_add(f->c, empty + 12, 0, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), 0);
	assert_ptr_equal(f->r.status, &data[511]);
	assert_int_equal(f->r.data_len, 511);
	free(st);
	free(empty);
}

static void test_blk__parse_longest_chain(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[16], st;
	static uint8_t bufs[VIRTQ_MAX_CHAIN - 2][1];

	/* The longest chain: 1022 one-byte data buffers, then the status. */
	put_hdr(hdr, VIRTIO_BLK_T_GET_ID, 0);
	chain_reset(f->c);
	chain_add(f->c, hdr, 16, false);
	for (int i = 0; i < VIRTQ_MAX_CHAIN - 2; i++)
		chain_add(f->c, bufs[i], 1, true);
	chain_add(f->c, &st, 1, true);
	assert_int_equal(blk_request_parse(f->c, &f->r), 0);
	assert_int_equal(f->r.niov, VIRTQ_MAX_CHAIN - 2);
	assert_int_equal(f->r.data_len, VIRTQ_MAX_CHAIN - 2);
	assert_ptr_equal(f->r.status, &st);
}

/* --- reads and writes ---------------------------------------------------------------------- */

static void test_blk__read_returns_image_bytes(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[3 * SECTOR];

	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, 2, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(f->status, VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, f->image + 2 * SECTOR, sizeof(buf));
	/* The last sector. */
	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, buf, SECTOR),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, f->image + DISK_SIZE - SECTOR, SECTOR);
}

static void test_blk__write_then_read_round_trip(void **state)
{
	struct fixture *f = *state;
	uint8_t out[2 * SECTOR], in[2 * SECTOR], file[4 * SECTOR];

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(0x5a ^ i);
	assert_int_equal(simple(f, VIRTIO_BLK_T_OUT, 5, out, sizeof(out)), VIRTIO_BLK_S_OK);
	assert_int_equal(f->status, VIRTIO_BLK_S_OK);
	/* On the host: exactly sectors 5 and 6 changed. */
	file_read(f, 4 * SECTOR, file, sizeof(file));
	assert_memory_equal(file, f->image + 4 * SECTOR, SECTOR);
	assert_memory_equal(file + SECTOR, out, sizeof(out));
	assert_memory_equal(file + 3 * SECTOR, f->image + 7 * SECTOR, SECTOR);
	assert_int_equal(file_size(f), DISK_SIZE);
	/* And through the device. */
	memset(in, 0, sizeof(in));
	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, 5, in, sizeof(in)), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(out));
}

static void test_blk__scattered_buffers_round_trip(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[16 + 100], b1[300], b2[112], in1[7], in2[505 + 1];
	uint8_t expect[512];

	/* A write whose 512 bytes are spread as 100 (after the header) + 300 + 112. */
	put_hdr(hdr, VIRTIO_BLK_T_OUT, 9);
	for (int i = 0; i < 512; i++)
		expect[i] = (uint8_t)(i * 7 + 3);
	memcpy(hdr + 16, expect, 100);
	memcpy(b1, expect + 100, 300);
	memcpy(b2, expect + 400, 112);
	chain_reset(f->c);
	chain_add(f->c, hdr, sizeof(hdr), false);
	chain_add(f->c, b1, sizeof(b1), false);
	chain_add(f->c, b2, sizeof(b2), false);
	chain_add(f->c, &f->status, 1, true);
	assert_int_equal(run(f), VIRTIO_BLK_S_OK);

	/* Read back into 7 + 505 bytes, the status in the second buffer's last byte. */
	put_hdr(hdr, VIRTIO_BLK_T_IN, 9);
	chain_reset(f->c);
	chain_add(f->c, hdr, 16, false);
	chain_add(f->c, in1, sizeof(in1), true);
	chain_add(f->c, in2, sizeof(in2), true);
	in2[505] = 0xee;
	assert_int_equal(run(f), VIRTIO_BLK_S_OK);
	assert_memory_equal(in1, expect, 7);
	assert_memory_equal(in2, expect + 7, 505);
	assert_int_equal(in2[505], VIRTIO_BLK_S_OK);
}

static void test_blk__beyond_end_is_ioerr_without_touching_anything(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2 * SECTOR];
	const uint64_t bad[] = {DISK_SECTORS,	DISK_SECTORS + 1,    UINT64_MAX,
				UINT64_MAX - 1, UINT64_MAX / SECTOR, 1ULL << 55};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 0xaa, sizeof(buf));
		assert_int_equal(simple(f, VIRTIO_BLK_T_IN, bad[i], buf, SECTOR),
				 VIRTIO_BLK_S_IOERR);
		assert_true(all_bytes(buf, sizeof(buf), 0xaa));
		assert_int_equal(simple(f, VIRTIO_BLK_T_OUT, bad[i], buf, SECTOR),
				 VIRTIO_BLK_S_IOERR);
	}
	/* Starting inside but running past the end. */
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, buf, 2 * SECTOR),
			 VIRTIO_BLK_S_IOERR);
	assert_true(all_bytes(buf, sizeof(buf), 0xaa));
	assert_int_equal(simple(f, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, buf, 2 * SECTOR),
			 VIRTIO_BLK_S_IOERR);
	assert_image_unchanged(f);
}

static void test_blk__partial_last_sector_is_invisible(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[SECTOR];

	/* An image of 2.5 sectors holds two sectors for the guest. */
	disk_close(&f->disk);
	assert_int_equal(truncate(f->path, 2 * SECTOR + SECTOR / 2), 0);
	log_set_level(LOG_ERROR); /* disk_open warns about the odd size */
	assert_int_equal(disk_open(&f->disk, f->path, false, false), 0);
	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, 1, buf, SECTOR), VIRTIO_BLK_S_OK);
	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, 2, buf, SECTOR), VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(f, VIRTIO_BLK_T_OUT, 2, buf, SECTOR), VIRTIO_BLK_S_IOERR);
	assert_int_equal(file_size(f), 2 * SECTOR + SECTOR / 2);
}

static void test_blk__length_not_multiple_of_512_is_ioerr(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2 * SECTOR];
	const uint32_t lens[] = {1, 511, 513, 1000};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(buf, 0xaa, sizeof(buf));
		assert_int_equal(simple(f, VIRTIO_BLK_T_IN, 0, buf, lens[i]), VIRTIO_BLK_S_IOERR);
		assert_true(all_bytes(buf, sizeof(buf), 0xaa));
		assert_int_equal(simple(f, VIRTIO_BLK_T_OUT, 0, buf, lens[i]), VIRTIO_BLK_S_IOERR);
	}
	assert_image_unchanged(f);
	/* A request without data is a zero-length transfer: fine. */
	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, 0, buf, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(simple(f, VIRTIO_BLK_T_OUT, DISK_SECTORS, buf, 0), VIRTIO_BLK_S_OK);
}

static void test_blk__readonly_disk_refuses_writes(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[SECTOR];
	struct virtio_blk_discard_write_zeroes seg = {.sector = 0, .num_sectors = 1};

	disk_close(&f->disk);
	assert_int_equal(disk_open(&f->disk, f->path, true, false), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(simple(f, VIRTIO_BLK_T_OUT, 0, buf, SECTOR), VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(f, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg)), VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg)),
			 VIRTIO_BLK_S_IOERR);
	seg.flags = 1;
	assert_int_equal(simple(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg)),
			 VIRTIO_BLK_S_IOERR);
	/* Reads and flushes still work. */
	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, 0, buf, SECTOR), VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, f->image, SECTOR);
	assert_int_equal(simple(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
	assert_image_unchanged(f);
	/* The backend refuses on its own too. */
	{
		struct iovec iov = {.iov_base = buf, .iov_len = SECTOR};
		assert_int_equal(disk_pwritev(&f->disk, &iov, 1, 0), -EROFS);
		assert_int_equal(disk_discard(&f->disk, 0, SECTOR), -EROFS);
		assert_int_equal(disk_write_zeroes(&f->disk, 0, SECTOR, false), -EROFS);
	}
}

static void test_blk__flush_ok(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[SECTOR];

	assert_int_equal(simple(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(f->status, VIRTIO_BLK_S_OK);
	/* The sector field is ignored, and so is a data buffer (Linux sends none). */
	assert_int_equal(simple(f, VIRTIO_BLK_T_FLUSH, UINT64_MAX, NULL, 0), VIRTIO_BLK_S_OK);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(simple(f, VIRTIO_BLK_T_FLUSH, 0, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_true(all_bytes(buf, sizeof(buf), 0xaa));
	assert_int_equal(disk_flush(&f->disk), 0);
	assert_image_unchanged(f);
}

static void test_blk__get_id_returns_serial_zero_padded(void **state)
{
	struct fixture *f = *state;
	uint8_t id[64];

	memset(id, 0xaa, sizeof(id));
	assert_int_equal(simple(f, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(id, SERIAL, strlen(SERIAL));
	assert_true(all_bytes(id + strlen(SERIAL), VIRTIO_BLK_ID_BYTES - strlen(SERIAL), 0));
	assert_true(all_bytes(id + VIRTIO_BLK_ID_BYTES, sizeof(id) - VIRTIO_BLK_ID_BYTES, 0xaa));

	/* A bigger buffer: 20 bytes written, the rest left alone. */
	memset(id, 0xaa, sizeof(id));
	assert_int_equal(simple(f, VIRTIO_BLK_T_GET_ID, 0, id, 40), VIRTIO_BLK_S_OK);
	assert_memory_equal(id, SERIAL, strlen(SERIAL));
	assert_true(all_bytes(id + strlen(SERIAL), VIRTIO_BLK_ID_BYTES - strlen(SERIAL), 0));
	assert_true(all_bytes(id + VIRTIO_BLK_ID_BYTES, 20, 0xaa));

	/* A smaller one: cut short. */
	memset(id, 0xaa, sizeof(id));
	assert_int_equal(simple(f, VIRTIO_BLK_T_GET_ID, 0, id, 6), VIRTIO_BLK_S_OK);
	assert_memory_equal(id, SERIAL, 6);
	assert_true(all_bytes(id + 6, sizeof(id) - 6, 0xaa));

	/* A 20-character serial fills the buffer with no terminator; an empty one is zeros. */
	assert_int_equal(simple(f, VIRTIO_BLK_T_GET_ID, 0, id, 32), VIRTIO_BLK_S_OK);
	memset(id, 0xaa, sizeof(id));
	assert_int_equal(blk_request_execute(&f->disk, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", &f->r, f->c),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(id, "ABCDEFGHIJKLMNOPQRST", VIRTIO_BLK_ID_BYTES);
	assert_true(all_bytes(id + VIRTIO_BLK_ID_BYTES, 12, 0xaa));
	assert_int_equal(blk_request_execute(&f->disk, "", &f->r, f->c), VIRTIO_BLK_S_OK);
	assert_true(all_bytes(id, VIRTIO_BLK_ID_BYTES, 0));
}

/* --- discard and write-zeroes -------------------------------------------------------------- */

static uint8_t ranges(struct fixture *f, uint32_t type,
		      const struct virtio_blk_discard_write_zeroes *segs, int n)
{
	return simple(f, type, 0, (void *)segs, (uint32_t)(n * sizeof(*segs)));
}

static void test_blk__write_zeroes_really_zeroes(void **state)
{
	struct fixture *f = *state;
	struct virtio_blk_discard_write_zeroes segs[2] = {
	    {.sector = 4, .num_sectors = 4, .flags = 0},
	    {.sector = DISK_SECTORS - 1, .num_sectors = 1, .flags = 1 /* unmap */},
	};
	uint8_t *now = malloc(DISK_SIZE);

	assert_non_null(now);
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, segs, 2), VIRTIO_BLK_S_OK);
	file_read(f, 0, now, DISK_SIZE);
	assert_memory_equal(now, f->image, 4 * SECTOR);
	assert_true(all_bytes(now + 4 * SECTOR, 4 * SECTOR, 0));
	assert_memory_equal(now + 8 * SECTOR, f->image + 8 * SECTOR, DISK_SIZE - 9 * SECTOR);
	assert_true(all_bytes(now + DISK_SIZE - SECTOR, SECTOR, 0));
	assert_int_equal(file_size(f), DISK_SIZE);
	free(now);
}

static void test_blk__discard_ok_and_keeps_size(void **state)
{
	struct fixture *f = *state;
	struct virtio_blk_discard_write_zeroes seg = {.sector = 8, .num_sectors = 16};
	uint8_t buf[SECTOR];

	assert_int_equal(ranges(f, VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(file_size(f), DISK_SIZE);
	/* Sectors outside the range keep their data. */
	file_read(f, 7 * SECTOR, buf, SECTOR);
	assert_memory_equal(buf, f->image + 7 * SECTOR, SECTOR);
	file_read(f, 24 * SECTOR, buf, SECTOR);
	assert_memory_equal(buf, f->image + 24 * SECTOR, SECTOR);
}

static void test_blk__ranges_with_bad_flags_are_unsupported(void **state)
{
	struct fixture *f = *state;
	struct virtio_blk_discard_write_zeroes seg = {.sector = 0, .num_sectors = 1};

	seg.flags = 1; /* unmap: meaningless for discard */
	assert_int_equal(ranges(f, VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_UNSUPP);
	seg.flags = 2;
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_UNSUPP);
	seg.flags = 0x80000001;
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_UNSUPP);
	assert_image_unchanged(f);
}

static void test_blk__ranges_validated_before_any_is_applied(void **state)
{
	struct fixture *f = *state;
	struct virtio_blk_discard_write_zeroes segs[VIRTIO_BLK_MAX_SEGMENTS + 1];

	memset(segs, 0, sizeof(segs));
	for (int i = 0; i < VIRTIO_BLK_MAX_SEGMENTS + 1; i++)
		segs[i] = (struct virtio_blk_discard_write_zeroes){.sector = (uint64_t)i,
								   .num_sectors = 1};
	/* A good range followed by one past the end: IOERR, and the good one not applied. */
	segs[1].sector = DISK_SECTORS;
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, segs, 2), VIRTIO_BLK_S_IOERR);
	segs[1] = (struct virtio_blk_discard_write_zeroes){.sector = UINT64_MAX, .num_sectors = 2};
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, segs, 2), VIRTIO_BLK_S_IOERR);
	segs[1] = (struct virtio_blk_discard_write_zeroes){.sector = 1, .flags = 4};
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, segs, 2), VIRTIO_BLK_S_UNSUPP);
	assert_image_unchanged(f);
	/* No segment, a partial one, more than the device's maximum: unsupported. */
	segs[1] = (struct virtio_blk_discard_write_zeroes){.sector = 1, .num_sectors = 1};
	assert_int_equal(ranges(f, VIRTIO_BLK_T_DISCARD, segs, 0), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(simple(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, segs, 15), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(simple(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, segs, 17), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, segs, VIRTIO_BLK_MAX_SEGMENTS + 1),
			 VIRTIO_BLK_S_UNSUPP);
	assert_image_unchanged(f);
	/* The maximum is fine. */
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, segs, VIRTIO_BLK_MAX_SEGMENTS),
			 VIRTIO_BLK_S_OK);
}

static void test_blk__empty_ranges_are_no_ops(void **state)
{
	struct fixture *f = *state;
	struct virtio_blk_discard_write_zeroes segs[2] = {
	    {.sector = 2, .num_sectors = 2},
	    {.sector = 0, .num_sectors = 0},
	};
	uint8_t *now = malloc(DISK_SIZE);

	/*
	 * A segment of 0 sectors (anywhere up to the end) does nothing and is no error: it
	 * must not fail the request after the segments before it were applied.
	 */
	assert_non_null(now);
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, segs, 2), VIRTIO_BLK_S_OK);
	file_read(f, 0, now, DISK_SIZE);
	assert_memory_equal(now, f->image, 2 * SECTOR);
	assert_true(all_bytes(now + 2 * SECTOR, 2 * SECTOR, 0));
	assert_memory_equal(now + 4 * SECTOR, f->image + 4 * SECTOR, DISK_SIZE - 4 * SECTOR);
	segs[0] = (struct virtio_blk_discard_write_zeroes){.sector = DISK_SECTORS};
	assert_int_equal(ranges(f, VIRTIO_BLK_T_DISCARD, segs, 2), VIRTIO_BLK_S_OK);
	segs[0].flags = 1;
	assert_int_equal(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, segs, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(disk_discard(&f->disk, 0, 0), 0);
	assert_int_equal(disk_write_zeroes(&f->disk, 0, 0, false), 0);
	assert_int_equal(disk_write_zeroes(&f->disk, 0, 0, true), 0);
	file_read(f, 0, now, DISK_SIZE);
	assert_memory_equal(now, f->image, 2 * SECTOR);
	assert_memory_equal(now + 4 * SECTOR, f->image + 4 * SECTOR, DISK_SIZE - 4 * SECTOR);
	free(now);
}

static void test_blk__unknown_type_is_unsupported(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[SECTOR];
	const uint32_t types[] = {2, 3, 5, 7, 9, 10, 12, 14, 0x80000000, UINT32_MAX};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(buf, 0xaa, sizeof(buf));
		assert_int_equal(simple(f, types[i], 0, buf, SECTOR), VIRTIO_BLK_S_UNSUPP);
		assert_int_equal(f->status, VIRTIO_BLK_S_UNSUPP);
		assert_true(all_bytes(buf, sizeof(buf), 0xaa));
	}
	assert_image_unchanged(f);
}

/* --- disk_open ----------------------------------------------------------------------------- */

static char err_text[1024];

/* disk_open with stderr captured into err_text. */
static int open_captured(struct disk *d, const char *path, bool readonly, bool direct)
{
	FILE *tmp = tmpfile();
	int saved, r;
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	dup2(fileno(tmp), 2);
	r = disk_open(d, path, readonly, direct);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(err_text, 1, sizeof(err_text) - 1, tmp);
	err_text[n] = 0;
	fclose(tmp);
	return r;
}

static void assert_one_line_naming(const char *a, const char *b)
{
	int lines = 0;

	for (const char *p = err_text; *p; p++)
		lines += *p == '\n';
	if (lines != 1 || !strstr(err_text, a) || !strstr(err_text, b))
		fail_msg("expected one line naming '%s' and '%s', got \"%s\"", a, b, err_text);
}

static void test_blk__disk_open_errors_name_the_image(void **state)
{
	struct fixture *f = *state;
	struct disk d;
	char dir[] = "/tmp/kvmbox-unit-test-dir-XXXXXX";

	assert_int_equal(open_captured(&d, "/nonexistent/kvmbox.img", false, false), -1);
	assert_one_line_naming("path=/nonexistent/kvmbox.img", "No such file");
	assert_int_equal(d.fd, -1);
	assert_int_equal(open_captured(&d, "/nonexistent/kvmbox.img", true, false), -1);

	assert_non_null(mkdtemp(dir));
	assert_int_equal(open_captured(&d, dir, false, false), -1);
	assert_one_line_naming(dir, "directory");
	assert_int_equal(open_captured(&d, dir, true, false), -1);
	rmdir(dir);

	assert_int_equal(open_captured(&d, "/dev/null", true, false), -1);
	assert_one_line_naming("/dev/null", "not a regular file");
	(void)f;
}

static void test_blk__disk_lock_excludes_writers(void **state)
{
	struct fixture *f = *state;
	struct disk a, b;

	/* The fixture holds the image read-write: nobody else may open it. */
	assert_int_equal(open_captured(&a, f->path, false, false), -1);
	assert_one_line_naming(f->path, "in use");
	assert_int_equal(open_captured(&a, f->path, true, false), -1);
	assert_one_line_naming(f->path, "in use");

	/* Readers share it, and keep writers out. */
	disk_close(&f->disk);
	f->open = false;
	assert_int_equal(disk_open(&a, f->path, true, false), 0);
	assert_int_equal(disk_open(&b, f->path, true, false), 0);
	assert_int_equal(a.size, DISK_SIZE);
	assert_true(a.readonly);
	assert_int_equal(open_captured(&f->disk, f->path, false, false), -1);
	assert_one_line_naming(f->path, "readonly=on");
	disk_close(&a);
	assert_int_equal(open_captured(&f->disk, f->path, false, false), -1);
	disk_close(&b);
	/* All closed: a writer gets it again. */
	assert_int_equal(disk_open(&f->disk, f->path, false, false), 0);
	f->open = true;
	assert_false(f->disk.readonly);
	assert_int_equal(f->disk.size, DISK_SIZE);
}

static void test_blk__direct_io_with_unaligned_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t *mem = malloc(4 * SECTOR + 64);
	uint8_t *out = mem + 3, *in = mem + 2 * SECTOR + 17; /* deliberately misaligned */
	int r;

	assert_non_null(mem);
	disk_close(&f->disk);
	f->open = false;
	r = open_captured(&f->disk, f->path, false, true);
	if (r < 0) { /* a file system without O_DIRECT: the message says what to do */
		assert_one_line_naming(f->path, "cache=none");
		free(mem);
		skip();
	}
	f->open = true;
	for (int i = 0; i < SECTOR; i++)
		out[i] = (uint8_t)(i ^ 0x3c);
	assert_int_equal(simple(f, VIRTIO_BLK_T_OUT, 3, out, SECTOR), VIRTIO_BLK_S_OK);
	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, 3, in, SECTOR), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, SECTOR);
	assert_int_equal(simple(f, VIRTIO_BLK_T_IN, 2, in, SECTOR), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, f->image + 2 * SECTOR, SECTOR);
	free(mem);
}

/* Guest-sized unaligned requests go through a bounded bounce buffer, chunk by chunk. */
static void test_blk__direct_io_bounces_large_unaligned_requests_in_chunks(void **state)
{
	enum { TOTAL = 3 * 1024 * 1024 + 3 * SECTOR, OFF = 5 * SECTOR };
	size_t split_w[] = {1024 * 1024 + SECTOR, 1536 * 1024,
			    TOTAL - 1024 * 1024 - SECTOR - 1536 * 1024};
	size_t split_r[] = {SECTOR, 2 * 1024 * 1024, TOTAL - SECTOR - 2 * 1024 * 1024};
	uint8_t *pattern = test_pattern_bytes(TOTAL), *mem = malloc(TOTAL + 64), *back;
	char path[TEST_TEMP_PATH_MAX];
	struct iovec iov[3];
	struct disk d;
	size_t at = 0;

	(void)state;
	assert_non_null(mem);
	back = malloc(TOTAL);
	assert_non_null(back);
	test_write_temp_file(path, "", 0);
	assert_int_equal(truncate(path, 8 * 1024 * 1024), 0);
	if (disk_open(&d, path, false, true) < 0) { /* no O_DIRECT here: nothing to test */
		unlink(path);
		free(pattern), free(mem), free(back);
		skip();
	}
	memcpy(mem + 7, pattern, TOTAL); /* misaligned for O_DIRECT */
	for (int i = 0; i < 3; i++) {
		iov[i] = (struct iovec){mem + 7 + at, split_w[i]};
		at += split_w[i];
	}
	assert_int_equal(disk_pwritev(&d, iov, 3, OFF), 0);
	memset(mem, 0, TOTAL + 64);
	at = 0;
	for (int i = 0; i < 3; i++) {
		iov[i] = (struct iovec){mem + 33 + at, split_r[i]};
		at += split_r[i];
	}
	assert_int_equal(disk_preadv(&d, iov, 3, OFF), 0);
	assert_memory_equal(mem + 33, pattern, TOTAL);
	disk_close(&d);
	/* And on the file itself, at the right offset. */
	{
		FILE *fp = fopen(path, "rb");
		assert_non_null(fp);
		assert_int_equal(fseek(fp, OFF, SEEK_SET), 0);
		assert_int_equal(fread(back, 1, TOTAL, fp), TOTAL);
		fclose(fp);
	}
	assert_memory_equal(back, pattern, TOTAL);
	unlink(path);
	free(pattern), free(mem), free(back);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_blk__parse_header_data_status),
	    T(test_blk__parse_header_split_across_buffers),
	    T(test_blk__parse_out_data_in_header_buffer),
	    T(test_blk__parse_data_and_status_share_a_buffer),
	    T(test_blk__parse_header_and_status_only),
	    T(test_blk__parse_refuses_short_header_or_missing_status),
	    T(test_blk__parse_status_skips_trailing_empty_buffers),
	    T(test_blk__parse_longest_chain),
	    T(test_blk__read_returns_image_bytes),
	    T(test_blk__write_then_read_round_trip),
	    T(test_blk__scattered_buffers_round_trip),
	    T(test_blk__beyond_end_is_ioerr_without_touching_anything),
	    T(test_blk__partial_last_sector_is_invisible),
	    T(test_blk__length_not_multiple_of_512_is_ioerr),
	    T(test_blk__readonly_disk_refuses_writes),
	    T(test_blk__flush_ok),
	    T(test_blk__get_id_returns_serial_zero_padded),
	    T(test_blk__write_zeroes_really_zeroes),
	    T(test_blk__discard_ok_and_keeps_size),
	    T(test_blk__ranges_with_bad_flags_are_unsupported),
	    T(test_blk__ranges_validated_before_any_is_applied),
	    T(test_blk__empty_ranges_are_no_ops),
	    T(test_blk__unknown_type_is_unsupported),
	    T(test_blk__disk_open_errors_name_the_image),
	    T(test_blk__disk_lock_excludes_writers),
	    T(test_blk__direct_io_with_unaligned_buffers),
	    T(test_blk__direct_io_bounces_large_unaligned_requests_in_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
