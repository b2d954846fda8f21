/* Unit tests for the MC146818 CMOS RTC model, with a fake wall clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "devices/rtc_cmos.h"

#define MIB (1024ULL * 1024)
#define GIB (1024 * MIB)

/* 2026-11-21 22:43:05 UTC, a Saturday. */
#define T_2026_11_21_224305 1795300985
/* 1999-12-31 23:59:58 UTC, a Friday. */
#define T_1999_12_31_235958 946684798

struct fake_clock {
	time_t now;
};

static time_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

struct fixture {
	struct fake_clock clock;
	struct rtc *r;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->r = rtc_create(NULL, 128 * MIB, 0);
	assert_non_null(f->r);
	f->clock.now = T_2026_11_21_224305;
	rtc_set_clock(f->r, fake_now, &f->clock);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rtc_destroy(f->r);
	free(f);
	return 0;
}

static uint8_t cmos_read(struct rtc *r, uint8_t reg)
{
	uint8_t v = reg;

	rtc_io(r, MC146818_PORT_INDEX, &v, 1, true);
	v = 0x5a;
	rtc_io(r, MC146818_PORT_DATA, &v, 1, false);
	return v;
}

static void cmos_write(struct rtc *r, uint8_t reg, uint8_t val)
{
	rtc_io(r, MC146818_PORT_INDEX, &reg, 1, true);
	rtc_io(r, MC146818_PORT_DATA, &val, 1, true);
}

struct rtc_regs {
	uint8_t sec, min, hour, wday, mday, mon, year, century;
};

static struct rtc_regs read_time(struct rtc *r)
{
	return (struct rtc_regs){
	    .sec = cmos_read(r, MC146818_SECONDS),
	    .min = cmos_read(r, MC146818_MINUTES),
	    .hour = cmos_read(r, MC146818_HOURS),
	    .wday = cmos_read(r, MC146818_WEEKDAY),
	    .mday = cmos_read(r, MC146818_DAY),
	    .mon = cmos_read(r, MC146818_MONTH),
	    .year = cmos_read(r, MC146818_YEAR),
	    .century = cmos_read(r, MC146818_CENTURY),
	};
}

static void assert_time(struct rtc *r, struct rtc_regs want)
{
	struct rtc_regs got = read_time(r);

	assert_int_equal(got.sec, want.sec);
	assert_int_equal(got.min, want.min);
	assert_int_equal(got.hour, want.hour);
	assert_int_equal(got.wday, want.wday);
	assert_int_equal(got.mday, want.mday);
	assert_int_equal(got.mon, want.mon);
	assert_int_equal(got.year, want.year);
	assert_int_equal(got.century, want.century);
}

static void rtc__reads_fake_time_in_bcd(void **state)
{
	struct fixture *f = *state;

	/* Reset state: 24 h, BCD. */
	assert_int_equal(cmos_read(f->r, MC146818_REG_B), MC146818_B_24H);
	assert_time(f->r, (struct rtc_regs){0x05, 0x43, 0x22, 7, 0x21, 0x11, 0x26, 0x20});
}

static void rtc__reads_fake_time_in_binary(void **state)
{
	struct fixture *f = *state;

	cmos_write(f->r, MC146818_REG_B, MC146818_B_24H | MC146818_B_DM);
	assert_time(f->r, (struct rtc_regs){5, 43, 22, 7, 21, 11, 26, 20});
}

static void rtc__reads_12h_mode_with_pm_flag(void **state)
{
	struct fixture *f = *state;
	struct rtc *r = f->r;

	cmos_write(r, MC146818_REG_B, 0);			     /* 12 h, BCD */
	assert_int_equal(cmos_read(r, MC146818_HOURS), 0x80 | 0x10); /* 10 PM */
	cmos_write(r, MC146818_REG_B, MC146818_B_DM);		     /* 12 h, binary */
	assert_int_equal(cmos_read(r, MC146818_HOURS), 0x80 | 10);

	f->clock.now = T_2026_11_21_224305 - 22 * 3600 - 43 * 60; /* 00:00:05 */
	assert_int_equal(cmos_read(r, MC146818_HOURS), 12);	  /* 12 AM */
	f->clock.now += 12 * 3600;				  /* 12:00:05 */
	assert_int_equal(cmos_read(r, MC146818_HOURS), 0x80 | 12);
	f->clock.now += 3600; /* 13:00:05 */
	assert_int_equal(cmos_read(r, MC146818_HOURS), 0x80 | 1);
	f->clock.now -= 2 * 3600; /* 11:00:05 */
	assert_int_equal(cmos_read(r, MC146818_HOURS), 11);
	cmos_write(r, MC146818_REG_B, 0);
	assert_int_equal(cmos_read(r, MC146818_HOURS), 0x11);
}

