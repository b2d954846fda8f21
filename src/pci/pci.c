#include "pci/pci.h"

#include <errno.h>
#include <string.h>

#include "log.h"

#define PCI_INTX_FIRST_GSI 16 /* IOAPIC pins 16-23 are the PCI interrupt lines */

void pci_cfg_set16(struct pci_device *d, uint32_t off, uint16_t v)
{
	d->cfg[off] = (uint8_t)v;
	d->cfg[off + 1] = (uint8_t)(v >> 8);
}

void pci_cfg_set32(struct pci_device *d, uint32_t off, uint32_t v)
{
	pci_cfg_set16(d, off, (uint16_t)v);
	pci_cfg_set16(d, off + 2, (uint16_t)(v >> 16));
}

static void set_wmask16(struct pci_device *d, uint32_t off, uint16_t m)
{
	d->wmask[off] = (uint8_t)m;
	d->wmask[off + 1] = (uint8_t)(m >> 8);
}

void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class, uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	pci_cfg_set16(d, PCI_VENDOR_ID, vendor);
	pci_cfg_set16(d, PCI_DEVICE_ID, device);
	d->cfg[PCI_CLASS_PROG] = (uint8_t) class;
	pci_cfg_set16(d, PCI_CLASS_DEVICE, (uint16_t)(class >> 8));
	pci_cfg_set16(d, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	pci_cfg_set16(d, PCI_SUBSYSTEM_ID, subsys_id);
	set_wmask16(d, PCI_COMMAND,
		    PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			PCI_COMMAND_INTX_OFF);
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

void pci_device_set_bar(struct pci_device *d, int bar, uint64_t size, bool mem64, bus_io_fn fn,
			void *opaque)
{
	d->bars[bar] = (struct pci_bar){.size = size, .mem64 = mem64, .fn = fn, .opaque = opaque};
}

int pci_device_add_cap(struct pci_device *d, const void *cap, uint8_t len, const uint8_t *wmask)
{
	uint32_t off = d->cap_end ? d->cap_end : 0x40;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(&d->cfg[off], cap, len);
	d->cfg[off + 1] = 0;
	if (wmask)
		memcpy(&d->wmask[off], wmask, len);
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->last_cap = (uint8_t)off;
	d->cap_end = (uint16_t)((off + len + 3) & ~3u);
	return (int)off;
}

uint32_t pci_intx_gsi(uint8_t slot, uint8_t pin)
{
	return PCI_INTX_FIRST_GSI + (uint32_t)(slot + pin) % 8;
}

/* Moves d's INTx level to `level`; bus->intx_lock is held. */
static void intx_update(struct pci_device *d, bool level)
{
	uint8_t *count = &d->bus->intx_asserted[d->slot % 8];

	if (level == d->intx_level)
		return;
	d->intx_level = level;
	if (level)
		d->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		d->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	/* Devices sharing a pin: the line is high while any of them holds it. */
	*count = (uint8_t)(*count + (level ? 1 : -1));
	if ((level && *count == 1) || (!level && *count == 0))
		irq_line_set(&d->intx, level);
}

void pci_device_set_intx(struct pci_device *d, bool level)
{
	struct pci_bus *bus = d->bus;

	if (!bus)
		return;
	pthread_mutex_lock(&bus->intx_lock);
	if (pci_cfg_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_OFF)
		level = false;
	intx_update(d, level);
	pthread_mutex_unlock(&bus->intx_lock);
}

/* Where a BAR decodes now: its address if memory decoding is on, else 0. */
static uint64_t bar_address(const struct pci_device *d, int i)
{
	const struct pci_bar *b = &d->bars[i];
	uint64_t addr;

	if (!b->size || !(pci_cfg_get16(d, PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return 0;
	addr = pci_cfg_get32(d, PCI_BASE_ADDRESS_0 + 4 * i) & ~0xfu;
	if (b->mem64)
		addr |= (uint64_t)pci_cfg_get32(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1)) << 32;
	return addr;
}

/* After a write to the command register or a BAR: update decoding, tell the device. */
static void update_bars(struct pci_device *d)
{
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint64_t addr = bar_address(d, i);
		if (!d->bars[i].size || addr == d->bars[i].decoded)
			continue;
		d->bars[i].decoded = addr;
		if (d->ops && d->ops->bar_moved)
			d->ops->bar_moved(d, i, addr);
	}
}

/* Programs BAR i with addr and makes the register bits above the size writable. */
static void bar_assign(struct pci_device *d, int i, uint64_t addr)
{
	const struct pci_bar *b = &d->bars[i];
	uint32_t lo_mask = (uint32_t) ~(b->size - 1) & ~0xfu;

	pci_cfg_set32(d, PCI_BASE_ADDRESS_0 + 4 * i,
		      (uint32_t)addr | (b->mem64 ? PCI_BAR_MEM_TYPE_64 : 0));
	set_wmask16(d, PCI_BASE_ADDRESS_0 + 4 * i, (uint16_t)lo_mask);
	set_wmask16(d, PCI_BASE_ADDRESS_0 + 4 * i + 2, (uint16_t)(lo_mask >> 16));
	if (b->mem64) {
		uint64_t hi_mask = ~(b->size - 1) >> 32;
		pci_cfg_set32(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1), (uint32_t)(addr >> 32));
		set_wmask16(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1), (uint16_t)hi_mask);
		set_wmask16(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1) + 2, (uint16_t)(hi_mask >> 16));
	}
}

