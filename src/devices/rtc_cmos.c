/*
 * MC146818 CMOS RTC. Reference: Motorola MC146818A datasheet; the PC's memory-size bytes as
 * SeaBIOS (src/fw/paravirt.c, src/hw/rtc.h) and QEMU's pc_cmos_init() use them.
 *
 * Model:
 *  - The time registers (0x00, 0x02, 0x04, 0x06-0x09, century 0x32) are not stored: each read
 *    converts host UTC + offset in the current format (BCD/binary, 12/24 h). The guest sets
 *    the clock by writing them: while register B's SET bit is held, writes go to a latched
 *    copy (which reads return, frozen); clearing SET turns the latch into a new offset. A
 *    write with SET clear takes effect at once. The weekday is always recomputed from the
 *    date once the time runs.
 *  - Register A's UIP reads as set in the last 244 us of each second (host clock only), so a
 *    guest that checks UIP before reading gets a consistent time.
 *  - Register C's UF/AF/PF flags are computed when C is read, from the time that passed since
 *    the previous read; the read clears them. IRQ8 is never raised: that needs a timer.
 *  - The divider bits of register A are stored but the clock always runs; DSE is ignored.
 */
#include "devices/rtc_cmos.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define CMOS_SIZE     128
#define SECS_PER_DAY  86400
#define RTC_YEAR_MIN  0
#define RTC_YEAR_MAX  29999
#define UIP_WINDOW_NS 244000L /* UIP leads the update cycle by 244 us (datasheet) */

/* Broken-down guest time in binary; year is the full year. */
struct rtc_fields {
	int sec, min, hour; /* hour 0-23 */
	int wday;	    /* 0 = Sunday */
	int mday, mon;	    /* mon 1-12 */
	int year;
};

struct rtc {
	pthread_mutex_t lock;
	const struct irq_line *irq; /* unused until IRQ8 delivery exists */
	uint8_t index;
	uint8_t cmos[CMOS_SIZE]; /* RAM, alarms, A-D; the time registers live elsewhere */

	time_t (*now)(void *);
	void *now_ctx;
	bool host_clock;

	int64_t offset;		 /* guest seconds - host seconds */
	struct rtc_fields latch; /* the time while SET is held */

	time_t last_poll;      /* host seconds when C's flags were last brought up to date */
	uint64_t last_pf_tick; /* periodic ticks seen, in units of the current period */
};

