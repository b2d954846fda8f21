/*
 * Tests for the PIO/MMIO range registry: registration refuses overlaps and wrapping ranges,
 * dispatch hands the device an offset into its own range, and anything not wholly inside
 * one range is unclaimed (reads see all ones).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bus.h"

/* A device that records its last access and answers reads with offset-derived bytes. */
struct recorder {
	int calls;
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint8_t data[8];
};

static void record_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct recorder *r = opaque;

	r->calls++;
	r->offset = offset;
	r->len = len;
	r->is_write = is_write;
	if (is_write) {
		memcpy(r->data, data, len);
	} else {
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(0x10 + offset + i);
	}
}

static int setup(void **state)
{
	struct bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return -1;
	bus_init(bus, "pio");
	*state = bus;
	return 0;
}

static int teardown(void **state)
{
	bus_destroy(*state);
	free(*state);
	return 0;
}

static void test_bus__read_reaches_handler_with_offset_into_range(void **state)
{
	struct bus *bus = *state;
	struct recorder dev = {0};
	uint8_t data[4] = {0};

	assert_int_equal(bus_register(bus, 0x3f8, 8, record_io, &dev, "uart"), 0);
	assert_int_equal(bus_dispatch(bus, 0x3fd, data, 1, false), 0);
	assert_int_equal(dev.calls, 1);
	assert_int_equal(dev.offset, 5);
	assert_int_equal(dev.len, 1);
	assert_false(dev.is_write);
	assert_int_equal(data[0], 0x15);

	assert_int_equal(bus_dispatch(bus, 0x3f8, data, 4, false), 0);
	assert_int_equal(dev.offset, 0);
	assert_int_equal(dev.len, 4);
	assert_int_equal(data[3], 0x13);
}

static void test_bus__write_passes_data_to_handler(void **state)
{
	struct bus *bus = *state;
	struct recorder dev = {0};
	uint8_t data[2] = {0xab, 0xcd};

	assert_int_equal(bus_register(bus, 0x600, 12, record_io, &dev, "acpi"), 0);
	assert_int_equal(bus_dispatch(bus, 0x604, data, 2, true), 0);
	assert_int_equal(dev.calls, 1);
	assert_true(dev.is_write);
	assert_int_equal(dev.offset, 4);
	assert_int_equal(dev.len, 2);
	assert_memory_equal(dev.data, data, 2);
}

static void test_bus__last_byte_of_range_is_claimed_and_next_is_not(void **state)
{
	struct bus *bus = *state;
	struct recorder dev = {0};
	uint8_t data[8];

	assert_int_equal(bus_register(bus, 0x1000, 0x100, record_io, &dev, "dev"), 0);
	assert_int_equal(bus_dispatch(bus, 0x10ff, data, 1, false), 0);
	assert_int_equal(dev.offset, 0xff);
	assert_int_equal(bus_dispatch(bus, 0x10f8, data, 8, false), 0);
	assert_int_equal(dev.offset, 0xf8);
	assert_int_equal(bus_dispatch(bus, 0x1100, data, 1, false), -ENOENT);
	assert_int_equal(bus_dispatch(bus, 0xfff, data, 1, false), -ENOENT);
	assert_int_equal(dev.calls, 2);
}

static void test_bus__register_refuses_overlaps_with_eexist(void **state)
{
	struct bus *bus = *state;
	struct recorder dev = {0};

	assert_int_equal(bus_register(bus, 0x100, 0x10, record_io, &dev, "a"), 0);
	assert_int_equal(bus_register(bus, 0x100, 0x10, record_io, &dev, "same"), -EEXIST);
	assert_int_equal(bus_register(bus, 0xf8, 0x9, record_io, &dev, "tail"), -EEXIST);
	assert_int_equal(bus_register(bus, 0x10f, 0x10, record_io, &dev, "head"), -EEXIST);
	assert_int_equal(bus_register(bus, 0x104, 0x4, record_io, &dev, "inside"), -EEXIST);
	assert_int_equal(bus_register(bus, 0x0, 0x1000, record_io, &dev, "around"), -EEXIST);
	assert_int_equal(bus->count, 1);
}

