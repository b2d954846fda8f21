/* A polling virtio 1.x PCI driver for test guests: see virtio.h. */
#include "virtio.h"

/* PCI configuration space (bus 0, through ECAM). */
#define PCI_VENDOR	   0x00
#define PCI_DEVICE	   0x02
#define PCI_COMMAND	   0x04
#define PCI_STATUS	   0x06
#define PCI_BAR0	   0x10
#define PCI_SUBSYS_ID	   0x2e
#define PCI_CAP_PTR	   0x34
#define PCI_CMD_MEM	   (1u << 1)
#define PCI_CMD_MASTER	   (1u << 2)
#define PCI_STATUS_CAPS	   (1u << 4)
#define PCI_CAP_VENDOR	   0x09
#define VIRTIO_VENDOR	   0x1af4
#define VIRTIO_MODERN_BASE 0x1040	/* + device type */
#define VIRTIO_LEGACY_BASE 0x0fff	/* + device type: transitional devices */
#define DEFAULT_ECAM	   0xe0000000ul /* kvmbox's, and QEMU microvm,pcie=on's */
#define DEFAULT_MMIO32	   0xc0000000ul /* the 32-bit window both route to PCI */
#define MMIO32_WINDOW_END  0xe0000000ul

/* virtio-pci (virtio 1.2, 4.1.4). */
#define VIRTIO_CAP_COMMON    1
#define VIRTIO_CAP_NOTIFY    2
#define VIRTIO_CAP_DEVICE    4
#define COMMON_DFSELECT	     0x00
#define COMMON_DF	     0x04
#define COMMON_GFSELECT	     0x08
#define COMMON_GF	     0x0c
#define COMMON_STATUS	     0x14
#define COMMON_Q_SELECT	     0x16
#define COMMON_Q_SIZE	     0x18
#define COMMON_Q_MSIX	     0x1a
#define COMMON_Q_ENABLE	     0x1c
#define COMMON_Q_NOFF	     0x1e
#define COMMON_Q_DESC	     0x20
#define COMMON_Q_DRIVER	     0x28
#define COMMON_Q_DEVICE	     0x30
#define STATUS_ACK	     1
#define STATUS_DRIVER	     2
#define STATUS_DRIVER_OK     4
#define STATUS_FEATURES_OK   8
#define AVAIL_F_NO_INTERRUPT 1
#define USED_F_NO_NOTIFY     1
#define NO_VECTOR	     0xffff

static uint64_t ecam_base(void)
{
	const struct acpi_header *mcfg = acpi_find_table("MCFG");
	uint64_t base;

	if (cmdline_u64("ecam", &base))
		return base;
	/* MCFG: header, 8 reserved bytes, then {base u64, segment u16, start bus, end bus} */
	if (mcfg && mcfg->length >= sizeof(*mcfg) + 8 + 16)
		return *(const uint64_t *)((const uint8_t *)(mcfg + 1) + 8);
	return DEFAULT_ECAM;
}

static bool is_type(uint64_t cfg, uint16_t type)
{
	uint16_t device = mmio_read16(cfg + PCI_DEVICE);

	return mmio_read16(cfg + PCI_VENDOR) == VIRTIO_VENDOR &&
	       (device == VIRTIO_MODERN_BASE + type ||
		(device == VIRTIO_LEGACY_BASE + type && mmio_read16(cfg + PCI_SUBSYS_ID) == type));
}

