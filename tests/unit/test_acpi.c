/* Tests for the AML builder and the ACPI tables, read back from fake guest RAM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "arch/x86/platform.h"
#include "memory.h"

#define CANARY 0xa5

struct fixture {
	struct guest_memory mem;
	uint64_t rsdp;
};

struct range {
	const uint8_t *p;
	size_t len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || memory_init(&f->mem, 64 * MiB))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	memory_destroy(&f->mem);
	free(f);
	return 0;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The table at gpa, after checking its signature, that it is in RAM and its checksum. */
static const uint8_t *table_at(const struct guest_memory *mem, uint64_t gpa, const char *sig)
{
	const uint8_t *t = gpa_to_host(mem, gpa, 36);
	uint32_t len;

	assert_non_null(t);
	assert_memory_equal(t, sig, 4);
	len = rd32(t + 4);
	assert_true(len >= 36);
	t = gpa_to_host(mem, gpa, len);
	assert_non_null(t);
	assert_int_equal(sum8(t, len), 0);
	assert_memory_equal(t + 10, "KVMBOX", 6);
	assert_memory_equal(t + 16, "KVMBOXVM", 8);
	assert_memory_equal(t + 28, "KVMB", 4);
	return t;
}

static void build(struct fixture *f, uint32_t ncpus)
{
	struct acpi_config cfg = {.ncpus = ncpus};

	assert_int_equal(acpi_build(&f->mem, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE, &cfg, &f->rsdp),
			 0);
	assert_int_equal(f->rsdp, ACPI_TABLES_ADDR);
}

static const uint8_t *xsdt(const struct fixture *f)
{
	const uint8_t *rsdp = gpa_to_host(&f->mem, f->rsdp, 36);

	assert_non_null(rsdp);
	return table_at(&f->mem, rd64(rsdp + 24), "XSDT");
}

