#include "irq.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "log.h"

void irq_kvm_set_level(void *ctx, uint32_t gsi, int level)
{
	const int *vm_fd = ctx;
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};

	if (ioctl(*vm_fd, KVM_IRQ_LINE_STATUS, &irq) < 0)
		log_once(log_warn, "KVM_IRQ_LINE_STATUS gsi %u", gsi);
}

int irq_routing_init(int vm_fd)
{
	enum { MAX_ROUTES = 16 + 24 };
	union { /* room for the entries after KVM's header */
		struct kvm_irq_routing hdr;
		uint8_t bytes[sizeof(struct kvm_irq_routing) +
			      MAX_ROUTES * sizeof(struct kvm_irq_routing_entry)];
	} r = {0};
	uint32_t n = 0;

	for (uint32_t gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue;
		r.hdr.entries[n++] = (struct kvm_irq_routing_entry){
		    .gsi = gsi,
		    .type = KVM_IRQ_ROUTING_IRQCHIP,
		    .u.irqchip = {.irqchip =
				      gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				  .pin = gsi % 8},
		};
	}
	for (uint32_t gsi = 0; gsi < 24; gsi++) {
		if (gsi == 2)
			continue;
		r.hdr.entries[n++] = (struct kvm_irq_routing_entry){
		    .gsi = gsi,
		    .type = KVM_IRQ_ROUTING_IRQCHIP,
		    .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi == 0 ? 2 : gsi},
		};
	}
	r.hdr.nr = n;
	return ioctl(vm_fd, KVM_SET_GSI_ROUTING, &r) < 0 ? -errno : 0;
}

void irq_line_init_kvm(struct irq_line *line, int *vm_fd, uint32_t gsi)
{
	*line = (struct irq_line){.set_level = irq_kvm_set_level, .ctx = vm_fd, .gsi = gsi};
}
