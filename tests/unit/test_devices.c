/*
 * Tests for the small platform devices, driven through their bus handlers as a vCPU would:
 * the i8042 (self test, config byte, CPU reset), the ACPI PM block (PM1 event/control, S5
 * power off, PM timer), the 0xcf9 reset control register and the POST port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "arch/x86/platform.h"
#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "devices/post_port.h"
#include "devices/reset_control.h"
#include "irq.h"

/* Counts calls of a reset/poweroff callback. */
static void count_call(void *ctx)
{
	(*(int *)ctx)++;
}

typedef void (*io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

static uint32_t io_read(io_fn fn, void *dev, uint64_t off, uint32_t len)
{
	uint8_t d[4] = {0};
	uint32_t v = 0;

	fn(dev, off, d, len, false);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint32_t)d[i] << (8 * i);
	return v;
}

static void io_write(io_fn fn, void *dev, uint64_t off, uint32_t len, uint32_t v)
{
	uint8_t d[4];

	for (uint32_t i = 0; i < 4; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	fn(dev, off, d, len, true);
}

/* --- i8042 -------------------------------------------------------------------------------- */

#define I8042_OBF 0x01
#define I8042_IBF 0x02
#define I8042_SYS 0x04

static uint8_t kbd_status(struct i8042 *k)
{
	return (uint8_t)io_read(i8042_cmd_io, k, 0, 1);
}

static uint8_t kbd_data(struct i8042 *k)
{
	return (uint8_t)io_read(i8042_data_io, k, 0, 1);
}

static void kbd_cmd(struct i8042 *k, uint8_t cmd)
{
	io_write(i8042_cmd_io, k, 0, 1, cmd);
}

static void test_i8042__self_test_answers_55_and_read_clears_obf(void **state)
{
	int resets = 0;
	struct i8042 *k = i8042_create(count_call, &resets);

	assert_non_null(k);
	assert_false(kbd_status(k) & I8042_OBF);
	kbd_cmd(k, 0xaa);
	assert_true(kbd_status(k) & I8042_OBF);
	assert_true(kbd_status(k) & I8042_SYS);
	assert_int_equal(kbd_data(k), 0x55);
	assert_false(kbd_status(k) & I8042_OBF);
	/* The interface tests answer 0 (no error). */
	kbd_cmd(k, 0xab);
	assert_int_equal(kbd_data(k), 0x00);
	kbd_cmd(k, 0xa9);
	assert_true(kbd_status(k) & I8042_OBF);
	assert_int_equal(kbd_data(k), 0x00);
	assert_int_equal(resets, 0);
	i8042_destroy(k);
}

static void test_i8042__config_byte_reads_back_what_was_written(void **state)
{
	struct i8042 *k = i8042_create(NULL, NULL);

	kbd_cmd(k, 0x20);
	assert_int_equal(kbd_data(k), 0x45); /* power-on default */
	kbd_cmd(k, 0x60);
	io_write(i8042_data_io, k, 0, 1, 0x65);
	kbd_cmd(k, 0x20);
	assert_true(kbd_status(k) & I8042_OBF);
	assert_int_equal(kbd_data(k), 0x65);
	/* Disabling the ports shows in the config byte. */
	kbd_cmd(k, 0xad);
	kbd_cmd(k, 0xa7);
	kbd_cmd(k, 0x20);
	assert_int_equal(kbd_data(k), 0x65 | 0x10 | 0x20);
	kbd_cmd(k, 0xae);
	kbd_cmd(k, 0xa8);
	kbd_cmd(k, 0x20);
	assert_int_equal(kbd_data(k), 0x45);
	i8042_destroy(k);
}

static void test_i8042__data_byte_without_command_changes_nothing(void **state)
{
	int resets = 0;
	struct i8042 *k = i8042_create(count_call, &resets);

	io_write(i8042_data_io, k, 0, 1, 0x00); /* a keyboard command: dropped */
	kbd_cmd(k, 0x20);
	assert_int_equal(kbd_data(k), 0x45);
	assert_int_equal(resets, 0);
	i8042_destroy(k);
}

static void test_i8042__command_fe_pulses_reset(void **state)
{
	int resets = 0;
	struct i8042 *k = i8042_create(count_call, &resets);

	kbd_cmd(k, 0xfe);
	assert_int_equal(resets, 1);
	kbd_cmd(k, 0xff); /* pulses no line */
	kbd_cmd(k, 0xf1); /* bit 0 set: not the reset line */
	assert_int_equal(resets, 1);
	i8042_destroy(k);
}

static void test_i8042__output_port_write_with_bit0_clear_resets(void **state)
{
	int resets = 0;
	struct i8042 *k = i8042_create(count_call, &resets);

	kbd_cmd(k, 0xd0);
	assert_int_equal(kbd_data(k) & 0x01, 0x01); /* reset line inactive (high) */
	kbd_cmd(k, 0xd1);
	io_write(i8042_data_io, k, 0, 1, 0x03);
	assert_int_equal(resets, 0);
	kbd_cmd(k, 0xd1);
	io_write(i8042_data_io, k, 0, 1, 0x02);
	assert_int_equal(resets, 1);
	i8042_destroy(k);
}

static void test_i8042__status_never_shows_input_buffer_full(void **state)
{
	struct i8042 *k = i8042_create(NULL, NULL);

	/* Linux polls IBF before every write; it must never wait. */
	for (int cmd = 0; cmd < 0xf0; cmd++) {
		kbd_cmd(k, (uint8_t)cmd);
		assert_false(kbd_status(k) & I8042_IBF);
		io_write(i8042_data_io, k, 0, 1, 0x45);
		assert_false(kbd_status(k) & I8042_IBF);
	}
	i8042_destroy(k);
}

static void test_i8042__wide_reads_pad_with_ff(void **state)
{
	struct i8042 *k = i8042_create(NULL, NULL);

	kbd_cmd(k, 0xaa);
	assert_int_equal(io_read(i8042_data_io, k, 0, 4), 0xffffff55);
	assert_int_equal(io_read(i8042_cmd_io, k, 0, 2) >> 8, 0xff);
	i8042_destroy(k);
}

/* --- ACPI PM -------------------------------------------------------------------------------- */

#define PM1_STS	   0
#define PM1_EN	   2
#define PM1_CNT	   4
#define PM_TMR	   8
#define SLP_EN	   (1u << 13)
#define SLP_TYP(t) ((uint32_t)(t) << 10)

struct fake_irq {
	int calls;
	int level;
	uint32_t gsi;
};

static void fake_set_level(void *ctx, uint32_t gsi, int level)
{
	struct fake_irq *irq = ctx;

	irq->calls++;
	irq->level = level;
	irq->gsi = gsi;
}

struct pm_fixture {
	struct fake_irq irq;
	int poweroffs;
	struct acpi_pm *pm;
};

static int pm_setup(void **state)
{
	static struct pm_fixture f;
	struct irq_line sci = {fake_set_level, &f.irq, ACPI_SCI_IRQ};

	memset(&f, 0, sizeof(f));
	f.irq.level = -1;
	f.pm = acpi_pm_create(&sci, count_call, &f.poweroffs);
	if (!f.pm)
		return -1;
	*state = &f;
	return 0;
}

static int pm_teardown(void **state)
{
	struct pm_fixture *f = *state;

	acpi_pm_destroy(f->pm);
	return 0;
}

static void test_acpi_pm__sci_en_always_reads_1(void **state)
{
	struct pm_fixture *f = *state;

	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_CNT, 2) & 1, 1);
	io_write(acpi_pm_io, f->pm, PM1_CNT, 2, 0); /* the OS cannot turn ACPI mode off */
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_CNT, 2), 1);
	assert_int_equal(f->poweroffs, 0);
}