static void test_bus__register_accepts_adjacent_ranges(void **state)
{
	struct bus *bus = *state;
	struct recorder a = {0}, b = {0}, c = {0};
	uint8_t data[1];

	assert_int_equal(bus_register(bus, 0x100, 0x10, record_io, &a, "a"), 0);
	assert_int_equal(bus_register(bus, 0x110, 0x10, record_io, &b, "after"), 0);
	assert_int_equal(bus_register(bus, 0xf0, 0x10, record_io, &c, "before"), 0);
	assert_int_equal(bus->count, 3);

	bus_dispatch(bus, 0xff, data, 1, false);
	bus_dispatch(bus, 0x100, data, 1, false);
	bus_dispatch(bus, 0x10f, data, 1, false);
	bus_dispatch(bus, 0x110, data, 1, false);
	assert_int_equal(c.calls, 1);
	assert_int_equal(a.calls, 2);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.offset, 0);
}

static void test_bus__register_refuses_empty_wrapping_or_handlerless_ranges(void **state)
{
	struct bus *bus = *state;
	struct recorder dev = {0};

	assert_int_equal(bus_register(bus, 0x100, 0, record_io, &dev, "empty"), -EINVAL);
	assert_int_equal(bus_register(bus, UINT64_MAX, 2, record_io, &dev, "wrap"), -EINVAL);
	assert_int_equal(bus_register(bus, 2, UINT64_MAX, record_io, &dev, "wrap"), -EINVAL);
	assert_int_equal(bus_register(bus, 0x100, 1, NULL, &dev, "no fn"), -EINVAL);
	assert_int_equal(bus->count, 0);
	/* [1, 2^64) ends exactly at the top: allowed. */
	assert_int_equal(bus_register(bus, 1, UINT64_MAX, record_io, &dev, "all"), 0);
}

static void test_bus__range_ending_at_top_of_address_space_works(void **state)
{
	struct bus *bus = *state;
	struct recorder dev = {0};
	uint8_t data[8];

	assert_int_equal(bus_register(bus, UINT64_MAX - 7, 8, record_io, &dev, "top"), 0);
	assert_int_equal(bus_dispatch(bus, UINT64_MAX - 7, data, 8, false), 0);
	assert_int_equal(bus_dispatch(bus, UINT64_MAX, data, 1, false), 0);
	assert_int_equal(dev.offset, 7);
	/* An access that would run past 2^64 is not claimed. */
	assert_int_equal(bus_dispatch(bus, UINT64_MAX, data, 2, false), -ENOENT);
	assert_int_equal(dev.calls, 2);
}

static void test_bus__unclaimed_read_returns_all_ones_and_enoent(void **state)
{
	struct bus *bus = *state;
	uint8_t data[8];

	memset(data, 0, sizeof(data));
	assert_int_equal(bus_dispatch(bus, 0x80, data, 4, false), -ENOENT);
	for (int i = 0; i < 4; i++)
		assert_int_equal(data[i], 0xff);
	assert_int_equal(data[4], 0); /* only len bytes are written */

	memset(data, 0, sizeof(data));
	assert_int_equal(bus_dispatch(bus, 0xfee00000, data, 8, false), -ENOENT);
	for (int i = 0; i < 8; i++)
		assert_int_equal(data[i], 0xff);
}

static void test_bus__unclaimed_write_is_dropped_with_enoent(void **state)
{
	struct bus *bus = *state;
	struct recorder dev = {0};
	uint8_t data[2] = {0x12, 0x34};

	assert_int_equal(bus_register(bus, 0x100, 4, record_io, &dev, "dev"), 0);
	assert_int_equal(bus_dispatch(bus, 0x200, data, 2, true), -ENOENT);
	assert_int_equal(dev.calls, 0);
	assert_int_equal(data[0], 0x12); /* writes leave the caller's buffer alone */
	assert_int_equal(data[1], 0x34);
}

static void test_bus__access_straddling_range_end_is_unclaimed(void **state)
{
	struct bus *bus = *state;
	struct recorder a = {0}, b = {0};
	uint8_t data[8] = {0};

	assert_int_equal(bus_register(bus, 0x100, 8, record_io, &a, "a"), 0);
	assert_int_equal(bus_register(bus, 0x108, 8, record_io, &b, "b"), 0);
	/* Runs from a into b: neither device sees it. */
	assert_int_equal(bus_dispatch(bus, 0x106, data, 4, false), -ENOENT);
	assert_memory_equal(data, "\xff\xff\xff\xff", 4);
	assert_int_equal(bus_dispatch(bus, 0x107, data, 2, true), -ENOENT);
	/* Runs from b into nothing. */
	assert_int_equal(bus_dispatch(bus, 0x10c, data, 8, false), -ENOENT);
	/* Starts before a. */
	assert_int_equal(bus_dispatch(bus, 0xfe, data, 4, false), -ENOENT);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 0);
}