/* The table the XSDT lists with signature sig (exactly one). */
static const uint8_t *find_table(const struct fixture *f, const char *sig)
{
	const uint8_t *x = xsdt(f), *found = NULL;
	uint32_t n = (rd32(x + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t gpa = rd64(x + 36 + 8 * i);
		const uint8_t *t = gpa_to_host(&f->mem, gpa, 4);
		assert_non_null(t);
		if (!memcmp(t, sig, 4)) {
			assert_null(found);
			found = table_at(&f->mem, gpa, sig);
		}
	}
	assert_non_null(found);
	return found;
}

/* The DSDT's AML, after the header. */
static struct range dsdt_aml(const struct fixture *f)
{
	const uint8_t *fadt = find_table(f, "FACP");
	const uint8_t *dsdt = table_at(&f->mem, rd64(fadt + 140), "DSDT");

	return (struct range){dsdt + 36, rd32(dsdt + 4) - 36};
}

/* A PkgLength decoder written from ACPI 6.5 section 20.2.4, independent of aml.c. */
static size_t pkg_decode(const uint8_t *p, size_t avail, size_t *n)
{
	size_t follow = p[0] >> 6, v;

	*n = follow + 1;
	if (!follow)
		return p[0] & 0x3f;
	if (avail < *n)
		return SIZE_MAX;
	v = p[0] & 0x0f;
	for (size_t i = 1; i <= follow; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

/*
 * Finds `op PkgLength name` inside r and returns the object's extent, from its PkgLength to
 * the end of its body, after checking it lies within r.
 */
static struct range find_object(struct range r, const void *op, size_t oplen, const char *name)
{
	size_t namelen = strlen(name);

	for (size_t i = 0; i + oplen < r.len; i++) {
		size_t n, len, at = i + oplen;

		if (memcmp(r.p + i, op, oplen))
			continue;
		len = pkg_decode(r.p + at, r.len - at, &n);
		if (at + n + namelen > r.len || memcmp(r.p + at + n, name, namelen))
			continue;
		assert_true(len <= r.len - at);
		return (struct range){r.p + at, len};
	}
	fail_msg("object %s not found", name);
	return (struct range){0};
}

static bool contains(struct range r, const void *needle, size_t len)
{
	return memmem(r.p, r.len, needle, len) != NULL;
}

static struct range sb_scope(struct range aml)
{
	static const uint8_t scope_op = AML_SCOPE_OP;

	return find_object(aml, &scope_op, 1, "\\_SB_");
}

static void fill_canary(struct fixture *f, uint64_t gpa, size_t len)
{
	memset(gpa_to_host(&f->mem, gpa, len), CANARY, len);
}

static bool canary_intact(struct fixture *f, uint64_t gpa, size_t len)
{
	const uint8_t *p = gpa_to_host(&f->mem, gpa, len);

	for (size_t i = 0; i < len; i++)
		if (p[i] != CANARY)
			return false;
	return true;
}

/* ---- ACPI tables ---- */

static void test_acpi__rsdp_checksums_are_valid(void **state)
{
	struct fixture *f = *state;
	const uint8_t *rsdp;

	build(f, 1);
	rsdp = gpa_to_host(&f->mem, f->rsdp, 36);
	assert_non_null(rsdp);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum8(rsdp, 20), 0);
	assert_int_equal(sum8(rsdp, 36), 0);
	assert_memory_equal(rsdp + 9, "KVMBOX", 6);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(rd32(rsdp + 20), 36);
	assert_int_equal(f->rsdp % 16, 0);
}

static void test_acpi__xsdt_lists_fadt_and_madt(void **state)
{
	struct fixture *f = *state;
	const uint8_t *x;

	build(f, 2);
	x = xsdt(f);
	assert_int_equal(rd32(x + 4), 36 + 2 * 8);
	/* find_table() checks each pointed table's signature and checksum. */
	find_table(f, "FACP");
	find_table(f, "APIC");
}

static void test_acpi__fadt_points_to_dsdt_and_facs(void **state)
{
	struct fixture *f = *state;
	const uint8_t *fadt, *facs;

	build(f, 1);
	fadt = find_table(f, "FACP");
	assert_int_equal(rd32(fadt + 4), 276);
	assert_int_equal(fadt[8], 6);	/* revision */
	assert_int_equal(fadt[131], 5); /* minor version: ACPI 6.5 */
	assert_memory_equal(fadt + 268, "KVMBOX  ", 8);

	assert_int_equal(rd32(fadt + 40), rd64(fadt + 140)); /* DSDT == X_DSDT */
	table_at(&f->mem, rd64(fadt + 140), "DSDT");
	assert_int_equal(rd32(fadt + 36), rd64(fadt + 132)); /* FIRMWARE_CTRL == X_ */
	assert_int_equal(rd64(fadt + 132) % 64, 0);
	facs = gpa_to_host(&f->mem, rd64(fadt + 132), 64);
	assert_non_null(facs);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(rd32(facs + 4), 64);
	assert_int_equal(facs[32], 2); /* version */
}

static void assert_gas_io(const uint8_t *gas, unsigned int port, unsigned int bytes)
{
	assert_int_equal(gas[0], 1); /* SystemIO */
	assert_int_equal(gas[1], bytes * 8);
	assert_int_equal(gas[2], 0);
	assert_int_equal(rd64(gas + 4), port);
}

static void test_acpi__fadt_describes_pm_blocks_reset_and_sci(void **state)
{
	struct fixture *f = *state;
	const unsigned int pm = PORT_ACPI_PM_BASE;
	const uint8_t *fadt;
	uint32_t flags;

	build(f, 1);
	fadt = find_table(f, "FACP");
	assert_int_equal(rd16(fadt + 46), ACPI_SCI_IRQ);
	assert_int_equal(rd32(fadt + 48), 0); /* SMI_CMD: no SMM, always in ACPI mode */
	assert_int_equal(rd32(fadt + 56), pm + ACPI_PM1_EVT_OFF);
	assert_int_equal(rd32(fadt + 60), 0);
	assert_int_equal(rd32(fadt + 64), pm + ACPI_PM1_CNT_OFF);
	assert_int_equal(rd32(fadt + 76), pm + ACPI_PM_TMR_OFF);
	assert_int_equal(fadt[88], 4);
	assert_int_equal(fadt[89], 2);
	assert_int_equal(fadt[91], 4);
	assert_gas_io(fadt + 148, pm + ACPI_PM1_EVT_OFF, 4);
	assert_gas_io(fadt + 172, pm + ACPI_PM1_CNT_OFF, 2);
	assert_gas_io(fadt + 208, pm + ACPI_PM_TMR_OFF, 4);
	assert_gas_io(fadt + 116, PORT_RESET_CONTROL, 1);
	assert_int_equal(fadt[116 + 3], 1); /* byte access */
	assert_int_equal(fadt[128], ACPI_RESET_VALUE);
	assert_int_equal(rd16(fadt + 109), (1 << 1) | (1 << 2)); /* 8042, no VGA */

	flags = rd32(fadt + 112);
	assert_true(flags & (1U << 0));	  /* WBINVD */
	assert_true(flags & (1U << 2));	  /* PROC_C1 */
	assert_true(flags & (1U << 4));	  /* PWR_BUTTON: control method */
	assert_true(flags & (1U << 5));	  /* SLP_BUTTON: control method */
	assert_false(flags & (1U << 8));  /* TMR_VAL_EXT: 24-bit timer */
	assert_true(flags & (1U << 10));  /* RESET_REG_SUP */
	assert_false(flags & (1U << 20)); /* not HW_REDUCED_ACPI */
}

static void check_madt(struct fixture *f, uint32_t ncpus)
{
	const uint8_t *madt, *e, *end;
	uint32_t nlapic = 0, nioapic = 0, niso = 0, nnmi = 0;

	build(f, ncpus);
	madt = find_table(f, "APIC");
	assert_int_equal(rd32(madt + 36), LAPIC_BASE);
	assert_int_equal(rd32(madt + 40), 1); /* PCAT_COMPAT */
	end = madt + rd32(madt + 4);
	for (e = madt + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], nlapic);	  /* UID */
			assert_int_equal(e[3], nlapic);	  /* APIC id */
			assert_int_equal(rd32(e + 4), 1); /* enabled */
			nlapic++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 0);
			assert_int_equal(rd32(e + 4), IOAPIC_BASE);
			assert_int_equal(rd32(e + 8), 0);
			nioapic++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0); /* ISA */
			if (e[3] == 0) {
				assert_int_equal(rd32(e + 4), 2);
				assert_int_equal(rd16(e + 8), 0);
			} else {
				assert_int_equal(e[3], ACPI_SCI_IRQ);
				assert_int_equal(rd32(e + 4), ACPI_SCI_IRQ);
				assert_int_equal(rd16(e + 8), 0x000d); /* level, active high */
			}
			niso++;
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(rd16(e + 3), 0);
			assert_int_equal(e[5], 1); /* LINT1 */
			nnmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(nlapic, ncpus);
	assert_int_equal(nioapic, 1);
	assert_int_equal(niso, 2);
	assert_int_equal(nnmi, 1);
}