static void rtc__century_rolls_over_with_the_year(void **state)
{
	struct fixture *f = *state;

	f->clock.now = T_1999_12_31_235958;
	assert_time(f->r, (struct rtc_regs){0x58, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19});
	f->clock.now += 2;
	assert_time(f->r, (struct rtc_regs){0x00, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x20});
}

static void rtc__guest_set_time_persists_as_offset(void **state)
{
	struct fixture *f = *state;
	struct rtc *r = f->r;
	uint8_t b = cmos_read(r, MC146818_REG_B);

	/* The Linux mc146818_set_time() sequence: SET, divider reset, registers, restore. */
	cmos_write(r, MC146818_REG_B, b | MC146818_B_SET);
	cmos_write(r, MC146818_REG_A, 0x70 | 0x06);
	cmos_write(r, MC146818_YEAR, 0x99);
	cmos_write(r, MC146818_MONTH, 0x12);
	cmos_write(r, MC146818_DAY, 0x31);
	cmos_write(r, MC146818_HOURS, 0x23);
	cmos_write(r, MC146818_MINUTES, 0x59);
	cmos_write(r, MC146818_SECONDS, 0x58);
	cmos_write(r, MC146818_CENTURY, 0x19);
	cmos_write(r, MC146818_WEEKDAY, 6);
	/* While SET is held the clock is frozen at what was written. */
	f->clock.now += 100;
	assert_time(r, (struct rtc_regs){0x58, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19});
	cmos_write(r, MC146818_REG_B, b);
	cmos_write(r, MC146818_REG_A, 0x26);
	assert_time(r, (struct rtc_regs){0x58, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19});

	/* The guest's time then runs with the host clock. */
	f->clock.now += 3;
	assert_time(r, (struct rtc_regs){0x01, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x20});
	f->clock.now += 86400;
	assert_time(r, (struct rtc_regs){0x01, 0x00, 0x00, 1, 0x02, 0x01, 0x00, 0x20});
}

static void rtc__write_without_set_takes_effect_at_once(void **state)
{
	struct fixture *f = *state;
	struct rtc *r = f->r;

	cmos_write(r, MC146818_MINUTES, 0x10);
	assert_time(r, (struct rtc_regs){0x05, 0x10, 0x22, 7, 0x21, 0x11, 0x26, 0x20});
	f->clock.now += 60;
	assert_int_equal(cmos_read(r, MC146818_MINUTES), 0x11);

	/* 12 h binary: 12 AM is hour 0, PM adds 12. */
	cmos_write(r, MC146818_REG_B, MC146818_B_DM);
	cmos_write(r, MC146818_HOURS, 12);
	cmos_write(r, MC146818_REG_B, MC146818_B_DM | MC146818_B_24H);
	assert_int_equal(cmos_read(r, MC146818_HOURS), 0);
	cmos_write(r, MC146818_REG_B, MC146818_B_DM);
	cmos_write(r, MC146818_HOURS, 0x80 | 3);
	cmos_write(r, MC146818_REG_B, MC146818_B_DM | MC146818_B_24H);
	assert_int_equal(cmos_read(r, MC146818_HOURS), 15);
	assert_int_equal(cmos_read(r, MC146818_DAY), 21);
}

static void rtc__set_clears_uie(void **state)
{
	struct fixture *f = *state;

	cmos_write(f->r, MC146818_REG_B, MC146818_B_UIE | MC146818_B_24H);
	assert_int_equal(cmos_read(f->r, MC146818_REG_B), MC146818_B_UIE | MC146818_B_24H);
	cmos_write(f->r, MC146818_REG_B, MC146818_B_SET | MC146818_B_UIE | MC146818_B_24H);
	assert_int_equal(cmos_read(f->r, MC146818_REG_B), MC146818_B_SET | MC146818_B_24H);
}