/* Reads each BAR; gives unassigned memory BARs naturally aligned addresses from *next. */
static bool setup_bars(struct virtio_dev *d, uint64_t *next)
{
	for (int i = 0; i < 6; i++) {
		uint64_t reg = d->cfg + PCI_BAR0 + 4 * i;
		uint32_t lo = mmio_read32(reg);
		bool is64 = (lo & 7) == 4;
		uint64_t addr, size;

		if (lo & 1)
			continue; /* I/O BAR: not used (I/O space stays disabled) */
		addr = (lo & ~0xful) | (is64 ? (uint64_t)mmio_read32(reg + 4) << 32 : 0);
		if (!addr) {
			mmio_write32(reg, ~0u);
			size = (~(uint64_t)(mmio_read32(reg) & ~0xfu) + 1) & 0xffffffffu;
			if (size && size <= 0x10000000) {
				addr = (*next + size - 1) & ~(size - 1);
				if (addr + size > MMIO32_WINDOW_END) {
					report(false, "BAR%d (%lu bytes) fits the PCI window", i,
					       size);
					return false;
				}
				*next = addr + size;
			}
			mmio_write32(reg, (uint32_t)addr | (lo & 0xf));
			if (is64)
				mmio_write32(reg + 4, 0);
		}
		d->bar[i] = addr;
		if (is64)
			i++;
	}
	return true;
}

/* Walks the vendor capabilities for the common, notify and device structures. */
static void find_caps(struct virtio_dev *d)
{
	if (!(mmio_read16(d->cfg + PCI_STATUS) & PCI_STATUS_CAPS))
		return;
	for (uint8_t off = mmio_read8(d->cfg + PCI_CAP_PTR) & ~3, n = 0; off && n < 48;
	     off = mmio_read8(d->cfg + off + 1) & ~3, n++) {
		uint64_t cap = d->cfg + off;
		uint8_t type = mmio_read8(cap + 3), bar = mmio_read8(cap + 4);
		uint64_t addr;

		if (mmio_read8(cap) != PCI_CAP_VENDOR || bar > 5 || !d->bar[bar])
			continue;
		addr = d->bar[bar] + mmio_read32(cap + 8);
		if (type == VIRTIO_CAP_COMMON && !d->common)
			d->common = addr;
		else if (type == VIRTIO_CAP_DEVICE && !d->device)
			d->device = addr;
		else if (type == VIRTIO_CAP_NOTIFY && !d->notify) {
			d->notify = addr;
			d->notify_mult = mmio_read32(cap + 16);
		}
	}
}

