/*
 * libFuzzer target for the virtio PCI transport (src/virtio/virtio_pci.c) together with the
 * PCI bus (src/pci/pci.c) and MSI-X (src/pci/msix.c): the fuzzer is a driver poking BAR 0
 * (directly and through the bus's MMIO window), configuration space (pci_cfg_access, the
 * 0xCF8/0xCFC ports, ECAM, the VIRTIO_PCI_CAP_PCI_CFG window) and the MSI-X table, while
 * the device side raises interrupts. Each input gets a fresh bus and a fresh device.
 *
 * The device is a bare virtio_dev with fake ops (2 queues of at most 64 entries): a real
 * one (virtio-rng) starts an I/O thread at DRIVER_OK, which would make runs irreproducible.
 * No KVM: MSI-X goes to a fake that records signals, INTx to a fuzz_irq line.
 *
 * Input: a list of operations, each an opcode byte, then its operands:
 *	0 bar	le16 off (mod BAR size), width, is_write, le64 value: virtio_pci_bar_io
 *	1 common	u8 off (mod 0x40), width, is_write, le64 value: BAR 0 common config
 *	2 msix	le16 off (mod 0x1000, from the MSI-X table), width, is_write, le64 value
 *	3 mmio	le32 off (mod 256 MiB: the bus's window), width, is_write, le64 value
 *	4 cfg	u8 devfn (bit 7 clear: the device's, else the low 7 bits), le16 off
 *		(mod 4096), width, is_write, le32 value: pci_cfg_access
 *	5 ports	u8 port (mod 8: 0xCF8..0xCFF), width, is_write, le32 value
 *	6 ecam	le32 off (mod 2 MiB), width, is_write, le32 value
 *	7 event	u8 what (mod 4), u8 arg: config change / needs reset / a used buffer on queue
 *		arg and its interrupt / msix_notify(arg)
 * (width: see fuzz_width). Properties checked after every operation:
 *  - the device starts only at DRIVER_OK with FEATURES_OK and every enabled ring inside
 *    RAM, never twice, and stops only after it started; a reset stops it and clears the
 *    queues; features accepted (FEATURES_OK) are a subset of the offered ones with VERSION_1;
 *  - queue sizes never exceed the maximum; MSI-X vector numbers are real or NO_VECTOR;
 *  - MSI-X signals only reach the host for real vectors while MSI-X is on and unmasked;
 *  - INTx is driven only to 0/1 and only on change, and is low while INTX_OFF is set;
 *  - with memory decoding off, nothing in the MMIO window answers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "log.h"
#include "memory.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "virtio/virtio_pci.h"

#define RAM_SIZE  0x20000ULL
#define MMIO_BASE 0xe0000000ULL
#define MMIO_SIZE 0x10000000ULL
#define NQUEUES	  2
#define QUEUE_MAX 64
#define NVEC	  (NQUEUES + 1)
#define FEATURES  (1ULL << 0 | 1ULL << 5 | 1ULL << 40)
#define MAX_OPS	  512

struct state {
	struct guest_memory mem;
	struct pci_bus bus;
	struct virtio_dev v;
	struct fuzz_irq intx;
	bool running;
	uint8_t prev_status;
	unsigned long start_calls, starts, stops, signals;
};

static struct virtq_chain done; /* head 0, nothing written: what a finished request returns */

static struct state st;
static uint8_t *ram;

static void fake_config_io(struct virtio_dev *v, uint64_t off, uint8_t *data, uint32_t len,
			   bool is_write)
{
	FUZZ_CHECK(off + len <= VIRTIO_BAR_DEVICE_LEN, "device config access %llu+%u",
		   (unsigned long long)off, len);
	if (!is_write)
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(off + i);
}

static int fake_start(struct virtio_dev *v)
{
	uint8_t status = v->status;

	FUZZ_CHECK(!st.running, "started twice");
	FUZZ_CHECK((status & VIRTIO_STATUS_DRIVER_OK) && (status & VIRTIO_STATUS_FEATURES_OK) &&
		       !(status & VIRTIO_STATUS_FAILED),
		   "started with status %#x", status);
	for (uint16_t i = 0; i < v->nqueues; i++) {
		const struct virtq *q = &v->queues[i].vq;
		if (!v->queues[i].enabled)
			continue;
		FUZZ_CHECK(q->enabled, "queue %u enabled but not mapped", i);
		FUZZ_CHECK(gpa_to_host(&st.mem, q->desc_gpa, VIRTQ_DESC_SIZE(q->size)) &&
			       gpa_to_host(&st.mem, q->avail_gpa, VIRTQ_AVAIL_SIZE(q->size)) &&
			       gpa_to_host(&st.mem, q->used_gpa, VIRTQ_USED_SIZE(q->size)),
			   "queue %u rings outside RAM", i);
	}
	/* Now and then a device that cannot start (its thread, its backend). */
	if (++st.start_calls % 7 == 3)
		return -5;
	st.running = true;
	st.starts++;
	return 0;
}