static void rtc__reg_c_flags_and_read_clear(void **state)
{
	struct fixture *f = *state;
	struct rtc *r = f->r;
	struct timespec ms = {0, 2000000};

	cmos_write(r, MC146818_REG_A, 0x20); /* no periodic rate */
	assert_int_equal(cmos_read(r, MC146818_REG_C), 0);
	/* An update cycle happened: UF, and IRQF only once UIE enables it. */
	f->clock.now++;
	assert_int_equal(cmos_read(r, MC146818_REG_C), MC146818_C_UF);
	assert_int_equal(cmos_read(r, MC146818_REG_C), 0);
	cmos_write(r, MC146818_REG_B, MC146818_B_24H | MC146818_B_UIE);
	f->clock.now++;
	assert_int_equal(cmos_read(r, MC146818_REG_C), MC146818_C_IRQF | MC146818_C_UF);
	assert_int_equal(cmos_read(r, MC146818_REG_C), 0);

	/* Alarm at 22:43:10 (BCD, 24 h), passed over by a 10 s step. */
	cmos_write(r, MC146818_REG_B, MC146818_B_24H | MC146818_B_AIE);
	cmos_write(r, MC146818_SECONDS_ALARM, 0x10);
	cmos_write(r, MC146818_MINUTES_ALARM, 0x43);
	cmos_write(r, MC146818_HOURS_ALARM, 0x22);
	f->clock.now = T_2026_11_21_224305 + 10;
	assert_int_equal(cmos_read(r, MC146818_REG_C),
			 MC146818_C_IRQF | MC146818_C_AF | MC146818_C_UF);
	f->clock.now++;
	assert_int_equal(cmos_read(r, MC146818_REG_C), MC146818_C_UF);
	/* "Don't care" in all three fires every second. */
	cmos_write(r, MC146818_SECONDS_ALARM, 0xff);
	cmos_write(r, MC146818_MINUTES_ALARM, 0xc0);
	cmos_write(r, MC146818_HOURS_ALARM, 0xc5);
	f->clock.now++;
	assert_int_equal(cmos_read(r, MC146818_REG_C),
			 MC146818_C_IRQF | MC146818_C_AF | MC146818_C_UF);
	/* No updates while SET is held. */
	cmos_write(r, MC146818_REG_B, MC146818_B_24H | MC146818_B_SET);
	(void)cmos_read(r, MC146818_REG_C);
	f->clock.now += 5;
	assert_int_equal(cmos_read(r, MC146818_REG_C), 0);
	cmos_write(r, MC146818_REG_B, MC146818_B_24H);
	assert_int_equal(cmos_read(r, MC146818_REG_C), 0);

	/* Periodic flag at 8192 Hz after a couple of milliseconds. */
	cmos_write(r, MC146818_REG_A, 0x23);
	(void)cmos_read(r, MC146818_REG_C);
	nanosleep(&ms, NULL);
	assert_int_equal(cmos_read(r, MC146818_REG_C) & MC146818_C_PF, MC146818_C_PF);
	/* Register C is read-only. */
	cmos_write(r, MC146818_REG_C, 0xff);
	cmos_write(r, MC146818_REG_A, 0x20);
	assert_int_equal(cmos_read(r, MC146818_REG_C), 0);
}

static void rtc__reg_d_reports_valid_ram(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f->r, MC146818_REG_D), MC146818_D_VRT);
	cmos_write(f->r, MC146818_REG_D, 0);
	assert_int_equal(cmos_read(f->r, MC146818_REG_D), MC146818_D_VRT);
}

static void rtc__reg_a_divider_writable_uip_read_only(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f->r, MC146818_REG_A), 0x26);
	cmos_write(f->r, MC146818_REG_A, 0xff);
	assert_int_equal(cmos_read(f->r, MC146818_REG_A), 0x7f);
}

/* True if [t0, t1] lies entirely inside the last 244 us before a second boundary. */
static bool in_uip_window(const struct timespec *t0, const struct timespec *t1)
{
	return t0->tv_sec == t1->tv_sec && t0->tv_nsec >= 1000000000 - 244000;
}

/* True if [t0, t1] lies entirely outside that window. */
static bool outside_uip_window(const struct timespec *t0, const struct timespec *t1)
{
	return t0->tv_sec == t1->tv_sec && t1->tv_nsec < 1000000000 - 244000;
}

static void rtc__uip_set_only_before_the_second_boundary(void **state)
{
	struct rtc *r = rtc_create(NULL, 0, 0); /* host clock */
	struct timespec t0, t1, wake;
	bool seen_set = false, seen_clear = false;
	bool uip;
	int tries;

	assert_non_null(r);
	for (tries = 0; tries < 5 && !(seen_set && seen_clear); tries++) {
		clock_gettime(CLOCK_REALTIME, &wake);
		wake.tv_sec++;
		/* Mid-second, then 120 us before the next boundary. */
		for (wake.tv_nsec = 500000000; wake.tv_nsec < 1000000000;
		     wake.tv_nsec += 500000000 - 120000) {
			clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &wake, NULL);
			clock_gettime(CLOCK_REALTIME, &t0);
			uip = cmos_read(r, MC146818_REG_A) & MC146818_A_UIP;
			clock_gettime(CLOCK_REALTIME, &t1);
			if (in_uip_window(&t0, &t1)) {
				assert_true(uip);
				seen_set = true;
			} else if (outside_uip_window(&t0, &t1)) {
				assert_false(uip);
				seen_clear = true;
			}
		}
	}
	if (!seen_set)
		print_message("UIP window never hit in 5 tries (busy host?)\n");
	assert_true(seen_clear);
	rtc_destroy(r);
}

