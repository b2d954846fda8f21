/*
 * Tests for PCI bus 0 (src/pci/pci.c): configuration space through pci_cfg_access, the
 * 0xCF8/0xCFC ports and ECAM; absent slots and functions; BAR sizing, decoding and moving as
 * a guest's PCI code does it; read-only registers; the capability list; and INTx as a
 * wire-OR of the devices sharing a pin. Devices are fakes that record what reaches them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pci/pci.h"

#define MMIO_BASE 0xe0000000ULL
#define MMIO_END  0xf0000000ULL
#define NDEVS	  10

#define DEVFN(slot)	      ((uint32_t)(slot) << 3)
#define CF8(slot, reg)	      (0x80000000u | (uint32_t)(slot) << 11 | (uint32_t)(reg))
#define ECAM(slot, func, reg) ((uint64_t)(slot) << 15 | (uint64_t)(func) << 12 | (uint64_t)(reg))

/* A device whose BARs record the accesses that reach them and whose hooks count calls. */
struct fake_dev {
	struct pci_device pci;
	int bar_calls;
	int bar_index; /* which BAR the last access came through */
	uint64_t bar_offset;
	uint32_t bar_len;
	bool bar_write;
	uint64_t bar_data;
	int moved_calls;
	int moved_bar;
	uint64_t moved_addr;
	int written_calls;
	uint32_t written_off, written_len;
	int before_read_calls;
	uint32_t before_read_off, before_read_len;
};

struct bar_ctx {
	struct fake_dev *dev;
	int bar;
};

/* The levels an INTx line was driven to, in order. */
struct irq_log {
	int n;
	uint32_t gsi[64];
	int level[64];
};

struct fixture {
	struct pci_bus bus;
	struct irq_log irq;
	struct fake_dev devs[NDEVS];
	struct bar_ctx bar_ctx[NDEVS][PCI_NUM_BARS];
};

static void fake_bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct bar_ctx *ctx = opaque;
	struct fake_dev *d = ctx->dev;

	d->bar_calls++;
	d->bar_index = ctx->bar;
	d->bar_offset = offset;
	d->bar_len = len;
	d->bar_write = is_write;
	if (is_write) {
		d->bar_data = 0;
		memcpy(&d->bar_data, data, len);
	} else {
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(0xa0 + ctx->bar * 0x10 + offset + i);
	}
}

static void fake_bar_moved(struct pci_device *pd, int bar, uint64_t addr)
{
	struct fake_dev *d = pd->opaque;

	d->moved_calls++;
	d->moved_bar = bar;
	d->moved_addr = addr;
}

static void fake_cfg_written(struct pci_device *pd, uint32_t off, uint32_t len)
{
	struct fake_dev *d = pd->opaque;

	d->written_calls++;
	d->written_off = off;
	d->written_len = len;
}

static void fake_cfg_before_read(struct pci_device *pd, uint32_t off, uint32_t len)
{
	struct fake_dev *d = pd->opaque;

	d->before_read_calls++;
	d->before_read_off = off;
	d->before_read_len = len;
}

static const struct pci_device_ops fake_ops = {
    .cfg_written = fake_cfg_written,
    .cfg_before_read = fake_cfg_before_read,
    .bar_moved = fake_bar_moved,
};

static void irq_record(void *ctx, uint32_t gsi, int level)
{
	struct irq_log *log = ctx;

	assert_true(log->n < 64);
	log->gsi[log->n] = gsi;
	log->level[log->n] = level;
	log->n++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line proto = {.set_level = irq_record, .gsi = 99};

	assert_non_null(f);
	proto.ctx = &f->irq;
	pci_bus_init(&f->bus, MMIO_BASE, MMIO_END, &proto);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_bus_destroy(&f->bus);
	free(f);
	return 0;
}

/* Fills devs[i] (not yet on the bus) with IDs derived from i and the fake hooks. */
static struct fake_dev *make_dev(struct fixture *f, int i, uint32_t class)
{
	struct fake_dev *d = &f->devs[i];

	pci_device_init(&d->pci, "fake", 0x1234, (uint16_t)(0x5600 + i), class, 0x1af4,
			(uint16_t)(0x1100 + i));
	d->pci.ops = &fake_ops;
	d->pci.opaque = d;
	return d;
}

static void set_bar(struct fixture *f, int i, int bar, uint64_t size, bool mem64)
{
	f->bar_ctx[i][bar] = (struct bar_ctx){.dev = &f->devs[i], .bar = bar};
	pci_device_set_bar(&f->devs[i].pci, bar, size, mem64, fake_bar_io, &f->bar_ctx[i][bar]);
}

static int add(struct fixture *f, int i)
{
	return pci_bus_add(&f->bus, &f->devs[i].pci);
}

/* --- configuration access helpers ------------------------------------------------------- */

static uint32_t cfg_read(struct fixture *f, uint32_t devfn, uint32_t off, uint32_t len)
{
	uint8_t b[4] = {0x5a, 0x5a, 0x5a, 0x5a};
	uint32_t v = 0;

	pci_cfg_access(&f->bus, devfn, off, b, len, false);
	memcpy(&v, b, len);
	return v;
}

static void cfg_write(struct fixture *f, uint32_t devfn, uint32_t off, uint32_t len, uint32_t v)
{
	uint8_t b[4];

	memcpy(b, &v, 4);
	pci_cfg_access(&f->bus, devfn, off, b, len, true);
}

