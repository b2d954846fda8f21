/*
 * Tests for guest RAM: the layout around the 3 GiB PCI hole, the checked gpa -> host
 * translation every access goes through, and the E820 map the guest is given. Large sizes
 * are mapped for real (MAP_NORESERVE: untouched pages cost nothing).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "memory.h"

#define EBDA_RESERVED (MEM_HIGH_START - MEM_LOW_RAM_END)

/* --- memory_layout --------------------------------------------------------------------- */

static void test_memory__layout_128m_is_one_low_region(void **state)
{
	struct mem_region r[2];

	assert_int_equal(memory_layout(128 * MiB, r), 1);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, 128 * MiB);
}

static void test_memory__layout_exactly_3g_fills_low_region_only(void **state)
{
	struct mem_region r[2];

	assert_int_equal(memory_layout(3 * GiB, r), 1);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, MEM_PCI_HOLE_START);
}

static void test_memory__layout_3g_plus_2m_puts_2m_at_4g(void **state)
{
	struct mem_region r[2];

	assert_int_equal(memory_layout(3 * GiB + 2 * MiB, r), 2);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, MEM_PCI_HOLE_START);
	assert_int_equal(r[1].gpa, MEM_PCI_HOLE_END);
	assert_int_equal(r[1].size, 2 * MiB);
}

static void test_memory__layout_6g_puts_3g_below_hole_and_3g_at_4g(void **state)
{
	struct mem_region r[2];

	assert_int_equal(memory_layout(6 * GiB, r), 2);
	assert_int_equal(r[0].size, 3 * GiB);
	assert_int_equal(r[1].gpa, 4 * GiB);
	assert_int_equal(r[1].size, 3 * GiB);
}

/* --- memory_init ----------------------------------------------------------------------- */

static void test_memory__init_rejects_sizes_outside_min_max(void **state)
{
	struct guest_memory mem;

	assert_int_equal(memory_init(&mem, 0), -EINVAL);
	assert_int_equal(memory_init(&mem, MEM_MIN_SIZE - 1), -EINVAL);
	assert_null(mem.base);
	assert_int_equal(memory_init(&mem, MEM_MAX_SIZE + 1), -EINVAL);
	assert_int_equal(memory_init(&mem, UINT64_MAX), -EINVAL);
	assert_null(mem.base);
	assert_int_equal(mem.nregions, 0);
}

static void test_memory__init_accepts_minimum_size(void **state)
{
	struct guest_memory mem;

	assert_int_equal(memory_init(&mem, MEM_MIN_SIZE), 0);
	assert_non_null(mem.base);
	assert_int_equal(mem.size, MEM_MIN_SIZE);
	assert_int_equal(mem.nregions, 1);
	assert_ptr_equal(mem.regions[0].host, mem.base);
	memory_destroy(&mem);
	assert_null(mem.base);
	assert_int_equal(mem.nregions, 0);
}

static void test_memory__init_6g_maps_high_region_after_low_in_host(void **state)
{
	struct guest_memory mem;

	assert_int_equal(memory_init(&mem, 6 * GiB), 0);
	assert_int_equal(mem.nregions, 2);
	assert_ptr_equal(mem.regions[0].host, mem.base);
	assert_ptr_equal(mem.regions[1].host, mem.base + 3 * GiB);
	assert_int_equal(memory_low_end(&mem), MEM_PCI_HOLE_START);
	memory_destroy(&mem);
}

/* --- gpa_to_host on 128 MiB (one region) ------------------------------------------------ */

static int setup_128m(void **state)
{
	static struct guest_memory mem;

	if (memory_init(&mem, 128 * MiB))
		return -1;
	*state = &mem;
	return 0;
}

static int setup_6g(void **state)
{
	static struct guest_memory mem;

	if (memory_init(&mem, 6 * GiB))
		return -1;
	*state = &mem;
	return 0;
}

static int teardown_mem(void **state)
{
	memory_destroy(*state);
	return 0;
}

static void test_memory__gpa_to_host_maps_start_and_last_byte(void **state)
{
	struct guest_memory *mem = *state;

	assert_ptr_equal(gpa_to_host(mem, 0, 1), mem->base);
	assert_ptr_equal(gpa_to_host(mem, 0, 128 * MiB), mem->base);
	assert_ptr_equal(gpa_to_host(mem, 128 * MiB - 1, 1), mem->base + 128 * MiB - 1);
	assert_ptr_equal(gpa_to_host(mem, 0x7000, 0x1000), mem->base + 0x7000);
}

static void test_memory__gpa_to_host_allows_len_zero_inside_ram(void **state)
{
	struct guest_memory *mem = *state;

	assert_ptr_equal(gpa_to_host(mem, 0, 0), mem->base);
	assert_ptr_equal(gpa_to_host(mem, 64 * MiB, 0), mem->base + 64 * MiB);
	/* The empty range at the very end of RAM is still "inside" it. */
	assert_ptr_equal(gpa_to_host(mem, 128 * MiB, 0), mem->base + 128 * MiB);
	assert_null(gpa_to_host(mem, 128 * MiB + 1, 0));
}