static void assert_mem_bytes(struct rtc *r, unsigned int ext_kib, unsigned int blocks_16m,
			     unsigned int blocks_4g)
{
	assert_int_equal(cmos_read(r, CMOS_BASE_MEM_LO), 640 & 0xff);
	assert_int_equal(cmos_read(r, CMOS_BASE_MEM_HI), 640 >> 8);
	assert_int_equal(cmos_read(r, CMOS_EXT_MEM_LO), ext_kib & 0xff);
	assert_int_equal(cmos_read(r, CMOS_EXT_MEM_HI), ext_kib >> 8);
	assert_int_equal(cmos_read(r, CMOS_EXT_MEM2_LO), ext_kib & 0xff);
	assert_int_equal(cmos_read(r, CMOS_EXT_MEM2_HI), ext_kib >> 8);
	assert_int_equal(cmos_read(r, CMOS_MEM_16M_LO), blocks_16m & 0xff);
	assert_int_equal(cmos_read(r, CMOS_MEM_16M_HI), blocks_16m >> 8);
	assert_int_equal(cmos_read(r, CMOS_MEM_HIGH_0), blocks_4g & 0xff);
	assert_int_equal(cmos_read(r, CMOS_MEM_HIGH_1), (blocks_4g >> 8) & 0xff);
	assert_int_equal(cmos_read(r, CMOS_MEM_HIGH_2), blocks_4g >> 16);
}

static void rtc__memory_size_bytes(void **state)
{
	static const struct {
		uint64_t below, above;
		unsigned int ext_kib, blocks_16m, blocks_4g;
	} cases[] = {
	    /* 8 MiB: 7 MiB extended, nothing above 16 MiB. */
	    {8 * MIB, 0, 7 * 1024, 0, 0},
	    /* 128 MiB: extended KiB capped; (128 - 16) MiB / 64 KiB = 1792. */
	    {128 * MIB, 0, 0xffff, 1792, 0},
	    /* 1 GiB: 1008 MiB / 64 KiB = 16128. */
	    {1 * GIB, 0, 0xffff, 16128, 0},
	    /* 6 GiB as 3 GiB below the hole + 3 GiB above 4 GiB: 49152 blocks up there. */
	    {3 * GIB, 3 * GIB, 0xffff, (3072 - 16) * 16, 49152},
	    /* Extended KiB capped at 16 bits, blocks above 4 GiB at 24 bits. */
	    {4 * GIB, 2048 * GIB, 0xffff, 0xff00, 0xffffff},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rtc *r = rtc_create(NULL, cases[i].below, cases[i].above);

		assert_non_null(r);
		assert_mem_bytes(r, cases[i].ext_kib, cases[i].blocks_16m, cases[i].blocks_4g);
		rtc_destroy(r);
	}
}

static void rtc__index_masks_to_7_bits(void **state)
{
	struct fixture *f = *state;
	struct rtc *r = f->r;
	uint8_t v;

	/* Bit 7 is the NMI mask: 0xc0 selects register 0x40. */
	cmos_write(r, 0xc0, 0xab);
	assert_int_equal(cmos_read(r, 0x40), 0xab);
	cmos_write(r, 0x7f, 0x12);
	assert_int_equal(cmos_read(r, 0xff), 0x12);
	/* The index port reads as an undriven bus. */
	v = 0;
	rtc_io(r, MC146818_PORT_INDEX, &v, 1, false);
	assert_int_equal(v, 0xff);
}

static void rtc__cmos_ram_bytes_are_stored(void **state)
{
	struct fixture *f = *state;
	unsigned int reg;

	for (reg = 0x0e; reg < 0x80; reg++) {
		if (reg == MC146818_CENTURY)
			continue;
		cmos_write(f->r, (uint8_t)reg, (uint8_t)(reg ^ 0x5a));
	}
	for (reg = 0x0e; reg < 0x80; reg++) {
		if (reg == MC146818_CENTURY)
			continue;
		assert_int_equal(cmos_read(f->r, (uint8_t)reg), reg ^ 0x5a);
	}
	/* Alarm registers are plain storage too. */
	cmos_write(f->r, MC146818_HOURS_ALARM, 0x77);
	assert_int_equal(cmos_read(f->r, MC146818_HOURS_ALARM), 0x77);
}