static uint64_t port_io(struct fixture *f, uint64_t port_off, uint32_t len, bool is_write,
			uint64_t v)
{
	uint8_t b[8];

	memcpy(b, &v, 8);
	if (!is_write)
		memset(b, 0x5a, sizeof(b));
	pci_cfg_port_io(&f->bus, port_off, b, len, is_write);
	v = 0;
	memcpy(&v, b, len);
	return v;
}

static uint32_t ecam_read(struct fixture *f, uint64_t off, uint32_t len)
{
	uint8_t b[4] = {0x5a, 0x5a, 0x5a, 0x5a};
	uint32_t v = 0;

	pci_ecam_io(&f->bus, off, b, len, false);
	memcpy(&v, b, len);
	return v;
}

static uint64_t mmio(struct fixture *f, uint64_t gpa, uint32_t len, bool is_write, uint64_t v)
{
	uint8_t b[8];

	memcpy(b, &v, 8);
	if (!is_write)
		memset(b, 0x5a, sizeof(b));
	pci_mmio_io(&f->bus, gpa - MMIO_BASE, b, len, is_write);
	v = 0;
	memcpy(&v, b, len);
	return v;
}

static uint32_t ones(uint32_t len)
{
	return len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
}

/* --- identification --------------------------------------------------------------------- */

static void test_pci__host_bridge_in_slot_0(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 0, PCI_VENDOR_ID, 2), 0x1b36);
	assert_int_equal(cfg_read(f, 0, PCI_DEVICE_ID, 2), 0x0008);
	assert_int_equal(cfg_read(f, 0, PCI_CLASS_DEVICE, 2), 0x0600);
	assert_int_equal(cfg_read(f, 0, PCI_HEADER_TYPE, 1), 0);
}

static void test_pci__ids_and_class_through_cfg_access(void **state)
{
	struct fixture *f = *state;

	make_dev(f, 1, 0x010802);
	f->devs[1].pci.cfg[PCI_REVISION_ID] = 0x07;
	assert_int_equal(add(f, 1), 1);
	assert_int_equal(cfg_read(f, DEVFN(1), 0, 4), 0x56011234);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_VENDOR_ID, 2), 0x1234);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_DEVICE_ID, 2), 0x5601);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_VENDOR_ID + 1, 1), 0x12);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_REVISION_ID, 4), 0x01080207);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_CLASS_PROG, 1), 0x02);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_CLASS_DEVICE, 2), 0x0108);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11011af4);
	/* Every read goes past the device's hook first. */
	assert_int_equal(f->devs[1].before_read_calls, 8);
	assert_int_equal(f->devs[1].before_read_off, PCI_SUBSYSTEM_VENDOR_ID);
	assert_int_equal(f->devs[1].before_read_len, 4);
}

static void test_pci__ids_through_cf8_cfc_byte_word_dword(void **state)
{
	struct fixture *f = *state;

	make_dev(f, 1, 0x020000);
	assert_int_equal(add(f, 1), 1);

	port_io(f, 0, 4, true, CF8(1, PCI_VENDOR_ID));
	assert_int_equal(port_io(f, 0, 4, false, 0), CF8(1, 0));
	assert_int_equal(port_io(f, 4, 4, false, 0), 0x56011234); /* 0xCFC dword */
	assert_int_equal(port_io(f, 4, 2, false, 0), 0x1234);	  /* 0xCFC word */
	assert_int_equal(port_io(f, 6, 2, false, 0), 0x5601);	  /* 0xCFE word */
	assert_int_equal(port_io(f, 4, 1, false, 0), 0x34);	  /* 0xCFC..0xCFF bytes */
	assert_int_equal(port_io(f, 5, 1, false, 0), 0x12);
	assert_int_equal(port_io(f, 6, 1, false, 0), 0x01);
	assert_int_equal(port_io(f, 7, 1, false, 0), 0x56);

	/* The class code register, dword 2; the low two address bits are ignored. */
	port_io(f, 0, 4, true, CF8(1, PCI_REVISION_ID) | 3);
	assert_int_equal(port_io(f, 4, 4, false, 0), 0x02000000);
	assert_int_equal(port_io(f, 7, 1, false, 0), 0x02);
	assert_int_equal(port_io(f, 6, 2, false, 0), 0x0200);

	/* Writes through 0xCFC reach the device: the interrupt line register. */
	port_io(f, 0, 4, true, CF8(1, PCI_INTERRUPT_LINE));
	port_io(f, 4, 1, true, 0x0b);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_INTERRUPT_LINE, 1), 0x0b);
	assert_int_equal(f->devs[1].written_calls, 1);
	assert_int_equal(f->devs[1].written_off, PCI_INTERRUPT_LINE);
	assert_int_equal(f->devs[1].written_len, 1);
}