static void test_memory__gpa_to_host_rejects_range_crossing_end(void **state)
{
	struct guest_memory *mem = *state;

	assert_null(gpa_to_host(mem, 128 * MiB - 1, 2));
	assert_null(gpa_to_host(mem, 128 * MiB - 4096, 4097));
	assert_null(gpa_to_host(mem, 0, 128 * MiB + 1));
	assert_null(gpa_to_host(mem, 128 * MiB, 1));
}

static void test_memory__gpa_to_host_rejects_wrapping_gpa_plus_len(void **state)
{
	struct guest_memory *mem = *state;

	assert_null(gpa_to_host(mem, UINT64_MAX, 1));
	assert_null(gpa_to_host(mem, UINT64_MAX, 0));
	assert_null(gpa_to_host(mem, UINT64_MAX - 7, 16));
	/* gpa inside RAM, len so large that gpa + len wraps to a small number. */
	assert_null(gpa_to_host(mem, 0x1000, UINT64_MAX));
	assert_null(gpa_to_host(mem, 0x1000, UINT64_MAX - 0xfff + 0x10));
	assert_null(gpa_to_host(mem, 0, UINT64_MAX));
}

static void test_memory__read_write_round_trip(void **state)
{
	struct guest_memory *mem = *state;
	const char msg[] = "hello, guest";
	char back[sizeof(msg)] = {0};

	assert_int_equal(memory_write(mem, 0x12345, msg, sizeof(msg)), 0);
	assert_memory_equal(mem->base + 0x12345, msg, sizeof(msg));
	assert_int_equal(memory_read(mem, 0x12345, back, sizeof(back)), 0);
	assert_string_equal(back, msg);
}

static void test_memory__read_write_outside_ram_is_efault_and_touches_nothing(void **state)
{
	struct guest_memory *mem = *state;
	uint8_t buf[8];
	const uint8_t ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};

	memset(mem->base + 128 * MiB - 4, 0xee, 4);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(memory_write(mem, 128 * MiB - 4, ones, 8), -EFAULT);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mem->base[128 * MiB - 4 + i], 0xee);
	assert_int_equal(memory_read(mem, 128 * MiB - 4, buf, 8), -EFAULT);
	assert_int_equal(memory_read(mem, UINT64_MAX - 3, buf, 8), -EFAULT);
	assert_int_equal(memory_write(mem, 1ULL << 40, ones, 1), -EFAULT);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0x5a);
}

/* --- gpa_to_host on 6 GiB (two regions around the hole) --------------------------------- */

static void test_memory__gpa_to_host_6g_maps_both_regions(void **state)
{
	struct guest_memory *mem = *state;
	uint8_t *high = mem->base + 3 * GiB;

	assert_ptr_equal(gpa_to_host(mem, 3 * GiB - 1, 1), mem->base + 3 * GiB - 1);
	assert_ptr_equal(gpa_to_host(mem, 4 * GiB, 1), high);
	assert_ptr_equal(gpa_to_host(mem, 4 * GiB, 3 * GiB), high);
	assert_ptr_equal(gpa_to_host(mem, 7 * GiB - 8, 8), high + 3 * GiB - 8);
}

static void test_memory__gpa_to_host_6g_rejects_the_pci_hole(void **state)
{
	struct guest_memory *mem = *state;

	assert_null(gpa_to_host(mem, MEM_PCI_HOLE_START, 1));
	assert_null(gpa_to_host(mem, MEM_PCI_HOLE_START + 4096, 0));
	assert_null(gpa_to_host(mem, 0xfee00000ULL, 4)); /* LAPIC */
	assert_null(gpa_to_host(mem, MEM_PCI_HOLE_END - 1, 1));
}

static void test_memory__gpa_to_host_6g_rejects_ranges_crossing_region_ends(void **state)
{
	struct guest_memory *mem = *state;

	/* From the low region into the hole, and across the hole into high RAM. */
	assert_null(gpa_to_host(mem, 3 * GiB - 1, 2));
	assert_null(gpa_to_host(mem, 3 * GiB - 4096, 2 * GiB));
	/* From the hole into high RAM. */
	assert_null(gpa_to_host(mem, 4 * GiB - 1, 2));
	/* Past the end of high RAM. */
	assert_null(gpa_to_host(mem, 7 * GiB - 1, 2));
	assert_null(gpa_to_host(mem, 7 * GiB, 1));
	assert_null(gpa_to_host(mem, 4 * GiB, 3 * GiB + 1));
	/* Wrapping from the high region. */
	assert_null(gpa_to_host(mem, 4 * GiB + 1, UINT64_MAX - 4 * GiB));
}

/* --- e820_build ------------------------------------------------------------------------- */

