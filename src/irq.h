/*
 * Interrupt lines as devices see them: a device raises or lowers its line; the line knows
 * how to reach the interrupt controller (KVM's in-kernel irqchip, or a test fake).
 */
#ifndef KVMBOX_IRQ_H
#define KVMBOX_IRQ_H

#include <pthread.h>
#include <stdbool.h>
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

/*
 * MSI routes on top of the PC routes: each MSI-X vector gets a GSI of its own (from
 * IRQ_MSI_GSI_BASE up) and an irqfd bound to it; the address/data pair the guest programs
 * becomes that GSI's route. KVM_SET_GSI_ROUTING replaces the whole table, so the router keeps
 * all MSI routes and installs PC + MSI routes together. Thread-safe.
 */
#define IRQ_MSI_GSI_BASE 24
#define IRQ_MAX_MSI	 1024

struct irq_router {
	int vm_fd;
	pthread_mutex_t lock;
	uint32_t next_gsi;
	struct irq_msi_route {
		uint32_t addr_lo, addr_hi, data;
		bool active;
	} msi[IRQ_MAX_MSI];
};

void irq_router_init(struct irq_router *r, int vm_fd);
void irq_router_destroy(struct irq_router *r);
/* A fresh GSI for one MSI vector, or -ENOSPC. */
int irq_router_alloc_gsi(struct irq_router *r);
/* Routes gsi to the MSI (addr, data), or removes its route (active false). 0 or -errno. */
int irq_router_set_msi(struct irq_router *r, uint32_t gsi, uint64_t addr, uint32_t data,
		       bool active);
/* Binds an eventfd to gsi (KVM_IRQFD): a write to it injects the interrupt. 0 or -errno. */
int irq_irqfd_assign(int vm_fd, int fd, uint32_t gsi);
int irq_irqfd_deassign(int vm_fd, int fd, uint32_t gsi);

#endif