static void rtc__wide_access_uses_first_byte(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4] = {0x40, 0x99, 0x99, 0x99};

	rtc_io(f->r, MC146818_PORT_INDEX, data, 2, true);
	data[0] = 0x33;
	rtc_io(f->r, MC146818_PORT_DATA, data, 1, true);
	memset(data, 0, sizeof(data));
	rtc_io(f->r, MC146818_PORT_DATA, data, 4, false);
	assert_int_equal(data[0], 0x33);
	assert_int_equal(data[1], 0xff);
	assert_int_equal(data[3], 0xff);
	rtc_io(f->r, 2, data, 4, false);
	assert_int_equal(data[0], 0xff);
	rtc_io(f->r, 2, data, 1, true);
	rtc_io(f->r, MC146818_PORT_DATA, data, 0, false);
}

static void rtc__random_register_writes_do_not_crash(void **state)
{
	struct fixture *f = *state;
	struct rtc *r = f->r;
	unsigned int seed = 4242;
	uint8_t data[8];
	int i;

	for (i = 0; i < 100000; i++) {
		unsigned int x = (unsigned int)rand_r(&seed);
		uint32_t len = 1 + (x >> 4) % 8;

		memset(data, (int)(x >> 8), sizeof(data));
		if (x % 16 == 0)
			f->clock.now += (x >> 12) % 100000; /* time passes, sometimes a lot */
		/* Mostly the time registers and A-D, where the logic is. */
		if (x % 3 == 0)
			data[0] = (uint8_t)((x >> 20) % 0x0e);
		rtc_io(r, (x >> 16) % 2, data, len, (x >> 24) & 1);
	}
	/* Set a sane time again and check the clock still works. */
	cmos_write(r, MC146818_REG_B, MC146818_B_24H | MC146818_B_SET);
	cmos_write(r, MC146818_SECONDS, 0x30);
	cmos_write(r, MC146818_MINUTES, 0x15);
	cmos_write(r, MC146818_HOURS, 0x09);
	cmos_write(r, MC146818_DAY, 0x01);
	cmos_write(r, MC146818_MONTH, 0x02);
	cmos_write(r, MC146818_YEAR, 0x24);
	cmos_write(r, MC146818_CENTURY, 0x20);
	cmos_write(r, MC146818_REG_B, MC146818_B_24H);
	f->clock.now += 1;
	assert_time(r, (struct rtc_regs){0x31, 0x15, 0x09, 5, 0x01, 0x02, 0x24, 0x20});
}

static void rtc__extreme_guest_times_are_contained(void **state)
{
	struct fixture *f = *state;
	struct rtc *r = f->r;
	int i;

	/* Binary mode, century 255, year 255, month 255 repeatedly: normalization pushes the
	 * year forward each time; the device must stay bounded and sane. */
	cmos_write(r, MC146818_REG_B, MC146818_B_24H | MC146818_B_DM);
	for (i = 0; i < 2000; i++) {
		cmos_write(r, MC146818_CENTURY, 0xff);
		cmos_write(r, MC146818_YEAR, 0xff);
		cmos_write(r, MC146818_MONTH, 0xff);
		cmos_write(r, MC146818_DAY, 0xff);
		(void)read_time(r);
		(void)cmos_read(r, MC146818_REG_C);
	}
	cmos_write(r, MC146818_CENTURY, 0);
	cmos_write(r, MC146818_YEAR, 0);
	cmos_write(r, MC146818_MONTH, 0);
	cmos_write(r, MC146818_DAY, 0);
	(void)read_time(r);
	cmos_write(r, MC146818_REG_B, MC146818_B_24H);
	(void)read_time(r);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(rtc__reads_fake_time_in_bcd),
	    T(rtc__reads_fake_time_in_binary),
	    T(rtc__reads_12h_mode_with_pm_flag),
	    T(rtc__century_rolls_over_with_the_year),
	    T(rtc__guest_set_time_persists_as_offset),
	    T(rtc__write_without_set_takes_effect_at_once),
	    T(rtc__set_clears_uie),
	    T(rtc__reg_c_flags_and_read_clear),
	    T(rtc__reg_d_reports_valid_ram),
	    T(rtc__reg_a_divider_writable_uip_read_only),
	    cmocka_unit_test(rtc__uip_set_only_before_the_second_boundary),
	    cmocka_unit_test(rtc__memory_size_bytes),
	    T(rtc__index_masks_to_7_bits),
	    T(rtc__cmos_ram_bytes_are_stored),
	    T(rtc__wide_access_uses_first_byte),
	    T(rtc__random_register_writes_do_not_crash),
	    T(rtc__extreme_guest_times_are_contained),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