static void test_acpi__madt_lists_one_cpu(void **state)
{
	check_madt(*state, 1);
}

static void test_acpi__madt_lists_four_cpus(void **state)
{
	check_madt(*state, 4);
}

static void test_acpi__madt_lists_64_cpus(void **state)
{
	check_madt(*state, 64);
}

static void test_acpi__dsdt_has_s5_package(void **state)
{
	struct fixture *f = *state;
	_Static_assert(ACPI_S5_SLP_TYP > 1 && ACPI_S5_SLP_TYP <= 0xff, "BytePrefix encoding");
	/* Name (\_S5_, Package (4) { SLP_TYP, SLP_TYP, Zero, Zero }) */
	const uint8_t s5[] = {0x08,
			      '\\',
			      '_',
			      'S',
			      '5',
			      '_',
			      0x12,
			      0x08,
			      0x04,
			      0x0a,
			      ACPI_S5_SLP_TYP,
			      0x0a,
			      ACPI_S5_SLP_TYP,
			      0x00,
			      0x00};

	build(f, 1);
	assert_true(contains(dsdt_aml(f), s5, sizeof(s5)));
}

static void test_acpi__dsdt_has_com1_device_in_sb(void **state)
{
	struct fixture *f = *state;
	static const uint8_t device_op[] = {0x5b, 0x82};
	const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01};
	const uint8_t uid[] = {0x08, '_', 'U', 'I', 'D', 0x01};
	const uint8_t sta[] = {0x08, '_', 'S', 'T', 'A', 0x0a, 0x0f};
	/* Name (_CRS, Buffer (13) { IO (Decode16, ...), IRQNoFlags () {4}, EndTag }) */
	const uint8_t crs[] = {0x08,
			       '_',
			       'C',
			       'R',
			       'S',
			       0x11,
			       0x10,
			       0x0a,
			       0x0d,
			       0x47,
			       0x01,
			       PORT_COM1 & 0xff,
			       PORT_COM1 >> 8,
			       PORT_COM1 & 0xff,
			       PORT_COM1 >> 8,
			       0x01,
			       0x08,
			       0x22,
			       (1 << IRQ_COM1) & 0xff,
			       (1 << IRQ_COM1) >> 8,
			       0x79,
			       0x00};
	struct range com1;

	build(f, 1);
	com1 = find_object(sb_scope(dsdt_aml(f)), device_op, 2, "COM1");
	assert_true(contains(com1, hid, sizeof(hid)));
	assert_true(contains(com1, uid, sizeof(uid)));
	assert_true(contains(com1, sta, sizeof(sta)));
	assert_true(contains(com1, crs, sizeof(crs)));
}