void pci_bus_init(struct pci_bus *bus, uint64_t mmio_base, uint64_t mmio_end,
		  const struct irq_line *intx_proto)
{
	memset(bus, 0, sizeof(*bus));
	if (intx_proto)
		bus->intx_proto = *intx_proto;
	pthread_mutex_init(&bus->lock, NULL);
	pthread_mutex_init(&bus->intx_lock, NULL);
	bus->mmio_base = bus->mmio_next = mmio_base;
	bus->mmio_end = mmio_end;
	/* Red Hat's generic host bridge ID (QEMU's "gpex"): a bridge that needs no driver. */
	pci_device_init(&bus->host_bridge, "host-bridge", 0x1b36, 0x0008, 0x060000, 0x1af4, 0x1100);
	bus->host_bridge.bus = bus;
	bus->slots[0] = &bus->host_bridge;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	pthread_mutex_destroy(&bus->intx_lock);
	pthread_mutex_destroy(&bus->lock);
}

int pci_bus_add(struct pci_bus *bus, struct pci_device *d)
{
	uint64_t next = bus->mmio_next;
	int slot = 0;

	while (slot < PCI_MAX_SLOTS && bus->slots[slot])
		slot++;
	if (slot == PCI_MAX_SLOTS)
		return -ENOSPC;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint64_t size = d->bars[i].size;
		if (!size)
			continue;
		next = (next + size - 1) & ~(size - 1);
		if (next + size > bus->mmio_end || next + size < next)
			return -ENOSPC;
		bar_assign(d, i, next);
		next += size;
	}
	bus->mmio_next = next;
	d->slot = (uint8_t)slot;
	d->bus = bus;
	if (d->cfg[PCI_INTERRUPT_PIN]) {
		d->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
		d->intx = bus->intx_proto;
		d->intx.gsi = pci_intx_gsi(d->slot, 0);
		d->cfg[PCI_INTERRUPT_LINE] = (uint8_t)d->intx.gsi;
	}
	bus->slots[slot] = d;
	return slot;
}

static void cfg_write(struct pci_bus *bus, struct pci_device *d, uint32_t off, const uint8_t *data,
		      uint32_t len)
{
	bool touches_bars = false;

	pthread_mutex_lock(&bus->intx_lock);
	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = off + i;
		d->cfg[o] = (uint8_t)((d->cfg[o] & ~d->wmask[o]) | (data[i] & d->wmask[o]));
		if (o < PCI_COMMAND + 2 || (o >= PCI_BASE_ADDRESS_0 && o < PCI_BASE_ADDRESS_0 + 24))
			touches_bars = true;
	}
	/* INTx disabled while asserted: the line drops. */
	if (d->bus && (pci_cfg_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_OFF))
		intx_update(d, false);
	pthread_mutex_unlock(&bus->intx_lock);
	if (touches_bars)
		update_bars(d);
	if (d->ops && d->ops->cfg_written)
		d->ops->cfg_written(d, off, len);
}

