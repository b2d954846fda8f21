/*
 * Tests for MSI-X (src/pci/msix.c): the capability in configuration space, the vector table
 * and the pending-bit array as a guest programs them, and which interrupts reach the host
 * side. The host side is a fake msix_ops that records every route and signal; the device
 * sits on a real PCI bus so configuration writes go through the bus's write masks.
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

#include "log.h"
#include "pci/msix.h"
#include "pci/pci.h"

#define NVEC	   5
#define TABLE_OFF  0x1000
#define PBA_OFF	   0x1800
#define MSIX_BAR   2
#define SLOT	   1
#define DEVFN	   (SLOT << 3)
#define MSI_ADDR   0xfee00000u
#define MAX_EVENTS 256

struct route_call {
	uint16_t vector;
	uint64_t addr;
	uint32_t data;
};

struct fixture {
	struct pci_bus bus;
	struct pci_device pci;
	struct msix m;
	uint8_t cap; /* offset of the MSI-X capability */
	int nroutes;
	struct route_call routes[MAX_EVENTS];
	int route_result;
	int nsignals;
	uint16_t signals[MAX_EVENTS];
};

static int fake_route(void *ctx, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct fixture *f = ctx;

	assert_true(f->nroutes < MAX_EVENTS);
	f->routes[f->nroutes++] = (struct route_call){vector, addr, data};
	return f->route_result;
}

static void fake_signal(void *ctx, uint16_t vector)
{
	struct fixture *f = ctx;

	assert_true(f->nsignals < MAX_EVENTS);
	f->signals[f->nsignals++] = vector;
}

static const struct msix_ops fake_ops = {.route = fake_route, .signal = fake_signal};

static void cfg_written(struct pci_device *d, uint32_t off, uint32_t len)
{
	struct fixture *f = d->opaque;

	msix_cfg_written(&f->m, off, len);
}

static const struct pci_device_ops pci_ops = {.cfg_written = cfg_written};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	pci_bus_init(&f->bus, 0xe0000000, 0xf0000000, NULL);
	pci_device_init(&f->pci, "msix-test", 0x1234, 0x11, 0xff0000, 0, 0);
	f->pci.ops = &pci_ops;
	f->pci.opaque = f;
	/* Something before it, so the capability is not simply the first. */
	assert_int_equal(
	    pci_device_add_cap(&f->pci, (uint8_t[4]){PCI_CAP_ID_VNDR, 0, 4, 0}, 4, NULL), 0x40);
	assert_int_equal(
	    msix_init(&f->m, &f->pci, NVEC, MSIX_BAR, TABLE_OFF, PBA_OFF, &fake_ops, f), 0);
	f->cap = f->m.cap;
	assert_int_equal(pci_bus_add(&f->bus, &f->pci), SLOT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	msix_destroy(&f->m);
	pci_bus_destroy(&f->bus);
	free(f);
	return 0;
}

/* --- guest-side accessors ------------------------------------------------------------------ */

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

