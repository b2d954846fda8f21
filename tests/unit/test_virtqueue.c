/*
 * Unit tests for split virtqueues. A fake driver builds the descriptor table, the rings and
 * indirect tables in fake guest RAM (no KVM) and checks what the device side sees: the
 * chains, the used ring, the notification decisions. The hostile-driver tests break every
 * ring rule the device must survive; each must leave the queue broken (virtq_pop -1) without
 * touching memory outside RAM. A long random-mutation run checks the same under ASan.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "memory.h"
#include "virtio/virtqueue.h"

#define RAM_SIZE  MEM_MIN_SIZE /* 32 MiB; memory_init refuses less */
#define DESC_GPA  0x10000ULL   /* up to 512 KiB for 32768 entries */
#define AVAIL_GPA 0x100000ULL
#define USED_GPA  0x200000ULL
#define IND_GPA	  0x400000ULL /* indirect tables */
#define DATA_GPA  0x800000ULL /* buffers, one 4 KiB page each */
#define PAGE	  0x1000ULL

/* The fake driver: its view of one queue plus the device's. */
struct drv {
	struct guest_memory mem;
	struct virtq q;
	struct virtq_chain c;
	uint16_t size;
	uint16_t avail_idx; /* driver's next avail idx */
};

static int setup(void **state)
{
	struct drv *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	assert_int_equal(memory_init(&d->mem, RAM_SIZE), 0);
	log_set_level(LOG_ERROR); /* the hostile tests trip log_once warnings on purpose */
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct drv *d = *state;

	memory_destroy(&d->mem);
	free(d);
	return 0;
}

/* --- fake driver ------------------------------------------------------------------------- */

static void put16(struct drv *d, uint64_t gpa, uint16_t v)
{
	uint16_t le = htole16(v);

	assert_int_equal(memory_write(&d->mem, gpa, &le, sizeof(le)), 0);
}

static uint16_t get16(struct drv *d, uint64_t gpa)
{
	uint16_t le;

	assert_int_equal(memory_read(&d->mem, gpa, &le, sizeof(le)), 0);
	return le16toh(le);
}

static uint32_t get32(struct drv *d, uint64_t gpa)
{
	uint32_t le;

	assert_int_equal(memory_read(&d->mem, gpa, &le, sizeof(le)), 0);
	return le32toh(le);
}

/* Zeroed rings (as a driver allocates them) and an enabled queue. */
static void start_queue(struct drv *d, uint16_t size, bool event_idx, bool indirect)
{
	memset(gpa_to_host(&d->mem, DESC_GPA, VIRTQ_DESC_SIZE(size)), 0, VIRTQ_DESC_SIZE(size));
	memset(gpa_to_host(&d->mem, AVAIL_GPA, VIRTQ_AVAIL_SIZE(size)), 0, VIRTQ_AVAIL_SIZE(size));
	memset(gpa_to_host(&d->mem, USED_GPA, VIRTQ_USED_SIZE(size)), 0, VIRTQ_USED_SIZE(size));
	assert_int_equal(
	    virtq_init(&d->q, &d->mem, size, DESC_GPA, AVAIL_GPA, USED_GPA, event_idx, indirect),
	    0);
	d->size = size;
	d->avail_idx = 0;
}

/* Both sides start at idx (as after 65536 - idx round trips). */
static void start_indices_at(struct drv *d, uint16_t idx)
{
	d->q.last_avail = d->q.used_idx = idx;
	d->avail_idx = idx;
	put16(d, AVAIL_GPA + 2, idx);
	put16(d, USED_GPA + 2, idx);
}

static void set_desc(struct drv *d, uint64_t table, uint32_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc desc = {.addr = htole64(addr),
				  .len = htole32(len),
				  .flags = htole16(flags),
				  .next = htole16(next)};

	assert_int_equal(memory_write(&d->mem, table + 16ULL * i, &desc, sizeof(desc)), 0);
}

static void put_desc(struct drv *d, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	set_desc(d, DESC_GPA, i, addr, len, flags, next);
}

/* Makes the chain at head available and publishes avail->idx. */
static void make_avail(struct drv *d, uint16_t head)
{
	put16(d, AVAIL_GPA + 4 + 2ULL * (d->avail_idx & (d->size - 1)), head);
	d->avail_idx++;
	put16(d, AVAIL_GPA + 2, d->avail_idx);
}

/* A chain of nout readable then nin writable descriptors first..first+n-1, len each. */
static uint16_t add_chain(struct drv *d, uint16_t first, int nout, int nin, uint32_t len)
{
	int n = nout + nin;

	for (int k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((first + k) & (d->size - 1));
		uint16_t flags =
		    (k < n - 1 ? VIRTQ_DESC_F_NEXT : 0) | (k >= nout ? VIRTQ_DESC_F_WRITE : 0);

		put_desc(d, i, DATA_GPA + PAGE * i, len, flags,
			 (uint16_t)((first + k + 1) & (d->size - 1)));
	}
	make_avail(d, first);
	return first;
}

static int pop(struct drv *d)
{
	return virtq_pop(&d->q, &d->c);
}

static uint16_t used_idx_in_ram(struct drv *d)
{
	return get16(d, USED_GPA + 2);
}

static void assert_used_elem(struct drv *d, uint16_t pos, uint32_t id, uint32_t len)
{
	uint64_t e = USED_GPA + 4 + 8ULL * (pos & (d->size - 1));

	assert_int_equal(get32(d, e), id);
	assert_int_equal(get32(d, e + 4), len);
}