static void test_pci__cf8_latch_needs_dword_and_enable_bit(void **state)
{
	struct fixture *f = *state;

	make_dev(f, 1, 0x020000);
	assert_int_equal(add(f, 1), 1);
	port_io(f, 0, 4, true, CF8(1, 0));

	/* Narrow accesses to 0xCF8 neither change the latch nor read it. */
	port_io(f, 0, 1, true, 0);
	port_io(f, 2, 2, true, 0);
	assert_int_equal(port_io(f, 0, 4, false, 0), CF8(1, 0));
	assert_int_equal(port_io(f, 0, 2, false, 0), 0xffff);
	assert_int_equal(port_io(f, 3, 1, false, 0), 0xff);

	/* Without the enable bit, or for another bus, the data port reads all ones. */
	port_io(f, 0, 4, true, CF8(1, 0) & ~0x80000000u);
	assert_int_equal(port_io(f, 4, 4, false, 0), 0xffffffff);
	port_io(f, 0, 4, true, CF8(1, 0) | 1u << 16);
	assert_int_equal(port_io(f, 4, 4, false, 0), 0xffffffff);
	port_io(f, 0, 4, true, CF8(1, 0) | 0xffu << 16);
	assert_int_equal(port_io(f, 4, 2, false, 0), 0xffff);
	/* ... and writes go nowhere. */
	port_io(f, 0, 4, true, (CF8(1, PCI_INTERRUPT_LINE) | 1u << 16));
	port_io(f, 4, 1, true, 0x42);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_INTERRUPT_LINE, 1), 0);
	assert_int_equal(f->devs[1].written_calls, 0);

	/* An access that would run past 0xCFF, or is misaligned for its width, is unclaimed. */
	port_io(f, 0, 4, true, CF8(1, 0));
	assert_int_equal(port_io(f, 6, 4, false, 0), 0xffffffff);
	assert_int_equal(port_io(f, 5, 2, false, 0), 0xffff);
}

static void test_pci__ecam_reads_ids_and_zero_extended_space(void **state)
{
	struct fixture *f = *state;

	make_dev(f, 1, 0x020000);
	assert_int_equal(add(f, 1), 1);
	assert_int_equal(ecam_read(f, ECAM(0, 0, 0), 4), 0x00081b36);
	assert_int_equal(ecam_read(f, ECAM(1, 0, 0), 4), 0x56011234);
	assert_int_equal(ecam_read(f, ECAM(1, 0, 2), 2), 0x5601);
	assert_int_equal(ecam_read(f, ECAM(1, 0, PCI_CLASS_DEVICE + 1), 1), 0x02);
	/* PCIe extended configuration space exists but holds no capabilities. */
	assert_int_equal(ecam_read(f, ECAM(1, 0, 0x100), 4), 0);
	assert_int_equal(ecam_read(f, ECAM(1, 0, 0xffc), 4), 0);
	/* Bus 1 and up: nothing there. */
	assert_int_equal(ecam_read(f, 1ULL << 20 | ECAM(1, 0, 0), 4), 0xffffffff);
	assert_int_equal(ecam_read(f, 0xffULL << 20, 2), 0xffff);
	/* Writes through ECAM land like any other. */
	{
		uint8_t b = 0x0a;
		pci_ecam_io(&f->bus, ECAM(1, 0, PCI_INTERRUPT_LINE), &b, 1, true);
	}
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_INTERRUPT_LINE, 1), 0x0a);
}

static void test_pci__absent_slots_and_functions_read_all_ones(void **state)
{
	struct fixture *f = *state;
	const uint32_t lens[] = {1, 2, 4};

	make_dev(f, 1, 0x020000);
	assert_int_equal(add(f, 1), 1);
	for (size_t i = 0; i < 3; i++) {
		uint32_t len = lens[i];
		assert_int_equal(cfg_read(f, DEVFN(2), 0, len), ones(len));
		assert_int_equal(cfg_read(f, DEVFN(31), 0, len), ones(len));
		/* Functions 1-7 of a present device. */
		assert_int_equal(cfg_read(f, DEVFN(1) | 1, 0, len), ones(len));
		assert_int_equal(cfg_read(f, DEVFN(1) | 7, 0, len), ones(len));
		assert_int_equal(cfg_read(f, DEVFN(0) | 3, 0, len), ones(len));
		assert_int_equal(ecam_read(f, ECAM(5, 0, 0), len), ones(len));
		assert_int_equal(ecam_read(f, ECAM(1, 2, 0), len), ones(len));
	}
	assert_int_equal(cfg_read(f, 0xff, 0x3c, 4), 0xffffffff);
	assert_int_equal(cfg_read(f, 0x1000, 0, 4), 0xffffffff); /* devfn past 255 */
	/* Writes to nothing are dropped without a trace. */
	cfg_write(f, DEVFN(2), PCI_COMMAND, 2, 0xffff);
	cfg_write(f, DEVFN(1) | 1, PCI_INTERRUPT_LINE, 1, 0x33);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_INTERRUPT_LINE, 1), 0);
	assert_int_equal(f->devs[1].written_calls, 0);
	/* Through the ports too. */
	port_io(f, 0, 4, true, CF8(7, 0));
	assert_int_equal(port_io(f, 4, 4, false, 0), 0xffffffff);
	port_io(f, 0, 4, true, CF8(1, 0) | 2u << 8);
	assert_int_equal(port_io(f, 4, 2, false, 0), 0xffff);
}