/* Message Control: Enable and Function Mask, as a driver writes the whole word. */
static void set_control(struct fixture *f, bool enable, bool maskall)
{
	uint16_t ctrl = (uint16_t)cfg_read(f, f->cap + 2, 2);

	ctrl &= (uint16_t) ~(MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	ctrl |= (uint16_t)((enable ? MSIX_CTRL_ENABLE : 0) | (maskall ? MSIX_CTRL_MASKALL : 0));
	cfg_write(f, f->cap + 2, 2, ctrl);
}

static uint64_t table_read(struct fixture *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;

	msix_table_io(&f->m, off, (uint8_t *)&v, len, false);
	if (len < 8)
		v &= (1ULL << (8 * len)) - 1;
	return v;
}

static void table_write(struct fixture *f, uint64_t off, uint32_t len, uint64_t v)
{
	msix_table_io(&f->m, off, (uint8_t *)&v, len, true);
}

static uint64_t pba_read(struct fixture *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;

	msix_pba_io(&f->m, off, (uint8_t *)&v, len, false);
	if (len < 8)
		v &= (1ULL << (8 * len)) - 1;
	return v;
}

/* Programs vector v as Linux does: address, data, then unmask (or leave masked). */
static void program(struct fixture *f, uint16_t v, uint32_t addr, uint32_t data, bool masked)
{
	uint64_t e = (uint64_t)v * MSIX_ENTRY_SIZE;

	table_write(f, e + 0, 4, addr);
	table_write(f, e + 4, 4, 0);
	table_write(f, e + 8, 4, data);
	table_write(f, e + 12, 4, masked ? MSIX_VECTOR_MASKED : 0);
}

static bool pending(struct fixture *f, uint16_t v)
{
	return (pba_read(f, 0, 8) >> v) & 1;
}

/* --- the capability ------------------------------------------------------------------------ */

static void test_msix__capability_describes_table_and_pba(void **state)
{
	struct fixture *f = *state;
	uint32_t off = cfg_read(f, PCI_CAPABILITY_LIST, 1);

	/* Found by walking the list. */
	while (off && cfg_read(f, off, 1) != PCI_CAP_ID_MSIX)
		off = cfg_read(f, off + 1, 1);
	assert_int_equal(off, f->cap);
	assert_int_equal(cfg_read(f, off + 2, 2), NVEC - 1);
	assert_int_equal(cfg_read(f, off + 4, 4), TABLE_OFF | MSIX_BAR);
	assert_int_equal(cfg_read(f, off + 8, 4), PBA_OFF | MSIX_BAR);
	assert_int_equal(cfg_read(f, off + 1, 1), 0); /* last in the list */

	/* Only Enable and Function Mask are writable; the table size and offsets are not. */
	cfg_write(f, off, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, off + 2, 2),
			 MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL | (NVEC - 1));
	cfg_write(f, off + 4, 4, 0);
	cfg_write(f, off + 8, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, off + 4, 4), TABLE_OFF | MSIX_BAR);
	assert_int_equal(cfg_read(f, off + 8, 4), PBA_OFF | MSIX_BAR);
	assert_true(msix_enabled(&f->m));
	assert_true(f->m.masked);
	cfg_write(f, off + 2, 2, 0);
	assert_int_equal(cfg_read(f, off + 2, 2), NVEC - 1);
	assert_false(msix_enabled(&f->m));
}

static void test_msix__init_rejects_bad_parameters(void **state)
{
	struct fixture *f = *state;
	struct pci_device d;
	struct msix m;

	pci_device_init(&d, "bad", 0x1234, 0x1, 0xff0000, 0, 0);
	assert_int_equal(msix_init(&m, &d, 0, 0, 0, 0x800, &fake_ops, f), -EINVAL);
	assert_int_equal(msix_init(&m, &d, MSIX_MAX_VECTORS + 1, 0, 0, 0x800, &fake_ops, f),
			 -EINVAL);
	assert_int_equal(msix_init(&m, &d, 4, 0, 4, 0x800, &fake_ops, f), -EINVAL);
	assert_int_equal(msix_init(&m, &d, 4, 0, 0, 0x801, &fake_ops, f), -EINVAL);
	assert_int_equal(d.cfg[PCI_CAPABILITY_LIST], 0);
	assert_int_equal(msix_init(&m, &d, MSIX_MAX_VECTORS, 0, 0, 0x800, &fake_ops, f), 0);
	assert_int_equal(pci_cfg_get16(&d, m.cap + 2), MSIX_MAX_VECTORS - 1);
	msix_destroy(&m);
}

static void test_msix__reset_state_is_disabled_and_masked(void **state)
{
	struct fixture *f = *state;

	assert_false(msix_enabled(&f->m));
	for (uint16_t v = 0; v < NVEC; v++) {
		uint64_t e = (uint64_t)v * MSIX_ENTRY_SIZE;
		assert_int_equal(table_read(f, e, 8), 0);
		assert_int_equal(table_read(f, e + 8, 4), 0);
		assert_int_equal(table_read(f, e + 12, 4), MSIX_VECTOR_MASKED);
	}
	assert_int_equal(pba_read(f, 0, 8), 0);
	assert_int_equal(f->nroutes, 0);
	assert_int_equal(f->nsignals, 0);
}

/* --- delivery ------------------------------------------------------------------------------ */

