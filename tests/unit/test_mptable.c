/* Tests for the MP spec 1.4 tables, read back from fake guest RAM by raw offsets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/mptable.h"
#include "arch/x86/platform.h"
#include "memory.h"

#define CANARY 0x5a

static int setup(void **state)
{
	struct guest_memory *mem = calloc(1, sizeof(*mem));

	if (!mem || memory_init(mem, 64 * MiB))
		return -1;
	*state = mem;
	return 0;
}

static int teardown(void **state)
{
	memory_destroy(*state);
	free(*state);
	return 0;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* Builds the tables and returns the configuration table after checking the pointer. */
static const uint8_t *build(struct guest_memory *mem, uint32_t ncpus)
{
	const uint8_t *mpf, *cfg;

	assert_int_equal(mptable_build(mem, MPTABLE_ADDR, MPTABLE_SIZE, ncpus), 0);
	mpf = gpa_to_host(mem, MPTABLE_ADDR, 16);
	assert_non_null(mpf);
	cfg = gpa_to_host(mem, rd32(mpf + 4), 44);
	assert_non_null(cfg);
	assert_memory_equal(cfg, "PCMP", 4);
	cfg = gpa_to_host(mem, rd32(mpf + 4), rd16(cfg + 4));
	assert_non_null(cfg);
	return cfg;
}

static size_t entry_len(uint8_t type)
{
	return type == 0 ? 20 : 8;
}

static void test_mptable__floating_pointer_is_valid(void **state)
{
	struct guest_memory *mem = *state;
	const uint8_t *mpf;

	build(mem, 1);
	mpf = gpa_to_host(mem, MPTABLE_ADDR, 16);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(rd32(mpf + 4), MPTABLE_ADDR + 16);
	assert_int_equal(mpf[8], 1); /* length in paragraphs */
	assert_int_equal(mpf[9], 4); /* spec 1.4 */
	assert_int_equal(sum8(mpf, 16), 0);
	assert_int_equal(mpf[11], 0); /* a configuration table is present */
	/* Linux scans 0xf0000-0xfffff on 16-byte boundaries. */
	assert_int_equal(MPTABLE_ADDR % 16, 0);
	assert_true(MPTABLE_ADDR >= 0xf0000 && MPTABLE_ADDR + 16 <= 0x100000);
}

static void test_mptable__config_table_is_valid(void **state)
{
	struct guest_memory *mem = *state;
	const uint8_t *cfg = build(mem, 4), *e, *end;
	unsigned int count = 0, last_type = 0;

	assert_int_equal(sum8(cfg, rd16(cfg + 4)), 0);
	assert_int_equal(cfg[6], 4);
	assert_int_equal(rd32(cfg + 36), LAPIC_BASE);
	assert_int_equal(rd16(cfg + 40), 0); /* no extended table */
	/* Entries are sorted by type and fill the base table exactly. */
	end = cfg + rd16(cfg + 4);
	for (e = cfg + 44; e < end; e += entry_len(e[0])) {
		assert_true(e[0] <= 4 && e[0] >= last_type);
		last_type = e[0];
		count++;
	}
	assert_ptr_equal(e, end);
	assert_int_equal(count, rd16(cfg + 34));
}

static void check_cpus(struct guest_memory *mem, uint32_t ncpus)
{
	const uint8_t *cfg = build(mem, ncpus), *e, *end = cfg + rd16(cfg + 4);
	uint32_t n = 0;

	for (e = cfg + 44; e < end; e += entry_len(e[0])) {
		if (e[0] != 0)
			continue;
		assert_int_equal(e[1], n);		/* APIC id */
		assert_int_equal(e[2], 0x14);		/* APIC version */
		assert_int_equal(e[3], n == 0 ? 3 : 1); /* enabled, BSP on cpu 0 only */
		assert_int_not_equal(rd32(e + 4), 0);	/* signature */
		assert_true(rd32(e + 8) & (1U << 9));	/* features: APIC */
		n++;
	}
	assert_int_equal(n, ncpus);
}

static void test_mptable__lists_one_cpu(void **state)
{
	check_cpus(*state, 1);
}

static void test_mptable__lists_four_cpus_with_one_bsp(void **state)
{
	check_cpus(*state, 4);
}

static void test_mptable__lists_64_cpus(void **state)
{
	check_cpus(*state, 64);
}