static void test_pci__invalid_cfg_cycles_read_all_ones(void **state)
{
	struct fixture *f = *state;
	uint8_t b[8];

	make_dev(f, 1, 0x020000);
	assert_int_equal(add(f, 1), 1);
	/* Misaligned for the width, or a width other than 1, 2 or 4. */
	assert_int_equal(cfg_read(f, DEVFN(1), 1, 2), 0xffff);
	assert_int_equal(cfg_read(f, DEVFN(1), 2, 4), 0xffffffff);
	memset(b, 0, sizeof(b));
	pci_cfg_access(&f->bus, DEVFN(1), 0, b, 3, false);
	assert_int_equal(b[0] & b[1] & b[2], 0xff);
	memset(b, 0, sizeof(b));
	pci_cfg_access(&f->bus, DEVFN(1), 0, b, 8, false);
	for (int i = 0; i < 8; i++)
		assert_int_equal(b[i], 0xff);
	cfg_write(f, DEVFN(1), PCI_INTERRUPT_LINE - 1, 2, 0xffff);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_INTERRUPT_LINE, 1), 0);
	assert_int_equal(f->devs[1].before_read_calls, 1);
	assert_int_equal(f->devs[1].written_calls, 0);
}

/* --- read-only registers ---------------------------------------------------------------- */

static void test_pci__read_only_registers_ignore_writes(void **state)
{
	struct fixture *f = *state;
	uint8_t before[PCI_CFG_SIZE], after[PCI_CFG_SIZE];

	make_dev(f, 1, 0x010802);
	f->devs[1].pci.cfg[PCI_INTERRUPT_PIN] = 1;
	assert_int_equal(add(f, 1), 1);
	memcpy(before, f->devs[1].pci.cfg, sizeof(before));

	/* Every dword written with all ones, then with zeros. */
	for (uint32_t off = 0; off < PCI_CFG_SIZE; off += 4)
		cfg_write(f, DEVFN(1), off, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_VENDOR_ID, 4), 0x56011234);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_REVISION_ID, 4), 0x01080200);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11011af4);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_CAPABILITY_LIST, 1), 0);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_STATUS, 2), 0);
	/* Command: only I/O, memory, bus master and INTx disable are implemented. */
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			     PCI_COMMAND_INTX_OFF);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_INTERRUPT_LINE, 1), 0xff);

	for (uint32_t off = 0; off < PCI_CFG_SIZE; off += 4)
		cfg_write(f, DEVFN(1), off, 4, 0);
	memcpy(after, f->devs[1].pci.cfg, sizeof(after));
	after[PCI_INTERRUPT_LINE] = before[PCI_INTERRUPT_LINE];
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_INTERRUPT_LINE, 1), 0);

	/* Byte and word writes to the IDs do nothing either. */
	cfg_write(f, DEVFN(1), PCI_DEVICE_ID, 2, 0);
	cfg_write(f, DEVFN(1), PCI_VENDOR_ID + 1, 1, 0);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_VENDOR_ID, 4), 0x56011234);
	/* The host bridge's IDs too. */
	cfg_write(f, 0, 0, 4, 0);
	assert_int_equal(cfg_read(f, 0, 0, 4), 0x00081b36);
}

/* --- BARs --------------------------------------------------------------------------------- */

static void test_pci__bars_assigned_naturally_aligned_in_window(void **state)
{
	struct fixture *f = *state;

	make_dev(f, 1, 0x020000);
	set_bar(f, 1, 0, 0x100, false);
	set_bar(f, 1, 1, 0x4000, false);
	make_dev(f, 2, 0x020000);
	set_bar(f, 2, 2, 0x10000, true);
	assert_int_equal(add(f, 1), 1);
	assert_int_equal(add(f, 2), 2);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4), MMIO_BASE);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 4, 4), MMIO_BASE + 0x4000);
	/* A 64-bit BAR: type bits in the low dword, the upper half in the next register. */
	assert_int_equal(cfg_read(f, DEVFN(2), PCI_BASE_ADDRESS_0 + 8, 4),
			 (MMIO_BASE + 0x10000) | PCI_BAR_MEM_TYPE_64);
	assert_int_equal(cfg_read(f, DEVFN(2), PCI_BASE_ADDRESS_0 + 12, 4), 0);
	/* Unused BARs read 0 and stay 0. */
	cfg_write(f, DEVFN(2), PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, DEVFN(2), PCI_BASE_ADDRESS_0, 4), 0);
	cfg_write(f, DEVFN(2), PCI_BASE_ADDRESS_0 + 20, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, DEVFN(2), PCI_BASE_ADDRESS_0 + 20, 4), 0);
	/* Decoding is off until the guest turns memory space on. */
	assert_int_equal(f->devs[1].pci.bars[0].decoded + f->devs[1].pci.bars[1].decoded, 0);
	assert_int_equal(f->devs[1].moved_calls, 0);
}

static void test_pci__bar_sizing_32bit(void **state)
{
	struct fixture *f = *state;
	uint32_t orig;

	make_dev(f, 1, 0x020000);
	set_bar(f, 1, 0, 0x2000, false);
	assert_int_equal(add(f, 1), 1);
	orig = cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4);
	assert_int_equal(orig, MMIO_BASE);

	/* What Linux's __pci_read_base does: all ones, read back the size mask, restore. */
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4), ~(0x2000u - 1));
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4, orig);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4), orig);
	/* Low bits below the size are hard-wired to 0. */
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4, orig | 0x1ff0);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4), orig);
	/* Sizing with decoding off did not move anything. */
	assert_int_equal(f->devs[1].moved_calls, 0);
}

