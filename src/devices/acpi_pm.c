#include "devices/acpi_pm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arch/x86/platform.h"
#include "log.h"

#define PM1_STS_TMR	      0x0001
#define PM1_STS_PWRBTN	      0x0100
#define PM1_STS_WAK	      0x8000
#define PM1_CNT_SCI_EN	      0x0001
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK  (7 << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN	      0x2000 /* write-only */

struct acpi_pm {
	pthread_mutex_t lock;
	uint16_t status;
	uint16_t enable;
	uint16_t control;
	struct irq_line sci;
	void (*poweroff)(void *ctx);
	void *ctx;
};

struct acpi_pm *acpi_pm_create(const struct irq_line *sci, void (*poweroff)(void *ctx), void *ctx)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pthread_mutex_init(&pm->lock, NULL);
	pm->control = PM1_CNT_SCI_EN;
	if (sci)
		pm->sci = *sci;
	pm->poweroff = poweroff;
	pm->ctx = ctx;
	return pm;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

uint32_t acpi_pm_timer_at(uint64_t ns)
{
	return (uint32_t)((unsigned __int128)ns * ACPI_PM_TIMER_HZ / 1000000000u) & 0xffffff;
}

static uint32_t pm_timer_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return acpi_pm_timer_at((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* The SCI is level-triggered: up while any enabled status bit is set. */
static void update_sci(struct acpi_pm *pm)
{
	irq_line_set(&pm->sci, (pm->status & pm->enable) != 0);
}

/* Registers are little endian; accesses may cover any bytes of the block. */
static uint8_t reg_read_byte(struct acpi_pm *pm, uint64_t off, uint32_t tmr)
{
	uint32_t v;

	if (off < ACPI_PM1_EVT_OFF + 2) {
		v = pm->status;
	} else if (off < ACPI_PM1_EVT_OFF + ACPI_PM1_EVT_LEN) {
		v = pm->enable;
		off -= 2;
	} else if (off < ACPI_PM1_CNT_OFF + ACPI_PM1_CNT_LEN) {
		v = pm->control;
		off -= ACPI_PM1_CNT_OFF;
	} else if (off >= ACPI_PM_TMR_OFF && off < ACPI_PM_TMR_OFF + ACPI_PM_TMR_LEN) {
		v = tmr;
		off -= ACPI_PM_TMR_OFF;
	} else {
		return 0xff;
	}
	return (uint8_t)(v >> (8 * (off & 3)));
}

void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	bool poweroff = false;
	uint16_t v16 = 0;

	pthread_mutex_lock(&pm->lock);
	if (!is_write) {
		uint32_t tmr = pm_timer_now(); /* one sample for all bytes of the access */
		for (uint32_t i = 0; i < len; i++)
			data[i] = reg_read_byte(pm, offset + i, tmr);
		pthread_mutex_unlock(&pm->lock);
		return;
	}
	memcpy(&v16, data, len >= 2 ? 2 : 1);
	switch (offset) {
	case ACPI_PM1_EVT_OFF: /* status: write 1 to clear */
		pm->status &= ~v16;
		if (len >= 4) {
			memcpy(&v16, data + 2, 2);
			pm->enable = v16;
		}
		break;
	case ACPI_PM1_EVT_OFF + 2:
		pm->enable = v16;
		break;
	case ACPI_PM1_CNT_OFF:
		pm->control = (v16 & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
		if (v16 & PM1_CNT_SLP_EN) {
			unsigned typ = (v16 & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT;
			if (typ == ACPI_S5_SLP_TYP)
				poweroff = true;
			else
				log_once(log_warnx,
					 "guest asked for ACPI sleep type %u; only S5 "
					 "(power off) is supported",
					 typ);
		}
		break;
	default:
		log_once(log_debug, "ACPI PM: ignoring write at offset %#llx",
			 (unsigned long long)offset);
		break;
	}
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (poweroff && pm->poweroff)
		pm->poweroff(pm->ctx);
}
