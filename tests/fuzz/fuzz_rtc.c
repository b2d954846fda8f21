/*
 * The MC146818 CMOS RTC (devices/rtc_cmos.c) driven at the register level by a guest, on a
 * PIO bus at 0x70/0x71, with a fake wall clock the input moves (forwards, backwards, jumps)
 * so runs are reproducible. The clock stays within what Linux lets CLOCK_REALTIME be set to
 * (0 to about 2^33 s, year 2262), with margin: [0, 2^34).
 *
 * Input: clock:u32 (the start, in units of 4 s), then a list of operations:
 *   0 v:u8                write the index port
 *   1 v:u8                write the data port
 *   2                     read the data port
 *   3 port:u8 w:u8 dir:u8 value:u64   any access: 0x70 + port % 3, width 1..8
 *   4 d:u16               the clock moves by d - 32768 seconds
 *   5 t:u64               the clock jumps to t % 2^34
 *   6 reg:u8 v:u8         write register reg % 128 (index, then data)
 *   7 reg:u8              read register reg % 128
 * Properties: with SET clear, the time registers read as a valid time in the current format
 * (BCD digits 0-9, seconds < 60, hours 0-23 or 1-12 with the PM bit, day 1-31, month 1-12,
 * weekday 1-7); register D reads VRT; the index port reads as all ones.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/platform.h"
#include "bus.h"
#include "devices/rtc_cmos.h"
#include "fuzz_util.h"
#include "memory.h"

#define CLOCK_MAX (1LL << 34)
#define RTC_INDEX (PORT_RTC + MC146818_PORT_INDEX)
#define RTC_DATA  (PORT_RTC + MC146818_PORT_DATA)

static int64_t clock_now;

static time_t fake_clock(void *ctx)
{
	return (time_t)clock_now;
}

static void clock_set(int64_t t)
{
	clock_now = t < 0 ? 0 : t >= CLOCK_MAX ? CLOCK_MAX - 1 : t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_silence_stdio();
	return 0;
}

struct harness {
	struct bus bus;
	uint8_t index; /* what the guest last wrote to the index port, bits 6:0 */
};

static void out8(struct harness *h, uint16_t port, uint8_t v)
{
	bus_dispatch(&h->bus, port, &v, 1, true);
	if (port == RTC_INDEX)
		h->index = v & 0x7f;
}

static uint8_t in8(struct harness *h, uint16_t port)
{
	uint8_t v;

	bus_dispatch(&h->bus, port, &v, 1, false);
	return v;
}

/* Register B, read without disturbing the guest's index. */
static uint8_t peek_reg_b(struct harness *h)
{
	uint8_t saved = h->index, b;

	out8(h, RTC_INDEX, MC146818_REG_B);
	b = in8(h, RTC_DATA);
	out8(h, RTC_INDEX, saved);
	return b;
}

static int decode(uint8_t v, bool binary)
{
	if (binary)
		return v;
	FUZZ_CHECK((v & 0x0f) <= 9 && (v >> 4) <= 9, "BCD byte %#x", v);
	return (v >> 4) * 10 + (v & 0x0f);
}

