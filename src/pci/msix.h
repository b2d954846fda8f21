/*
 * MSI-X (PCI Local Bus 3.0, 6.8.2): the capability, the vector table and the pending-bit
 * array a device exposes in one of its BARs. The guest programs address/data per vector;
 * kvmbox turns each vector into a KVM MSI route plus an irqfd (msix_kvm_*), so raising a
 * vector from any thread is one eventfd write. Masked vectors set their pending bit and fire
 * when unmasked. Thread-safe.
 */
#ifndef KVMBOX_PCI_MSIX_H
#define KVMBOX_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "irq.h"
#include "pci/pci.h"

#define MSIX_MAX_VECTORS   64
#define MSIX_ENTRY_SIZE	   16
#define MSIX_CTRL_ENABLE   (1u << 15)
#define MSIX_CTRL_MASKALL  (1u << 14)
#define MSIX_VECTOR_MASKED 1u

/* What a vector turns into on the host side (KVM routes and irqfds, or a test fake). */
struct msix_ops {
	/* The vector's address/data changed (or MSI-X was switched on). Returns 0 or -errno. */
	int (*route)(void *ctx, uint16_t vector, uint64_t addr, uint32_t data);
	void (*signal)(void *ctx, uint16_t vector);
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct msix {
	pthread_mutex_t lock;
	uint16_t nvec;
	bool enabled, masked; /* the capability's MSI-X Enable and Function Mask bits */
	struct pci_device *pci;
	uint8_t cap; /* offset of the capability in pci->cfg */
	struct msix_entry table[MSIX_MAX_VECTORS];
	uint64_t pba;
	const struct msix_ops *ops;
	void *ctx;
};

/*
 * Adds the capability to d: nvec vectors (1..MSIX_MAX_VECTORS), table at table_off and PBA at
 * pba_off inside BAR `bar`. Returns 0 or -errno.
 */
int msix_init(struct msix *m, struct pci_device *d, uint16_t nvec, int bar, uint32_t table_off,
	      uint32_t pba_off, const struct msix_ops *ops, void *ctx);
void msix_destroy(struct msix *m);
/* Back to the reset state (disabled, every vector masked, nothing pending). */
void msix_reset(struct msix *m);
/* Call from the device's cfg_written hook: picks up Enable / Function Mask. */
void msix_cfg_written(struct msix *m, uint32_t off, uint32_t len);
/* BAR handlers for the table and PBA (offsets relative to each). */
void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
bool msix_enabled(struct msix *m);
/* Raises vector (or marks it pending while masked). Out-of-range vectors are ignored. */
void msix_notify(struct msix *m, uint16_t vector);

/* Host side on KVM: one GSI and one irqfd per vector. */
struct msix_kvm {
	struct irq_router *router;
	uint16_t nvec;
	uint32_t gsi[MSIX_MAX_VECTORS];
	int fd[MSIX_MAX_VECTORS];
};
extern const struct msix_ops msix_kvm_ops;
int msix_kvm_init(struct msix_kvm *k, struct irq_router *router, uint16_t nvec);
void msix_kvm_destroy(struct msix_kvm *k);

#endif
