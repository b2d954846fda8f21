/*
 * PCI bus 0: configuration space for up to 32 single-function devices, reached through the
 * 0xCF8/0xCFC ports and ECAM (MMIO), and memory BARs that kvmbox places in the 32-bit MMIO
 * window at setup. The guest may size and move BARs; accesses are routed by the BARs'
 * current values, and only while the device's command register enables memory decoding.
 */
#ifndef KVMBOX_PCI_PCI_H
#define KVMBOX_PCI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "irq.h"

#define PCI_CFG_SIZE  256  /* conventional configuration space */
#define PCI_ECAM_FUNC 4096 /* bytes per function in ECAM; the extended part reads as 0 */
#define PCI_MAX_SLOTS 32
#define PCI_NUM_BARS  6

/* Configuration space header (type 0) offsets and bits, PCI Local Bus 3.0, 6.2. */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_COMMAND_IO		0x1
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4
#define PCI_COMMAND_INTX_OFF	0x400
#define PCI_STATUS		0x06
#define PCI_STATUS_INTERRUPT	0x08
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define PCI_BAR_MEM_TYPE_64	0x04
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CAP_ID_MSIX		0x11
#define PCI_CAP_ID_VNDR		0x09

struct pci_device;

/*
 * Optional device hooks, called with the bus lock held: after a configuration write (to
 * react to MSI-X enable, BAR moves, ...) and before a configuration read (to fill registers
 * that are windows onto something else).
 */
struct pci_device_ops {
	void (*cfg_written)(struct pci_device *d, uint32_t off, uint32_t len);
	void (*cfg_before_read)(struct pci_device *d, uint32_t off, uint32_t len);
	/* BAR `bar` now decodes at addr (0: decoding off). */
	void (*bar_moved)(struct pci_device *d, int bar, uint64_t addr);
};

struct pci_bar {
	uint64_t size; /* 0: unused; else a power of two >= 16 */
	bool mem64;
	bus_io_fn fn; /* sees the offset into the BAR */
	void *opaque;
	uint64_t decoded; /* address the BAR decodes at, 0 if off */
};

struct pci_device {
	const char *name;
	const struct pci_device_ops *ops;
	void *opaque;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may write */
	struct pci_bar bars[PCI_NUM_BARS];
	uint8_t last_cap; /* offset of the last capability, 0 if none */
	uint16_t cap_end; /* first free byte after the capabilities */
	uint8_t slot;
	struct pci_bus *bus;
	struct irq_line intx; /* INTA#, routed to an IOAPIC pin (see pci_intx_gsi) */
	bool intx_level;
};

struct pci_bus {
	pthread_mutex_t lock; /* configuration space, BAR decoding */
	/*
	 * INTx levels and counts, and the cfg[] bytes they share with configuration accesses
	 * (status, command). Taken inside `lock` and never the other way round, so a device can
	 * change its INTx level from any thread and from inside its configuration hooks.
	 */
	pthread_mutex_t intx_lock;
	struct pci_device *slots[PCI_MAX_SLOTS];
	uint32_t config_address; /* the 0xCF8 latch */
	uint64_t mmio_base, mmio_next, mmio_end;
	uint8_t intx_asserted[8];   /* devices holding each shared INTx pin high (wire-OR) */
	struct irq_line intx_proto; /* how INTx lines reach the irqchip (gsi set per slot) */
	struct pci_device host_bridge;
};

/* Fills the header of a type-0 device. class is (base << 16 | sub << 8 | prog-if). */
void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class, uint16_t subsys_vendor, uint16_t subsys_id);
/* Declares a memory BAR; kvmbox assigns its address in pci_bus_add. */
void pci_device_set_bar(struct pci_device *d, int bar, uint64_t size, bool mem64, bus_io_fn fn,
			void *opaque);
/*
 * Appends a capability (cap[0] = ID, cap[1] is filled with the next pointer) and returns its
 * offset, or -ENOSPC. Bytes of the capability are read-only unless wmask is given (same
 * length as cap, NULL = read-only).
 */
int pci_device_add_cap(struct pci_device *d, const void *cap, uint8_t len, const uint8_t *wmask);

static inline uint16_t pci_cfg_get16(const struct pci_device *d, uint32_t off)
{
	return (uint16_t)(d->cfg[off] | d->cfg[off + 1] << 8);
}
static inline uint32_t pci_cfg_get32(const struct pci_device *d, uint32_t off)
{
	return (uint32_t)d->cfg[off] | (uint32_t)d->cfg[off + 1] << 8 |
	       (uint32_t)d->cfg[off + 2] << 16 | (uint32_t)d->cfg[off + 3] << 24;
}
void pci_cfg_set16(struct pci_device *d, uint32_t off, uint16_t v);
void pci_cfg_set32(struct pci_device *d, uint32_t off, uint32_t v);

/* The IOAPIC pin a slot's INTx pin (0 = INTA#) arrives at: what the DSDT's _PRT says. */
uint32_t pci_intx_gsi(uint8_t slot, uint8_t pin);
/*
 * Sets the device's INTx level (honours PCI_COMMAND_INTX_OFF, updates the status bit). Takes
 * only bus->intx_lock: safe from device threads and from configuration hooks.
 */
void pci_device_set_intx(struct pci_device *d, bool level);

/*
 * Bus with a host bridge at slot 0; BARs are placed in [mmio_base, mmio_end). intx_proto
 * says how INTx lines reach the interrupt controller (its gsi is ignored; may be NULL).
 */
void pci_bus_init(struct pci_bus *bus, uint64_t mmio_base, uint64_t mmio_end,
		  const struct irq_line *intx_proto);
void pci_bus_destroy(struct pci_bus *bus);
/*
 * Puts d in the next free slot and assigns its BARs (naturally aligned). A device that set
 * PCI_INTERRUPT_PIN gets INTA# wired to pci_intx_gsi(slot). Returns the slot, or -ENOSPC (no
 * slot or no MMIO space left).
 */
int pci_bus_add(struct pci_bus *bus, struct pci_device *d);

/* Configuration access for bus 0, function 0 (others read all ones). len 1, 2 or 4. */
void pci_cfg_access(struct pci_bus *bus, uint32_t devfn, uint32_t off, uint8_t *data, uint32_t len,
		    bool is_write);
/* Bus handlers: ports 0xCF8-0xCFF, the ECAM window, the 32-bit MMIO window. */
void pci_cfg_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void pci_ecam_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void pci_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
