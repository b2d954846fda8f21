/*
 * MC146818 CMOS real-time clock and its 128 bytes of CMOS RAM (ports 0x70-0x71).
 *
 * The clock is the host's wall-clock time (UTC) read at each access, plus an offset the guest
 * sets by writing the time registers. Register C's flags (update, alarm, periodic) are
 * computed when it is read; IRQ8 is never raised (that needs a timer): guests must poll.
 *
 * Accesses wider than one byte use only the first byte: writes take data[0], reads fill
 * data[0] with the register and the other bytes with 0xff.
 */
#ifndef KVMBOX_DEVICES_RTC_CMOS_H
#define KVMBOX_DEVICES_RTC_CMOS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "irq.h"

#define MC146818_NR_PORTS   2
#define MC146818_PORT_INDEX 0 /* write: bit 7 = NMI disable (ignored), bits 6:0 register */
#define MC146818_PORT_DATA  1

/* Registers (MC146818A datasheet, figure 3). */
#define MC146818_SECONDS       0x00
#define MC146818_SECONDS_ALARM 0x01
#define MC146818_MINUTES       0x02
#define MC146818_MINUTES_ALARM 0x03
#define MC146818_HOURS	       0x04
#define MC146818_HOURS_ALARM   0x05
#define MC146818_WEEKDAY       0x06 /* 1 = Sunday */
#define MC146818_DAY	       0x07
#define MC146818_MONTH	       0x08
#define MC146818_YEAR	       0x09
#define MC146818_REG_A	       0x0a
#define MC146818_REG_B	       0x0b
#define MC146818_REG_C	       0x0c
#define MC146818_REG_D	       0x0d
#define MC146818_CENTURY       0x32 /* PC convention (ACPI FADT "century" field) */

#define MC146818_A_UIP	      0x80 /* update in progress */
#define MC146818_A_DV_MASK    0x70
#define MC146818_A_DV_32768HZ 0x20
#define MC146818_A_RS_MASK    0x0f

#define MC146818_B_SET	0x80
#define MC146818_B_PIE	0x40
#define MC146818_B_AIE	0x20
#define MC146818_B_UIE	0x10
#define MC146818_B_SQWE 0x08
#define MC146818_B_DM	0x04 /* 1 = binary, 0 = BCD */
#define MC146818_B_24H	0x02
#define MC146818_B_DSE	0x01

#define MC146818_C_IRQF 0x80
#define MC146818_C_PF	0x40
#define MC146818_C_AF	0x20
#define MC146818_C_UF	0x10

#define MC146818_D_VRT 0x80

#define MC146818_ALARM_DONT_CARE 0xc0 /* an alarm byte with both top bits set matches all */

/* PC BIOS memory-size bytes. */
#define CMOS_BASE_MEM_LO 0x15 /* KiB below 1 MiB (640) */
#define CMOS_BASE_MEM_HI 0x16
#define CMOS_EXT_MEM_LO	 0x17 /* KiB above 1 MiB, capped at 0xffff */
#define CMOS_EXT_MEM_HI	 0x18
#define CMOS_EXT_MEM2_LO 0x30 /* same value, the copy POST reports */
#define CMOS_EXT_MEM2_HI 0x31
#define CMOS_MEM_16M_LO	 0x34 /* 64 KiB blocks between 16 MiB and the 4 GiB hole */
#define CMOS_MEM_16M_HI	 0x35
#define CMOS_MEM_HIGH_0	 0x5b /* 64 KiB blocks above 4 GiB, 3 bytes little endian */
#define CMOS_MEM_HIGH_1	 0x5c
#define CMOS_MEM_HIGH_2	 0x5d

struct rtc;

/*
 * irq: IRQ8 (may be NULL; currently unused, see above). The RAM sizes fill the memory-size
 * bytes SeaBIOS reads. Returns NULL (errno set, logged) on failure.
 */
struct rtc *rtc_create(const struct irq_line *irq, uint64_t ram_size_below_4g,
		       uint64_t ram_size_above_4g);
void rtc_destroy(struct rtc *r);

/* Bus handler for ports 0x70-0x71: offset 0 = index, offset 1 = data. */
void rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * For tests: replace the clock source (seconds since the epoch, UTC). now == NULL restores
 * the host clock. With a replaced clock, register A's UIP bit always reads 0.
 */
void rtc_set_clock(struct rtc *r, time_t (*now)(void *), void *ctx);

#endif