static void test_pci__bar_sizing_64bit(void **state)
{
	struct fixture *f = *state;
	uint32_t lo, hi;

	make_dev(f, 1, 0x020000);
	set_bar(f, 1, 2, 0x4000, true);
	assert_int_equal(add(f, 1), 1);
	lo = cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 8, 4);
	hi = cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 12, 4);
	assert_int_equal(lo, MMIO_BASE | PCI_BAR_MEM_TYPE_64);
	assert_int_equal(hi, 0);

	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 8, 4, 0xffffffff);
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 12, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 8, 4),
			 ~(0x4000u - 1) | PCI_BAR_MEM_TYPE_64);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 12, 4), 0xffffffff);
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 8, 4, lo);
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 12, 4, hi);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 8, 4), lo);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 12, 4), hi);
	/* The type bits cannot be cleared. */
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 8, 4, 0);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 8, 4), PCI_BAR_MEM_TYPE_64);
}

static void test_pci__bar_sizing_64bit_larger_than_4g(void **state)
{
	struct fixture *f = *state;

	/* A window above 4 GiB big enough for an 8 GiB BAR. */
	pci_bus_destroy(&f->bus);
	pci_bus_init(&f->bus, 0x800000000ULL, 0x1000000000ULL, NULL);
	make_dev(f, 1, 0x020000);
	set_bar(f, 1, 0, 8ULL << 30, true);
	assert_int_equal(add(f, 1), 1);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4), PCI_BAR_MEM_TYPE_64);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 4, 4), 0x8);
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4), PCI_BAR_MEM_TYPE_64);
	assert_int_equal(cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 4, 4), 0xfffffffe);
}

static void test_pci__bar_decodes_only_with_memory_enabled(void **state)
{
	struct fixture *f = *state;
	struct fake_dev *d = make_dev(f, 1, 0x020000);

	set_bar(f, 1, 0, 0x1000, false);
	assert_int_equal(add(f, 1), 1);

	/* Decoding off: the access is unclaimed. */
	assert_int_equal(mmio(f, MMIO_BASE + 0x10, 4, false, 0), 0xffffffff);
	mmio(f, MMIO_BASE + 0x10, 4, true, 0x1234);
	assert_int_equal(d->bar_calls, 0);

	/* I/O space and bus master alone do not turn memory decoding on. */
	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	assert_int_equal(mmio(f, MMIO_BASE + 0x10, 4, false, 0), 0xffffffff);
	assert_int_equal(d->moved_calls, 0);

	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(d->moved_calls, 1);
	assert_int_equal(d->moved_bar, 0);
	assert_int_equal(d->moved_addr, MMIO_BASE);
	assert_int_equal(mmio(f, MMIO_BASE + 0x10, 4, false, 0), 0xb3b2b1b0);
	assert_int_equal(d->bar_calls, 1);
	assert_int_equal(d->bar_offset, 0x10);
	assert_int_equal(d->bar_len, 4);
	assert_false(d->bar_write);

	/* Writing the same command again does not report a move. */
	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(d->moved_calls, 1);

	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, 0);
	assert_int_equal(d->moved_calls, 2);
	assert_int_equal(d->moved_addr, 0);
	assert_int_equal(mmio(f, MMIO_BASE + 0x10, 4, false, 0), 0xffffffff);
	assert_int_equal(d->bar_calls, 1);
}

static void test_pci__mmio_routes_to_the_right_bar_with_offset(void **state)
{
	struct fixture *f = *state;
	struct fake_dev *a = make_dev(f, 1, 0x020000), *b = make_dev(f, 2, 0x020000);
	uint64_t a0, a1, b2;

	set_bar(f, 1, 0, 0x1000, false);
	set_bar(f, 1, 1, 0x100, false);
	set_bar(f, 2, 2, 0x2000, true);
	assert_int_equal(add(f, 1), 1);
	assert_int_equal(add(f, 2), 2);
	a0 = cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4);
	a1 = cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 4, 4);
	b2 = cfg_read(f, DEVFN(2), PCI_BASE_ADDRESS_0 + 8, 4) & ~0xfu;
	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg_write(f, DEVFN(2), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(b->moved_addr, b2);

	mmio(f, a1 + 0xf8, 8, true, 0x1122334455667788ULL);
	assert_int_equal(a->bar_calls, 1);
	assert_int_equal(a->bar_index, 1);
	assert_int_equal(a->bar_offset, 0xf8);
	assert_int_equal(a->bar_len, 8);
	assert_true(a->bar_write);
	assert_int_equal(a->bar_data, 0x1122334455667788ULL);

	assert_int_equal(mmio(f, b2 + 0x1fff, 1, false, 0), (uint8_t)(0xa0 + 0x20 + 0x1fff));
	assert_int_equal(b->bar_index, 2);
	assert_int_equal(b->bar_offset, 0x1fff);
	assert_int_equal(mmio(f, a0, 2, false, 0), 0xa1a0);
	assert_int_equal(a->bar_index, 0);
	assert_int_equal(a->bar_offset, 0);

	/* Straddling a BAR's end, or between BARs: nobody answers. */
	assert_int_equal(mmio(f, a1 + 0xfe, 4, false, 0), 0xffffffff);
	assert_int_equal(mmio(f, b2 + 0x1ffc, 8, false, 0), UINT64_MAX);
	assert_int_equal(mmio(f, MMIO_END - 8, 8, false, 0), UINT64_MAX);
	assert_int_equal(a->bar_calls, 2);
	assert_int_equal(b->bar_calls, 1);
}