static void set_used_event(struct drv *d, uint16_t v)
{
	put16(d, AVAIL_GPA + 4 + 2ULL * d->size, v);
}

static uint16_t avail_event(struct drv *d)
{
	return get16(d, USED_GPA + 4 + 8ULL * d->size);
}

static void assert_broken(struct drv *d)
{
	uint16_t last = d->q.last_avail;

	assert_int_equal(pop(d), -1);
	assert_true(d->q.broken);
	assert_int_equal(d->q.last_avail, last);
	assert_int_equal(pop(d), -1);
}

/* --- init -------------------------------------------------------------------------------- */

static void virtqueue__init_accepts_valid_layout(void **state)
{
	struct drv *d = *state;

	start_queue(d, 256, true, true);
	assert_true(d->q.enabled);
	assert_false(d->q.broken);
	assert_int_equal(d->q.size, 256);
	assert_int_equal(d->q.desc_gpa, DESC_GPA);
	assert_int_equal(d->q.avail_gpa, AVAIL_GPA);
	assert_int_equal(d->q.used_gpa, USED_GPA);
	assert_true(d->q.event_idx);
	assert_true(d->q.indirect);
	assert_int_equal(d->q.last_avail, 0);
	assert_int_equal(d->q.used_idx, 0);
}

static void virtqueue__init_rejects_bad_sizes(void **state)
{
	struct drv *d = *state;
	const uint16_t bad[] = {0, 3, 6, 100, 32767, 32769, 49152, 65535};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    virtq_init(&d->q, &d->mem, bad[i], DESC_GPA, AVAIL_GPA, USED_GPA, false, false),
		    -EINVAL);
		assert_false(d->q.enabled);
	}
	assert_int_equal(virtq_init(&d->q, &d->mem, 1, DESC_GPA, AVAIL_GPA, USED_GPA, false, false),
			 0);
	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 32768, DESC_GPA, AVAIL_GPA, USED_GPA, false, false), 0);
}

static void virtqueue__init_rejects_misaligned_areas(void **state)
{
	struct drv *d = *state;

	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 16, DESC_GPA + 8, AVAIL_GPA, USED_GPA, false, false),
	    -EINVAL);
	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 16, DESC_GPA, AVAIL_GPA + 1, USED_GPA, false, false),
	    -EINVAL);
	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 16, DESC_GPA, AVAIL_GPA, USED_GPA + 2, false, false),
	    -EINVAL);
	assert_false(d->q.enabled);
	/* The minimum alignments are enough. */
	assert_int_equal(virtq_init(&d->q, &d->mem, 16, DESC_GPA + 16, AVAIL_GPA + 2, USED_GPA + 4,
				    false, false),
			 0);
}

static void virtqueue__init_rejects_areas_outside_ram(void **state)
{
	struct drv *d = *state;
	/* Areas that end exactly at the end of RAM are fine, one byte more is not. */
	uint64_t desc_end = RAM_SIZE - VIRTQ_DESC_SIZE(64);
	uint64_t avail_end = RAM_SIZE - VIRTQ_AVAIL_SIZE(64);
	uint64_t used_end = (RAM_SIZE - VIRTQ_USED_SIZE(64)) & ~3ULL;

	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 64, desc_end, avail_end, used_end, false, false), 0);
	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 64, desc_end + 16, AVAIL_GPA, USED_GPA, false, false),
	    -EINVAL);
	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 64, DESC_GPA, avail_end + 2, USED_GPA, false, false),
	    -EINVAL);
	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 64, DESC_GPA, AVAIL_GPA, used_end + 4, false, false),
	    -EINVAL);
	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 64, MEM_PCI_HOLE_START, AVAIL_GPA, USED_GPA, false, false),
	    -EINVAL);
	assert_int_equal(
	    virtq_init(&d->q, &d->mem, 64, DESC_GPA, AVAIL_GPA, UINT64_MAX & ~3ULL, false, false),
	    -EINVAL);
	/* A big queue whose table would run past the end of RAM. */
	assert_int_equal(virtq_init(&d->q, &d->mem, 32768, RAM_SIZE - 0x40000, AVAIL_GPA, USED_GPA,
				    false, false),
			 -EINVAL);
	assert_false(d->q.enabled);
	assert_null(d->q.desc);
}

static void virtqueue__uninitialised_queue_pops_nothing(void **state)
{
	struct drv *d = *state;

	memset(&d->q, 0, sizeof(d->q));
	assert_int_equal(pop(d), 0);
	assert_false(virtq_should_notify(&d->q));
	assert_false(virtq_enable_notify(&d->q));
}

/* --- taking and returning chains --------------------------------------------------------- */

static void virtqueue__empty_queue_pops_nothing(void **state)
{
	struct drv *d = *state;

	start_queue(d, 16, false, false);
	assert_int_equal(pop(d), 0);
	assert_int_equal(d->c.nbufs, 0);
	assert_int_equal(d->q.last_avail, 0);
}