static void test_msix__disabled_notify_only_sets_pending(void **state)
{
	struct fixture *f = *state;

	program(f, 2, MSI_ADDR, 0x41, false);
	msix_notify(&f->m, 2);
	msix_notify(&f->m, 2);
	assert_int_equal(f->nsignals, 0);
	assert_true(pending(f, 2));
	assert_int_equal(pba_read(f, 0, 8), 1u << 2);
	/* Routes are only installed once MSI-X is on. */
	assert_int_equal(f->nroutes, 0);
}

static void test_msix__enabled_unmasked_vector_signals(void **state)
{
	struct fixture *f = *state;

	program(f, 1, MSI_ADDR, 0x31, false);
	program(f, 3, MSI_ADDR | 0x1000, 0x32, false);
	set_control(f, true, false);
	assert_true(msix_enabled(&f->m));
	msix_notify(&f->m, 3);
	msix_notify(&f->m, 1);
	msix_notify(&f->m, 3);
	assert_int_equal(f->nsignals, 3);
	assert_int_equal(f->signals[0], 3);
	assert_int_equal(f->signals[1], 1);
	assert_int_equal(f->signals[2], 3);
	assert_int_equal(pba_read(f, 0, 8), 0);
}

static void test_msix__pending_while_disabled_fires_on_enable(void **state)
{
	struct fixture *f = *state;

	program(f, 0, MSI_ADDR, 0x30, false);
	program(f, 4, MSI_ADDR, 0x34, true);
	msix_notify(&f->m, 0);
	msix_notify(&f->m, 4);
	assert_int_equal(pba_read(f, 0, 8), 0x11);
	set_control(f, true, false);
	/* Vector 0 is deliverable now; vector 4 is still masked and stays pending. */
	assert_int_equal(f->nsignals, 1);
	assert_int_equal(f->signals[0], 0);
	assert_int_equal(pba_read(f, 0, 8), 0x10);
}

static void test_msix__function_mask_holds_then_fires_once(void **state)
{
	struct fixture *f = *state;

	program(f, 1, MSI_ADDR, 0x31, false);
	program(f, 2, MSI_ADDR, 0x32, false);
	set_control(f, true, true);
	msix_notify(&f->m, 1);
	msix_notify(&f->m, 1);
	msix_notify(&f->m, 2);
	assert_int_equal(f->nsignals, 0);
	assert_int_equal(pba_read(f, 0, 8), 0x6);

	set_control(f, true, false);
	assert_int_equal(f->nsignals, 2); /* once per vector, however often it was raised */
	assert_int_equal(f->signals[0], 1);
	assert_int_equal(f->signals[1], 2);
	assert_int_equal(pba_read(f, 0, 8), 0);
	/* Writing the same control word again fires nothing more. */
	set_control(f, true, false);
	assert_int_equal(f->nsignals, 2);
	msix_notify(&f->m, 2);
	assert_int_equal(f->nsignals, 3);
}

static void test_msix__vector_mask_bit_holds_then_fires_once(void **state)
{
	struct fixture *f = *state;

	program(f, 3, MSI_ADDR, 0x33, true);
	set_control(f, true, false);
	msix_notify(&f->m, 3);
	msix_notify(&f->m, 3);
	assert_int_equal(f->nsignals, 0);
	assert_true(pending(f, 3));

	/* Other vectors are not held back by vector 3's mask. */
	program(f, 0, MSI_ADDR, 0x30, false);
	msix_notify(&f->m, 0);
	assert_int_equal(f->nsignals, 1);
	assert_int_equal(f->signals[0], 0);

	table_write(f, 3 * MSIX_ENTRY_SIZE + 12, 4, 0);
	assert_int_equal(f->nsignals, 2);
	assert_int_equal(f->signals[1], 3);
	assert_false(pending(f, 3));
	table_write(f, 3 * MSIX_ENTRY_SIZE + 12, 4, 0);
	assert_int_equal(f->nsignals, 2);

	/* Masked again: pending again, and an unmask through a qword write fires it. */
	table_write(f, 3 * MSIX_ENTRY_SIZE + 12, 4, MSIX_VECTOR_MASKED);
	msix_notify(&f->m, 3);
	assert_int_equal(f->nsignals, 2);
	table_write(f, 3 * MSIX_ENTRY_SIZE + 8, 8, 0x33);
	assert_int_equal(f->nsignals, 3);
	assert_int_equal(f->signals[2], 3);
}