static time_t rtc_host_clock(void *ctx)
{
	struct timespec ts;

	/* The same clock as UIP's, so the seconds and UIP agree. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static int64_t rtc_guest_seconds(const struct rtc *r, time_t host)
{
	int64_t t;

	if (__builtin_add_overflow((int64_t)host, r->offset, &t))
		return host;
	return t;
}

static void rtc_time_to_fields(int64_t t, struct rtc_fields *f)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || tm.tm_year < RTC_YEAR_MIN - 1900 - 100 ||
	    tm.tm_year > RTC_YEAR_MAX - 1900 + 100) {
		*f = (struct rtc_fields){.mday = 1, .mon = 1, .year = 2000, .wday = 6};
		return;
	}
	*f = (struct rtc_fields){
	    .sec = tm.tm_sec,
	    .min = tm.tm_min,
	    .hour = tm.tm_hour,
	    .wday = tm.tm_wday,
	    .mday = tm.tm_mday,
	    .mon = tm.tm_mon + 1,
	    .year = tm.tm_year + 1900,
	};
}

/*
 * Fields may be out of range (guest supplied); timegm normalizes them. Results outside years
 * 0-29999 are refused, which keeps every later computation far from overflow.
 */
static bool rtc_fields_to_time(const struct rtc_fields *f, int64_t *t)
{
	struct tm tm = {
	    .tm_sec = f->sec,
	    .tm_min = f->min,
	    .tm_hour = f->hour,
	    .tm_mday = f->mday,
	    .tm_mon = f->mon - 1,
	    .tm_year = f->year - 1900,
	};
	time_t res;

	errno = 0;
	res = timegm(&tm);
	if (res == (time_t)-1 && errno)
		return false;
	if (tm.tm_year < RTC_YEAR_MIN - 1900 || tm.tm_year > RTC_YEAR_MAX - 1900)
		return false;
	*t = res;
	return true;
}

static bool rtc_binary(const struct rtc *r)
{
	return r->cmos[MC146818_REG_B] & MC146818_B_DM;
}

static bool rtc_24h(const struct rtc *r)
{
	return r->cmos[MC146818_REG_B] & MC146818_B_24H;
}

static uint8_t rtc_encode(const struct rtc *r, int v)
{
	if (rtc_binary(r))
		return (uint8_t)v;
	v = ((v % 100) + 100) % 100;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

/* Invalid BCD digits decode to large numbers; timegm or the alarm match copes. */
static int rtc_decode(const struct rtc *r, uint8_t v)
{
	if (rtc_binary(r))
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_encode_hour(const struct rtc *r, int hour)
{
	int h12;

	if (rtc_24h(r))
		return rtc_encode(r, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return rtc_encode(r, h12) | (hour >= 12 ? 0x80 : 0);
}

static int rtc_decode_hour(const struct rtc *r, uint8_t v)
{
	int h;

	if (rtc_24h(r))
		return rtc_decode(r, v);
	h = rtc_decode(r, v & 0x7f);
	if (h == 12)
		h = 0;
	return (v & 0x80) ? h + 12 : h;
}

static bool rtc_is_time_reg(unsigned int reg)
{
	switch (reg) {
	case MC146818_SECONDS:
	case MC146818_MINUTES:
	case MC146818_HOURS:
	case MC146818_WEEKDAY:
	case MC146818_DAY:
	case MC146818_MONTH:
	case MC146818_YEAR:
	case MC146818_CENTURY:
		return true;
	default:
		return false;
	}
}

static bool rtc_alarm_byte_matches(const struct rtc *r, uint8_t alarm, int v, bool hour)
{
	if ((alarm & MC146818_ALARM_DONT_CARE) == MC146818_ALARM_DONT_CARE)
		return true;
	return (hour ? rtc_decode_hour(r, alarm) : rtc_decode(r, alarm)) == v;
}

static bool rtc_alarm_matches(const struct rtc *r, int64_t t)
{
	int sod = (int)(((t % SECS_PER_DAY) + SECS_PER_DAY) % SECS_PER_DAY);

	return rtc_alarm_byte_matches(r, r->cmos[MC146818_SECONDS_ALARM], sod % 60, false) &&
	       rtc_alarm_byte_matches(r, r->cmos[MC146818_MINUTES_ALARM], sod / 60 % 60, false) &&
	       rtc_alarm_byte_matches(r, r->cmos[MC146818_HOURS_ALARM], sod / 3600, true);
}

static uint64_t rtc_pf_tick(const struct rtc *r)
{
	unsigned int rs = r->cmos[MC146818_REG_A] & MC146818_A_RS_MASK;
	struct timespec ts;
	uint64_t ns, period_ns;

	if (rs == 0)
		return 0;
	if (rs < 3)
		rs += 7; /* rates 1 and 2 repeat rates 8 and 9 (256 and 128 Hz) */
	/* Period = 2^(rs-1) / 32768 s (datasheet table 5). */
	period_ns = (1000000000ULL << (rs - 1)) / 32768;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	return ns / period_ns;
}

/*
 * Bring register C's flags up to date: an update happened for each host second that passed
 * (none while SET is held); the alarm fired if one of those seconds matched it.
 */
static void rtc_poll_flags(struct rtc *r, time_t host)
{
	uint8_t *c = &r->cmos[MC146818_REG_C];
	uint64_t tick;
	int64_t elapsed, t, end;

	tick = rtc_pf_tick(r);
	if (tick != r->last_pf_tick && (r->cmos[MC146818_REG_A] & MC146818_A_RS_MASK))
		*c |= MC146818_C_PF;
	r->last_pf_tick = tick;

	if ((r->cmos[MC146818_REG_B] & MC146818_B_SET) || host <= r->last_poll ||
	    __builtin_sub_overflow((int64_t)host, (int64_t)r->last_poll, &elapsed)) {
		r->last_poll = host;
		return;
	}
	*c |= MC146818_C_UF;
	/* The alarm pattern repeats daily: looking at the last day is enough. */
	if (elapsed > SECS_PER_DAY)
		elapsed = SECS_PER_DAY;
	end = rtc_guest_seconds(r, host);
	for (t = end - elapsed + 1; t <= end; t++) {
		if (rtc_alarm_matches(r, t)) {
			*c |= MC146818_C_AF;
			break;
		}
	}
	r->last_poll = host;
}

static void rtc_current_fields(const struct rtc *r, time_t host, struct rtc_fields *f)
{
	if (r->cmos[MC146818_REG_B] & MC146818_B_SET)
		*f = r->latch;
	else
		rtc_time_to_fields(rtc_guest_seconds(r, host), f);
}

/* Make f the guest's current time. */
static void rtc_commit_fields(struct rtc *r, const struct rtc_fields *f, time_t host)
{
	int64_t t;

	if (!rtc_fields_to_time(f, &t) || __builtin_sub_overflow(t, (int64_t)host, &r->offset))
		log_once(log_warnx, "rtc: guest set an unrepresentable time, ignored");
	r->last_poll = host;
}

static uint8_t rtc_read_time(struct rtc *r, unsigned int reg, time_t host)
{
	struct rtc_fields f;

	rtc_current_fields(r, host, &f);
	switch (reg) {
	case MC146818_SECONDS:
		return rtc_encode(r, f.sec);
	case MC146818_MINUTES:
		return rtc_encode(r, f.min);
	case MC146818_HOURS:
		return rtc_encode_hour(r, f.hour);
	case MC146818_WEEKDAY:
		return rtc_encode(r, f.wday + 1);
	case MC146818_DAY:
		return rtc_encode(r, f.mday);
	case MC146818_MONTH:
		return rtc_encode(r, f.mon);
	case MC146818_YEAR:
		return rtc_encode(r, ((f.year % 100) + 100) % 100);
	default: /* MC146818_CENTURY */
		return rtc_encode(r, f.year / 100);
	}
}

static void rtc_write_time(struct rtc *r, unsigned int reg, uint8_t val, time_t host)
{
	bool set = r->cmos[MC146818_REG_B] & MC146818_B_SET;
	struct rtc_fields f;

	if (!set)
		rtc_poll_flags(r, host);
	rtc_current_fields(r, host, &f);
	switch (reg) {
	case MC146818_SECONDS:
		f.sec = rtc_decode(r, val);
		break;
	case MC146818_MINUTES:
		f.min = rtc_decode(r, val);
		break;
	case MC146818_HOURS:
		f.hour = rtc_decode_hour(r, val);
		break;
	case MC146818_WEEKDAY:
		f.wday = rtc_decode(r, val) - 1; /* only kept while SET is held */
		break;
	case MC146818_DAY:
		f.mday = rtc_decode(r, val);
		break;
	case MC146818_MONTH:
		f.mon = rtc_decode(r, val);
		break;
	case MC146818_YEAR:
		f.year = f.year / 100 * 100 + rtc_decode(r, val);
		break;
	default: /* MC146818_CENTURY */
		f.year = rtc_decode(r, val) * 100 + ((f.year % 100) + 100) % 100;
		break;
	}
	if (set)
		r->latch = f;
	else
		rtc_commit_fields(r, &f, host);
}

static void rtc_write_reg_b(struct rtc *r, uint8_t val, time_t host)
{
	uint8_t old = r->cmos[MC146818_REG_B];

	if (val & MC146818_B_SET)
		val &= ~MC146818_B_UIE; /* SET clears UIE (datasheet, register B) */
	if ((val & MC146818_B_SET) && !(old & MC146818_B_SET)) {
		rtc_poll_flags(r, host);
		rtc_time_to_fields(rtc_guest_seconds(r, host), &r->latch);
	}
	r->cmos[MC146818_REG_B] = val;
	if (!(val & MC146818_B_SET) && (old & MC146818_B_SET))
		rtc_commit_fields(r, &r->latch, host);
}

static uint8_t rtc_read_reg_a(struct rtc *r)
{
	uint8_t a = r->cmos[MC146818_REG_A];
	struct timespec ts;

	if (!r->host_clock || (r->cmos[MC146818_REG_B] & MC146818_B_SET) ||
	    (a & MC146818_A_DV_MASK) != MC146818_A_DV_32768HZ)
		return a;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_nsec >= 1000000000L - UIP_WINDOW_NS)
		a |= MC146818_A_UIP;
	return a;
}

static uint8_t rtc_read_reg_c(struct rtc *r, time_t host)
{
	uint8_t c, enabled;

	rtc_poll_flags(r, host);
	c = r->cmos[MC146818_REG_C];
	enabled = r->cmos[MC146818_REG_B] & (MC146818_B_PIE | MC146818_B_AIE | MC146818_B_UIE);
	/* Flag bits line up with their enable bits in B (PF/PIE, AF/AIE, UF/UIE). */
	if (c & enabled)
		c |= MC146818_C_IRQF;
	r->cmos[MC146818_REG_C] = 0;
	return c;
}

static uint8_t rtc_read(struct rtc *r, unsigned int reg)
{
	if (rtc_is_time_reg(reg))
		return rtc_read_time(r, reg, r->now(r->now_ctx));
	switch (reg) {
	case MC146818_REG_A:
		return rtc_read_reg_a(r);
	case MC146818_REG_C:
		return rtc_read_reg_c(r, r->now(r->now_ctx));
	case MC146818_REG_D:
		return MC146818_D_VRT;
	default:
		return r->cmos[reg];
	}
}

static void rtc_write(struct rtc *r, unsigned int reg, uint8_t val)
{
	if (rtc_is_time_reg(reg)) {
		rtc_write_time(r, reg, val, r->now(r->now_ctx));
		return;
	}
	switch (reg) {
	case MC146818_REG_A:
		r->cmos[reg] = val & ~MC146818_A_UIP;
		break;
	case MC146818_REG_B:
		rtc_write_reg_b(r, val, r->now(r->now_ctx));
		break;
	case MC146818_REG_C:
	case MC146818_REG_D:
		break; /* read-only */
	default:
		r->cmos[reg] = val;
		break;
	}
}

void rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct rtc *r = opaque;

	if (!len)
		return;
	if (!is_write)
		memset(data, 0xff, len);
	if (offset >= MC146818_NR_PORTS)
		return;
	pthread_mutex_lock(&r->lock);
	if (offset == MC146818_PORT_INDEX) {
		/* The index port is write-only; reads float. Bit 7 (NMI mask) is ignored. */
		if (is_write)
			r->index = data[0] & (CMOS_SIZE - 1);
	} else if (is_write) {
		rtc_write(r, r->index, data[0]);
	} else {
		data[0] = rtc_read(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
}

void rtc_set_clock(struct rtc *r, time_t (*now)(void *), void *ctx)
{
	pthread_mutex_lock(&r->lock);
	r->host_clock = !now;
	r->now = now ? now : rtc_host_clock;
	r->now_ctx = now ? ctx : NULL;
	r->last_poll = r->now(r->now_ctx);
	pthread_mutex_unlock(&r->lock);
}

static void cmos_put16(uint8_t *cmos, unsigned int lo, unsigned int hi, uint64_t val)
{
	if (val > 0xffff)
		val = 0xffff;
	cmos[lo] = (uint8_t)val;
	cmos[hi] = (uint8_t)(val >> 8);
}

static void rtc_init_memory_size(uint8_t *cmos, uint64_t below_4g, uint64_t above_4g)
{
	const uint64_t kib = 1024, mib = 1024 * kib;
	uint64_t ext_kib = below_4g > mib ? (below_4g - mib) / kib : 0;
	uint64_t blocks_16m = below_4g > 16 * mib ? (below_4g - 16 * mib) / (64 * kib) : 0;
	uint64_t blocks_4g = above_4g / (64 * kib);

	cmos_put16(cmos, CMOS_BASE_MEM_LO, CMOS_BASE_MEM_HI, 640);
	cmos_put16(cmos, CMOS_EXT_MEM_LO, CMOS_EXT_MEM_HI, ext_kib);
	cmos_put16(cmos, CMOS_EXT_MEM2_LO, CMOS_EXT_MEM2_HI, ext_kib);
	cmos_put16(cmos, CMOS_MEM_16M_LO, CMOS_MEM_16M_HI, blocks_16m);
	if (blocks_4g > 0xffffff)
		blocks_4g = 0xffffff;
	cmos[CMOS_MEM_HIGH_0] = (uint8_t)blocks_4g;
	cmos[CMOS_MEM_HIGH_1] = (uint8_t)(blocks_4g >> 8);
	cmos[CMOS_MEM_HIGH_2] = (uint8_t)(blocks_4g >> 16);
}

struct rtc *rtc_create(const struct irq_line *irq, uint64_t ram_size_below_4g,
		       uint64_t ram_size_above_4g)
{
	struct rtc *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r) {
		log_error("rtc: allocating device");
		return NULL;
	}
	err = pthread_mutex_init(&r->lock, NULL);
	if (err) {
		errno = err;
		log_error("rtc: mutex");
		free(r);
		errno = err;
		return NULL;
	}
	r->irq = irq;
	r->now = rtc_host_clock;
	r->host_clock = true;
	r->last_poll = r->now(NULL);
	/* What a PC BIOS leaves: 32.768 kHz divider, 1024 Hz rate, 24 h BCD, valid RAM. */
	r->cmos[MC146818_REG_A] = MC146818_A_DV_32768HZ | 0x06;
	r->cmos[MC146818_REG_B] = MC146818_B_24H;
	r->last_pf_tick = rtc_pf_tick(r);
	rtc_init_memory_size(r->cmos, ram_size_below_4g, ram_size_above_4g);
	return r;
}

void rtc_destroy(struct rtc *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}