static void virtqueue__readable_then_writable_chain(void **state)
{
	struct drv *d = *state;

	start_queue(d, 16, false, false);
	put_desc(d, 5, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 9);
	put_desc(d, 9, DATA_GPA + PAGE, 512, VIRTQ_DESC_F_WRITE, 0);
	make_avail(d, 5);

	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.head, 5);
	assert_int_equal(d->c.nbufs, 2);
	assert_int_equal(d->c.out_len, 16);
	assert_int_equal(d->c.in_len, 512);
	assert_int_equal(d->c.bufs[0].gpa, DATA_GPA);
	assert_int_equal(d->c.bufs[0].len, 16);
	assert_false(d->c.bufs[0].write);
	assert_ptr_equal(d->c.bufs[0].host, gpa_to_host(&d->mem, DATA_GPA, 16));
	assert_int_equal(d->c.bufs[1].gpa, DATA_GPA + PAGE);
	assert_true(d->c.bufs[1].write);
	assert_ptr_equal(d->c.bufs[1].host, gpa_to_host(&d->mem, DATA_GPA + PAGE, 512));
	assert_int_equal(d->q.last_avail, 1);
	assert_int_equal(pop(d), 0);
}

static void virtqueue__push_fills_used_ring_and_clamps_len(void **state)
{
	struct drv *d = *state;
	struct virtq_chain c1;

	start_queue(d, 16, false, false);
	add_chain(d, 0, 1, 1, 100);
	add_chain(d, 2, 1, 1, 100);
	assert_int_equal(virtq_pop(&d->q, &c1), 1);
	assert_int_equal(pop(d), 1);

	/* Completed out of order; the second claims more than the chain can hold. */
	virtq_push(&d->q, &d->c, 7);
	assert_int_equal(used_idx_in_ram(d), 1);
	assert_used_elem(d, 0, 2, 7);
	virtq_push(&d->q, &c1, 5000);
	assert_int_equal(used_idx_in_ram(d), 2);
	assert_int_equal(d->q.used_idx, 2);
	assert_used_elem(d, 1, 0, 100);
}

static void virtqueue__chain_read_write_span_buffers(void **state)
{
	struct drv *d = *state;
	uint8_t out[16], in[8], buf[32];

	start_queue(d, 8, false, false);
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)(0x10 + i);
	/* Readable 3 + 5 + 8 bytes, writable 2 + 6 bytes. */
	assert_int_equal(memory_write(&d->mem, DATA_GPA, out, 3), 0);
	assert_int_equal(memory_write(&d->mem, DATA_GPA + PAGE, out + 3, 5), 0);
	assert_int_equal(memory_write(&d->mem, DATA_GPA + 2 * PAGE, out + 8, 8), 0);
	put_desc(d, 0, DATA_GPA, 3, VIRTQ_DESC_F_NEXT, 1);
	put_desc(d, 1, DATA_GPA + PAGE, 5, VIRTQ_DESC_F_NEXT, 2);
	put_desc(d, 2, DATA_GPA + 2 * PAGE, 8, VIRTQ_DESC_F_NEXT, 3);
	put_desc(d, 3, DATA_GPA + 3 * PAGE, 2, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
	put_desc(d, 4, DATA_GPA + 4 * PAGE, 6, VIRTQ_DESC_F_WRITE, 0);
	make_avail(d, 0);
	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.out_len, 16);
	assert_int_equal(d->c.in_len, 8);

	/* A 10-byte header at offset 2 spans all three readable buffers. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(virtq_chain_read(&d->c, 2, buf, 10), 10);
	assert_memory_equal(buf, out + 2, 10);
	/* Reads stop at the end of the readable part, never into the writable one. */
	assert_int_equal(virtq_chain_read(&d->c, 0, buf, sizeof(buf)), 16);
	assert_memory_equal(buf, out, 16);
	assert_int_equal(virtq_chain_read(&d->c, 12, buf, sizeof(buf)), 4);
	assert_int_equal(virtq_chain_read(&d->c, 16, buf, 1), 0);
	assert_int_equal(virtq_chain_read(&d->c, 1000, buf, 1), 0);

	/* Writes go to the writable buffers only, across both. */
	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(virtq_chain_write(&d->c, 1, in, 5), 5);
	assert_int_equal(virtq_chain_write(&d->c, 0, in, 1), 1);
	assert_int_equal(virtq_chain_write(&d->c, 6, in + 6, 100), 2);
	assert_int_equal(virtq_chain_write(&d->c, 8, in, 1), 0);
	assert_int_equal(memory_read(&d->mem, DATA_GPA + 3 * PAGE, buf, 2), 0);
	assert_int_equal(memory_read(&d->mem, DATA_GPA + 4 * PAGE, buf + 2, 6), 0);
	assert_int_equal(buf[0], 0xa0);
	assert_int_equal(buf[1], 0xa0);
	assert_int_equal(buf[2], 0xa1);
	assert_int_equal(buf[5], 0xa4);
	assert_int_equal(buf[6], 0xa6);
	assert_int_equal(buf[7], 0xa7);
	/* The readable buffers are untouched. */
	assert_int_equal(memory_read(&d->mem, DATA_GPA, buf, 3), 0);
	assert_memory_equal(buf, out, 3);
}

static void virtqueue__indices_wrap_at_65536(void **state)
{
	struct drv *d = *state;

	start_queue(d, 4, false, false);
	start_indices_at(d, 65534);
	for (uint16_t round = 0; round < 3; round++) {
		/* Four chains fill the ring; positions 65534 % 4 = 2, 3, 0, 1. */
		for (uint16_t i = 0; i < 4; i++)
			add_chain(d, i, 0, 1, 64);
		for (uint16_t i = 0; i < 4; i++) {
			assert_int_equal(pop(d), 1);
			assert_int_equal(d->c.head, i);
			virtq_push(&d->q, &d->c, i);
		}
		assert_int_equal(pop(d), 0);
		assert_int_equal(d->q.last_avail, (uint16_t)(65534 + 4 * (round + 1)));
		assert_int_equal(used_idx_in_ram(d), d->q.last_avail);
	}
	assert_int_equal(d->q.used_idx, 10);
	assert_used_elem(d, 8, 2, 2);
	assert_used_elem(d, 9, 3, 3);
}