static void test_msix__both_masks_must_be_clear(void **state)
{
	struct fixture *f = *state;

	program(f, 1, MSI_ADDR, 0x31, true);
	set_control(f, true, true);
	msix_notify(&f->m, 1);
	table_write(f, 1 * MSIX_ENTRY_SIZE + 12, 4, 0); /* vector unmasked, function still masked */
	assert_int_equal(f->nsignals, 0);
	table_write(f, 1 * MSIX_ENTRY_SIZE + 12, 4, 1);
	set_control(f, true, false); /* function unmasked, vector masked again */
	assert_int_equal(f->nsignals, 0);
	assert_true(pending(f, 1));
	table_write(f, 1 * MSIX_ENTRY_SIZE + 12, 4, 0);
	assert_int_equal(f->nsignals, 1);
}

static void test_msix__out_of_range_vector_ignored(void **state)
{
	struct fixture *f = *state;

	for (uint16_t v = 0; v < NVEC; v++)
		program(f, v, MSI_ADDR, 0x30 + v, false);
	msix_notify(&f->m, NVEC);
	msix_notify(&f->m, 63);
	msix_notify(&f->m, 64);
	msix_notify(&f->m, 0xffff);
	assert_int_equal(pba_read(f, 0, 8), 0);
	set_control(f, true, false);
	msix_notify(&f->m, NVEC);
	msix_notify(&f->m, 0xffff);
	assert_int_equal(f->nsignals, 0);
	assert_int_equal(pba_read(f, 0, 8), 0);
}

/* --- routes -------------------------------------------------------------------------------- */

static void test_msix__enable_routes_every_vector_as_programmed(void **state)
{
	struct fixture *f = *state;

	for (uint16_t v = 0; v < NVEC; v++)
		program(f, v, MSI_ADDR | (uint32_t)v << 12, 0x4000 + v, v == 2);
	table_write(f, 4 * MSIX_ENTRY_SIZE + 4, 4, 0x1); /* vector 4: a 64-bit address */
	assert_int_equal(f->nroutes, 0);

	set_control(f, true, false);
	assert_int_equal(f->nroutes, NVEC);
	for (uint16_t v = 0; v < NVEC; v++) {
		assert_int_equal(f->routes[v].vector, v);
		assert_int_equal(f->routes[v].addr,
				 (v == 4 ? 0x100000000ULL : 0) | MSI_ADDR | (uint32_t)v << 12);
		assert_int_equal(f->routes[v].data, 0x4000 + v);
	}
	/* Toggling the function mask or re-enabling does not route again. */
	set_control(f, true, true);
	set_control(f, true, false);
	assert_int_equal(f->nroutes, NVEC);
	/* Off and on again: routed again. */
	set_control(f, false, false);
	set_control(f, true, false);
	assert_int_equal(f->nroutes, 2 * NVEC);
}

static void test_msix__changed_entry_is_rerouted(void **state)
{
	struct fixture *f = *state;

	program(f, 1, MSI_ADDR, 0x31, false);
	set_control(f, true, false);
	f->nroutes = 0;

	table_write(f, 1 * MSIX_ENTRY_SIZE + 8, 4, 0x99);
	assert_int_equal(f->nroutes, 1);
	assert_int_equal(f->routes[0].vector, 1);
	assert_int_equal(f->routes[0].addr, MSI_ADDR);
	assert_int_equal(f->routes[0].data, 0x99);

	table_write(f, 1 * MSIX_ENTRY_SIZE, 8, 0x00000002fee01000ULL);
	assert_int_equal(f->nroutes, 2);
	assert_int_equal(f->routes[1].addr, 0x2fee01000ULL);
	assert_int_equal(f->routes[1].data, 0x99);

	/* Same values, or only the mask bit: no new route. */
	table_write(f, 1 * MSIX_ENTRY_SIZE + 8, 4, 0x99);
	table_write(f, 1 * MSIX_ENTRY_SIZE + 12, 4, 1);
	table_write(f, 1 * MSIX_ENTRY_SIZE + 12, 4, 0);
	assert_int_equal(f->nroutes, 2);

	/* While disabled, changes wait for the next enable. */
	set_control(f, false, false);
	table_write(f, 1 * MSIX_ENTRY_SIZE + 8, 4, 0x77);
	assert_int_equal(f->nroutes, 2);
	set_control(f, true, false);
	assert_int_equal(f->nroutes, 2 + NVEC);
	assert_int_equal(f->routes[3].vector, 1);
	assert_int_equal(f->routes[3].data, 0x77);
}