static void test_pci__moved_bar_decodes_at_new_address_only(void **state)
{
	struct fixture *f = *state;
	struct fake_dev *d = make_dev(f, 1, 0x020000);
	const uint64_t new_addr = MMIO_BASE + 0x100000;
	uint64_t old;

	set_bar(f, 1, 0, 0x1000, false);
	assert_int_equal(add(f, 1), 1);
	old = cfg_read(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4);
	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(d->moved_calls, 1);

	/* The guest moves the BAR while decoding is on. */
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4, (uint32_t)new_addr);
	assert_int_equal(d->moved_calls, 2);
	assert_int_equal(d->moved_bar, 0);
	assert_int_equal(d->moved_addr, new_addr);
	assert_int_equal(mmio(f, old + 4, 4, false, 0), 0xffffffff);
	assert_int_equal(d->bar_calls, 0);
	mmio(f, new_addr + 4, 4, false, 0);
	assert_int_equal(d->bar_calls, 1);
	assert_int_equal(d->bar_offset, 4);

	/* The Linux way: decoding off, move, decoding on. */
	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, 0);
	assert_int_equal(d->moved_addr, 0);
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4, (uint32_t)old);
	assert_int_equal(d->moved_calls, 3); /* no move reported while decoding is off */
	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(d->moved_calls, 4);
	assert_int_equal(d->moved_addr, old);
	assert_int_equal(mmio(f, new_addr + 4, 4, false, 0), 0xffffffff);
	mmio(f, old + 8, 4, false, 0);
	assert_int_equal(d->bar_calls, 2);
	assert_int_equal(d->bar_offset, 8);

	/* Moved outside the MMIO window: nothing in the window reaches it. */
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4, 0x10000000);
	assert_int_equal(d->moved_addr, 0x10000000);
	assert_int_equal(mmio(f, old + 8, 4, false, 0), 0xffffffff);
	assert_int_equal(d->bar_calls, 2);
}

static void test_pci__moved_64bit_bar_reports_full_address(void **state)
{
	struct fixture *f = *state;
	struct fake_dev *d = make_dev(f, 1, 0x020000);

	set_bar(f, 1, 0, 0x1000, true);
	assert_int_equal(add(f, 1), 1);
	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0 + 4, 4, 0x1);
	assert_int_equal(d->moved_bar, 0);
	assert_int_equal(d->moved_addr, 0x100000000ULL | MMIO_BASE);
	cfg_write(f, DEVFN(1), PCI_BASE_ADDRESS_0, 4, 0x2000);
	assert_int_equal(d->moved_addr, 0x100002000ULL);
	assert_int_equal(d->moved_calls, 3);
}

static void test_pci__bus_add_fails_without_slot_or_mmio_space(void **state)
{
	struct fixture *f = *state;
	static struct pci_device many[PCI_MAX_SLOTS];

	/* The window is 256 MiB: a 512 MiB BAR does not fit; a 128 MiB one does, twice. */
	make_dev(f, 1, 0x020000);
	set_bar(f, 1, 0, 512 * 1024 * 1024ULL, false);
	assert_int_equal(add(f, 1), -ENOSPC);
	make_dev(f, 2, 0x020000);
	set_bar(f, 2, 0, 128 * 1024 * 1024ULL, false);
	assert_int_equal(add(f, 2), 1);
	make_dev(f, 3, 0x020000);
	set_bar(f, 3, 0, 128 * 1024 * 1024ULL, false);
	assert_int_equal(add(f, 3), 2);
	make_dev(f, 4, 0x020000);
	set_bar(f, 4, 0, 16, false);
	assert_int_equal(add(f, 4), -ENOSPC);
	/* Slots 3..31 with devices without BARs; then the bus is full. */
	for (int i = 3; i < PCI_MAX_SLOTS; i++) {
		pci_device_init(&many[i], "filler", 0x1234, 0x1, 0x020000, 0, 0);
		assert_int_equal(pci_bus_add(&f->bus, &many[i]), i);
	}
	pci_device_init(&many[0], "one too many", 0x1234, 0x1, 0x020000, 0, 0);
	assert_int_equal(pci_bus_add(&f->bus, &many[0]), -ENOSPC);
	assert_int_equal(cfg_read(f, DEVFN(31), 0, 4), 0x00011234);
}

/* --- capabilities --------------------------------------------------------------------------- */