static void virtqueue__size_1_queue_round_trips(void **state)
{
	struct drv *d = *state;

	start_queue(d, 1, true, false);
	for (int i = 0; i < 5; i++) {
		put_desc(d, 0, DATA_GPA, 32, VIRTQ_DESC_F_WRITE, 0);
		make_avail(d, 0);
		assert_int_equal(pop(d), 1);
		assert_int_equal(d->c.head, 0);
		assert_int_equal(pop(d), 0);
		virtq_push(&d->q, &d->c, 32);
		assert_used_elem(d, (uint16_t)i, 0, 32);
	}
	assert_int_equal(used_idx_in_ram(d), 5);
	/* A chain of two descriptors cannot exist in a one-entry table. */
	put_desc(d, 0, DATA_GPA, 32, VIRTQ_DESC_F_NEXT, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__size_32768_queue_uses_whole_table(void **state)
{
	struct drv *d = *state;

	start_queue(d, 32768, false, false);
	start_indices_at(d, 65535);
	put_desc(d, 32767, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	put_desc(d, 0, DATA_GPA + PAGE, 8, VIRTQ_DESC_F_WRITE, 0);
	make_avail(d, 32767); /* ring position 65535 % 32768 = 32767, the last */
	make_avail(d, 0);
	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.head, 32767);
	assert_int_equal(d->c.nbufs, 2);
	virtq_push(&d->q, &d->c, 8);
	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.head, 0);
	virtq_push(&d->q, &d->c, 8);
	assert_int_equal(used_idx_in_ram(d), 1);
	assert_used_elem(d, 65535, 32767, 8);
	assert_used_elem(d, 0, 0, 8);
}

static void virtqueue__chain_of_max_buffers_accepted(void **state)
{
	struct drv *d = *state;

	start_queue(d, 32768, false, false);
	add_chain(d, 100, VIRTQ_MAX_CHAIN / 2, VIRTQ_MAX_CHAIN / 2, 1);
	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.nbufs, VIRTQ_MAX_CHAIN);
	assert_int_equal(d->c.in_len, VIRTQ_MAX_CHAIN / 2);
	assert_int_equal(d->c.bufs[VIRTQ_MAX_CHAIN - 1].gpa,
			 DATA_GPA + PAGE * (100 + VIRTQ_MAX_CHAIN - 1));
}

static void virtqueue__zero_length_buffer_in_ram_accepted(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	put_desc(d, 0, DATA_GPA, 0, VIRTQ_DESC_F_NEXT, 1);
	put_desc(d, 1, RAM_SIZE, 0, VIRTQ_DESC_F_WRITE, 0); /* at the very end: still "in" */
	make_avail(d, 0);
	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.nbufs, 2);
	assert_non_null(d->c.bufs[1].host);
	assert_int_equal(virtq_chain_write(&d->c, 0, "x", 1), 0);
}

/* --- indirect descriptors ---------------------------------------------------------------- */

static void virtqueue__indirect_table_chain(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, true);
	set_desc(d, IND_GPA, 0, DATA_GPA, 10, VIRTQ_DESC_F_NEXT, 2);
	set_desc(d, IND_GPA, 2, DATA_GPA + PAGE, 20, VIRTQ_DESC_F_NEXT, 1);
	set_desc(d, IND_GPA, 1, DATA_GPA + 2 * PAGE, 30, VIRTQ_DESC_F_WRITE, 0);
	put_desc(d, 3, IND_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 3);

	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.head, 3);
	assert_int_equal(d->c.nbufs, 3);
	assert_int_equal(d->c.out_len, 30);
	assert_int_equal(d->c.in_len, 30);
	assert_int_equal(d->c.bufs[1].gpa, DATA_GPA + PAGE);
	assert_true(d->c.bufs[2].write);
	virtq_push(&d->q, &d->c, 30);
	assert_used_elem(d, 0, 3, 30);
}

static void virtqueue__direct_descriptors_then_indirect_table(void **state)
{
	struct drv *d = *state;

	/* 2.7.5.3.2: zero or more direct descriptors, then one INDIRECT ending the chain. */
	start_queue(d, 8, false, true);
	put_desc(d, 6, DATA_GPA, 12, VIRTQ_DESC_F_NEXT, 7);
	put_desc(d, 7, IND_GPA, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(d, IND_GPA, 0, DATA_GPA + PAGE, 100, VIRTQ_DESC_F_NEXT, 1);
	set_desc(d, IND_GPA, 1, DATA_GPA + 2 * PAGE, 200, VIRTQ_DESC_F_WRITE, 0);
	make_avail(d, 6);

	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.nbufs, 3);
	assert_int_equal(d->c.bufs[0].gpa, DATA_GPA);
	assert_int_equal(d->c.bufs[1].gpa, DATA_GPA + PAGE);
	assert_int_equal(d->c.out_len, 112);
	assert_int_equal(d->c.in_len, 200);
}

static void virtqueue__indirect_descriptor_write_flag_ignored(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, true);
	put_desc(d, 0, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	set_desc(d, IND_GPA, 0, DATA_GPA, 64, 0, 0);
	make_avail(d, 0);
	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.nbufs, 1);
	assert_false(d->c.bufs[0].write);
	assert_int_equal(d->c.out_len, 64);
}