static void add_pci0(struct aml *a, void *opaque)
{
	size_t dev;

	(*(int *)opaque)++;
	dev = aml_device_open(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A03");
	aml_close(a, dev);
}

static void test_acpi__dsdt_hook_adds_devices_to_sb(void **state)
{
	struct fixture *f = *state;
	static const uint8_t device_op[] = {0x5b, 0x82};
	const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03};
	int calls = 0;
	struct acpi_config cfg = {
	    .ncpus = 1,
	    .dsdt_sb_extra = add_pci0,
	    .dsdt_sb_opaque = &calls,
	};
	struct range pci0;

	assert_int_equal(acpi_build(&f->mem, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE, &cfg, &f->rsdp),
			 0);
	assert_int_equal(calls, 1);
	pci0 = find_object(sb_scope(dsdt_aml(f)), device_op, 2, "PCI0");
	assert_true(contains(pci0, hid, sizeof(hid)));
}

static void bad_hook(struct aml *a, void *opaque)
{
	aml_name_integer(a, "com1", 1); /* lower case: not a NameSeg */
}

static void test_acpi__dsdt_hook_error_fails_build_and_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct acpi_config cfg = {.ncpus = 1, .dsdt_sb_extra = bad_hook};
	uint64_t rsdp = 0;

	fill_canary(f, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE);
	assert_int_equal(acpi_build(&f->mem, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE, &cfg, &rsdp),
			 -EINVAL);
	assert_true(canary_intact(f, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE));
}

/*
 * Grows the region a byte at a time: every size too small must fail with -ENOSPC and leave
 * memory alone; the first that fits must not write a byte past its end.
 */
static void test_acpi__small_region_is_enospc_and_no_write_outside(void **state)
{
	struct fixture *f = *state;
	struct acpi_config cfg = {.ncpus = 64};
	const uint64_t base = ACPI_TABLES_ADDR, guard = 4096, window = 4 * 4096;
	uint64_t size;
	int ret = -ENOSPC;

	fill_canary(f, base - guard, window);
	for (size = 0; size < window - 2 * guard; size++) {
		ret = acpi_build(&f->mem, base, size, &cfg, &f->rsdp);
		if (ret != -ENOSPC)
			break;
		assert_true(canary_intact(f, base - guard, window));
	}
	assert_int_equal(ret, 0);
	assert_true(size > 44 + 64 * 8);
	assert_true(canary_intact(f, base - guard, guard));
	assert_true(canary_intact(f, base + size, window - guard - size));
	find_table(f, "APIC");
}

static void test_acpi__rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct acpi_config cfg = {.ncpus = 1};
	struct acpi_config none = {.ncpus = 0}, many = {.ncpus = ACPI_MAX_CPUS + 1};
	uint64_t rsdp;

	assert_int_equal(acpi_build(&f->mem, ACPI_TABLES_ADDR, 4096, &none, &rsdp), -EINVAL);
	assert_int_equal(acpi_build(&f->mem, ACPI_TABLES_ADDR, 4096, &many, &rsdp), -EINVAL);
	assert_int_equal(acpi_build(&f->mem, ACPI_TABLES_ADDR + 8, 4096, &cfg, &rsdp), -EINVAL);
	/* Straddles the end of the 64 MiB of RAM. */
	assert_int_equal(acpi_build(&f->mem, 64 * MiB - 256, 4096, &cfg, &rsdp), -EFAULT);
}