static void test_acpi_pm__pm1_status_and_enable_start_clear_and_sci_low(void **state)
{
	struct pm_fixture *f = *state;

	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_STS, 4), 0);
	io_write(acpi_pm_io, f->pm, PM1_EN, 2, 0x0121);
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_EN, 2), 0x0121);
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_STS, 4), 0x01210000);
	/* Nothing is pending, so the level-triggered SCI is driven low. */
	assert_true(f->irq.calls >= 1);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(f->irq.gsi, ACPI_SCI_IRQ);
}

static void test_acpi_pm__pm1_status_is_write_1_to_clear(void **state)
{
	struct pm_fixture *f = *state;

	/* Writing ones to clear bits that are already clear leaves them clear... */
	io_write(acpi_pm_io, f->pm, PM1_STS, 2, 0xffff);
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_STS, 2), 0);
	/* ...and a 32-bit write clears status and sets enable in one go. */
	io_write(acpi_pm_io, f->pm, PM1_STS, 4, 0x01000000 | 0x8001);
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_EN, 2), 0x0100);
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_STS, 2), 0);
	assert_int_equal(f->irq.level, 0);
}

static void test_acpi_pm__byte_reads_see_each_half_of_pm1_registers(void **state)
{
	struct pm_fixture *f = *state;

	io_write(acpi_pm_io, f->pm, PM1_EN, 2, 0x0520);
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_EN, 1), 0x20);
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_EN + 1, 1), 0x05);
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_CNT + 1, 1), 0x00);
	/* Bytes 6 and 7 of the block are not registers. */
	assert_int_equal(io_read(acpi_pm_io, f->pm, 6, 2), 0xffff);
}