static void virtqueue__indirect_table_may_exceed_queue_size(void **state)
{
	struct drv *d = *state;

	start_queue(d, 2, false, true);
	for (int i = 0; i < 64; i++)
		set_desc(d, IND_GPA, (uint32_t)i, DATA_GPA + PAGE * i, 8,
			 i < 63 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	put_desc(d, 1, IND_GPA, 64 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 1);
	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.nbufs, 64);
	assert_int_equal(d->c.out_len, 64 * 8);
}

/* --- used buffer notifications ----------------------------------------------------------- */

static void virtqueue__event_idx_notifies_when_used_event_passed(void **state)
{
	struct drv *d = *state;

	start_queue(d, 16, true, false);
	for (uint16_t i = 0; i < 6; i++)
		add_chain(d, i, 0, 1, 8);

	/* used_event 0: interrupt after the first buffer (used->idx 0 -> 1) only. */
	set_used_event(d, 0);
	assert_int_equal(pop(d), 1);
	virtq_push(&d->q, &d->c, 8);
	assert_true(virtq_should_notify(&d->q));
	assert_int_equal(pop(d), 1);
	virtq_push(&d->q, &d->c, 8);
	assert_false(virtq_should_notify(&d->q));

	/* used_event 3: a batch taking used->idx from 2 to 5 crosses it. */
	set_used_event(d, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pop(d), 1);
		virtq_push(&d->q, &d->c, 8);
	}
	assert_true(virtq_should_notify(&d->q));

	/* used_event 9 is ahead: 5 -> 6 does not reach it. */
	set_used_event(d, 9);
	assert_int_equal(pop(d), 1);
	virtq_push(&d->q, &d->c, 8);
	assert_false(virtq_should_notify(&d->q));
	/* Nothing pushed since the last check: nothing to say. */
	set_used_event(d, 5);
	assert_false(virtq_should_notify(&d->q));
}

static void virtqueue__event_idx_across_index_wrap(void **state)
{
	struct drv *d = *state;

	start_queue(d, 4, true, false);
	start_indices_at(d, 65535);
	set_used_event(d, 0); /* the second push writes used entry 0 (idx 0 -> 1) */
	add_chain(d, 0, 0, 1, 8);
	add_chain(d, 1, 0, 1, 8);
	assert_int_equal(pop(d), 1);
	virtq_push(&d->q, &d->c, 8);
	assert_false(virtq_should_notify(&d->q));
	assert_int_equal(pop(d), 1);
	virtq_push(&d->q, &d->c, 8);
	assert_true(virtq_should_notify(&d->q));
}