/* ---- AML builder ---- */

static void check_pkg_length(size_t body, size_t want_n)
{
	uint8_t out[4];
	size_t n = aml_pkg_length_encode(body, out), dn;

	assert_int_equal(n, want_n);
	assert_int_equal(pkg_decode(out, n, &dn), body + n);
	assert_int_equal(dn, n);
	if (n > 1)
		assert_int_equal(out[0] & 0x30, 0); /* bits 5:4 reserved */
}

static void test_aml__pkg_length_encoding_edges(void **state)
{
	uint8_t out[4];

	check_pkg_length(0, 1);
	check_pkg_length(62, 1); /* 63 with itself: the 1-byte maximum */
	check_pkg_length(63, 2); /* 64 would not fit: 2 bytes, total 65 */
	check_pkg_length(64, 2);
	check_pkg_length(4093, 2); /* total 4095 */
	check_pkg_length(4094, 3); /* 4096 does not fit 12 bits */
	check_pkg_length(4096, 3);
	check_pkg_length(MiB - 4, 3); /* total 2^20 - 1 */
	check_pkg_length(MiB - 3, 4);
	check_pkg_length(MiB, 4);
	check_pkg_length(AML_PKG_LENGTH_MAX - 4, 4);
	assert_int_equal(aml_pkg_length_encode(AML_PKG_LENGTH_MAX - 3, out), 0);

	/* Spot-check exact bytes: total 65 = 0x41 -> lead 0x41, then 0x04. */
	assert_int_equal(aml_pkg_length_encode(63, out), 2);
	assert_int_equal(out[0], 0x41);
	assert_int_equal(out[1], 0x04);
	/* total 4097 = 0x1001 -> lead 0x81, 0x00, 0x01. */
	assert_int_equal(aml_pkg_length_encode(4094, out), 3);
	assert_int_equal(out[0], 0x81);
	assert_int_equal(out[1], 0x00);
	assert_int_equal(out[2], 0x01);
}

/* aml_close() inserts the PkgLength in front of an already built body and keeps it intact. */
static void test_aml__close_inserts_pkg_length_before_body(void **state)
{
	const size_t sizes[] = {0, 58, 59, 4088, 4090, MiB};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct aml a;
		uint8_t *body = malloc(sizes[i] + 1);
		size_t mark, n, len;

		assert_non_null(body);
		for (size_t j = 0; j < sizes[i]; j++)
			body[j] = (uint8_t)(j * 7);
		aml_init(&a);
		mark = aml_scope_open(&a, "TEST");
		aml_bytes(&a, body, sizes[i]);
		aml_close(&a, mark);
		assert_int_equal(aml_error(&a), 0);
		assert_int_equal(a.buf[0], AML_SCOPE_OP);
		len = pkg_decode(a.buf + 1, a.len - 1, &n);
		assert_int_equal(len, n + 4 + sizes[i]);
		assert_int_equal(a.len, 1 + len);
		assert_memory_equal(a.buf + 1 + n, "TEST", 4);
		assert_memory_equal(a.buf + 1 + n + 4, body, sizes[i]);
		aml_free(&a);
		free(body);
	}
}

static void check_bytes(struct aml *a, const uint8_t *want, size_t len)
{
	assert_int_equal(aml_error(a), 0);
	assert_int_equal(a->len, len);
	assert_memory_equal(a->buf, want, len);
	aml_free(a);
	aml_init(a);
}

#define CHECK(a, ...)                                                                              \
	do {                                                                                       \
		const uint8_t want_[] = {__VA_ARGS__};                                             \
		check_bytes(a, want_, sizeof(want_));                                              \
	} while (0)