static void test_acpi_pm__s5_sleep_powers_off_once(void **state)
{
	struct pm_fixture *f = *state;

	io_write(acpi_pm_io, f->pm, PM1_CNT, 2, SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN | 1);
	assert_int_equal(f->poweroffs, 1);
	/* SLP_EN is write-only; SLP_TYP is remembered. */
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_CNT, 2), SLP_TYP(ACPI_S5_SLP_TYP) | 1);
}

static void test_acpi_pm__s5_type_without_slp_en_does_nothing(void **state)
{
	struct pm_fixture *f = *state;

	io_write(acpi_pm_io, f->pm, PM1_CNT, 2, SLP_TYP(ACPI_S5_SLP_TYP));
	assert_int_equal(f->poweroffs, 0);
}

static void test_acpi_pm__other_sleep_types_do_not_power_off(void **state)
{
	struct pm_fixture *f = *state;

	for (uint32_t typ = 0; typ < 8; typ++) {
		if (typ == ACPI_S5_SLP_TYP)
			continue;
		io_write(acpi_pm_io, f->pm, PM1_CNT, 2, SLP_TYP(typ) | SLP_EN);
	}
	assert_int_equal(f->poweroffs, 0);
}

static void test_acpi_pm__timer_value_for_time(void **state)
{
	assert_int_equal(acpi_pm_timer_at(0), 0);
	assert_int_equal(acpi_pm_timer_at(1000000000ULL), 3579545 & 0xffffff);
	assert_int_equal(acpi_pm_timer_at(279), 0); /* one tick is 279.4 ns */
	assert_int_equal(acpi_pm_timer_at(280), 1);
	assert_int_equal(acpi_pm_timer_at(10ULL * 1000000000), 35795450 & 0xffffff);
	/* Huge times (years of uptime) neither overflow nor leave 24 bits. */
	assert_true(acpi_pm_timer_at(UINT64_MAX) <= 0xffffff);
}

