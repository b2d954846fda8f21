/*
 * Interrupt lines as devices see them: a device raises or lowers its line; the line knows
 * how to reach the interrupt controller (KVM's in-kernel irqchip, or a test fake).
 */
#ifndef KVMBOX_IRQ_H
#define KVMBOX_IRQ_H

#include <stdint.h>

struct irq_line {
	void (*set_level)(void *ctx, uint32_t gsi, int level);
	void *ctx;
	uint32_t gsi;
};

static inline void irq_line_set(const struct irq_line *line, int level)
{
	if (line && line->set_level)
		line->set_level(line->ctx, line->gsi, level);
}

/* A line driven through KVM's in-kernel irqchip (PIC and IOAPIC pin gsi). */
void irq_kvm_set_level(void *ctx, uint32_t gsi, int level);
void irq_line_init_kvm(struct irq_line *line, int *vm_fd, uint32_t gsi);
/*
 * The PC's GSI routing, as the MADT/MP table describe it: GSI 0-15 to the 8259s (but 2,
 * the cascade), GSI 0-23 to the IOAPIC pins of the same number, except that ISA IRQ 0 (the
 * PIT) arrives at IOAPIC pin 2. Returns 0 or -errno.
 */
int irq_routing_init(int vm_fd);

#endif