static void test_aml__integers_use_shortest_encoding(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_integer(&a, 0);
	CHECK(&a, 0x00);
	aml_integer(&a, 1);
	CHECK(&a, 0x01);
	aml_integer(&a, 2);
	CHECK(&a, 0x0a, 0x02);
	aml_integer(&a, 0xff);
	CHECK(&a, 0x0a, 0xff);
	aml_integer(&a, 0x100);
	CHECK(&a, 0x0b, 0x00, 0x01);
	aml_integer(&a, 0xffff);
	CHECK(&a, 0x0b, 0xff, 0xff);
	aml_integer(&a, 0x10000);
	CHECK(&a, 0x0c, 0x00, 0x00, 0x01, 0x00);
	aml_integer(&a, 0xffffffff);
	CHECK(&a, 0x0c, 0xff, 0xff, 0xff, 0xff);
	aml_integer(&a, 0x100000000ULL);
	CHECK(&a, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
	aml_integer(&a, UINT64_MAX);
	CHECK(&a, 0xff);
	aml_string(&a, "ab");
	CHECK(&a, 0x0d, 'a', 'b', 0x00);
	aml_free(&a);
}

static void test_aml__name_strings(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_name_string(&a, "\\_SB_");
	CHECK(&a, '\\', '_', 'S', 'B', '_');
	aml_name_string(&a, "_SB");
	CHECK(&a, '_', 'S', 'B', '_');
	aml_name_string(&a, "COM1");
	CHECK(&a, 'C', 'O', 'M', '1');
	aml_name_string(&a, "_SB_.PCI0");
	CHECK(&a, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	aml_name_string(&a, "\\_SB.PCI0.ISA");
	CHECK(&a, '\\', 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'I', 'S', 'A', '_');
	aml_name_string(&a, "^^FOO");
	CHECK(&a, '^', '^', 'F', 'O', 'O', '_');
	aml_name_string(&a, "\\");
	CHECK(&a, '\\', 0x00);

	const char *bad[] = {"com1", "TOOLONG", "1ABC", "A..B", "A.", "", "\\^A", "A-B"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_name_string(&a, bad[i]);
		if (!aml_error(&a))
			fail_msg("accepted bad name \"%s\"", bad[i]);
		assert_int_equal(aml_error(&a), -EINVAL);
		aml_free(&a);
		aml_init(&a);
	}
	aml_free(&a);
}

static void test_aml__eisaid_encoding(void **state)
{
	struct aml a;
	uint32_t v;

	assert_int_equal(aml_eisaid_encode("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105d041);
	assert_int_equal(aml_eisaid_encode("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030ad041);
	assert_int_equal(aml_eisaid_encode("PNP0a03", &v), 0);
	assert_int_equal(v, 0x030ad041);
	assert_int_equal(aml_eisaid_encode("pnp0501", &v), -EINVAL);
	assert_int_equal(aml_eisaid_encode("PNP050", &v), -EINVAL);
	assert_int_equal(aml_eisaid_encode("PNP05G1", &v), -EINVAL);

	aml_init(&a);
	aml_name_eisaid(&a, "_HID", "PNP0501");
	CHECK(&a, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01);
	aml_free(&a);
}

static void test_aml__method_returns_integer(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_method_return_integer(&a, "_STA", 0x0f);
	/* Method (_STA, 0, NotSerialized) { Return (0x0F) } */
	CHECK(&a, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);
	size_t m = aml_method_open(&a, "FOO", 2, true);
	aml_close(&a, m);
	CHECK(&a, 0x14, 0x06, 'F', 'O', 'O', '_', 0x0a);
	aml_free(&a);
}

static void test_aml__package_and_device_nest(void **state)
{
	struct aml a;
	size_t sb, dev, pkg;

	aml_init(&a);
	sb = aml_scope_open(&a, "\\_SB");
	dev = aml_device_open(&a, "DEV0");
	aml_name(&a, "PKG0");
	pkg = aml_package_open(&a, 2);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_close(&a, pkg);
	aml_close(&a, dev);
	aml_close(&a, sb);
	CHECK(&a, 0x10, 0x17, '\\', '_', 'S', 'B', '_',		       /* Scope (\_SB) */
	      0x5b, 0x82, 0x0f, 'D', 'E', 'V', '0',		       /* Device (DEV0) */
	      0x08, 'P', 'K', 'G', '0', 0x12, 0x04, 0x02, 0x00, 0x01); /* Name (PKG0, ...) */
	aml_free(&a);
}

static void test_aml__resource_template_io_irq(void **state)
{
	struct aml a;
	size_t crs;

	aml_init(&a);
	crs = aml_restemplate_open(&a);
	aml_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_irq_noflags(&a, 4);
	aml_restemplate_close(&a, crs);
	CHECK(&a, 0x11, 0x10, 0x0a, 0x0d,		      /* Buffer (13) */
	      0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, /* IO */
	      0x22, 0x10, 0x00,				      /* IRQNoFlags {4} */
	      0x79, 0x00);				      /* EndTag */

	aml_irq_noflags(&a, 16);
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
}

static void test_aml__address_space_descriptors(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_word_bus_number(&a, 0, 0xff);
	CHECK(&a, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00,
	      0x00, 0x00, 0x01);
	aml_word_io(&a, 0x0d00, 0xffff);
	CHECK(&a, 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff, 0x00,
	      0x00, 0x00, 0xf3);
	aml_dword_memory(&a, 0xc0000000, 0xfebfffff, AML_MEM_NON_CACHEABLE);
	CHECK(&a, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	      0xc0, 0xff, 0xff, 0xbf, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x3e);
	aml_qword_memory(&a, 0x8000000000ULL, 0xffffffffffULL, AML_MEM_PREFETCHABLE);
	CHECK(&a, 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x07,	       /* header, flags */
	      0, 0, 0, 0, 0, 0, 0, 0,			       /* granularity */
	      0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,  /* min */
	      0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,  /* max */
	      0, 0, 0, 0, 0, 0, 0, 0,			       /* translation */
	      0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00); /* length */

	aml_word_io(&a, 0x100, 0xff);
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_word_io(&a, 0, 0xffff); /* _LEN 0x10000 does not fit */
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
}

static void test_aml__errors_are_sticky(void **state)
{
	struct aml a;
	size_t len;

	aml_init(&a);
	aml_integer(&a, 5);
	aml_name(&a, "bad");
	assert_int_equal(aml_error(&a), -EINVAL);
	len = a.len;
	aml_integer(&a, 7);
	aml_close(&a, 0);
	assert_int_equal(a.len, len);
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
}

/* A test that gets fresh fake guest RAM. */
#define RAM_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    RAM_TEST(test_acpi__rsdp_checksums_are_valid),
	    RAM_TEST(test_acpi__xsdt_lists_fadt_and_madt),
	    RAM_TEST(test_acpi__fadt_points_to_dsdt_and_facs),
	    RAM_TEST(test_acpi__fadt_describes_pm_blocks_reset_and_sci),
	    RAM_TEST(test_acpi__madt_lists_one_cpu),
	    RAM_TEST(test_acpi__madt_lists_four_cpus),
	    RAM_TEST(test_acpi__madt_lists_64_cpus),
	    RAM_TEST(test_acpi__dsdt_has_s5_package),
	    RAM_TEST(test_acpi__dsdt_has_com1_device_in_sb),
	    RAM_TEST(test_acpi__dsdt_hook_adds_devices_to_sb),
	    RAM_TEST(test_acpi__dsdt_hook_error_fails_build_and_writes_nothing),
	    RAM_TEST(test_acpi__small_region_is_enospc_and_no_write_outside),
	    RAM_TEST(test_acpi__rejects_bad_arguments),
	    cmocka_unit_test(test_aml__pkg_length_encoding_edges),
	    cmocka_unit_test(test_aml__close_inserts_pkg_length_before_body),
	    cmocka_unit_test(test_aml__integers_use_shortest_encoding),
	    cmocka_unit_test(test_aml__name_strings),
	    cmocka_unit_test(test_aml__eisaid_encoding),
	    cmocka_unit_test(test_aml__method_returns_integer),
	    cmocka_unit_test(test_aml__package_and_device_nest),
	    cmocka_unit_test(test_aml__resource_template_io_irq),
	    cmocka_unit_test(test_aml__address_space_descriptors),
	    cmocka_unit_test(test_aml__errors_are_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