static void test_msix__failed_route_does_not_stop_delivery(void **state)
{
	struct fixture *f = *state;

	log_set_level(LOG_ERROR); /* the failure is logged (once) on purpose */
	f->route_result = -ENOSPC;
	program(f, 0, MSI_ADDR, 0x30, false);
	set_control(f, true, false);
	assert_int_equal(f->nroutes, NVEC);
	msix_notify(&f->m, 0);
	assert_int_equal(f->nsignals, 1);
}

/* --- table and PBA accesses ------------------------------------------------------------------ */

static void test_msix__table_dword_and_qword_accesses(void **state)
{
	struct fixture *f = *state;

	table_write(f, 2 * MSIX_ENTRY_SIZE, 8, 0x00000001fee02000ULL);
	table_write(f, 2 * MSIX_ENTRY_SIZE + 8, 8, 0x0000000000004142ULL);
	assert_int_equal(table_read(f, 2 * MSIX_ENTRY_SIZE, 4), 0xfee02000);
	assert_int_equal(table_read(f, 2 * MSIX_ENTRY_SIZE + 4, 4), 0x1);
	assert_int_equal(table_read(f, 2 * MSIX_ENTRY_SIZE + 8, 4), 0x4142);
	assert_int_equal(table_read(f, 2 * MSIX_ENTRY_SIZE + 12, 4), 0); /* unmasked */
	assert_int_equal(table_read(f, 2 * MSIX_ENTRY_SIZE + 8, 8), 0x4142);

	table_write(f, 3 * MSIX_ENTRY_SIZE, 4, 0xfee03000);
	table_write(f, 3 * MSIX_ENTRY_SIZE + 4, 4, 0x7);
	assert_int_equal(table_read(f, 3 * MSIX_ENTRY_SIZE, 8), 0x7fee03000ULL);
	/* Reserved bits of Vector Control read as 0. */
	table_write(f, 3 * MSIX_ENTRY_SIZE + 12, 4, 0xfffffffe);
	assert_int_equal(table_read(f, 3 * MSIX_ENTRY_SIZE + 12, 4), 0);
	table_write(f, 3 * MSIX_ENTRY_SIZE + 8, 8, 0xffffffff00000055ULL);
	assert_int_equal(table_read(f, 3 * MSIX_ENTRY_SIZE + 8, 8), 0x100000055ULL);
	/* The other entries are untouched. */
	assert_int_equal(table_read(f, 1 * MSIX_ENTRY_SIZE + 12, 4), MSIX_VECTOR_MASKED);
	assert_int_equal(table_read(f, 4 * MSIX_ENTRY_SIZE, 8), 0);
}

static void test_msix__odd_and_misaligned_table_accesses_ignored(void **state)
{
	struct fixture *f = *state;
	const struct {
		uint64_t off;
		uint32_t len;
	} bad[] = {{0, 1},  {0, 2}, {1, 4}, {2, 4}, {4, 8},
		   {12, 8}, {0, 3}, {8, 5}, {6, 2}, {15, 1}};

	program(f, 0, MSI_ADDR, 0x30, true);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t mask = bad[i].len == 8 ? UINT64_MAX : (1ULL << (8 * bad[i].len)) - 1;
		assert_int_equal(table_read(f, bad[i].off, bad[i].len), mask);
		table_write(f, bad[i].off, bad[i].len, 0);
	}
	assert_int_equal(table_read(f, 0, 4), MSI_ADDR);
	assert_int_equal(table_read(f, 8, 4), 0x30);
	assert_int_equal(table_read(f, 12, 4), MSIX_VECTOR_MASKED);
}