static void fake_stop(struct virtio_dev *v)
{
	FUZZ_CHECK(st.running, "stopped without running");
	st.running = false;
	st.stops++;
}

static const struct virtio_dev_ops fake_ops = {
    .config_io = fake_config_io,
    .start = fake_start,
    .stop = fake_stop,
};

static int msix_route(void *ctx, uint16_t vector, uint64_t addr, uint32_t data)
{
	FUZZ_CHECK(vector < NVEC, "route for vector %u", vector);
	return 0;
}

static void msix_signal(void *ctx, uint16_t vector)
{
	const struct msix *m = &st.v.msix; /* called with its lock held */

	FUZZ_CHECK(vector < NVEC, "signal for vector %u", vector);
	FUZZ_CHECK(m->enabled && !m->masked && !(m->table[vector].ctrl & MSIX_VECTOR_MASKED),
		   "vector %u signalled while masked or disabled", vector);
	st.signals++;
}

static const struct msix_ops fake_msix_ops = {.route = msix_route, .signal = msix_signal};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_silence_stdio();
	log_set_level(LOG_ERROR); /* "device needs reset" warnings by design */
	ram = malloc(RAM_SIZE);
	if (!ram)
		abort();
	return 0;
}

static void setup(void)
{
	struct pci_bus *bus = &st.bus;

	memset(&st, 0, sizeof(st));
	memset(ram, 0, RAM_SIZE);
	st.mem.base = ram;
	st.mem.size = RAM_SIZE;
	st.mem.nregions = 1;
	st.mem.regions[0] = (struct mem_region){.gpa = 0, .size = RAM_SIZE, .host = ram};
	st.mem.low_end = RAM_SIZE;
	fuzz_irq_init(&st.intx, 0, true);
	pci_bus_init(bus, MMIO_BASE, MMIO_BASE + MMIO_SIZE, &st.intx.line);
	if (virtio_pci_init(&st.v, "virtio-fuzz", VIRTIO_ID_RNG, &fake_ops, NULL, FEATURES, NQUEUES,
			    QUEUE_MAX, &st.mem, NULL) < 0 ||
	    pci_bus_add(bus, &st.v.pci) != 1)
		abort();
	st.v.msix.ops = &fake_msix_ops;
	st.v.msix.ctx = NULL;
}

static void teardown(void)
{
	virtio_pci_destroy(&st.v);
	FUZZ_CHECK(!st.running && st.starts == st.stops, "%lu starts, %lu stops", st.starts,
		   st.stops);
	pci_bus_destroy(&st.bus);
}

static bool vector_ok(uint16_t vec)
{
	return vec < NVEC || vec == VIRTIO_MSI_NO_VECTOR;
}

static void check_state(void)
{
	const struct virtio_dev *v = &st.v;
	uint8_t status = v->status;
	uint16_t cmd = pci_cfg_get16(&v->pci, PCI_COMMAND);

	FUZZ_CHECK(v->started == st.running, "started %d running %d", v->started, st.running);
	if (status & VIRTIO_STATUS_FEATURES_OK) {
		FUZZ_CHECK(!(v->driver_features & ~v->host_features),
			   "accepted features %#llx beyond %#llx",
			   (unsigned long long)v->driver_features,
			   (unsigned long long)v->host_features);
		FUZZ_CHECK(virtio_negotiated(v, VIRTIO_F_VERSION_1),
			   "FEATURES_OK without VERSION_1");
	}
	if (st.prev_status && status == 0) { /* only a reset clears the status */
		FUZZ_CHECK(!st.running, "running after reset");
		/* (Not the size: one wide write may reset and then write queue_size.) */
		for (uint16_t i = 0; i < v->nqueues; i++)
			FUZZ_CHECK(!v->queues[i].enabled && !v->queues[i].vq.enabled,
				   "queue %u survived the reset", i);
	}
	FUZZ_CHECK(vector_ok(v->msix_config), "msix_config %u", v->msix_config);
	for (uint16_t i = 0; i < v->nqueues; i++) {
		FUZZ_CHECK(v->queues[i].size <= QUEUE_MAX, "queue %u size %u", i,
			   v->queues[i].size);
		FUZZ_CHECK(vector_ok(v->queues[i].msix_vector), "queue %u vector %u", i,
			   v->queues[i].msix_vector);
	}
	if (cmd & PCI_COMMAND_INTX_OFF)
		FUZZ_CHECK(st.intx.level == 0, "INTx high while disabled");
	FUZZ_CHECK(st.intx.level == st.v.pci.intx_level, "line %d, device %d", st.intx.level,
		   st.v.pci.intx_level);
	st.prev_status = status;
}