static void test_bus__zero_or_oversized_access_is_unclaimed(void **state)
{
	struct bus *bus = *state;
	struct recorder dev = {0};
	uint8_t data[16];

	assert_int_equal(bus_register(bus, 0, 0x1000, record_io, &dev, "big"), 0);
	assert_int_equal(bus_dispatch(bus, 0x10, data, 0, false), -ENOENT);
	memset(data, 0, sizeof(data));
	assert_int_equal(bus_dispatch(bus, 0x10, data, 16, false), -ENOENT);
	assert_int_equal(dev.calls, 0);
}

/* 200 devices registered in a shuffled order; every one must be found by binary search. */
#define MANY	    200
#define MANY_STRIDE 0x10
#define MANY_LEN    0x8

static void many_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	int *hits = opaque;

	(*hits)++;
	if (!is_write)
		data[0] = (uint8_t)offset;
}

static void test_bus__finds_each_of_200_ranges_registered_in_random_order(void **state)
{
	struct bus *bus = *state;
	static int hits[MANY];
	int order[MANY];
	uint32_t seed = 12345;

	memset(hits, 0, sizeof(hits));
	for (int i = 0; i < MANY; i++)
		order[i] = i;
	for (int i = MANY - 1; i > 0; i--) { /* Fisher-Yates with a fixed LCG */
		int j, t;
		seed = seed * 1103515245u + 12345u;
		j = (int)((seed >> 8) % (uint32_t)(i + 1));
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < MANY; i++) {
		int k = order[i];
		assert_int_equal(bus_register(bus, 0x1000 + (uint64_t)k * MANY_STRIDE, MANY_LEN,
					      many_io, &hits[k], "dev"),
				 0);
	}
	assert_int_equal(bus->count, MANY);
	for (size_t i = 1; i < bus->count; i++)
		assert_true(bus->ranges[i - 1].base < bus->ranges[i].base);

	for (int k = 0; k < MANY; k++) {
		uint64_t base = 0x1000 + (uint64_t)k * MANY_STRIDE;
		uint8_t data[1];

		for (uint64_t off = 0; off < MANY_LEN; off++) {
			assert_int_equal(bus_dispatch(bus, base + off, data, 1, false), 0);
			assert_int_equal(data[0], off);
		}
		/* The gap after each range belongs to nobody. */
		assert_int_equal(bus_dispatch(bus, base + MANY_LEN, data, 1, false), -ENOENT);
		assert_int_equal(bus_dispatch(bus, base + MANY_STRIDE - 1, data, 1, false),
				 -ENOENT);
		assert_int_equal(hits[k], MANY_LEN);
	}
	/* Overlaps are still refused anywhere in the full table. */
	for (int k = 0; k < MANY; k += 17)
		assert_int_equal(bus_register(bus, 0x1000 + (uint64_t)k * MANY_STRIDE + 4, 8,
					      many_io, NULL, "dup"),
				 -EEXIST);
	assert_int_equal(bus->count, MANY);
}

static void test_bus__destroy_empties_the_bus(void **state)
{
	struct bus *bus = *state;
	struct recorder dev = {0};
	uint8_t data[1];

	assert_int_equal(bus_register(bus, 0x70, 2, record_io, &dev, "rtc"), 0);
	bus_destroy(bus);
	assert_int_equal(bus->count, 0);
	assert_string_equal(bus->name, "pio");
	assert_int_equal(bus_dispatch(bus, 0x70, data, 1, false), -ENOENT);
	assert_int_equal(bus_register(bus, 0x70, 2, record_io, &dev, "rtc"), 0);
}

#define BUS_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BUS_TEST(test_bus__read_reaches_handler_with_offset_into_range),
	    BUS_TEST(test_bus__write_passes_data_to_handler),
	    BUS_TEST(test_bus__last_byte_of_range_is_claimed_and_next_is_not),
	    BUS_TEST(test_bus__register_refuses_overlaps_with_eexist),
	    BUS_TEST(test_bus__register_accepts_adjacent_ranges),
	    BUS_TEST(test_bus__register_refuses_empty_wrapping_or_handlerless_ranges),
	    BUS_TEST(test_bus__range_ending_at_top_of_address_space_works),
	    BUS_TEST(test_bus__unclaimed_read_returns_all_ones_and_enoent),
	    BUS_TEST(test_bus__unclaimed_write_is_dropped_with_enoent),
	    BUS_TEST(test_bus__access_straddling_range_end_is_unclaimed),
	    BUS_TEST(test_bus__zero_or_oversized_access_is_unclaimed),
	    BUS_TEST(test_bus__finds_each_of_200_ranges_registered_in_random_order),
	    BUS_TEST(test_bus__destroy_empties_the_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