static void check_e820_invariants(const struct guest_memory *mem, const struct e820_entry *e, int n)
{
	uint64_t ram = 0;

	assert_true(n >= 1);
	for (int i = 0; i < n; i++) {
		assert_true(e[i].size > 0);
		assert_true(e[i].addr + e[i].size > e[i].addr); /* no wrap */
		if (i > 0)					/* sorted, no overlaps */
			assert_true(e[i - 1].addr + e[i - 1].size <= e[i].addr);
		if (e[i].type == E820_RAM) {
			ram += e[i].size;
			/* every RAM byte is backed by guest memory */
			assert_non_null(gpa_to_host(mem, e[i].addr, e[i].size));
		}
	}
	assert_int_equal(ram, mem->size - EBDA_RESERVED);
}

static void test_memory__e820_128m_lists_low_ram_ebda_and_ram_above_1m(void **state)
{
	struct guest_memory *mem = *state;
	struct e820_entry e[E820_MAX_ENTRIES];
	int n = e820_build(mem, e, E820_MAX_ENTRIES);

	assert_int_equal(n, 3);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, 0x9fc00);
	assert_int_equal(e[1].size, 0x100000 - 0x9fc00);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].size, 128 * MiB - 0x100000);
	assert_int_equal(e[2].type, E820_RAM);
	check_e820_invariants(mem, e, n);
}

static void test_memory__e820_6g_adds_ram_from_4g(void **state)
{
	struct guest_memory *mem = *state;
	struct e820_entry e[E820_MAX_ENTRIES];
	int n = e820_build(mem, e, E820_MAX_ENTRIES);

	assert_int_equal(n, 4);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].size, 3 * GiB - 0x100000);
	assert_int_equal(e[2].type, E820_RAM);
	assert_int_equal(e[3].addr, 4 * GiB);
	assert_int_equal(e[3].size, 3 * GiB);
	assert_int_equal(e[3].type, E820_RAM);
	check_e820_invariants(mem, e, n);
}

static void test_memory__e820_invariants_hold_for_sizes_around_the_hole(void **state)
{
	static const uint64_t sizes[] = {MEM_MIN_SIZE, 3 * GiB - 2 * MiB, 3 * GiB,
					 3 * GiB + 2 * MiB};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct guest_memory mem;
		struct e820_entry e[E820_MAX_ENTRIES];
		int n;

		assert_int_equal(memory_init(&mem, sizes[i]), 0);
		n = e820_build(&mem, e, E820_MAX_ENTRIES);
		assert_int_equal(n, sizes[i] > 3 * GiB ? 4 : 3);
		assert_int_equal(e[2].addr + e[2].size, memory_low_end(&mem));
		check_e820_invariants(&mem, e, n);
		memory_destroy(&mem);
	}
}

static void test_memory__e820_never_writes_more_than_max_entries(void **state)
{
	struct guest_memory *mem = *state;
	struct e820_entry e[4];

	memset(e, 0x77, sizeof(e));
	assert_int_equal(e820_build(mem, e, 2), 2);
	assert_int_equal(e[1].type, E820_RESERVED);
	for (size_t i = 0; i < sizeof(e[2]); i++)
		assert_int_equal(((uint8_t *)&e[2])[i], 0x77);
	assert_int_equal(e820_build(mem, e, 0), 0);
}

#define MEM128(f) cmocka_unit_test_setup_teardown(f, setup_128m, teardown_mem)
#define MEM6G(f)  cmocka_unit_test_setup_teardown(f, setup_6g, teardown_mem)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memory__layout_128m_is_one_low_region),
	    cmocka_unit_test(test_memory__layout_exactly_3g_fills_low_region_only),
	    cmocka_unit_test(test_memory__layout_3g_plus_2m_puts_2m_at_4g),
	    cmocka_unit_test(test_memory__layout_6g_puts_3g_below_hole_and_3g_at_4g),
	    cmocka_unit_test(test_memory__init_rejects_sizes_outside_min_max),
	    cmocka_unit_test(test_memory__init_accepts_minimum_size),
	    cmocka_unit_test(test_memory__init_6g_maps_high_region_after_low_in_host),
	    MEM128(test_memory__gpa_to_host_maps_start_and_last_byte),
	    MEM128(test_memory__gpa_to_host_allows_len_zero_inside_ram),
	    MEM128(test_memory__gpa_to_host_rejects_range_crossing_end),
	    MEM128(test_memory__gpa_to_host_rejects_wrapping_gpa_plus_len),
	    MEM128(test_memory__read_write_round_trip),
	    MEM128(test_memory__read_write_outside_ram_is_efault_and_touches_nothing),
	    MEM6G(test_memory__gpa_to_host_6g_maps_both_regions),
	    MEM6G(test_memory__gpa_to_host_6g_rejects_the_pci_hole),
	    MEM6G(test_memory__gpa_to_host_6g_rejects_ranges_crossing_region_ends),
	    MEM128(test_memory__e820_128m_lists_low_ram_ebda_and_ram_above_1m),
	    MEM6G(test_memory__e820_6g_adds_ram_from_4g),
	    cmocka_unit_test(test_memory__e820_invariants_hold_for_sizes_around_the_hole),
	    MEM128(test_memory__e820_never_writes_more_than_max_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