/* One access of width len at off through fn; out holds what a read returned. */
static void io(bus_io_fn fn, void *opaque, uint64_t off, uint32_t len, bool is_write,
	       uint64_t value, uint8_t out[8])
{
	memcpy(out, &value, 8);
	fn(opaque, off, out, len, is_write);
}

static void do_op(struct fuzz_reader *r)
{
	uint8_t op = fuzz_u8(r) % 8, buf[8];
	uint64_t off, value;
	uint32_t len;
	bool w;

	switch (op) {
	case 0:
	case 1:
	case 2:
		off = op == 0	? fuzz_u16(r) % VIRTIO_BAR_SIZE
		      : op == 1 ? VIRTIO_BAR_COMMON + fuzz_u8(r) % VIRTIO_BAR_COMMON_LEN
				: VIRTIO_BAR_MSIX_TABLE + fuzz_u16(r) % 0x1000;
		len = fuzz_width(r);
		w = fuzz_u8(r) & 1;
		value = fuzz_u64(r);
		if (off + len > VIRTIO_BAR_SIZE) /* the bus never hands a device more */
			break;
		io(virtio_pci_bar_io, &st.v, off, len, w, value, buf);
		if (!w && off == VIRTIO_BAR_COMMON + 0x12 && len == 2) /* num_queues */
			FUZZ_CHECK(buf[0] == NQUEUES && buf[1] == 0, "num_queues %u", buf[0]);
		break;
	case 3: {
		bool decoding = pci_cfg_get16(&st.v.pci, PCI_COMMAND) & PCI_COMMAND_MEMORY;
		off = fuzz_u32(r) % MMIO_SIZE;
		len = fuzz_width(r);
		w = fuzz_u8(r) & 1;
		value = fuzz_u64(r);
		if (off + len > MMIO_SIZE)
			break;
		io(pci_mmio_io, &st.bus, off, len, w, value, buf);
		if (!w && !decoding)
			for (uint32_t i = 0; i < len; i++)
				FUZZ_CHECK(buf[i] == 0xff, "MMIO answered with decoding off");
		break;
	}
	case 4: {
		uint8_t devfn = fuzz_u8(r);
		uint32_t v32;
		devfn = devfn & 0x80 ? devfn & 0x7f : 1 << 3; /* others: absent or the bridge */
		off = fuzz_u16(r) % PCI_ECAM_FUNC;
		len = fuzz_width(r);
		w = fuzz_u8(r) & 1;
		v32 = fuzz_u32(r);
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &v32, 4);
		pci_cfg_access(&st.bus, devfn, (uint32_t)off, buf, len, w);
		break;
	}
	case 5:
		off = fuzz_u8(r) % 8;
		len = fuzz_width(r);
		w = fuzz_u8(r) & 1;
		value = fuzz_u32(r);
		if (off + len > 8)
			break;
		io(pci_cfg_port_io, &st.bus, off, len, w, value, buf);
		break;
	case 6:
		off = fuzz_u32(r) % (2 << 20); /* bus 0 and a bit of bus 1 */
		len = fuzz_width(r);
		w = fuzz_u8(r) & 1;
		value = fuzz_u32(r);
		io(pci_ecam_io, &st.bus, off, len, w, value, buf);
		break;
	case 7: {
		uint8_t what = fuzz_u8(r), arg = fuzz_u8(r);
		switch (what % 4) {
		case 0:
			virtio_config_changed(&st.v);
			break;
		case 1:
			virtio_dev_needs_reset(&st.v);
			break;
		case 2:
			/* As an I/O thread would: only on a mapped queue. */
			if (st.running && st.v.queues[arg % NQUEUES].vq.enabled) {
				virtq_push(&st.v.queues[arg % NQUEUES].vq, &done, 0);
				virtio_queue_interrupt(&st.v.queues[arg % NQUEUES]);
			}
			break;
		default:
			msix_notify(&st.v.msix, arg);
			break;
		}
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_reader r = fuzz_reader(data, size);

	setup();
	for (int i = 0; i < MAX_OPS && fuzz_more(&r); i++) {
		do_op(&r);
		check_state();
	}
	teardown();
	return 0;
}