static void test_mptable__routes_isa_irqs_to_ioapic(void **state)
{
	struct guest_memory *mem = *state;
	const uint32_t ncpus = 4;
	const uint8_t *cfg = build(mem, ncpus), *e, *end = cfg + rd16(cfg + 4);
	int pin_of_irq[16], nbus = 0, nioapic = 0, extint = 0, nmi = 0;

	for (int i = 0; i < 16; i++)
		pin_of_irq[i] = -1;
	for (e = cfg + 44; e < end; e += entry_len(e[0])) {
		switch (e[0]) {
		case 1:
			assert_int_equal(e[1], 0);
			assert_memory_equal(e + 2, "ISA   ", 6);
			nbus++;
			break;
		case 2:
			assert_int_equal(e[1], ncpus); /* after the LAPIC ids */
			assert_int_equal(e[2], 0x11);
			assert_int_equal(e[3], 1);
			assert_int_equal(rd32(e + 4), IOAPIC_BASE);
			nioapic++;
			break;
		case 3:
			assert_int_equal(e[1], 0);	  /* INT */
			assert_int_equal(rd16(e + 2), 0); /* conforming */
			assert_int_equal(e[4], 0);	  /* ISA bus */
			assert_true(e[5] < 16);
			assert_int_equal(pin_of_irq[e[5]], -1);
			assert_int_equal(e[6], ncpus);
			pin_of_irq[e[5]] = e[7];
			break;
		case 4:
			assert_int_equal(e[6], 0xff); /* all LAPICs */
			if (e[1] == 3) {
				assert_int_equal(e[7], 0); /* ExtINT -> LINT0 */
				extint++;
			} else {
				assert_int_equal(e[1], 1);
				assert_int_equal(e[7], 1); /* NMI -> LINT1 */
				nmi++;
			}
			break;
		}
	}
	assert_int_equal(nbus, 1);
	assert_int_equal(nioapic, 1);
	assert_int_equal(extint, 1);
	assert_int_equal(nmi, 1);
	assert_int_equal(pin_of_irq[0], 2);
	assert_int_equal(pin_of_irq[2], -1); /* cascade */
	for (int i = 1; i < 16; i++)
		if (i != 2)
			assert_int_equal(pin_of_irq[i], i);
}

static bool canary_intact(struct guest_memory *mem, uint64_t gpa, size_t len)
{
	const uint8_t *p = gpa_to_host(mem, gpa, len);

	for (size_t i = 0; i < len; i++)
		if (p[i] != CANARY)
			return false;
	return true;
}

static void test_mptable__small_region_is_enospc_and_no_write_outside(void **state)
{
	struct guest_memory *mem = *state;
	const uint64_t base = MPTABLE_ADDR, guard = 4096, window = 3 * 4096;
	uint64_t size;
	int ret = -ENOSPC;

	memset(gpa_to_host(mem, base - guard, window), CANARY, window);
	for (size = 0; size < window - 2 * guard; size++) {
		ret = mptable_build(mem, base, size, 8);
		if (ret != -ENOSPC)
			break;
		assert_true(canary_intact(mem, base - guard, window));
	}
	assert_int_equal(ret, 0);
	assert_int_equal(size, 16 + 44 + 8 * 20 + 8 + 8 + 15 * 8 + 2 * 8);
	assert_true(canary_intact(mem, base - guard, guard));
	assert_true(canary_intact(mem, base + size, window - guard - size));
}

static void test_mptable__rejects_bad_arguments(void **state)
{
	struct guest_memory *mem = *state;

	assert_int_equal(mptable_build(mem, MPTABLE_ADDR, MPTABLE_SIZE, 0), -EINVAL);
	assert_int_equal(mptable_build(mem, MPTABLE_ADDR, MPTABLE_SIZE, MPTABLE_MAX_CPUS + 1),
			 -EINVAL);
	assert_int_equal(mptable_build(mem, MPTABLE_ADDR + 4, MPTABLE_SIZE, 1), -EINVAL);
	assert_int_equal(mptable_build(mem, 64 * MiB - 64, 4096, 1), -EFAULT);
}

#define RAM_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    RAM_TEST(test_mptable__floating_pointer_is_valid),
	    RAM_TEST(test_mptable__config_table_is_valid),
	    RAM_TEST(test_mptable__lists_one_cpu),
	    RAM_TEST(test_mptable__lists_four_cpus_with_one_bsp),
	    RAM_TEST(test_mptable__lists_64_cpus),
	    RAM_TEST(test_mptable__routes_isa_irqs_to_ioapic),
	    RAM_TEST(test_mptable__small_region_is_enospc_and_no_write_outside),
	    RAM_TEST(test_mptable__rejects_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
