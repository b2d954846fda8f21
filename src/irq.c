#include "irq.h"

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

void irq_line_init_kvm(struct irq_line *line, int *vm_fd, uint32_t gsi)
{
	*line = (struct irq_line){.set_level = irq_kvm_set_level, .ctx = vm_fd, .gsi = gsi};
}