static void test_acpi_pm__timer_wraps_at_24_bits(void **state)
{
	/* 2^24 ticks = 4.687 s; the tick just before reads 0xffffff, the one after 0. */
	uint64_t wrap_ns = ((1ULL << 24) * 1000000000ULL + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;

	assert_int_equal(acpi_pm_timer_at(wrap_ns - 1), 0xffffff);
	assert_int_equal(acpi_pm_timer_at(wrap_ns), 0);
	assert_int_equal(acpi_pm_timer_at(wrap_ns + 280), 1);
}

static void test_acpi_pm__timer_read_through_bus_advances(void **state)
{
	struct pm_fixture *f = *state;
	struct timespec ms = {0, 2000000};
	uint32_t a, b;

	a = io_read(acpi_pm_io, f->pm, PM_TMR, 4);
	nanosleep(&ms, NULL);
	b = io_read(acpi_pm_io, f->pm, PM_TMR, 4);
	assert_true(a <= 0xffffff);
	assert_true(b <= 0xffffff);
	/* 2 ms is ~7159 ticks; allow a slow host up to a second. */
	assert_true(((b - a) & 0xffffff) >= 7000);
	assert_true(((b - a) & 0xffffff) < ACPI_PM_TIMER_HZ);
}

/*
 * A 32-bit read must be one sample of the timer. Consecutive reads may only go forward
 * (modulo 2^24): a small step back means the bytes came from different samples (a carry
 * between them). Only a stall of ~4.67 s between two reads could look the same.
 */
static void test_acpi_pm__timer_reads_never_go_backwards(void **state)
{
	struct pm_fixture *f = *state;
	uint32_t prev = io_read(acpi_pm_io, f->pm, PM_TMR, 4);

	for (int i = 0; i < 2000000; i++) {
		uint32_t now = io_read(acpi_pm_io, f->pm, PM_TMR, 4);
		uint32_t delta = (now - prev) & 0xffffff;

		if (delta >= 0xff0000)
			fail_msg("PM timer went back from %#x to %#x after %d reads", prev, now, i);
		prev = now;
	}
}

static void test_acpi_pm__writes_elsewhere_are_ignored(void **state)
{
	struct pm_fixture *f = *state;

	io_write(acpi_pm_io, f->pm, PM_TMR, 4, 0);
	io_write(acpi_pm_io, f->pm, 6, 2, SLP_TYP(5) | SLP_EN);
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(io_read(acpi_pm_io, f->pm, PM1_CNT, 2), 1);
}

/* --- reset control (0xcf9) and POST port (0x80) ---------------------------------------------- */

static void test_reset_control__write_06_resets(void **state)
{
	int resets = 0;
	struct reset_control rc = {.reset = count_call, .ctx = &resets};

	io_write(reset_control_io, &rc, 0, 1, ACPI_RESET_VALUE);
	assert_int_equal(resets, 1);
	/* RST_CPU is self-clearing; SYS_RST (hard reset) reads back. */
	assert_int_equal(io_read(reset_control_io, &rc, 0, 1), 0x02);
}

static void test_reset_control__write_02_only_selects_reset_type(void **state)
{
	int resets = 0;
	struct reset_control rc = {.reset = count_call, .ctx = &resets};

	io_write(reset_control_io, &rc, 0, 1, 0x02);
	assert_int_equal(resets, 0);
	assert_int_equal(io_read(reset_control_io, &rc, 0, 1), 0x02);
	io_write(reset_control_io, &rc, 0, 1, 0x0a);
	assert_int_equal(io_read(reset_control_io, &rc, 0, 1), 0x0a);
	assert_int_equal(io_read(reset_control_io, &rc, 0, 2), 0xff0a);
	io_write(reset_control_io, &rc, 0, 1, 0x04); /* soft reset */
	assert_int_equal(resets, 1);
	assert_int_equal(io_read(reset_control_io, &rc, 0, 1), 0x00);
}

static void test_reset_control__without_callback_does_not_crash(void **state)
{
	struct reset_control rc = {0};

	io_write(reset_control_io, &rc, 0, 1, ACPI_RESET_VALUE);
	assert_int_equal(io_read(reset_control_io, &rc, 0, 1), 0x02);
}

static void test_post_port__read_returns_last_write(void **state)
{
	struct post_port p = {0};

	assert_int_equal(io_read(post_port_io, &p, 0, 1), 0);
	io_write(post_port_io, &p, 0, 1, 0x5a);
	assert_int_equal(io_read(post_port_io, &p, 0, 1), 0x5a);
	io_write(post_port_io, &p, 0, 2, 0x1234); /* wide write: the low byte counts */
	assert_int_equal(io_read(post_port_io, &p, 0, 1), 0x34);
	assert_int_equal(io_read(post_port_io, &p, 0, 4), 0xffffff34);
}

#define PM_TEST(f) cmocka_unit_test_setup_teardown(f, pm_setup, pm_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_i8042__self_test_answers_55_and_read_clears_obf),
	    cmocka_unit_test(test_i8042__config_byte_reads_back_what_was_written),
	    cmocka_unit_test(test_i8042__data_byte_without_command_changes_nothing),
	    cmocka_unit_test(test_i8042__command_fe_pulses_reset),
	    cmocka_unit_test(test_i8042__output_port_write_with_bit0_clear_resets),
	    cmocka_unit_test(test_i8042__status_never_shows_input_buffer_full),
	    cmocka_unit_test(test_i8042__wide_reads_pad_with_ff),
	    PM_TEST(test_acpi_pm__sci_en_always_reads_1),
	    PM_TEST(test_acpi_pm__pm1_status_and_enable_start_clear_and_sci_low),
	    PM_TEST(test_acpi_pm__pm1_status_is_write_1_to_clear),
	    PM_TEST(test_acpi_pm__byte_reads_see_each_half_of_pm1_registers),
	    PM_TEST(test_acpi_pm__s5_sleep_powers_off_once),
	    PM_TEST(test_acpi_pm__s5_type_without_slp_en_does_nothing),
	    PM_TEST(test_acpi_pm__other_sleep_types_do_not_power_off),
	    cmocka_unit_test(test_acpi_pm__timer_value_for_time),
	    cmocka_unit_test(test_acpi_pm__timer_wraps_at_24_bits),
	    PM_TEST(test_acpi_pm__timer_read_through_bus_advances),
	    PM_TEST(test_acpi_pm__timer_reads_never_go_backwards),
	    PM_TEST(test_acpi_pm__writes_elsewhere_are_ignored),
	    cmocka_unit_test(test_reset_control__write_06_resets),
	    cmocka_unit_test(test_reset_control__write_02_only_selects_reset_type),
	    cmocka_unit_test(test_reset_control__without_callback_does_not_crash),
	    cmocka_unit_test(test_post_port__read_returns_last_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
