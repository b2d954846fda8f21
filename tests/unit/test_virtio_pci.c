/*
 * Tests for the virtio 1.x modern PCI transport (src/virtio/virtio_pci.c) without KVM: a
 * fake device (counting start/stop, recording config accesses) on a real PCI bus with fake
 * guest RAM. The tests play the driver as Linux's virtio_pci_modern does it — reset,
 * ACKNOWLEDGE, DRIVER, feature negotiation, queue setup, DRIVER_OK — through BAR 0, and
 * check what a driver relies on: what sticks, what reads back, when the device starts, what
 * a reset clears, and how interrupts and notifications get through.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "memory.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "virtio/virtio_pci.h"

#define RAM_SIZE     MEM_MIN_SIZE
#define NQUEUES	     2
#define QUEUE_MAX    256
#define NVEC	     (NQUEUES + 1)
#define DEVICE_ID    VIRTIO_ID_RNG
#define DEV_FEATURES (1ULL << 3 | 1ULL << 40)
#define SLOT	     1
#define DEVFN	     (SLOT << 3)
#define MAX_EVENTS   64

/* Common configuration structure (virtio 1.2, 4.1.4.3). */
#define DFSELECT      0x00
#define DF	      0x04
#define GFSELECT      0x08
#define GF	      0x0c
#define MSIX_CONFIG   0x10
#define NUM_QUEUES    0x12
#define STATUS	      0x14
#define CFGGENERATION 0x15
#define Q_SELECT      0x16
#define Q_SIZE	      0x18
#define Q_MSIX	      0x1a
#define Q_ENABLE      0x1c
#define Q_NOFF	      0x1e
#define Q_DESC	      0x20
#define Q_DRIVER      0x28
#define Q_DEVICE      0x30

#define ACK	    VIRTIO_STATUS_ACKNOWLEDGE
#define DRIVER	    VIRTIO_STATUS_DRIVER
#define FEATURES_OK VIRTIO_STATUS_FEATURES_OK
#define DRIVER_OK   VIRTIO_STATUS_DRIVER_OK
#define NEEDS_RESET VIRTIO_STATUS_DEVICE_NEEDS_RESET

/* Capability types (4.1.4). */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR	   3
#define CAP_DEVICE 4
#define CAP_PCI	   5

/* Ring areas of queue q in guest RAM. */
#define DESC_GPA(q)   (0x100000ULL + 0x10000ULL * (q))
#define DRIVER_GPA(q) (DESC_GPA(q) + 0x4000)
#define DEVICE_GPA(q) (DESC_GPA(q) + 0x8000)

struct fixture {
	struct guest_memory mem;
	struct pci_bus bus;
	struct virtio_dev v;
	int starts, stops, start_result;
	bool stop_joins_worker; /* stop() joins a thread that raises INTx, like an I/O thread */
	int config_reads, config_writes;
	uint64_t config_off;
	uint32_t config_len;
	uint64_t config_data;
	int nlevels;
	int levels[MAX_EVENTS];
	int nsignals;
	uint16_t signals[MAX_EVENTS];
	int nroutes;
};

static void fake_config_io(struct virtio_dev *v, uint64_t off, uint8_t *data, uint32_t len,
			   bool is_write)
{
	struct fixture *f = v->priv;

	f->config_off = off;
	f->config_len = len;
	if (is_write) {
		f->config_writes++;
		f->config_data = 0;
		memcpy(&f->config_data, data, len);
	} else {
		f->config_reads++;
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(0xc0 + off + i);
	}
}

static int fake_start(struct virtio_dev *v)
{
	struct fixture *f = v->priv;

	f->starts++;
	/* Whatever the driver enabled is mapped by now. */
	for (uint16_t i = 0; i < v->nqueues; i++)
		if (v->queues[i].enabled)
			assert_true(v->queues[i].vq.enabled);
	return f->start_result;
}

/* An I/O thread finishing its last request as the device stops. */
static void *worker_raises_intx(void *opaque)
{
	struct virtio_dev *v = opaque;

	pci_device_set_intx(&v->pci, true);
	return NULL;
}

