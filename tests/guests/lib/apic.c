/* Local APIC (xAPIC MMIO), IOAPIC and 8259 helpers. */
#include "guest.h"

uint32_t apic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

void apic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

uint32_t apic_id(void)
{
	return apic_read(APIC_ID) >> 24;
}

static void spurious(struct trap_frame *f)
{
	(void)f; /* no EOI for the spurious vector */
}

void apic_enable(void)
{
	set_handler(0xff, spurious);
	apic_write(APIC_SVR, 0x100 | 0xff);
}

void apic_send_ipi(uint32_t dest, uint32_t lo)
{
	apic_write(APIC_ICR_HI, dest << 24);
	apic_write(APIC_ICR_LO, lo);
	while (apic_read(APIC_ICR_LO) & APIC_ICR_BUSY)
		pause();
}

uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE, reg);
	return mmio_read32(IOAPIC_BASE + 0x10);
}

void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

void ioapic_route(int pin, int vector, uint32_t dest)
{
	ioapic_write(0x11 + 2 * (uint32_t)pin, dest << 24);
	ioapic_write(0x10 + 2 * (uint32_t)pin, (uint32_t)vector);
}

void ioapic_mask(int pin)
{
	ioapic_write(0x10 + 2 * (uint32_t)pin, 1u << 16);
}

/* Initializes both 8259s (vectors 0x20/0x28) and masks every line: we use the IOAPIC. */
void pic_disable(void)
{
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, 0x20);
	outb(0xa1, 0x28);
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}