static void test_msix__table_beyond_last_vector_reads_ones(void **state)
{
	struct fixture *f = *state;

	set_control(f, true, false);
	assert_int_equal(table_read(f, NVEC * MSIX_ENTRY_SIZE, 4), 0xffffffff);
	assert_int_equal(table_read(f, NVEC * MSIX_ENTRY_SIZE + 8, 8), UINT64_MAX);
	assert_int_equal(table_read(f, 0x7f0, 4), 0xffffffff);
	assert_int_equal(table_read(f, UINT64_MAX - 7, 8), UINT64_MAX);
	table_write(f, NVEC * MSIX_ENTRY_SIZE + 12, 4, 0);
	table_write(f, MSIX_MAX_VECTORS * MSIX_ENTRY_SIZE + 12, 4, 0);
	table_write(f, UINT64_MAX - 3, 4, 0);
	assert_int_equal(f->nroutes, NVEC);
	for (int v = 0; v < MSIX_MAX_VECTORS; v++)
		assert_int_equal(f->m.table[v].ctrl, MSIX_VECTOR_MASKED);
}

static void test_msix__pba_reflects_pending_and_ignores_writes(void **state)
{
	struct fixture *f = *state;

	msix_notify(&f->m, 0);
	msix_notify(&f->m, 3);
	assert_int_equal(pba_read(f, 0, 8), 0x9);
	assert_int_equal(pba_read(f, 0, 4), 0x9);
	assert_int_equal(pba_read(f, 0, 1), 0x9);
	assert_int_equal(pba_read(f, 4, 4), 0);
	/* Past the one qword of bits: zeros. */
	assert_int_equal(pba_read(f, 8, 8), 0);
	assert_int_equal(pba_read(f, 0x7f8, 8), 0);
	assert_int_equal(pba_read(f, 6, 4), 0);

	{
		uint64_t zero = 0, ones = UINT64_MAX;
		msix_pba_io(&f->m, 0, (uint8_t *)&zero, 8, true);
		msix_pba_io(&f->m, 0, (uint8_t *)&ones, 4, true);
	}
	assert_int_equal(pba_read(f, 0, 8), 0x9);
	assert_int_equal(f->nsignals, 0);
}

static void test_msix__reset_clears_everything(void **state)
{
	struct fixture *f = *state;

	program(f, 1, MSI_ADDR, 0x31, false);
	program(f, 2, MSI_ADDR, 0x32, true);
	set_control(f, true, false);
	msix_notify(&f->m, 2);
	assert_true(pending(f, 2));

	msix_reset(&f->m);
	assert_false(msix_enabled(&f->m));
	assert_int_equal(pba_read(f, 0, 8), 0);
	assert_int_equal(table_read(f, 1 * MSIX_ENTRY_SIZE, 8), 0);
	assert_int_equal(table_read(f, 1 * MSIX_ENTRY_SIZE + 12, 4), MSIX_VECTOR_MASKED);
	msix_notify(&f->m, 1);
	assert_int_equal(f->nsignals, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_msix__capability_describes_table_and_pba),
	    T(test_msix__init_rejects_bad_parameters),
	    T(test_msix__reset_state_is_disabled_and_masked),
	    T(test_msix__disabled_notify_only_sets_pending),
	    T(test_msix__enabled_unmasked_vector_signals),
	    T(test_msix__pending_while_disabled_fires_on_enable),
	    T(test_msix__function_mask_holds_then_fires_once),
	    T(test_msix__vector_mask_bit_holds_then_fires_once),
	    T(test_msix__both_masks_must_be_clear),
	    T(test_msix__out_of_range_vector_ignored),
	    T(test_msix__enable_routes_every_vector_as_programmed),
	    T(test_msix__changed_entry_is_rerouted),
	    T(test_msix__failed_route_does_not_stop_delivery),
	    T(test_msix__table_dword_and_qword_accesses),
	    T(test_msix__odd_and_misaligned_table_accesses_ignored),
	    T(test_msix__table_beyond_last_vector_reads_ones),
	    T(test_msix__pba_reflects_pending_and_ignores_writes),
	    T(test_msix__reset_clears_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