void pci_cfg_access(struct pci_bus *bus, uint32_t devfn, uint32_t off, uint8_t *data, uint32_t len,
		    bool is_write)
{
	uint32_t slot = devfn >> 3, func = devfn & 7;
	struct pci_device *d;

	if ((len != 1 && len != 2 && len != 4) || (off & (len - 1)))
		goto unclaimed; /* not a valid configuration cycle */
	pthread_mutex_lock(&bus->lock);
	d = slot < PCI_MAX_SLOTS && func == 0 ? bus->slots[slot] : NULL;
	if (!d) {
		pthread_mutex_unlock(&bus->lock);
		goto unclaimed;
	}
	if (off >= PCI_CFG_SIZE) {
		if (!is_write)
			memset(data, 0, len); /* no extended capabilities */
	} else if (is_write) {
		cfg_write(bus, d, off, data, len);
	} else {
		if (d->ops && d->ops->cfg_before_read)
			d->ops->cfg_before_read(d, off, len);
		pthread_mutex_lock(&bus->intx_lock);
		memcpy(data, &d->cfg[off], len);
		pthread_mutex_unlock(&bus->intx_lock);
	}
	pthread_mutex_unlock(&bus->lock);
	return;
unclaimed:
	if (!is_write)
		memset(data, 0xff, len);
}

/* 0xCF8: CONFIG_ADDRESS (enable bit 31, bus 23:16, devfn 15:8, register 7:2); 0xCFC: data. */
void pci_cfg_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *bus = opaque;
	uint32_t addr;

	if (offset < 4) {
		if (offset != 0 || len != 4) {
			if (!is_write)
				memset(data, 0xff, len);
		} else if (is_write) {
			memcpy(&addr, data, 4);
			__atomic_store_n(&bus->config_address, addr, __ATOMIC_RELAXED);
		} else {
			addr = __atomic_load_n(&bus->config_address, __ATOMIC_RELAXED);
			memcpy(data, &addr, 4);
		}
		return;
	}
	addr = __atomic_load_n(&bus->config_address, __ATOMIC_RELAXED);
	if (!(addr & 0x80000000u) || ((addr >> 16) & 0xff) != 0 || offset - 4 + len > 4) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pci_cfg_access(bus, (addr >> 8) & 0xff, (addr & 0xfc) + (uint32_t)(offset - 4), data, len,
		       is_write);
}

/* ECAM: bus 27:20, devfn 19:12, register 11:0. The window covers bus 0 only. */
void pci_ecam_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	if (offset >> 20) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pci_cfg_access(opaque, (uint32_t)(offset >> 12) & 0xff, (uint32_t)offset & 0xfff, data, len,
		       is_write);
}

void pci_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *bus = opaque;
	uint64_t addr = bus->mmio_base + offset;
	bus_io_fn fn = NULL;
	void *dev = NULL;
	uint64_t bar_off = 0;

	pthread_mutex_lock(&bus->lock);
	for (int s = 0; s < PCI_MAX_SLOTS && !fn; s++) {
		const struct pci_device *d = bus->slots[s];
		for (int i = 0; d && i < PCI_NUM_BARS; i++) {
			const struct pci_bar *b = &d->bars[i];
			if (b->decoded && addr >= b->decoded &&
			    addr - b->decoded + len <= b->size) {
				fn = b->fn;
				dev = b->opaque;
				bar_off = addr - b->decoded;
				break;
			}
		}
	}
	pthread_mutex_unlock(&bus->lock);
	if (fn) {
		fn(dev, bar_off, data, len, is_write);
		return;
	}
	if (!is_write)
		memset(data, 0xff, len);
	log_once(log_debug, "pci: access at %#llx outside every BAR", (unsigned long long)addr);
}