static void test_pci__capability_list_chains(void **state)
{
	struct fixture *f = *state;
	struct fake_dev *d = make_dev(f, 1, 0x020000);
	const uint8_t a[6] = {0x09, 0xee, 6, 1, 2, 3};
	const uint8_t b[12] = {0x11, 0xee, 0xb0, 0xb1, 0xb2, 0xb3};
	const uint8_t b_wmask[12] = {0, 0, 0, 0xf0, 0xff};
	const uint8_t c[2] = {0x05, 0};
	uint32_t off;
	int n = 0;

	assert_int_equal(pci_device_add_cap(&d->pci, a, sizeof(a), NULL), 0x40);
	assert_int_equal(pci_device_add_cap(&d->pci, b, sizeof(b), b_wmask), 0x48);
	assert_int_equal(pci_device_add_cap(&d->pci, c, sizeof(c), NULL), 0x54);
	assert_int_equal(add(f, 1), 1);

	assert_true(cfg_read(f, DEVFN(1), PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* Walk the list as an OS does: IDs in order, the last next pointer 0. */
	off = cfg_read(f, DEVFN(1), PCI_CAPABILITY_LIST, 1);
	while (off) {
		const uint8_t ids[] = {0x09, 0x11, 0x05};
		assert_true(n < 3);
		assert_int_equal(cfg_read(f, DEVFN(1), off, 1), ids[n]);
		off = cfg_read(f, DEVFN(1), off + 1, 1);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(cfg_read(f, DEVFN(1), 0x44, 2), 0x0302);
	assert_int_equal(cfg_read(f, DEVFN(1), 0x42, 2), 0x0106);

	/* Capability bytes are read-only unless the wmask says otherwise. */
	cfg_write(f, DEVFN(1), 0x40, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, DEVFN(1), 0x40, 4), 0x01064809);
	cfg_write(f, DEVFN(1), 0x48, 4, 0xffffffff);
	cfg_write(f, DEVFN(1), 0x4c, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, DEVFN(1), 0x48, 4), 0xf1b05411);
	assert_int_equal(cfg_read(f, DEVFN(1), 0x4c, 4), 0x0000b3ff);
	cfg_write(f, DEVFN(1), 0x48, 4, 0);
	assert_int_equal(cfg_read(f, DEVFN(1), 0x48, 4), 0x01b05411);
	assert_int_equal(cfg_read(f, DEVFN(1), 0x54, 2), 0x0005);
}

static void test_pci__capability_refused_when_it_does_not_fit(void **state)
{
	struct fixture *f = *state;
	struct fake_dev *d = make_dev(f, 1, 0x020000);
	uint8_t big[192] = {0x09}, cap[16] = {0x10};

	assert_int_equal(pci_device_add_cap(&d->pci, cap, 1, NULL), -ENOSPC);
	assert_int_equal(d->pci.cfg[PCI_CAPABILITY_LIST], 0);
	assert_false(d->pci.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	assert_int_equal(pci_device_add_cap(&d->pci, big, sizeof(big), NULL), 0x40);
	/* 0x40 + 192 = 0x100: full. */
	assert_int_equal(pci_device_add_cap(&d->pci, cap, 2, NULL), -ENOSPC);
	assert_int_equal(d->pci.cfg[0x41], 0);
}

/* --- INTx --------------------------------------------------------------------------------- */

/* Devices 1..9 in slots 1..9, each with INTA#. */
static void add_nine_intx_devices(struct fixture *f)
{
	for (int i = 1; i <= 9; i++) {
		make_dev(f, i, 0x020000);
		f->devs[i].pci.cfg[PCI_INTERRUPT_PIN] = 1;
		assert_int_equal(add(f, i), i);
	}
}

static void test_pci__intx_pin_and_line_follow_the_swizzle(void **state)
{
	struct fixture *f = *state;

	add_nine_intx_devices(f);
	for (int i = 1; i <= 9; i++) {
		assert_int_equal(cfg_read(f, DEVFN(i), PCI_INTERRUPT_PIN, 1), 1);
		assert_int_equal(cfg_read(f, DEVFN(i), PCI_INTERRUPT_LINE, 1), 16 + i % 8);
		assert_int_equal(f->devs[i].pci.intx.gsi, pci_intx_gsi((uint8_t)i, 0));
	}
	assert_int_equal(pci_intx_gsi(0, 0), 16);
	assert_int_equal(pci_intx_gsi(1, 0), 17);
	assert_int_equal(pci_intx_gsi(7, 0), 23);
	assert_int_equal(pci_intx_gsi(8, 0), 16);
	assert_int_equal(pci_intx_gsi(1, 3), 20);
	assert_int_equal(pci_intx_gsi(31, 3), 18);
	/* A device without an interrupt pin keeps it 0. */
	make_dev(f, 0, 0x020000);
	assert_int_equal(add(f, 0), 10);
	assert_int_equal(cfg_read(f, DEVFN(10), PCI_INTERRUPT_PIN, 1), 0);
}

static void test_pci__intx_shared_pin_is_wire_or(void **state)
{
	struct fixture *f = *state;
	struct pci_device *s1 = &f->devs[1].pci, *s9 = &f->devs[9].pci;

	add_nine_intx_devices(f);
	assert_int_equal(pci_intx_gsi(1, 0), pci_intx_gsi(9, 0));

	pci_device_set_intx(s1, true);
	assert_int_equal(f->irq.n, 1);
	assert_int_equal(f->irq.gsi[0], 17);
	assert_int_equal(f->irq.level[0], 1);
	assert_true(cfg_read(f, DEVFN(1), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_false(cfg_read(f, DEVFN(9), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);

	pci_device_set_intx(s9, true);
	pci_device_set_intx(s9, true); /* again: still one holder more, not two */
	assert_int_equal(f->irq.n, 1);
	assert_true(cfg_read(f, DEVFN(9), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);

	/* Slot 1 lowers: slot 9 still holds the line high. */
	pci_device_set_intx(s1, false);
	assert_int_equal(f->irq.n, 1);
	assert_false(cfg_read(f, DEVFN(1), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_device_set_intx(s1, false);
	assert_int_equal(f->irq.n, 1);

	pci_device_set_intx(s9, false);
	assert_int_equal(f->irq.n, 2);
	assert_int_equal(f->irq.gsi[1], 17);
	assert_int_equal(f->irq.level[1], 0);

	/* And the other order, with another pin in between that does not interfere. */
	pci_device_set_intx(s9, true);
	pci_device_set_intx(&f->devs[2].pci, true);
	pci_device_set_intx(s1, true);
	pci_device_set_intx(s9, false);
	pci_device_set_intx(&f->devs[2].pci, false);
	pci_device_set_intx(s1, false);
	assert_int_equal(f->irq.n, 6);
	assert_int_equal(f->irq.gsi[2], 17);
	assert_int_equal(f->irq.level[2], 1);
	assert_int_equal(f->irq.gsi[3], 18);
	assert_int_equal(f->irq.level[3], 1);
	assert_int_equal(f->irq.gsi[4], 18);
	assert_int_equal(f->irq.level[4], 0);
	assert_int_equal(f->irq.gsi[5], 17);
	assert_int_equal(f->irq.level[5], 0);
}

static void test_pci__intx_disable_drops_the_line(void **state)
{
	struct fixture *f = *state;
	struct pci_device *s1 = &f->devs[1].pci, *s9 = &f->devs[9].pci;

	add_nine_intx_devices(f);
	pci_device_set_intx(s1, true);
	assert_int_equal(f->irq.n, 1);

	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, PCI_COMMAND_INTX_OFF);
	assert_int_equal(f->irq.n, 2);
	assert_int_equal(f->irq.level[1], 0);
	/* While disabled the device cannot raise it. */
	pci_device_set_intx(s1, true);
	assert_int_equal(f->irq.n, 2);

	/* Disabled on one of two sharers: the other still holds the line. */
	pci_device_set_intx(s9, true);
	assert_int_equal(f->irq.n, 3);
	assert_int_equal(f->irq.level[2], 1);
	pci_device_set_intx(s1, false);
	assert_int_equal(f->irq.n, 3);
	cfg_write(f, DEVFN(9), PCI_COMMAND, 2, PCI_COMMAND_INTX_OFF | PCI_COMMAND_MEMORY);
	assert_int_equal(f->irq.n, 4);
	assert_int_equal(f->irq.level[3], 0);

	/* Enabled again: the device raises it with its next interrupt. */
	cfg_write(f, DEVFN(1), PCI_COMMAND, 2, 0);
	pci_device_set_intx(s1, true);
	assert_int_equal(f->irq.n, 5);
	assert_int_equal(f->irq.level[4], 1);
	pci_device_set_intx(s1, false);
	assert_int_equal(f->irq.n, 6);
	assert_int_equal(f->irq.level[5], 0);
}

static void test_pci__intx_without_bus_or_irq_proto_is_harmless(void **state)
{
	struct fixture *f = *state;
	struct fake_dev *d = make_dev(f, 1, 0x020000);

	/* Not on a bus yet: nothing happens. */
	pci_device_set_intx(&d->pci, true);
	assert_false(d->pci.intx_level);

	pci_bus_destroy(&f->bus);
	pci_bus_init(&f->bus, MMIO_BASE, MMIO_END, NULL);
	d->pci.cfg[PCI_INTERRUPT_PIN] = 1;
	assert_int_equal(add(f, 1), 1);
	pci_device_set_intx(&d->pci, true);
	assert_true(cfg_read(f, DEVFN(1), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_device_set_intx(&d->pci, false);
	assert_int_equal(f->irq.n, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_pci__host_bridge_in_slot_0),
	    T(test_pci__ids_and_class_through_cfg_access),
	    T(test_pci__ids_through_cf8_cfc_byte_word_dword),
	    T(test_pci__cf8_latch_needs_dword_and_enable_bit),
	    T(test_pci__ecam_reads_ids_and_zero_extended_space),
	    T(test_pci__absent_slots_and_functions_read_all_ones),
	    T(test_pci__invalid_cfg_cycles_read_all_ones),
	    T(test_pci__read_only_registers_ignore_writes),
	    T(test_pci__bars_assigned_naturally_aligned_in_window),
	    T(test_pci__bar_sizing_32bit),
	    T(test_pci__bar_sizing_64bit),
	    T(test_pci__bar_sizing_64bit_larger_than_4g),
	    T(test_pci__bar_decodes_only_with_memory_enabled),
	    T(test_pci__mmio_routes_to_the_right_bar_with_offset),
	    T(test_pci__moved_bar_decodes_at_new_address_only),
	    T(test_pci__moved_64bit_bar_reports_full_address),
	    T(test_pci__bus_add_fails_without_slot_or_mmio_space),
	    T(test_pci__capability_list_chains),
	    T(test_pci__capability_refused_when_it_does_not_fit),
	    T(test_pci__intx_pin_and_line_follow_the_swizzle),
	    T(test_pci__intx_shared_pin_is_wire_or),
	    T(test_pci__intx_disable_drops_the_line),
	    T(test_pci__intx_without_bus_or_irq_proto_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
