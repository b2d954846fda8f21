#include "pci/msix.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

struct msix_cap {
	uint8_t id, next;
	uint16_t control; /* enable, function mask, table size - 1 */
	uint32_t table;	  /* offset | BIR */
	uint32_t pba;	  /* offset | BIR */
} __attribute__((packed));

int msix_init(struct msix *m, struct pci_device *d, uint16_t nvec, int bar, uint32_t table_off,
	      uint32_t pba_off, const struct msix_ops *ops, void *ctx)
{
	struct msix_cap cap = {
	    .id = PCI_CAP_ID_MSIX,
	    .control = (uint16_t)(nvec - 1),
	    .table = table_off | (uint32_t)bar,
	    .pba = pba_off | (uint32_t)bar,
	};
	uint8_t wmask[sizeof(cap)] = {0};
	int off;

	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || (table_off | pba_off) & 7)
		return -EINVAL;
	wmask[3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	off = pci_device_add_cap(d, &cap, sizeof(cap), wmask);
	if (off < 0)
		return off;
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->nvec = nvec;
	m->pci = d;
	m->cap = (uint8_t)off;
	m->ops = ops;
	m->ctx = ctx;
	msix_reset(m);
	return 0;
}

void msix_destroy(struct msix *m)
{
	if (m->nvec)
		pthread_mutex_destroy(&m->lock);
}

void msix_reset(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	m->enabled = m->masked = false;
	m->pba = 0;
	for (int i = 0; i < MSIX_MAX_VECTORS; i++)
		m->table[i] = (struct msix_entry){.ctrl = MSIX_VECTOR_MASKED};
	pthread_mutex_unlock(&m->lock);
}

static bool deliverable(const struct msix *m, uint16_t v)
{
	return m->enabled && !m->masked && !(m->table[v].ctrl & MSIX_VECTOR_MASKED);
}

static void route(struct msix *m, uint16_t v)
{
	const struct msix_entry *e = &m->table[v];
	int r = m->ops->route(m->ctx, v, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);

	if (r < 0)
		log_once(log_warnx, "%s: MSI-X vector %u: routing failed (%s)", m->pci->name, v,
			 strerror(-r));
}

/* Fires what became deliverable (after an unmask or enable). Lock held. */
static void flush_pending(struct msix *m)
{
	for (uint16_t v = 0; v < m->nvec; v++) {
		if ((m->pba & (1ull << v)) && deliverable(m, v)) {
			m->pba &= ~(1ull << v);
			m->ops->signal(m->ctx, v);
		}
	}
}

void msix_cfg_written(struct msix *m, uint32_t off, uint32_t len)
{
	uint32_t ctrl_off = m->cap + 2u;

	if (off + len <= ctrl_off || off >= ctrl_off + 2)
		return;
	pthread_mutex_lock(&m->lock);
	uint16_t ctrl = pci_cfg_get16(m->pci, ctrl_off);
	bool was_enabled = m->enabled;
	m->enabled = ctrl & MSIX_CTRL_ENABLE;
	m->masked = ctrl & MSIX_CTRL_MASKALL;
	if (m->enabled && !was_enabled)
		for (uint16_t v = 0; v < m->nvec; v++)
			route(m, v);
	flush_pending(m);
	pthread_mutex_unlock(&m->lock);
}

void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	uint64_t v = off / MSIX_ENTRY_SIZE;

	/* Dword or qword accesses, naturally aligned (6.8.2); anything else is dropped. */
	if ((len != 4 && len != 8) || (off & (len - 1)) || v >= m->nvec) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	uint8_t *entry = (uint8_t *)&m->table[v];
	uint32_t field = (uint32_t)(off % MSIX_ENTRY_SIZE);
	if (!is_write) {
		memcpy(data, entry + field, len);
	} else {
		struct msix_entry old = m->table[v];
		memcpy(entry + field, data, len);
		m->table[v].ctrl &= MSIX_VECTOR_MASKED; /* the other bits are reserved */
		struct msix_entry *e = &m->table[v];
		if (m->enabled &&
		    (e->addr_lo != old.addr_lo || e->addr_hi != old.addr_hi || e->data != old.data))
			route(m, (uint16_t)v);
		flush_pending(m);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	if (is_write)
		return; /* read-only */
	pthread_mutex_lock(&m->lock);
	uint64_t pba = m->pba;
	pthread_mutex_unlock(&m->lock);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < 8 ? (uint8_t)(pba >> (8 * (off + i))) : 0;
}

bool msix_enabled(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	bool on = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return on;
}

void msix_notify(struct msix *m, uint16_t vector)
{
	if (vector >= m->nvec)
		return;
	pthread_mutex_lock(&m->lock);
	if (deliverable(m, vector))
		m->ops->signal(m->ctx, vector);
	else
		m->pba |= 1ull << vector;
	pthread_mutex_unlock(&m->lock);
}

static int kvm_route(void *ctx, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct msix_kvm *k = ctx;

	return irq_router_set_msi(k->router, k->gsi[vector], addr, data, true);
}

static void kvm_signal(void *ctx, uint16_t vector)
{
	struct msix_kvm *k = ctx;
	uint64_t one = 1;

	if (write(k->fd[vector], &one, sizeof(one)) < 0)
		log_once(log_warn, "MSI-X: signalling irqfd");
}

const struct msix_ops msix_kvm_ops = {.route = kvm_route, .signal = kvm_signal};

int msix_kvm_init(struct msix_kvm *k, struct irq_router *router, uint16_t nvec)
{
	memset(k, 0, sizeof(*k));
	k->router = router;
	for (uint16_t v = 0; v < nvec; v++) {
		int gsi = irq_router_alloc_gsi(router);
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int r = gsi < 0	 ? gsi
			: fd < 0 ? -errno
				 : irq_irqfd_assign(router->vm_fd, fd, (uint32_t)gsi);
		if (r < 0) {
			if (fd >= 0)
				close(fd);
			msix_kvm_destroy(k);
			return r;
		}
		k->gsi[v] = (uint32_t)gsi;
		k->fd[v] = fd;
		k->nvec = (uint16_t)(v + 1);
	}
	return 0;
}

void msix_kvm_destroy(struct msix_kvm *k)
{
	for (uint16_t v = 0; v < k->nvec; v++) {
		irq_irqfd_deassign(k->router->vm_fd, k->fd[v], k->gsi[v]);
		close(k->fd[v]);
	}
	k->nvec = 0;
}