static void check_time_read(struct harness *h, unsigned reg, uint8_t v)
{
	uint8_t b = peek_reg_b(h);
	bool binary = b & MC146818_B_DM;
	int x;

	if (b & MC146818_B_SET)
		return; /* the latch holds whatever the guest wrote */
	switch (reg) {
	case MC146818_SECONDS:
	case MC146818_MINUTES:
		x = decode(v, binary);
		FUZZ_CHECK(x >= 0 && x <= 59, "reg %#x reads %d", reg, x);
		break;
	case MC146818_HOURS:
		if (b & MC146818_B_24H) {
			x = decode(v, binary);
			FUZZ_CHECK(x >= 0 && x <= 23, "hour %d (24 h)", x);
		} else {
			x = decode(v & 0x7f, binary);
			FUZZ_CHECK(x >= 1 && x <= 12, "hour %d (12 h)", x);
		}
		break;
	case MC146818_WEEKDAY:
		x = decode(v, binary);
		FUZZ_CHECK(x >= 1 && x <= 7, "weekday %d", x);
		break;
	case MC146818_DAY:
		x = decode(v, binary);
		FUZZ_CHECK(x >= 1 && x <= 31, "day %d", x);
		break;
	case MC146818_MONTH:
		x = decode(v, binary);
		FUZZ_CHECK(x >= 1 && x <= 12, "month %d", x);
		break;
	case MC146818_YEAR:
		x = decode(v, binary);
		FUZZ_CHECK(x >= 0 && x <= 99, "year %d", x);
		break;
	default: /* the century follows the year, which may be past 9999 */
		break;
	}
}

static void read_data(struct harness *h)
{
	unsigned reg = h->index;
	uint8_t v = in8(h, RTC_DATA);

	switch (reg) {
	case MC146818_SECONDS:
	case MC146818_MINUTES:
	case MC146818_HOURS:
	case MC146818_WEEKDAY:
	case MC146818_DAY:
	case MC146818_MONTH:
	case MC146818_YEAR:
	case MC146818_CENTURY:
		check_time_read(h, reg, v);
		break;
	case MC146818_REG_D:
		FUZZ_CHECK(v == MC146818_D_VRT, "register D reads %#x", v);
		break;
	default:
		break;
	}
}

static void run_op(struct harness *h, struct fuzz_reader *r)
{
	uint8_t buf[8], reg;

	switch (fuzz_u8(r) % 8) {
	case 0:
		out8(h, RTC_INDEX, fuzz_u8(r));
		break;
	case 1:
		out8(h, RTC_DATA, fuzz_u8(r));
		break;
	case 2:
		read_data(h);
		break;
	case 3: {
		uint16_t port = PORT_RTC + fuzz_u8(r) % 3;
		uint32_t width = fuzz_width(r);
		bool is_write = fuzz_u8(r) & 1;
		uint64_t value = fuzz_u64(r);
		bool claimed;

		memcpy(buf, &value, sizeof(buf));
		claimed = bus_dispatch(&h->bus, port, buf, width, is_write) == 0;
		if (claimed && is_write && port == RTC_INDEX)
			h->index = buf[0] & 0x7f;
		if (!is_write && port == RTC_INDEX)
			for (uint32_t i = 0; i < width; i++)
				FUZZ_CHECK(buf[i] == 0xff, "index port reads %#x", buf[i]);
		break;
	}
	case 4:
		clock_set(clock_now + (int64_t)fuzz_u16(r) - 32768);
		break;
	case 5:
		clock_set((int64_t)(fuzz_u64(r) % CLOCK_MAX));
		break;
	case 6:
		reg = fuzz_u8(r);
		out8(h, RTC_INDEX, reg);
		out8(h, RTC_DATA, fuzz_u8(r));
		break;
	default:
		out8(h, RTC_INDEX, fuzz_u8(r));
		read_data(h);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_reader r = fuzz_reader(data, size);
	struct harness h = {.index = 0};
	struct fuzz_irq irq;
	struct rtc *rtc;

	clock_set((int64_t)fuzz_u32(&r) * 4);
	fuzz_irq_init(&irq, IRQ_RTC, false);
	rtc = rtc_create(&irq.line, 3 * GiB, 1 * GiB);
	if (!rtc)
		abort();
	rtc_set_clock(rtc, fake_clock, NULL);
	bus_init(&h.bus, "pio");
	if (bus_register(&h.bus, PORT_RTC, MC146818_NR_PORTS, rtc_io, rtc, "rtc") < 0)
		abort();
	while (fuzz_more(&r))
		run_op(&h, &r);
	bus_destroy(&h.bus);
	rtc_destroy(rtc);
	return 0;
}
