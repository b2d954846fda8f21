#include "irq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

enum { PC_ROUTES = 15 + 23 };

/* The PC's routes (see irq.h) into out[]; returns how many. */
static uint32_t pc_routes(struct kvm_irq_routing_entry *out)
{
	uint32_t n = 0;

	for (uint32_t gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue;
		out[n++] = (struct kvm_irq_routing_entry){
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
		out[n++] = (struct kvm_irq_routing_entry){
		    .gsi = gsi,
		    .type = KVM_IRQ_ROUTING_IRQCHIP,
		    .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi == 0 ? 2 : gsi},
		};
	}
	return n;
}

int irq_routing_init(int vm_fd)
{
	union { /* room for the entries after KVM's header */
		struct kvm_irq_routing hdr;
		uint8_t bytes[sizeof(struct kvm_irq_routing) +
			      PC_ROUTES * sizeof(struct kvm_irq_routing_entry)];
	} r = {0};

	r.hdr.nr = pc_routes(r.hdr.entries);
	return ioctl(vm_fd, KVM_SET_GSI_ROUTING, &r) < 0 ? -errno : 0;
}

void irq_router_init(struct irq_router *r, int vm_fd)
{
	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	r->next_gsi = IRQ_MSI_GSI_BASE;
	pthread_mutex_init(&r->lock, NULL);
}

void irq_router_destroy(struct irq_router *r)
{
	pthread_mutex_destroy(&r->lock);
}

int irq_router_alloc_gsi(struct irq_router *r)
{
	int gsi = -ENOSPC;

	pthread_mutex_lock(&r->lock);
	if (r->next_gsi < IRQ_MSI_GSI_BASE + IRQ_MAX_MSI)
		gsi = (int)r->next_gsi++;
	pthread_mutex_unlock(&r->lock);
	return gsi;
}

/* Installs PC + active MSI routes. Called with r->lock held. */
static int router_commit(struct irq_router *r)
{
	size_t size = sizeof(struct kvm_irq_routing) +
		      (PC_ROUTES + IRQ_MAX_MSI) * sizeof(struct kvm_irq_routing_entry);
	struct kvm_irq_routing *t = calloc(1, size);
	int ret = 0;

	if (!t)
		return -ENOMEM;
	t->nr = pc_routes(t->entries);
	for (uint32_t i = 0; i < IRQ_MAX_MSI; i++) {
		if (!r->msi[i].active)
			continue;
		t->entries[t->nr++] = (struct kvm_irq_routing_entry){
		    .gsi = IRQ_MSI_GSI_BASE + i,
		    .type = KVM_IRQ_ROUTING_MSI,
		    .u.msi = {.address_lo = r->msi[i].addr_lo,
			      .address_hi = r->msi[i].addr_hi,
			      .data = r->msi[i].data},
		};
	}
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		ret = -errno;
	free(t);
	return ret;
}

int irq_router_set_msi(struct irq_router *r, uint32_t gsi, uint64_t addr, uint32_t data,
		       bool active)
{
	struct irq_msi_route route = {.addr_lo = (uint32_t)addr,
				      .addr_hi = (uint32_t)(addr >> 32),
				      .data = data,
				      .active = active};
	int ret = 0;

	if (gsi < IRQ_MSI_GSI_BASE || gsi >= IRQ_MSI_GSI_BASE + IRQ_MAX_MSI)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	struct irq_msi_route *cur = &r->msi[gsi - IRQ_MSI_GSI_BASE];
	bool same = cur->addr_lo == route.addr_lo && cur->addr_hi == route.addr_hi &&
		    cur->data == route.data && cur->active == route.active;
	if (!same) {
		*cur = route;
		ret = router_commit(r);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static int irqfd(int vm_fd, int fd, uint32_t gsi, uint32_t flags)
{
	struct kvm_irqfd req = {.fd = (uint32_t)fd, .gsi = gsi, .flags = flags};

	return ioctl(vm_fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

int irq_irqfd_assign(int vm_fd, int fd, uint32_t gsi)
{
	return irqfd(vm_fd, fd, gsi, 0);
}

int irq_irqfd_deassign(int vm_fd, int fd, uint32_t gsi)
{
	return irqfd(vm_fd, fd, gsi, KVM_IRQFD_FLAG_DEASSIGN);
}

void irq_line_init_kvm(struct irq_line *line, int *vm_fd, uint32_t gsi)
{
	*line = (struct irq_line){.set_level = irq_kvm_set_level, .ctx = vm_fd, .gsi = gsi};
}