static void virtqueue__event_idx_ignores_no_interrupt_flag(void **state)
{
	struct drv *d = *state;

	start_queue(d, 16, true, false);
	put16(d, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	set_used_event(d, 0);
	add_chain(d, 0, 0, 1, 8);
	assert_int_equal(pop(d), 1);
	virtq_push(&d->q, &d->c, 8);
	assert_true(virtq_should_notify(&d->q));
}

static void virtqueue__no_interrupt_flag_without_event_idx(void **state)
{
	struct drv *d = *state;

	start_queue(d, 16, false, false);
	set_used_event(d, 42); /* ignored without EVENT_IDX */
	for (uint16_t i = 0; i < 3; i++)
		add_chain(d, i, 0, 1, 8);

	assert_int_equal(pop(d), 1);
	virtq_push(&d->q, &d->c, 8);
	assert_true(virtq_should_notify(&d->q));
	assert_false(virtq_should_notify(&d->q)); /* no push since */

	put16(d, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(pop(d), 1);
	virtq_push(&d->q, &d->c, 8);
	assert_false(virtq_should_notify(&d->q));

	put16(d, AVAIL_GPA, 0);
	assert_int_equal(pop(d), 1);
	virtq_push(&d->q, &d->c, 8);
	assert_true(virtq_should_notify(&d->q));
}

/* --- available buffer notifications ------------------------------------------------------ */

static void virtqueue__disable_enable_notify_sets_used_flags(void **state)
{
	struct drv *d = *state;

	start_queue(d, 16, false, false);
	virtq_disable_notify(&d->q);
	assert_int_equal(get16(d, USED_GPA), VIRTQ_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&d->q));
	assert_int_equal(get16(d, USED_GPA), 0);
}

static void virtqueue__enable_notify_reports_work_that_arrived(void **state)
{
	struct drv *d = *state;

	for (int event_idx = 0; event_idx < 2; event_idx++) {
		start_queue(d, 16, event_idx, false);
		add_chain(d, 0, 0, 1, 8);
		virtq_disable_notify(&d->q);
		assert_int_equal(pop(d), 1);
		assert_int_equal(pop(d), 0);
		/* The driver adds a chain while notifications are off: it will not notify. */
		add_chain(d, 1, 0, 1, 8);
		assert_true(virtq_enable_notify(&d->q));
		virtq_disable_notify(&d->q);
		assert_int_equal(pop(d), 1);
		assert_int_equal(d->c.head, 1);
		assert_false(virtq_enable_notify(&d->q));
	}
}

static void virtqueue__event_idx_enable_publishes_avail_event(void **state)
{
	struct drv *d = *state;

	start_queue(d, 16, true, false);
	start_indices_at(d, 700);
	virtq_disable_notify(&d->q);
	assert_int_equal(get16(d, USED_GPA), 0); /* flags stay 0 with EVENT_IDX */
	add_chain(d, 0, 0, 1, 8);
	add_chain(d, 1, 0, 1, 8);
	assert_int_equal(pop(d), 1);
	assert_int_equal(pop(d), 1);
	assert_int_equal(pop(d), 0);
	assert_int_equal(avail_event(d), 0); /* not moved while disabled */
	assert_false(virtq_enable_notify(&d->q));
	assert_int_equal(avail_event(d), 702);
	assert_int_equal(get16(d, USED_GPA), 0);
}

static void virtqueue__event_idx_empty_pop_rearms_avail_event(void **state)
{
	struct drv *d = *state;

	start_queue(d, 16, true, false);
	add_chain(d, 0, 0, 1, 8);
	add_chain(d, 1, 0, 1, 8);
	assert_int_equal(pop(d), 1);
	assert_int_equal(pop(d), 1);
	assert_int_equal(avail_event(d), 0);
	assert_int_equal(pop(d), 0);
	assert_int_equal(avail_event(d), 2); /* "notify me when you write entry 2" */
}

/* A device that handed chains back (too small for its packet) waits for new ones only. */
static void virtqueue__enable_notify_for_more_ignores_handed_back_chains(void **state)
{
	struct drv *d = *state;

	for (int event_idx = 0; event_idx < 2; event_idx++) {
		start_queue(d, 16, event_idx, false);
		add_chain(d, 0, 0, 1, 8);
		virtq_disable_notify(&d->q);
		assert_int_equal(pop(d), 1);
		virtq_unpop(&d->q, 1);
		/* The old test would say "more arrived" for ever: the chain is available again. */
		assert_true(virtq_enable_notify(&d->q));
		assert_false(virtq_enable_notify_for_more(&d->q));
		if (event_idx)
			assert_int_equal(avail_event(d), 1); /* "notify me at entry 1", not 0 */
		else
			assert_int_equal(get16(d, USED_GPA), 0);
		add_chain(d, 1, 0, 1, 8);
		assert_int_equal(pop(d), 1); /* the handed-back chain comes first */
		assert_int_equal(d->c.head, 0);
	}
}

/* --- hostile drivers --------------------------------------------------------------------- */

static void virtqueue__buffer_outside_ram_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	put_desc(d, 0, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(d, 1, MEM_PCI_HOLE_START + 0x1000, 16, VIRTQ_DESC_F_WRITE, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__buffer_straddling_ram_end_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	put_desc(d, 0, RAM_SIZE - 8, 9, VIRTQ_DESC_F_WRITE, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__buffer_addr_len_overflow_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	put_desc(d, 0, UINT64_MAX - 10, 100, 0, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__loop_in_chain_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	put_desc(d, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	put_desc(d, 1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2);
	put_desc(d, 2, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__self_loop_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 32768, false, false);
	put_desc(d, 5, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 5);
	make_avail(d, 5);
	assert_broken(d);
}

static void virtqueue__chain_longer_than_queue_size_breaks_queue(void **state)
{
	struct drv *d = *state;

	/* Every descriptor of the table, then back to the first: size + 1 descriptors. */
	start_queue(d, 16, false, false);
	for (uint16_t i = 0; i < 16; i++)
		put_desc(d, i, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % 16));
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__chain_longer_than_max_chain_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 32768, false, false);
	add_chain(d, 0, VIRTQ_MAX_CHAIN + 1, 0, 1);
	assert_broken(d);
}

static void virtqueue__next_out_of_range_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	put_desc(d, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 8);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__head_out_of_range_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	make_avail(d, 8);
	assert_broken(d);
}

static void virtqueue__avail_idx_jump_over_size_breaks_queue(void **state)
{
	struct drv *d = *state;

	/* Exactly size entries ahead is a full ring: fine. */
	start_queue(d, 8, false, false);
	for (uint16_t i = 0; i < 8; i++)
		add_chain(d, i, 1, 0, 8);
	assert_int_equal(pop(d), 1);

	/* size + 1 ahead of last_avail is not. */
	start_queue(d, 8, false, false);
	put_desc(d, 0, DATA_GPA, 8, 0, 0);
	put16(d, AVAIL_GPA + 2, 9);
	assert_broken(d);
}

static void virtqueue__avail_idx_going_backwards_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	add_chain(d, 0, 1, 0, 8);
	add_chain(d, 1, 1, 0, 8);
	assert_int_equal(pop(d), 1);
	assert_int_equal(pop(d), 1);
	put16(d, AVAIL_GPA + 2, 1); /* "unexposes" a buffer (2.7.6.1) */
	assert_broken(d);
}

static void virtqueue__readable_after_writable_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	put_desc(d, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	put_desc(d, 1, DATA_GPA + PAGE, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	put_desc(d, 2, DATA_GPA + 2 * PAGE, 8, 0, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__readable_indirect_after_writable_direct_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, true);
	put_desc(d, 0, DATA_GPA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(d, 1, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(d, IND_GPA, 0, DATA_GPA + PAGE, 8, 0, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__chain_over_4g_breaks_queue(void **state)
{
	struct drv *d = *state;

	/* 256 descriptors of 16 MiB (all the same RAM) add up to exactly 2^32 bytes. */
	start_queue(d, 512, false, false);
	for (uint16_t i = 0; i < 255; i++)
		put_desc(d, i, 0, 16 * MiB, i < 254 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	make_avail(d, 0);
	assert_int_equal(pop(d), 1);
	assert_int_equal(d->c.out_len, 255 * 16 * MiB);

	for (uint16_t i = 0; i < 256; i++)
		put_desc(d, (uint16_t)(256 + i), 0, 16 * MiB, i < 255 ? VIRTQ_DESC_F_NEXT : 0,
			 (uint16_t)(256 + i + 1));
	make_avail(d, 256);
	assert_broken(d);
}

static void virtqueue__nested_indirect_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, true);
	put_desc(d, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(d, IND_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(d, IND_GPA, 1, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__indirect_len_not_multiple_of_16_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, true);
	set_desc(d, IND_GPA, 0, DATA_GPA, 8, 0, 0);
	put_desc(d, 0, IND_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__indirect_len_0_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, true);
	put_desc(d, 0, IND_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__indirect_with_next_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, true);
	set_desc(d, IND_GPA, 0, DATA_GPA, 8, 0, 0);
	put_desc(d, 0, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	put_desc(d, 1, DATA_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__indirect_table_outside_ram_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, true);
	put_desc(d, 0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 0);
	assert_broken(d);

	start_queue(d, 8, false, true);
	put_desc(d, 0, UINT64_MAX - 15, 0xfffffff0, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__loop_in_indirect_table_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, true);
	set_desc(d, IND_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(d, IND_GPA, 1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	put_desc(d, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__indirect_next_outside_table_breaks_queue(void **state)
{
	struct drv *d = *state;

	/* next 2 is inside the queue size but outside this 2-entry table. */
	start_queue(d, 8, false, true);
	set_desc(d, IND_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2);
	set_desc(d, IND_GPA, 2, DATA_GPA, 8, 0, 0);
	put_desc(d, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__indirect_not_negotiated_breaks_queue(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	set_desc(d, IND_GPA, 0, DATA_GPA, 8, 0, 0);
	put_desc(d, 0, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(d, 0);
	assert_broken(d);
}

static void virtqueue__broken_queue_stays_broken(void **state)
{
	struct drv *d = *state;

	start_queue(d, 8, false, false);
	add_chain(d, 0, 1, 1, 8);
	assert_int_equal(pop(d), 1);
	make_avail(d, 9);
	assert_broken(d);

	/* The driver "fixes" the ring: still broken until the transport resets the queue. */
	put16(d, AVAIL_GPA + 4 + 2, 0);
	assert_int_equal(pop(d), -1);
	assert_false(virtq_enable_notify(&d->q));
	/* A chain taken before the break can still complete. */
	virtq_push(&d->q, &d->c, 8);
	assert_int_equal(used_idx_in_ram(d), 1);

	assert_int_equal(virtq_init(&d->q, &d->mem, 8, DESC_GPA, AVAIL_GPA, USED_GPA, false, false),
			 0);
	assert_false(d->q.broken);
}

/* --- random ring contents ---------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Values a fuzzer would find: indices near the edges, addresses near the edges of RAM. */
static uint64_t interesting(void)
{
	static const uint64_t v[] = {0,
				     1,
				     2,
				     3,
				     7,
				     8,
				     9,
				     15,
				     16,
				     17,
				     32,
				     48,
				     0xffff,
				     0x8000,
				     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
				     VIRTQ_DESC_F_INDIRECT,
				     VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT,
				     DATA_GPA,
				     IND_GPA,
				     DESC_GPA,
				     RAM_SIZE - 1,
				     RAM_SIZE - 16,
				     RAM_SIZE,
				     0xffffffff,
				     UINT64_MAX,
				     UINT64_MAX - 15};

	return v[rnd() % (sizeof(v) / sizeof(v[0]))];
}

static void mutate(struct drv *d, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gpa_to_host(&d->mem, gpa, len);
	uint64_t off = rnd() % len, v;
	size_t n;

	assert_non_null(p);
	switch (rnd() % 4) {
	case 0:
		p[off] = (uint8_t)rnd();
		return;
	case 1:
		n = 2;
		break;
	case 2:
		n = 4;
		break;
	default:
		n = 8;
		break;
	}
	v = htole64(interesting());
	memcpy(p + off, &v, off + n <= len ? n : len - off);
}

static void check_chain(struct drv *d)
{
	const struct virtq_chain *c = &d->c;
	uint64_t in = 0, out = 0;
	uint8_t buf[256];

	assert_in_range(c->nbufs, 1, VIRTQ_MAX_CHAIN);
	assert_in_range(c->head, 0, d->size - 1);
	for (int i = 0; i < c->nbufs; i++) {
		const struct virtq_buf *b = &c->bufs[i];

		assert_non_null(b->host);
		assert_ptr_equal(b->host, gpa_to_host(&d->mem, b->gpa, b->len));
		if (i && c->bufs[i - 1].write)
			assert_true(b->write);
		*(b->write ? &in : &out) += b->len;
	}
	assert_true(in + out <= UINT32_MAX);
	assert_int_equal(in, c->in_len);
	assert_int_equal(out, c->out_len);
	memset(buf, 0x5a, sizeof(buf));
	virtq_chain_read(c, rnd() % 64, buf, sizeof(buf));
	virtq_chain_write(c, rnd() % 64, buf, sizeof(buf));
}

static void virtqueue__random_ring_mutations_do_not_crash(void **state)
{
	struct drv *d = *state;
	const uint16_t size = 8;
	int popped = 0, broken = 0;

	for (int iter = 0; iter < 100000; iter++) {
		int r;

		if (iter % 500 == 0 || d->q.broken) {
			bool event_idx = rnd() & 1, indirect = rnd() & 1;

			broken += d->q.broken;
			start_queue(d, size, event_idx, indirect);
			start_indices_at(d, (uint16_t)rnd());
			for (uint16_t i = 0; i < size; i++)
				set_desc(d, DESC_GPA, i, DATA_GPA + PAGE * i, 64,
					 (uint16_t)(rnd() % 8), (uint16_t)(rnd() % size));
			for (uint32_t i = 0; i < 16; i++)
				set_desc(d, IND_GPA, i, DATA_GPA + PAGE * i, 64,
					 (uint16_t)(rnd() % 4), (uint16_t)(rnd() % 16));
		}
		for (uint64_t n = rnd() % 4; n > 0; n--) {
			switch (rnd() % 4) {
			case 0:
				mutate(d, DESC_GPA, VIRTQ_DESC_SIZE(size));
				break;
			case 1:
				mutate(d, AVAIL_GPA, VIRTQ_AVAIL_SIZE(size));
				break;
			case 2:
				mutate(d, USED_GPA, VIRTQ_USED_SIZE(size));
				break;
			default:
				mutate(d, IND_GPA, 16 * 16);
				break;
			}
		}
		if (rnd() % 2) /* a well-behaved idx bump keeps chains flowing */
			put16(d, AVAIL_GPA + 2, (uint16_t)(d->q.last_avail + 1 + rnd() % size));

		r = pop(d);
		assert_in_range(r + 1, 0, 2);
		if (r == 1) {
			popped++;
			check_chain(d);
			virtq_push(&d->q, &d->c, (uint32_t)rnd());
		}
		if (r == -1)
			assert_int_equal(pop(d), -1);
		switch (rnd() % 4) {
		case 0:
			virtq_should_notify(&d->q);
			break;
		case 1:
			virtq_disable_notify(&d->q);
			break;
		case 2:
			virtq_enable_notify(&d->q);
			break;
		}
	}
	print_message("%d chains taken, %d queues broken\n", popped, broken);
	/* The run must have exercised both outcomes, not just one. */
	assert_true(popped > 1000);
	assert_true(broken > 1000);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(virtqueue__init_accepts_valid_layout),
	    T(virtqueue__init_rejects_bad_sizes),
	    T(virtqueue__init_rejects_misaligned_areas),
	    T(virtqueue__init_rejects_areas_outside_ram),
	    T(virtqueue__uninitialised_queue_pops_nothing),
	    T(virtqueue__empty_queue_pops_nothing),
	    T(virtqueue__readable_then_writable_chain),
	    T(virtqueue__push_fills_used_ring_and_clamps_len),
	    T(virtqueue__chain_read_write_span_buffers),
	    T(virtqueue__indices_wrap_at_65536),
	    T(virtqueue__size_1_queue_round_trips),
	    T(virtqueue__size_32768_queue_uses_whole_table),
	    T(virtqueue__chain_of_max_buffers_accepted),
	    T(virtqueue__zero_length_buffer_in_ram_accepted),
	    T(virtqueue__indirect_table_chain),
	    T(virtqueue__direct_descriptors_then_indirect_table),
	    T(virtqueue__indirect_descriptor_write_flag_ignored),
	    T(virtqueue__indirect_table_may_exceed_queue_size),
	    T(virtqueue__event_idx_notifies_when_used_event_passed),
	    T(virtqueue__event_idx_across_index_wrap),
	    T(virtqueue__event_idx_ignores_no_interrupt_flag),
	    T(virtqueue__no_interrupt_flag_without_event_idx),
	    T(virtqueue__disable_enable_notify_sets_used_flags),
	    T(virtqueue__enable_notify_reports_work_that_arrived),
	    T(virtqueue__event_idx_enable_publishes_avail_event),
	    T(virtqueue__event_idx_empty_pop_rearms_avail_event),
	    T(virtqueue__enable_notify_for_more_ignores_handed_back_chains),
	    T(virtqueue__buffer_outside_ram_breaks_queue),
	    T(virtqueue__buffer_straddling_ram_end_breaks_queue),
	    T(virtqueue__buffer_addr_len_overflow_breaks_queue),
	    T(virtqueue__loop_in_chain_breaks_queue),
	    T(virtqueue__self_loop_breaks_queue),
	    T(virtqueue__chain_longer_than_queue_size_breaks_queue),
	    T(virtqueue__chain_longer_than_max_chain_breaks_queue),
	    T(virtqueue__next_out_of_range_breaks_queue),
	    T(virtqueue__head_out_of_range_breaks_queue),
	    T(virtqueue__avail_idx_jump_over_size_breaks_queue),
	    T(virtqueue__avail_idx_going_backwards_breaks_queue),
	    T(virtqueue__readable_after_writable_breaks_queue),
	    T(virtqueue__readable_indirect_after_writable_direct_breaks_queue),
	    T(virtqueue__chain_over_4g_breaks_queue),
	    T(virtqueue__nested_indirect_breaks_queue),
	    T(virtqueue__indirect_len_not_multiple_of_16_breaks_queue),
	    T(virtqueue__indirect_len_0_breaks_queue),
	    T(virtqueue__indirect_with_next_breaks_queue),
	    T(virtqueue__indirect_table_outside_ram_breaks_queue),
	    T(virtqueue__loop_in_indirect_table_breaks_queue),
	    T(virtqueue__indirect_next_outside_table_breaks_queue),
	    T(virtqueue__indirect_not_negotiated_breaks_queue),
	    T(virtqueue__broken_queue_stays_broken),
	    T(virtqueue__random_ring_mutations_do_not_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
