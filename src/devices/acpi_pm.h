/*
 * ACPI PM block (ACPI 6.5, 4.8): PM1a event (status/enable), PM1a control (sleep: S5 powers
 * off) and the 24-bit PM timer at 3.579545 MHz. kvmbox has no SMM, so ACPI mode is always
 * on (SCI_EN reads 1).
 */
#ifndef KVMBOX_DEVICES_ACPI_PM_H
#define KVMBOX_DEVICES_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "irq.h"

#define ACPI_PM_TIMER_HZ 3579545ULL

struct acpi_pm;

struct acpi_pm *acpi_pm_create(const struct irq_line *sci, void (*poweroff)(void *ctx), void *ctx);
void acpi_pm_destroy(struct acpi_pm *pm);
/* Bus handler for the whole block at PORT_ACPI_PM_BASE. */
void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* The PM timer value for a monotonic time in nanoseconds (pure; unit-tested). */
uint32_t acpi_pm_timer_at(uint64_t ns);

#endif