bool virtio_pci_find(struct virtio_dev *d, uint16_t type)
{
	uint64_t ecam = ecam_base(), next = DEFAULT_MMIO32;

	memset(d, 0, sizeof(*d));
	cmdline_u64("mmio32", &next);
	for (uint8_t slot = 0; slot < 32 && !d->cfg; slot++)
		if (is_type(ecam + ((uint64_t)slot << 15), type)) {
			d->cfg = ecam + ((uint64_t)slot << 15);
			d->slot = slot;
		}
	if (!d->cfg) {
		report(false, "a virtio device of type %u on PCI bus 0 (ECAM at 0x%lx)", type,
		       ecam);
		return false;
	}
	if (!setup_bars(d, &next))
		return false;
	mmio_write16(d->cfg + PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
	find_caps(d);
	if (!d->common || !d->notify || !d->device) {
		report(false, "virtio-pci capabilities (common 0x%lx notify 0x%lx device 0x%lx)",
		       d->common, d->notify, d->device);
		return false;
	}
	return true;
}

static uint64_t device_features(const struct virtio_dev *d)
{
	mmio_write32(d->common + COMMON_DFSELECT, 0);
	uint64_t lo = mmio_read32(d->common + COMMON_DF);
	mmio_write32(d->common + COMMON_DFSELECT, 1);
	return lo | (uint64_t)mmio_read32(d->common + COMMON_DF) << 32;
}

bool virtio_negotiate(struct virtio_dev *d, uint64_t wanted)
{
	uint64_t st = d->common + COMMON_STATUS, offered;

	mmio_write8(st, 0);
	if (mmio_read8(st) != 0)
		return false;
	mmio_write8(st, STATUS_ACK);
	mmio_write8(st, STATUS_ACK | STATUS_DRIVER);
	offered = device_features(d);
	if (!(offered & 1ul << VIRTIO_F_VERSION_1))
		return false;
	d->features = offered & (wanted | 1ul << VIRTIO_F_VERSION_1);
	for (uint32_t half = 0; half < 2; half++) {
		mmio_write32(d->common + COMMON_GFSELECT, half);
		mmio_write32(d->common + COMMON_GF, (uint32_t)(d->features >> (32 * half)));
	}
	mmio_write8(st, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
	return mmio_read8(st) & STATUS_FEATURES_OK;
}

/* 64-bit fields are written as two 32-bit halves (virtio 1.2, 4.1.3.1). */
static void write64_halves(uint64_t addr, uint64_t v)
{
	mmio_write32(addr, (uint32_t)v);
	mmio_write32(addr + 4, (uint32_t)(v >> 32));
}

bool vq_setup(struct virtio_dev *d, struct vq *q, uint16_t index, uint16_t max_size)
{
	uint16_t max;

	mmio_write16(d->common + COMMON_Q_SELECT, index);
	max = mmio_read16(d->common + COMMON_Q_SIZE);
	if (max_size > VQ_MAX)
		max_size = VQ_MAX;
	for (q->size = max_size; q->size > max; q->size /= 2)
		;
	if (q->size < 2)
		return false;
	q->index = index;
	q->event_idx = d->features & 1ul << VIRTIO_F_EVENT_IDX;
	q->avail_idx = q->used_seen = q->last_notified = 0;
	/* We poll: no interrupts (used_event is kept behind us, see vq_poll). */
	q->avail[0] = q->event_idx ? 0 : AVAIL_F_NO_INTERRUPT;
	q->avail[1] = 0;
	q->avail[2 + q->size] = 0xffff;
	mmio_write16(d->common + COMMON_Q_SIZE, q->size);
	mmio_write16(d->common + COMMON_Q_MSIX, NO_VECTOR);
	write64_halves(d->common + COMMON_Q_DESC, (uint64_t)q->desc);
	write64_halves(d->common + COMMON_Q_DRIVER, (uint64_t)q->avail);
	write64_halves(d->common + COMMON_Q_DEVICE, (uint64_t)q->used);
	q->notify = d->notify + (uint64_t)mmio_read16(d->common + COMMON_Q_NOFF) * d->notify_mult;
	mmio_write16(d->common + COMMON_Q_ENABLE, 1);
	return true;
}

void virtio_driver_ok(struct virtio_dev *d)
{
	mmio_write8(d->common + COMMON_STATUS,
		    STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
}

uint32_t virtio_cfg_read32(const struct virtio_dev *d, uint32_t off)
{
	return mmio_read32(d->device + off);
}

uint8_t virtio_cfg_read8(const struct virtio_dev *d, uint32_t off)
{
	return mmio_read8(d->device + off);
}

/* ---- ring operations ---- */

void vq_add(struct vq *q, uint16_t head)
{
	q->avail[2 + q->avail_idx % q->size] = head;
	q->avail_idx++;
}

bool vq_unpublished(const struct vq *q)
{
	return q->avail_idx != q->last_notified;
}

void vq_publish(struct vq *q)
{
	uint16_t old = q->last_notified, now = q->avail_idx;
	volatile uint16_t *avail_event = (volatile uint16_t *)&q->used[1 + 2 * q->size];
	bool kick;

	barrier(); /* descriptors and ring entries before the index (x86 keeps store order) */
	q->avail[1] = now;
	asm volatile("mfence" ::: "memory"); /* the index before reading the device's wishes */
	if (q->event_idx)
		kick = (uint16_t)(now - *avail_event - 1) < (uint16_t)(now - old);
	else
		kick = !(q->used[0] & USED_F_NO_NOTIFY);
	if (kick)
		mmio_write16(q->notify, q->index);
	q->last_notified = now;
}

bool vq_has_used(const struct vq *q)
{
	return (uint16_t)(q->used[0] >> 16) != q->used_seen;
}

bool vq_poll(struct vq *q, uint32_t *id, uint32_t *len)
{
	uint32_t slot;

	if (!vq_has_used(q))
		return false;
	barrier(); /* the index before the entry it covers */
	slot = q->used_seen % q->size;
	*id = q->used[1 + 2 * slot];
	*len = q->used[2 + 2 * slot];
	q->used_seen++;
	q->avail[2 + q->size] = (uint16_t)(q->used_seen - 1); /* used_event: never reached */
	return true;
}