static void fake_stop(struct virtio_dev *v)
{
	struct fixture *f = v->priv;
	pthread_t t;

	f->stops++;
	if (f->stop_joins_worker) {
		assert_int_equal(pthread_create(&t, NULL, worker_raises_intx, v), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
	}
}

static const struct virtio_dev_ops fake_ops = {
    .config_io = fake_config_io,
    .start = fake_start,
    .stop = fake_stop,
};

static void intx_record(void *ctx, uint32_t gsi, int level)
{
	struct fixture *f = ctx;

	assert_true(f->nlevels < MAX_EVENTS);
	f->levels[f->nlevels++] = level;
}

static int msix_route(void *ctx, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct fixture *f = ctx;

	f->nroutes++;
	return 0;
}

static void msix_signal(void *ctx, uint16_t vector)
{
	struct fixture *f = ctx;

	assert_true(f->nsignals < MAX_EVENTS);
	f->signals[f->nsignals++] = vector;
}

static const struct msix_ops fake_msix_ops = {.route = msix_route, .signal = msix_signal};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line intx = {.set_level = intx_record};

	assert_non_null(f);
	log_set_level(LOG_ERROR); /* "device needs reset" warnings are provoked on purpose */
	assert_int_equal(memory_init(&f->mem, RAM_SIZE), 0);
	intx.ctx = f;
	pci_bus_init(&f->bus, 0xe0000000, 0xf0000000, &intx);
	assert_int_equal(virtio_pci_init(&f->v, "virtio-test", DEVICE_ID, &fake_ops, f,
					 DEV_FEATURES, NQUEUES, QUEUE_MAX, &f->mem, NULL),
			 0);
	f->v.msix.ops = &fake_msix_ops;
	f->v.msix.ctx = f;
	assert_int_equal(pci_bus_add(&f->bus, &f->v.pci), SLOT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	alarm(0); /* a failed assertion may have left the deadlock watchdog armed */
	virtio_pci_destroy(&f->v);
	pci_bus_destroy(&f->bus);
	memory_destroy(&f->mem);
	free(f);
	return 0;
}

/* --- the driver's accessors ---------------------------------------------------------------- */

static uint64_t bar_read(struct fixture *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;

	virtio_pci_bar_io(&f->v, off, (uint8_t *)&v, len, false);
	if (len < 8)
		v &= (1ULL << (8 * len)) - 1;
	return v;
}

static void bar_write(struct fixture *f, uint64_t off, uint32_t len, uint64_t v)
{
	virtio_pci_bar_io(&f->v, off, (uint8_t *)&v, len, true);
}

static uint32_t cfg_read(struct fixture *f, uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	pci_cfg_access(&f->bus, DEVFN, off, (uint8_t *)&v, len, false);
	return v;
}

static void cfg_write(struct fixture *f, uint32_t off, uint32_t len, uint32_t v)
{
	pci_cfg_access(&f->bus, DEVFN, off, (uint8_t *)&v, len, true);
}

static uint8_t status(struct fixture *f)
{
	return (uint8_t)bar_read(f, STATUS, 1);
}

static void set_status(struct fixture *f, uint8_t s)
{
	bar_write(f, STATUS, 1, s);
}

static uint64_t device_features(struct fixture *f)
{
	bar_write(f, DFSELECT, 4, 0);
	uint64_t lo = bar_read(f, DF, 4);
	bar_write(f, DFSELECT, 4, 1);
	return lo | bar_read(f, DF, 4) << 32;
}

static void write_driver_features(struct fixture *f, uint64_t features)
{
	bar_write(f, GFSELECT, 4, 0);
	bar_write(f, GF, 4, (uint32_t)features);
	bar_write(f, GFSELECT, 4, 1);
	bar_write(f, GF, 4, features >> 32);
}

/* vp_iowrite64_twopart: low dword, then high dword. */
static void write64(struct fixture *f, uint64_t off, uint64_t v)
{
	bar_write(f, off, 4, (uint32_t)v);
	bar_write(f, off + 4, 4, v >> 32);
}

static uint64_t read64(struct fixture *f, uint64_t off)
{
	return bar_read(f, off, 4) | bar_read(f, off + 4, 4) << 32;
}

/* Zeroed rings for queue q, as a driver allocates them. */
static void clear_rings(struct fixture *f, uint16_t q)
{
	memset(gpa_to_host(&f->mem, DESC_GPA(q), 0x10000), 0, 0x10000);
}

/* Queue setup as setup_vq() does it: select, size, addresses, vector, enable. */
static void setup_queue(struct fixture *f, uint16_t q, uint16_t size, uint16_t vector)
{
	clear_rings(f, q);
	bar_write(f, Q_SELECT, 2, q);
	assert_int_equal(bar_read(f, Q_SIZE, 2), QUEUE_MAX);
	bar_write(f, Q_SIZE, 2, size);
	write64(f, Q_DESC, DESC_GPA(q));
	write64(f, Q_DRIVER, DRIVER_GPA(q));
	write64(f, Q_DEVICE, DEVICE_GPA(q));
	bar_write(f, Q_MSIX, 2, vector);
	bar_write(f, Q_ENABLE, 2, 1);
}

/* Reset, ACKNOWLEDGE, DRIVER, features; returns the status after FEATURES_OK. */
static uint8_t negotiate(struct fixture *f, uint64_t features)
{
	set_status(f, 0);
	assert_int_equal(status(f), 0);
	set_status(f, ACK);
	set_status(f, ACK | DRIVER);
	write_driver_features(f, features);
	set_status(f, ACK | DRIVER | FEATURES_OK);
	return status(f);
}

/* The whole probe of a Linux driver, both queues enabled with vectors 1 and 2. */
static void linux_probe(struct fixture *f)
{
	uint64_t offered = device_features(f);

	assert_int_equal(negotiate(f, offered & (1ULL << VIRTIO_F_VERSION_1 | 1ULL << 3 |
						 1ULL << VIRTIO_RING_F_EVENT_IDX)),
			 ACK | DRIVER | FEATURES_OK);
	bar_write(f, MSIX_CONFIG, 2, 0);
	for (uint16_t q = 0; q < NQUEUES; q++)
		setup_queue(f, q, 128, (uint16_t)(q + 1));
	set_status(f, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
}

/* Walks the vendor capabilities for cfg_type; returns its offset in config space or 0. */
static uint32_t find_virtio_cap(struct fixture *f, uint8_t type)
{
	uint32_t off = cfg_read(f, PCI_CAPABILITY_LIST, 1);
	int guard = 0;

	while (off && guard++ < 48) {
		if (cfg_read(f, off, 1) == PCI_CAP_ID_VNDR && cfg_read(f, off + 3, 1) == type)
			return off;
		off = cfg_read(f, off + 1, 1);
	}
	return 0;
}

/* Every vector programmed and unmasked, then MSI-X switched on in the capability. */
static void enable_msix(struct fixture *f)
{
	uint32_t off = f->v.msix.cap;
	uint16_t ctrl = (uint16_t)cfg_read(f, off + 2, 2);

	for (uint16_t v = 0; v < NVEC; v++) {
		bar_write(f, VIRTIO_BAR_MSIX_TABLE + 16 * v, 8, 0xfee00000);
		bar_write(f, VIRTIO_BAR_MSIX_TABLE + 16 * v + 8, 8, 0x40 + v);
	}
	cfg_write(f, off + 2, 2, ctrl | MSIX_CTRL_ENABLE);
}

/* --- identity ------------------------------------------------------------------------------ */

static void test_virtio_pci__pci_identity_is_modern_virtio(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
	assert_int_equal(cfg_read(f, PCI_DEVICE_ID, 2), 0x1040 + DEVICE_ID);
	assert_int_equal(cfg_read(f, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_read(f, PCI_SUBSYSTEM_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
	assert_int_equal(cfg_read(f, PCI_SUBSYSTEM_ID, 2), DEVICE_ID);
	assert_int_equal(cfg_read(f, PCI_INTERRUPT_PIN, 1), 1);
	assert_true(cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* BAR 0: 32-bit memory, VIRTIO_BAR_SIZE bytes. */
	{
		uint32_t bar = cfg_read(f, PCI_BASE_ADDRESS_0, 4);
		cfg_write(f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
		assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0, 4), ~(VIRTIO_BAR_SIZE - 1u));
		cfg_write(f, PCI_BASE_ADDRESS_0, 4, bar);
	}
}

static void test_virtio_pci__capabilities_describe_bar0_layout(void **state)
{
	struct fixture *f = *state;
	const struct {
		uint8_t type;
		uint32_t offset, length;
	} want[] = {
	    {CAP_COMMON, VIRTIO_BAR_COMMON, VIRTIO_BAR_COMMON_LEN},
	    {CAP_ISR, VIRTIO_BAR_ISR, VIRTIO_BAR_ISR_LEN},
	    {CAP_DEVICE, VIRTIO_BAR_DEVICE, VIRTIO_BAR_DEVICE_LEN},
	    {CAP_NOTIFY, VIRTIO_BAR_NOTIFY, NQUEUES * VIRTIO_NOTIFY_MULT},
	};
	uint32_t off;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		off = find_virtio_cap(f, want[i].type);
		assert_int_not_equal(off, 0);
		assert_true(cfg_read(f, off + 2, 1) >= 16);   /* cap_len */
		assert_int_equal(cfg_read(f, off + 4, 1), 0); /* bar */
		assert_int_equal(cfg_read(f, off + 8, 4), want[i].offset);
		assert_int_equal(cfg_read(f, off + 12, 4), want[i].length);
	}
	off = find_virtio_cap(f, CAP_NOTIFY);
	assert_int_equal(cfg_read(f, off + 2, 1), 20);
	assert_int_equal(cfg_read(f, off + 16, 4), VIRTIO_NOTIFY_MULT);
	assert_int_not_equal(find_virtio_cap(f, CAP_PCI), 0);
	/* MSI-X: a vector per queue plus one for configuration changes, in BAR 0. */
	off = f->v.msix.cap;
	assert_int_equal(cfg_read(f, off, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_read(f, off + 2, 2), NVEC - 1);
	assert_int_equal(cfg_read(f, off + 4, 4), VIRTIO_BAR_MSIX_TABLE);
	assert_int_equal(cfg_read(f, off + 8, 4), VIRTIO_BAR_MSIX_PBA);
	/* The capabilities are read-only to the guest. */
	off = find_virtio_cap(f, CAP_COMMON);
	cfg_write(f, off + 8, 4, 0x1234);
	assert_int_equal(cfg_read(f, off + 8, 4), VIRTIO_BAR_COMMON);
}

/* --- initialisation as Linux does it ------------------------------------------------------- */

static void test_virtio_pci__linux_probe_starts_device_once(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bar_read(f, NUM_QUEUES, 2), NQUEUES);
	linux_probe(f);
	assert_int_equal(status(f), ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	assert_int_equal(f->starts, 1);
	assert_int_equal(f->stops, 0);
	assert_true(virtio_negotiated(&f->v, VIRTIO_F_VERSION_1));
	assert_true(virtio_negotiated(&f->v, 3));
	assert_true(virtio_negotiated(&f->v, VIRTIO_RING_F_EVENT_IDX));
	assert_false(virtio_negotiated(&f->v, VIRTIO_RING_F_INDIRECT_DESC));
	assert_false(virtio_negotiated(&f->v, 40));
	assert_false(virtio_negotiated(&f->v, 64));
	for (uint16_t q = 0; q < NQUEUES; q++) {
		const struct virtq *vq = &f->v.queues[q].vq;
		assert_true(vq->enabled);
		assert_int_equal(vq->size, 128);
		assert_int_equal(vq->desc_gpa, DESC_GPA(q));
		assert_int_equal(vq->avail_gpa, DRIVER_GPA(q));
		assert_int_equal(vq->used_gpa, DEVICE_GPA(q));
		assert_true(vq->event_idx);
		assert_false(vq->indirect);
		assert_int_equal(f->v.queues[q].msix_vector, q + 1);
	}
	/* Writing DRIVER_OK again (or any status with it) does not start it twice. */
	set_status(f, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	assert_int_equal(f->starts, 1);
}

static void test_virtio_pci__queue_registers_read_back(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
	bar_write(f, Q_SELECT, 2, 1);
	assert_int_equal(bar_read(f, Q_SELECT, 2), 1);
	assert_int_equal(bar_read(f, Q_SIZE, 2), QUEUE_MAX);
	assert_int_equal(bar_read(f, Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(bar_read(f, Q_ENABLE, 2), 0);
	assert_int_equal(bar_read(f, Q_NOFF, 2), 1);
	bar_write(f, Q_SIZE, 2, 64);
	write64(f, Q_DESC, 0x123456789000ULL);
	bar_write(f, Q_DRIVER, 8, 0xabcdef012ULL); /* one qword access works too */
	write64(f, Q_DEVICE, 0x4000);
	bar_write(f, Q_MSIX, 2, 2);
	assert_int_equal(bar_read(f, Q_SIZE, 2), 64);
	assert_int_equal(read64(f, Q_DESC), 0x123456789000ULL);
	assert_int_equal(bar_read(f, Q_DRIVER, 8), 0xabcdef012ULL);
	assert_int_equal(read64(f, Q_DEVICE), 0x4000);
	assert_int_equal(bar_read(f, Q_MSIX, 2), 2);
	/* Queue 0 kept its own values. */
	bar_write(f, Q_SELECT, 2, 0);
	assert_int_equal(bar_read(f, Q_SIZE, 2), QUEUE_MAX);
	assert_int_equal(read64(f, Q_DESC), 0);
	assert_int_equal(bar_read(f, Q_NOFF, 2), 0);
	/* A size above the maximum is clamped to it. */
	bar_write(f, Q_SIZE, 2, 1024);
	assert_int_equal(bar_read(f, Q_SIZE, 2), QUEUE_MAX);
}

static void test_virtio_pci__feature_select_and_read(void **state)
{
	struct fixture *f = *state;

	bar_write(f, DFSELECT, 4, 0);
	assert_int_equal(bar_read(f, DFSELECT, 4), 0);
	assert_int_equal(bar_read(f, DF, 4), 1u << 3 | 1u << VIRTIO_RING_F_INDIRECT_DESC |
						 1u << VIRTIO_RING_F_EVENT_IDX);
	bar_write(f, DFSELECT, 4, 1);
	/* VERSION_1 is bit 32: bit 0 of the second dword; bit 40 is the device's own. */
	assert_int_equal(bar_read(f, DF, 4), 1u << 0 | 1u << 8);
	bar_write(f, DFSELECT, 4, 2);
	assert_int_equal(bar_read(f, DF, 4), 0);
	bar_write(f, DFSELECT, 4, 0xffffffff);
	assert_int_equal(bar_read(f, DFSELECT, 4), 0xffffffff);
	assert_int_equal(bar_read(f, DF, 4), 0);
	/* The device feature word is read-only. */
	bar_write(f, DFSELECT, 4, 0);
	bar_write(f, DF, 4, 0);
	assert_int_not_equal(bar_read(f, DF, 4), 0);

	/* Driver features read back per select; selects past 1 hold nothing. */
	write_driver_features(f, 1ULL << 32 | 1ULL << 3);
	bar_write(f, GFSELECT, 4, 0);
	assert_int_equal(bar_read(f, GF, 4), 1u << 3);
	bar_write(f, GFSELECT, 4, 1);
	assert_int_equal(bar_read(f, GF, 4), 1);
	bar_write(f, GFSELECT, 4, 2);
	bar_write(f, GF, 4, 0xffffffff);
	assert_int_equal(bar_read(f, GF, 4), 0);
	assert_int_equal(f->v.driver_features, 1ULL << 32 | 1ULL << 3);
}

static void test_virtio_pci__features_ok_needs_valid_subset_with_version_1(void **state)
{
	struct fixture *f = *state;

	/* A feature the device did not offer. */
	assert_int_equal(negotiate(f, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 5), ACK | DRIVER);
	/* A legacy driver that did not accept VERSION_1. */
	assert_int_equal(negotiate(f, 1ULL << 3), ACK | DRIVER);
	assert_int_equal(negotiate(f, 0), ACK | DRIVER);
	/* DRIVER_OK without FEATURES_OK starts nothing. */
	setup_queue(f, 0, 64, VIRTIO_MSI_NO_VECTOR);
	set_status(f, ACK | DRIVER | DRIVER_OK);
	assert_int_equal(f->starts, 0);
	/* Every offered feature together is fine, and so is VERSION_1 alone. */
	assert_int_equal(negotiate(f, device_features(f)), ACK | DRIVER | FEATURES_OK);
	assert_int_equal(negotiate(f, 1ULL << VIRTIO_F_VERSION_1), ACK | DRIVER | FEATURES_OK);
	/* Once FEATURES_OK is accepted the driver features are frozen. */
	write_driver_features(f, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 3);
	assert_int_equal(f->v.driver_features, 1ULL << VIRTIO_F_VERSION_1);
	assert_int_equal(f->starts, 0);
}

static void test_virtio_pci__refused_features_ok_can_be_retried(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(negotiate(f, 1ULL << 3), ACK | DRIVER);
	/* The driver fixes its features and sets FEATURES_OK again, without a reset. */
	write_driver_features(f, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 3);
	set_status(f, ACK | DRIVER | FEATURES_OK);
	assert_int_equal(status(f), ACK | DRIVER | FEATURES_OK);
}

static void test_virtio_pci__driver_ok_with_rings_outside_ram_needs_reset(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(negotiate(f, 1ULL << VIRTIO_F_VERSION_1), ACK | DRIVER | FEATURES_OK);
	setup_queue(f, 0, 64, VIRTIO_MSI_NO_VECTOR);
	bar_write(f, Q_SELECT, 2, 1);
	bar_write(f, Q_SIZE, 2, 64);
	write64(f, Q_DESC, RAM_SIZE - 0x200); /* the table runs past the end of RAM */
	write64(f, Q_DRIVER, DRIVER_GPA(1));
	write64(f, Q_DEVICE, DEVICE_GPA(1));
	bar_write(f, Q_ENABLE, 2, 1);
	set_status(f, ACK | DRIVER | FEATURES_OK | DRIVER_OK);

	assert_int_equal(status(f), ACK | DRIVER | FEATURES_OK | DRIVER_OK | NEEDS_RESET);
	assert_int_equal(f->starts, 0);
	/* The driver hears of it: a configuration interrupt (INTx here, MSI-X is off). */
	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR, 1), VIRTIO_ISR_CONFIG);
	assert_int_equal(f->nlevels, 2);
	assert_int_equal(f->levels[0], 1);
	assert_int_equal(f->levels[1], 0);
	/* The driver cannot clear NEEDS_RESET but by resetting. */
	set_status(f, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	assert_true(status(f) & NEEDS_RESET);
	set_status(f, 0);
	assert_int_equal(status(f), 0);
	assert_int_equal(f->stops, 0); /* never started, nothing to stop */
}

static void test_virtio_pci__driver_ok_with_bad_queue_size_needs_reset(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(negotiate(f, 1ULL << VIRTIO_F_VERSION_1), ACK | DRIVER | FEATURES_OK);
	setup_queue(f, 0, 100, VIRTIO_MSI_NO_VECTOR); /* not a power of two */
	set_status(f, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	assert_true(status(f) & NEEDS_RESET);
	assert_int_equal(f->starts, 0);

	assert_int_equal(negotiate(f, 1ULL << VIRTIO_F_VERSION_1), ACK | DRIVER | FEATURES_OK);
	setup_queue(f, 0, 0, VIRTIO_MSI_NO_VECTOR);
	set_status(f, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	assert_true(status(f) & NEEDS_RESET);
	assert_int_equal(f->starts, 0);
}

static void test_virtio_pci__start_failure_needs_reset(void **state)
{
	struct fixture *f = *state;

	f->start_result = -EIO;
	log_set_level(LOG_ERROR);
	linux_probe(f);
	assert_int_equal(f->starts, 1);
	assert_true(status(f) & NEEDS_RESET);
	set_status(f, 0);
	assert_int_equal(f->stops, 0);
}

static void test_virtio_pci__driver_ok_with_failed_starts_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(negotiate(f, 1ULL << VIRTIO_F_VERSION_1), ACK | DRIVER | FEATURES_OK);
	set_status(f, ACK | DRIVER | FEATURES_OK | DRIVER_OK | VIRTIO_STATUS_FAILED);
	assert_int_equal(f->starts, 0);
}

static void test_virtio_pci__driver_cannot_set_needs_reset(void **state)
{
	struct fixture *f = *state;

	set_status(f, ACK | NEEDS_RESET);
	assert_int_equal(status(f), ACK);
}

static void test_virtio_pci__driver_cannot_clear_status_bits(void **state)
{
	struct fixture *f = *state;

	linux_probe(f);
	assert_int_equal(f->starts, 1);
	/* Clearing DRIVER_OK and setting it again must not start the device a second time. */
	set_status(f, ACK | DRIVER | FEATURES_OK);
	assert_int_equal(status(f), ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	set_status(f, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	assert_int_equal(f->starts, 1);
	/* Nor does dropping FEATURES_OK reopen the feature bits under a running device. */
	set_status(f, ACK | DRIVER);
	write_driver_features(f, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	assert_false(virtio_negotiated(&f->v, VIRTIO_RING_F_INDIRECT_DESC));
	assert_int_equal(status(f), ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	assert_int_equal(f->starts, 1);
	assert_int_equal(f->stops, 0);
	/* FAILED sticks too. */
	set_status(f, VIRTIO_STATUS_FAILED);
	assert_int_equal(status(f), ACK | DRIVER | FEATURES_OK | DRIVER_OK | VIRTIO_STATUS_FAILED);
	set_status(f, 0);
	assert_int_equal(status(f), 0);
	assert_int_equal(f->stops, 1);
}

static void test_virtio_pci__device_needs_reset_from_device_side(void **state)
{
	struct fixture *f = *state;

	linux_probe(f);
	enable_msix(f);
	virtio_dev_needs_reset(&f->v);
	virtio_dev_needs_reset(&f->v); /* said once */
	assert_true(status(f) & NEEDS_RESET);
	assert_int_equal(bar_read(f, CFGGENERATION, 1), 1);
	assert_int_equal(f->nsignals, 1);
	assert_int_equal(f->signals[0], 0); /* msix_config */
}

/* --- reset ------------------------------------------------------------------------------- */

static void test_virtio_pci__reset_stops_and_clears_everything(void **state)
{
	struct fixture *f = *state;
	uint64_t one = 1;

	linux_probe(f);
	assert_int_equal(write(f->v.queues[1].kick_fd, &one, sizeof(one)), 8);
	bar_write(f, Q_SELECT, 2, 1);
	set_status(f, 0);

	assert_int_equal(f->stops, 1);
	assert_int_equal(status(f), 0);
	assert_false(f->v.started);
	assert_int_equal(f->v.driver_features, 0);
	assert_int_equal(bar_read(f, DFSELECT, 4), 0);
	assert_int_equal(bar_read(f, GFSELECT, 4), 0);
	assert_int_equal(bar_read(f, Q_SELECT, 2), 0);
	assert_int_equal(bar_read(f, MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	for (uint16_t q = 0; q < NQUEUES; q++) {
		bar_write(f, Q_SELECT, 2, q);
		assert_int_equal(bar_read(f, Q_SIZE, 2), QUEUE_MAX);
		assert_int_equal(bar_read(f, Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
		assert_int_equal(bar_read(f, Q_ENABLE, 2), 0);
		assert_int_equal(read64(f, Q_DESC), 0);
		assert_int_equal(read64(f, Q_DRIVER), 0);
		assert_int_equal(read64(f, Q_DEVICE), 0);
		assert_false(f->v.queues[q].vq.enabled);
		/* Notifications from before the reset are gone. */
		assert_int_equal(read(f->v.queues[q].kick_fd, &one, sizeof(one)), -1);
	}
	/* A second reset has nothing to stop. */
	set_status(f, 0);
	assert_int_equal(f->stops, 1);
	/* And the device can be brought up again. */
	linux_probe(f);
	assert_int_equal(f->starts, 2);
	assert_int_equal(status(f), ACK | DRIVER | FEATURES_OK | DRIVER_OK);
}

static void test_virtio_pci__reset_with_wider_write(void **state)
{
	struct fixture *f = *state;

	linux_probe(f);
	/* A dword write at the status offset: status 0, then generation and queue select. */
	bar_write(f, STATUS, 4, 0);
	assert_int_equal(f->stops, 1);
	assert_int_equal(status(f), 0);
}

/* --- bounds the driver may probe ----------------------------------------------------------- */

static void test_virtio_pci__queue_select_beyond_nqueues_reads_size_0(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
	for (uint16_t sel = NQUEUES; sel; sel = (uint16_t)(sel * 4)) {
		bar_write(f, Q_SELECT, 2, sel);
		assert_int_equal(bar_read(f, Q_SELECT, 2), sel);
		assert_int_equal(bar_read(f, Q_SIZE, 2), 0);
		bar_write(f, Q_SIZE, 2, 16);
		write64(f, Q_DESC, 0x10000);
		bar_write(f, Q_MSIX, 2, 1);
		bar_write(f, Q_ENABLE, 2, 1);
		assert_int_equal(bar_read(f, Q_SIZE, 2), 0);
		assert_int_equal(read64(f, Q_DESC), 0);
		assert_int_equal(bar_read(f, Q_MSIX, 2), 0);
		assert_int_equal(bar_read(f, Q_ENABLE, 2), 0);
	}
	bar_write(f, Q_SELECT, 2, 0xffff);
	assert_int_equal(bar_read(f, Q_SIZE, 2), 0);
	/* The real queues are untouched. */
	for (uint16_t q = 0; q < NQUEUES; q++) {
		bar_write(f, Q_SELECT, 2, q);
		assert_int_equal(bar_read(f, Q_SIZE, 2), QUEUE_MAX);
		assert_int_equal(read64(f, Q_DESC), 0);
		assert_int_equal(bar_read(f, Q_ENABLE, 2), 0);
	}
}

static void test_virtio_pci__msix_vector_beyond_table_reads_no_vector(void **state)
{
	struct fixture *f = *state;

	bar_write(f, MSIX_CONFIG, 2, NVEC - 1);
	assert_int_equal(bar_read(f, MSIX_CONFIG, 2), NVEC - 1);
	bar_write(f, MSIX_CONFIG, 2, NVEC);
	assert_int_equal(bar_read(f, MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	bar_write(f, MSIX_CONFIG, 2, 0x7fff);
	assert_int_equal(bar_read(f, MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	bar_write(f, MSIX_CONFIG, 2, 0);
	assert_int_equal(bar_read(f, MSIX_CONFIG, 2), 0);
	bar_write(f, Q_SELECT, 2, 1);
	bar_write(f, Q_MSIX, 2, NVEC);
	assert_int_equal(bar_read(f, Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	bar_write(f, Q_MSIX, 2, 2);
	assert_int_equal(bar_read(f, Q_MSIX, 2), 2);
	bar_write(f, Q_MSIX, 2, 64);
	assert_int_equal(bar_read(f, Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
}

static void test_virtio_pci__queue_layout_frozen_once_enabled(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
	setup_queue(f, 0, 64, 1);
	bar_write(f, Q_SIZE, 2, 32);
	write64(f, Q_DESC, 0x300000);
	write64(f, Q_DRIVER, 0x300000);
	write64(f, Q_DEVICE, 0x300000);
	assert_int_equal(bar_read(f, Q_SIZE, 2), 64);
	assert_int_equal(read64(f, Q_DESC), DESC_GPA(0));
	assert_int_equal(read64(f, Q_DRIVER), DRIVER_GPA(0));
	assert_int_equal(read64(f, Q_DEVICE), DEVICE_GPA(0));
	/* Writing 0 to queue_enable does not disable it (the driver must reset). */
	bar_write(f, Q_ENABLE, 2, 0);
	assert_int_equal(bar_read(f, Q_ENABLE, 2), 1);
	/* The vector may still change. */
	bar_write(f, Q_MSIX, 2, 2);
	assert_int_equal(bar_read(f, Q_MSIX, 2), 2);

	/* After DRIVER_OK, a queue the driver left disabled is frozen too. */
	set_status(f, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	assert_int_equal(f->starts, 1);
	bar_write(f, Q_SELECT, 2, 1);
	bar_write(f, Q_SIZE, 2, 16);
	bar_write(f, Q_ENABLE, 2, 1);
	assert_int_equal(bar_read(f, Q_SIZE, 2), QUEUE_MAX);
	assert_int_equal(bar_read(f, Q_ENABLE, 2), 0);
	assert_false(f->v.queues[1].vq.enabled);
}

static void test_virtio_pci__odd_common_accesses_are_harmless(void **state)
{
	struct fixture *f = *state;

	/* Past the structure, or wider than a qword: zeros, and writes go nowhere. */
	assert_int_equal(bar_read(f, VIRTIO_BAR_COMMON_LEN - 2, 4), 0);
	assert_int_equal(bar_read(f, 0x3c, 8), 0);
	bar_write(f, 0x3c, 8, UINT64_MAX);
	{
		uint8_t big[16];
		memset(big, 0x5a, sizeof(big));
		virtio_pci_bar_io(&f->v, 0, big, sizeof(big), false);
		for (size_t i = 0; i < sizeof(big); i++)
			assert_int_equal(big[i], 0);
		memset(big, 0, sizeof(big));
		virtio_pci_bar_io(&f->v, STATUS - 4, big, sizeof(big), true);
	}
	/* Byte reads of multi-byte fields. */
	assert_int_equal(bar_read(f, NUM_QUEUES, 1), NQUEUES);
	assert_int_equal(bar_read(f, NUM_QUEUES + 1, 1), 0);
	assert_int_equal(bar_read(f, Q_SIZE + 1, 1), QUEUE_MAX >> 8);
	/* The gap between the ISR and the device area reads 0. */
	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR + 4, 4), 0);
	assert_int_equal(bar_read(f, 0xfc, 4), 0);
	assert_int_equal(status(f), 0);
	assert_int_equal(f->starts, 0);
}

/* --- device configuration ------------------------------------------------------------------ */

static void test_virtio_pci__device_config_goes_to_the_device(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bar_read(f, VIRTIO_BAR_DEVICE + 8, 4), 0xcbcac9c8);
	assert_int_equal(f->config_reads, 1);
	assert_int_equal(f->config_off, 8);
	assert_int_equal(f->config_len, 4);
	bar_write(f, VIRTIO_BAR_DEVICE + 0xf8, 8, 0x1122334455667788ULL);
	assert_int_equal(f->config_writes, 1);
	assert_int_equal(f->config_off, 0xf8);
	assert_int_equal(f->config_data, 0x1122334455667788ULL);
	/* Running past the device area: not passed on. */
	assert_int_equal(bar_read(f, VIRTIO_BAR_DEVICE + 0xfc, 8), 0);
	bar_write(f, VIRTIO_BAR_DEVICE + 0xff, 2, 0);
	assert_int_equal(f->config_reads, 1);
	assert_int_equal(f->config_writes, 1);
}

/* --- interrupts and notifications ---------------------------------------------------------- */

static void test_virtio_pci__isr_read_clears_and_lowers_intx(void **state)
{
	struct fixture *f = *state;

	linux_probe(f);
	virtio_config_changed(&f->v);
	assert_int_equal(bar_read(f, CFGGENERATION, 1), 1);
	assert_int_equal(f->nlevels, 1);
	assert_int_equal(f->levels[0], 1);
	assert_true(cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);

	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR, 1), VIRTIO_ISR_CONFIG);
	assert_int_equal(f->nlevels, 2);
	assert_int_equal(f->levels[1], 0);
	assert_false(cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR, 1), 0);
	assert_int_equal(f->nlevels, 2);

	/* Two causes accumulate until read; a wide read returns them in the first byte. */
	virtio_config_changed(&f->v);
	f->v.isr |= VIRTIO_ISR_QUEUE;
	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR, 4), VIRTIO_ISR_CONFIG | VIRTIO_ISR_QUEUE);
	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR, 4), 0);
	/* Writes and reads of the other ISR bytes neither clear nor lower. */
	virtio_config_changed(&f->v);
	bar_write(f, VIRTIO_BAR_ISR, 1, 0);
	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR + 1, 1), 0);
	assert_int_equal(f->v.isr, VIRTIO_ISR_CONFIG);
	assert_int_equal(f->levels[f->nlevels - 1], 1);
}

/* Makes one chain available on queue q, lets the device take and return it. */
static void complete_one(struct fixture *f, uint16_t q)
{
	struct virtq_chain *c = malloc(sizeof(*c));
	uint16_t avail_idx = (uint16_t)(f->v.queues[q].vq.last_avail + 1);
	struct virtq_desc desc = {.addr = 0x800000, .len = 64, .flags = VIRTQ_DESC_F_WRITE};

	assert_non_null(c);
	assert_int_equal(memory_write(&f->mem, DESC_GPA(q), &desc, sizeof(desc)), 0);
	uint16_t used_event = f->v.queues[q].vq.used_idx; /* "interrupt me after this one" */

	assert_int_equal(memory_write(&f->mem, DRIVER_GPA(q) + 4 + 2 * ((avail_idx - 1) % 128),
				      &(uint16_t){0}, 2),
			 0);
	assert_int_equal(memory_write(&f->mem, DRIVER_GPA(q) + 4 + 2 * 128, &used_event, 2), 0);
	assert_int_equal(memory_write(&f->mem, DRIVER_GPA(q) + 2, &avail_idx, 2), 0);
	assert_int_equal(virtq_pop(&f->v.queues[q].vq, c), 1);
	virtq_push(&f->v.queues[q].vq, c, 64);
	free(c);
}

static void test_virtio_pci__queue_interrupt_uses_intx_without_msix(void **state)
{
	struct fixture *f = *state;

	linux_probe(f);
	complete_one(f, 1);
	virtio_queue_interrupt(&f->v.queues[1]);
	assert_int_equal(f->nlevels, 1);
	assert_int_equal(f->levels[0], 1);
	assert_int_equal(f->nsignals, 0);
	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR, 1), VIRTIO_ISR_QUEUE);
	/* Nothing new pushed: no interrupt. */
	virtio_queue_interrupt(&f->v.queues[1]);
	assert_int_equal(f->nlevels, 2);
	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR, 1), 0);
}

static void test_virtio_pci__queue_interrupt_uses_its_msix_vector(void **state)
{
	struct fixture *f = *state;

	linux_probe(f);
	enable_msix(f);
	assert_int_equal(f->nroutes, NVEC);
	complete_one(f, 1);
	virtio_queue_interrupt(&f->v.queues[1]);
	complete_one(f, 0);
	virtio_queue_interrupt(&f->v.queues[0]);
	virtio_config_changed(&f->v);
	assert_int_equal(f->nsignals, 3);
	assert_int_equal(f->signals[0], 2);
	assert_int_equal(f->signals[1], 1);
	assert_int_equal(f->signals[2], 0);
	assert_int_equal(f->nlevels, 0);
	assert_int_equal(bar_read(f, VIRTIO_BAR_ISR, 1), 0);
	/* A queue without a vector gets no interrupt at all under MSI-X (4.1.5.1.2). */
	bar_write(f, Q_SELECT, 2, 1);
	bar_write(f, Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	complete_one(f, 1);
	virtio_queue_interrupt(&f->v.queues[1]);
	assert_int_equal(f->nsignals, 3);
	assert_int_equal(f->nlevels, 0);
}

static void test_virtio_pci__notify_write_kicks_the_queue(void **state)
{
	struct fixture *f = *state;
	uint64_t n = 0;

	linux_probe(f);
	for (uint16_t q = 0; q < NQUEUES; q++) {
		assert_int_equal(read(f->v.queues[q].kick_fd, &n, sizeof(n)), -1);
		bar_write(f, VIRTIO_BAR_NOTIFY + (uint64_t)q * VIRTIO_NOTIFY_MULT, 2, q);
		assert_int_equal(read(f->v.queues[q].kick_fd, &n, sizeof(n)), 8);
		assert_int_equal(n, 1);
		/* The other queue was not kicked. */
		assert_int_equal(read(f->v.queues[!q].kick_fd, &n, sizeof(n)), -1);
	}
	/* Any width at the queue's address kicks; past the last queue nothing happens. */
	bar_write(f, VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MULT + 2, 1, 0);
	assert_int_equal(read(f->v.queues[1].kick_fd, &n, sizeof(n)), 8);
	bar_write(f, VIRTIO_BAR_NOTIFY + NQUEUES * VIRTIO_NOTIFY_MULT, 2, 0);
	bar_write(f, VIRTIO_BAR_MSIX_TABLE - 4, 4, 0);
	for (uint16_t q = 0; q < NQUEUES; q++)
		assert_int_equal(read(f->v.queues[q].kick_fd, &n, sizeof(n)), -1);
	/* The notify area reads as zeros. */
	assert_int_equal(bar_read(f, VIRTIO_BAR_NOTIFY, 4), 0);
}

static void test_virtio_pci__msix_table_and_pba_in_bar0(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bar_read(f, VIRTIO_BAR_MSIX_TABLE + 12, 4), MSIX_VECTOR_MASKED);
	bar_write(f, VIRTIO_BAR_MSIX_TABLE + 16, 8, 0xfee00000);
	assert_int_equal(bar_read(f, VIRTIO_BAR_MSIX_TABLE + 16, 8), 0xfee00000);
	assert_int_equal(bar_read(f, VIRTIO_BAR_MSIX_TABLE + 16 * NVEC, 4), 0xffffffff);
	msix_notify(&f->v.msix, 2);
	assert_int_equal(bar_read(f, VIRTIO_BAR_MSIX_PBA, 8), 1u << 2);
	assert_int_equal(bar_read(f, VIRTIO_BAR_SIZE - 8, 8), 0);
}

/* --- the VIRTIO_PCI_CAP_PCI_CFG window ----------------------------------------------------- */

/* Points the window at (offset, length) in BAR 0. */
static uint32_t set_window(struct fixture *f, uint32_t offset, uint32_t length)
{
	uint32_t cap = find_virtio_cap(f, CAP_PCI);

	assert_int_not_equal(cap, 0);
	cfg_write(f, cap + 4, 1, 0); /* bar */
	cfg_write(f, cap + 8, 4, offset);
	cfg_write(f, cap + 12, 4, length);
	return cap + 16; /* pci_cfg_data */
}

static void test_virtio_pci__pci_cfg_window_reads_common_config(void **state)
{
	struct fixture *f = *state;
	uint32_t data;

	data = set_window(f, NUM_QUEUES, 2);
	assert_int_equal(cfg_read(f, data, 2), NQUEUES);
	data = set_window(f, DF, 4);
	assert_int_equal(cfg_read(f, data, 4), 1u << 3 | 1u << VIRTIO_RING_F_INDIRECT_DESC |
						   1u << VIRTIO_RING_F_EVENT_IDX);
	data = set_window(f, Q_SIZE, 2);
	assert_int_equal(cfg_read(f, data, 4) & 0xffff, QUEUE_MAX);
	/* The device area too. */
	data = set_window(f, VIRTIO_BAR_DEVICE + 4, 1);
	assert_int_equal(cfg_read(f, data, 1), 0xc4);
	assert_int_equal(f->config_reads, 1);
}

static void test_virtio_pci__pci_cfg_window_writes_reach_bar0(void **state)
{
	struct fixture *f = *state;
	uint32_t data;

	data = set_window(f, STATUS, 1);
	cfg_write(f, data, 1, ACK);
	assert_int_equal(status(f), ACK);
	data = set_window(f, Q_SELECT, 2);
	cfg_write(f, data, 2, 1);
	assert_int_equal(bar_read(f, Q_SELECT, 2), 1);
	/* A notification through the window. */
	data = set_window(f, VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MULT, 2);
	cfg_write(f, data, 2, 1);
	{
		uint64_t n;
		assert_int_equal(read(f->v.queues[1].kick_fd, &n, sizeof(n)), 8);
	}
}

static void test_virtio_pci__pci_cfg_window_ignores_bad_windows(void **state)
{
	struct fixture *f = *state;
	uint32_t cap = find_virtio_cap(f, CAP_PCI), data;

	/* Length 3, a BAR other than 0, a window past the BAR: the data reads as left. */
	data = set_window(f, STATUS, 3);
	cfg_write(f, data, 4, 0x01010101);
	assert_int_equal(status(f), 0);
	data = set_window(f, VIRTIO_BAR_SIZE - 2, 4);
	cfg_write(f, data, 4, 0x0);
	assert_int_equal(cfg_read(f, data, 4), 0);
	data = set_window(f, 0xfffffffe, 4);
	assert_int_equal(cfg_read(f, data, 4), 0);
	data = set_window(f, STATUS, 1);
	cfg_write(f, cap + 4, 1, 2); /* bar 2 */
	cfg_write(f, data, 1, ACK);
	assert_int_equal(status(f), 0);
	/* Accesses next to the data field do not touch BAR 0. */
	cfg_write(f, cap + 4, 1, 0);
	cfg_write(f, cap + 12, 4, 1);
	assert_int_equal(status(f), 0);
}

/*
 * The window reaches registers whose side effects drive INTx: reading the ISR lowers it,
 * a reset lowers it, a failed DRIVER_OK raises it. The configuration access holds the PCI
 * bus lock while it runs; none of these may wait for that lock again.
 */
static void watchdog(int sig)
{
	static const char msg[] = "test_virtio_pci: deadlock (timed out)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(2);
}

static void test_virtio_pci__pci_cfg_window_isr_read_and_reset_do_not_deadlock(void **state)
{
	struct fixture *f = *state;
	uint32_t data;
	int n;

	signal(SIGALRM, watchdog);
	alarm(10);
	linux_probe(f);
	virtio_config_changed(&f->v);
	assert_int_equal(f->levels[f->nlevels - 1], 1);
	data = set_window(f, VIRTIO_BAR_ISR, 1);
	assert_int_equal(cfg_read(f, data, 1), VIRTIO_ISR_CONFIG);
	assert_int_equal(f->levels[f->nlevels - 1], 0);

	virtio_config_changed(&f->v);
	data = set_window(f, STATUS, 1);
	cfg_write(f, data, 1, 0);
	assert_int_equal(status(f), 0);
	assert_int_equal(f->stops, 1);
	assert_int_equal(f->levels[f->nlevels - 1], 0);

	/* A DRIVER_OK with bad rings, written through the window, raises INTx. */
	assert_int_equal(negotiate(f, 1ULL << VIRTIO_F_VERSION_1), ACK | DRIVER | FEATURES_OK);
	setup_queue(f, 0, 100, VIRTIO_MSI_NO_VECTOR);
	data = set_window(f, STATUS, 1);
	cfg_write(f, data, 1, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
	assert_true(status(f) & NEEDS_RESET);
	assert_int_equal(f->levels[f->nlevels - 1], 1);

	/* A reset through the window while an I/O thread raises INTx: stop() waits for it. */
	bar_read(f, VIRTIO_BAR_ISR, 1);
	linux_probe(f);
	f->stop_joins_worker = true;
	data = set_window(f, STATUS, 1);
	n = f->nlevels;
	cfg_write(f, data, 1, 0);
	assert_int_equal(status(f), 0);
	assert_int_equal(f->stops, 2);
	/* The worker's interrupt, then the reset's lowering. */
	assert_int_equal(f->nlevels, n + 2);
	assert_int_equal(f->levels[n], 1);
	assert_int_equal(f->levels[n + 1], 0);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_virtio_pci__pci_identity_is_modern_virtio),
	    T(test_virtio_pci__capabilities_describe_bar0_layout),
	    T(test_virtio_pci__linux_probe_starts_device_once),
	    T(test_virtio_pci__queue_registers_read_back),
	    T(test_virtio_pci__feature_select_and_read),
	    T(test_virtio_pci__features_ok_needs_valid_subset_with_version_1),
	    T(test_virtio_pci__refused_features_ok_can_be_retried),
	    T(test_virtio_pci__driver_ok_with_rings_outside_ram_needs_reset),
	    T(test_virtio_pci__driver_ok_with_bad_queue_size_needs_reset),
	    T(test_virtio_pci__start_failure_needs_reset),
	    T(test_virtio_pci__driver_ok_with_failed_starts_nothing),
	    T(test_virtio_pci__driver_cannot_set_needs_reset),
	    T(test_virtio_pci__driver_cannot_clear_status_bits),
	    T(test_virtio_pci__device_needs_reset_from_device_side),
	    T(test_virtio_pci__reset_stops_and_clears_everything),
	    T(test_virtio_pci__reset_with_wider_write),
	    T(test_virtio_pci__queue_select_beyond_nqueues_reads_size_0),
	    T(test_virtio_pci__msix_vector_beyond_table_reads_no_vector),
	    T(test_virtio_pci__queue_layout_frozen_once_enabled),
	    T(test_virtio_pci__odd_common_accesses_are_harmless),
	    T(test_virtio_pci__device_config_goes_to_the_device),
	    T(test_virtio_pci__isr_read_clears_and_lowers_intx),
	    T(test_virtio_pci__queue_interrupt_uses_intx_without_msix),
	    T(test_virtio_pci__queue_interrupt_uses_its_msix_vector),
	    T(test_virtio_pci__notify_write_kicks_the_queue),
	    T(test_virtio_pci__msix_table_and_pba_in_bar0),
	    T(test_virtio_pci__pci_cfg_window_reads_common_config),
	    T(test_virtio_pci__pci_cfg_window_writes_reach_bar0),
	    T(test_virtio_pci__pci_cfg_window_ignores_bad_windows),
	    T(test_virtio_pci__pci_cfg_window_isr_read_and_reset_do_not_deadlock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
