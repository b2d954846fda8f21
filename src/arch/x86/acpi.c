#include "arch/x86/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/platform.h"

#define ACPI_FADT_REVISION	    6
#define ACPI_FADT_MINOR_VERSION	    5 /* ACPI 6.5 */
#define ACPI_MADT_REVISION	    5
#define ACPI_XSDT_REVISION	    1
#define ACPI_DSDT_REVISION	    2 /* >= 2: AML integers are 64-bit */
#define ACPI_FACS_VERSION	    2
#define ACPI_RSDP_REVISION	    2
#define ACPI_RSDP_V1_LEN	    20 /* the ACPI 1.0 part covered by the first checksum */
#define ACPI_PM_PROFILE_UNSPECIFIED 0
/* P_LVLx_LAT above 100 (C2) / 1000 (C3) microseconds means "not supported" (table 5.9). */
#define ACPI_C2_UNSUPPORTED 0x0fff
#define ACPI_C3_UNSUPPORTED 0x0fff

/* The one ISA IRQ not identity-mapped to an IOAPIC pin. */
#define ISA_IRQ_PIT    0
#define IOAPIC_PIN_PIT 2

#define XSDT_ENTRIES	   3 /* FADT, MADT, MCFG (when there is PCI) */
#define ACPI_MCFG_REVISION 1
/* Header, 8 reserved bytes, one allocation (bus 0). */
#define MCFG_SIZE      (sizeof(struct acpi_table_header) + 8 + sizeof(struct acpi_mcfg_allocation))
#define PCI_ACPI_SLOTS 32

/* The ids fill their fields exactly (sizeof counts the NUL). */
_Static_assert(sizeof(ACPI_OEM_ID) == 6 + 1, "OEM ID is 6 bytes");
_Static_assert(sizeof(ACPI_OEM_TABLE_ID) == 8 + 1, "OEM table ID is 8 bytes");
_Static_assert(sizeof(ACPI_CREATOR_ID) == 4 + 1, "creator ID is 4 bytes");
_Static_assert(sizeof(ACPI_HYPERVISOR_ID) == 8 + 1, "hypervisor vendor id is 8 bytes");

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

static void header_init(struct acpi_table_header *h, const char *sig, uint32_t len,
			uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* Checksums a table that starts with a header; call last, once the table is complete. */
static void header_checksum(struct acpi_table_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

static struct acpi_gas gas_io(uint16_t port, uint8_t len, uint8_t access)
{
	return (struct acpi_gas){
	    .space_id = ACPI_GAS_SYSTEM_IO,
	    .bit_width = (uint8_t)(len * 8),
	    .access_size = access,
	    .address = port,
	};
}

/*
 * Device (PCI0): the host bridge of PCI segment 0, bus 0 (ECAM through the MCFG). _CRS lists
 * the windows it forwards so the OS keeps the BARs kvmbox assigned; _PRT says which IOAPIC
 * pin each slot's INTx reaches (section 6.2.13, no link devices: GSIs directly).
 */
static void dsdt_pci0(struct aml *a, const struct acpi_pci *pci)
{
	size_t dev, crs, prt;

	dev = aml_device_open(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A03");
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	aml_name_integer(a, "_UID", 0);
	crs = aml_name_restemplate_open(a, "_CRS");
	aml_word_bus_number(a, 0, 0);
	aml_io(a, 0xcf8, 0xcf8, 1, 8); /* the configuration ports themselves */
	aml_word_io(a, 0x0000, 0x0cf7);
	aml_word_io(a, 0x0d00, 0xffff);
	aml_dword_memory(a, pci->mmio_base, pci->mmio_end - 1, AML_MEM_NON_CACHEABLE);
	aml_restemplate_close(a, crs);
	aml_name(a, "_PRT");
	prt = aml_package_open(a, (PCI_ACPI_SLOTS - 1) * 4);
	for (uint8_t slot = 1; slot < PCI_ACPI_SLOTS; slot++) {
		for (uint8_t pin = 0; pin < 4; pin++) {
			size_t e = aml_package_open(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff); /* any function of slot */
			aml_integer(a, pin);
			aml_integer(a, 0); /* Source: none, the next field is a GSI */
			aml_integer(a, pci->intx_gsi(slot, pin));
			aml_close(a, e);
		}
	}
	aml_close(a, prt);
	aml_close(a, dev);
}

/*
 * DSDT body:
 *	Name (\_S5, Package (4) { SLP_TYP, SLP_TYP, Zero, Zero })
 *	Scope (\_SB) {
 *		Device (COM1) { _HID, _UID, _STA, _CRS }
 *		... dsdt_sb_extra ...
 *	}
 * The \_S5 package gives PM1a/PM1b SLP_TYP for soft-off (section 7.4.2); OSPM writes
 * SLP_TYP | SLP_EN to PM1a_CNT to power off.
 */
static void dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	size_t s5, sb, dev, crs;

	aml_name(a, "\\_S5_");
	s5 = aml_package_open(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_close(a, s5);

	sb = aml_scope_open(a, "\\_SB_");
	dev = aml_device_open(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501"); /* 16550A-compatible UART */
	aml_name_integer(a, "_UID", 1);
	aml_name_integer(a, "_STA", 0xf); /* present, enabled, shown, functioning */
	crs = aml_name_restemplate_open(a, "_CRS");
	aml_io(a, PORT_COM1, PORT_COM1, 1, 8);
	aml_irq_noflags(a, IRQ_COM1);
	aml_restemplate_close(a, crs);
	aml_close(a, dev);
	if (cfg->pci)
		dsdt_pci0(a, cfg->pci);
	if (cfg->dsdt_sb_extra)
		cfg->dsdt_sb_extra(a, cfg->dsdt_sb_opaque);
	aml_close(a, sb);
}

static void fadt_init(struct acpi_fadt *f, uint64_t facs, uint64_t dsdt)
{
	const uint16_t pm = PORT_ACPI_PM_BASE;

	header_init(&f->header, "FACP", sizeof(*f), ACPI_FADT_REVISION);
	f->minor_version = ACPI_FADT_MINOR_VERSION;
	f->firmware_ctrl = (uint32_t)facs;
	f->x_firmware_ctrl = facs;
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->preferred_pm_profile = ACPI_PM_PROFILE_UNSPECIFIED;
	f->sci_int = ACPI_SCI_IRQ;
	/*
	 * SMI_CMD = 0: no SMM, so there is no legacy mode to leave. The hardware is always in
	 * ACPI mode and PM1_CNT.SCI_EN reads 1 (section 4.8.2.5 / 5.2.9).
	 */
	f->smi_cmd = 0;
	f->pm1a_evt_blk = pm + ACPI_PM1_EVT_OFF;
	f->pm1_evt_len = ACPI_PM1_EVT_LEN;
	f->pm1a_cnt_blk = pm + ACPI_PM1_CNT_OFF;
	f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f->pm_tmr_blk = pm + ACPI_PM_TMR_OFF;
	f->pm_tmr_len = ACPI_PM_TMR_LEN;
	/* PM1 event/control are 16-bit registers (the event block is status + enable). */
	f->x_pm1a_evt_blk = gas_io(pm + ACPI_PM1_EVT_OFF, ACPI_PM1_EVT_LEN, ACPI_GAS_ACCESS_WORD);
	f->x_pm1a_cnt_blk = gas_io(pm + ACPI_PM1_CNT_OFF, ACPI_PM1_CNT_LEN, ACPI_GAS_ACCESS_WORD);
	f->x_pm_tmr_blk = gas_io(pm + ACPI_PM_TMR_OFF, ACPI_PM_TMR_LEN, ACPI_GAS_ACCESS_DWORD);
	f->p_lvl2_lat = ACPI_C2_UNSUPPORTED;
	f->p_lvl3_lat = ACPI_C3_UNSUPPORTED;
	f->century = 0x32; /* CMOS century register (devices/rtc_cmos.c) */
	f->iapc_boot_arch = ACPI_IAPC_BOOT_8042 | ACPI_IAPC_BOOT_VGA_NOT_PRESENT;
	/* Power and sleep buttons are control-method (none); TMR_VAL_EXT clear: 24-bit timer. */
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON |
		   ACPI_FADT_SLP_BUTTON | ACPI_FADT_RESET_REG_SUP;
	f->reset_reg = gas_io(PORT_RESET_CONTROL, 1, ACPI_GAS_ACCESS_BYTE);
	f->reset_value = ACPI_RESET_VALUE;
	memcpy(f->hypervisor_vendor_id, ACPI_HYPERVISOR_ID, 8);
	header_checksum(&f->header);
}

static size_t madt_size(uint32_t ncpus)
{
	return sizeof(struct acpi_madt) + ncpus * sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic) + 2 * sizeof(struct acpi_madt_iso) +
	       sizeof(struct acpi_madt_lapic_nmi);
}

static void madt_init(uint8_t *p, uint32_t ncpus)
{
	struct acpi_madt *madt = (struct acpi_madt *)p;
	size_t off = sizeof(*madt);
	struct acpi_madt_ioapic ioapic = {
	    .type = ACPI_MADT_TYPE_IOAPIC,
	    .length = sizeof(ioapic),
	    .ioapic_id = 0,
	    .address = (uint32_t)IOAPIC_BASE,
	    .gsi_base = 0,
	};
	/*
	 * The PIT's ISA IRQ0 arrives on IOAPIC pin 2 (pin 0 is the 8259's ExtINT), and the SCI
	 * is level-triggered active-high like on PIIX4; every other ISA IRQ is identity-mapped
	 * and edge/high (section 5.2.12.5).
	 */
	struct acpi_madt_iso isos[2] = {
	    {.source = ISA_IRQ_PIT, .gsi = IOAPIC_PIN_PIT, .flags = 0},
	    {.source = ACPI_SCI_IRQ,
	     .gsi = ACPI_SCI_IRQ,
	     .flags = ACPI_MPS_INTI_ACTIVE_HIGH | ACPI_MPS_INTI_LEVEL},
	};
	/* LINT1 of every processor is wired to NMI, as on PC hardware. */
	struct acpi_madt_lapic_nmi nmi = {
	    .type = ACPI_MADT_TYPE_LAPIC_NMI,
	    .length = sizeof(nmi),
	    .acpi_processor_uid = 0xff,
	    .flags = 0,
	    .lint = 1,
	};

	header_init(&madt->header, "APIC", (uint32_t)madt_size(ncpus), ACPI_MADT_REVISION);
	madt->lapic_address = (uint32_t)LAPIC_BASE;
	madt->flags = ACPI_MADT_PCAT_COMPAT;
	for (uint32_t i = 0; i < ncpus; i++) {
		struct acpi_madt_lapic lapic = {
		    .type = ACPI_MADT_TYPE_LAPIC,
		    .length = sizeof(lapic),
		    .acpi_processor_uid = (uint8_t)i,
		    .apic_id = (uint8_t)i,
		    .flags = ACPI_MADT_LAPIC_ENABLED,
		};
		memcpy(p + off, &lapic, sizeof(lapic));
		off += sizeof(lapic);
	}
	memcpy(p + off, &ioapic, sizeof(ioapic));
	off += sizeof(ioapic);
	for (int i = 0; i < 2; i++) {
		isos[i].type = ACPI_MADT_TYPE_ISO;
		isos[i].length = sizeof(isos[i]);
		memcpy(p + off, &isos[i], sizeof(isos[i]));
		off += sizeof(isos[i]);
	}
	memcpy(p + off, &nmi, sizeof(nmi));
	header_checksum(&madt->header);
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

int acpi_build(struct guest_memory *mem, uint64_t base, uint64_t size,
	       const struct acpi_config *cfg, uint64_t *rsdp_gpa)
{
	struct aml dsdt_aml;
	struct acpi_table_header *h;
	struct acpi_rsdp *rsdp;
	uint64_t xsdt_off, fadt_off, facs_off, dsdt_off, madt_off, mcfg_off, end;
	int nentries = cfg && cfg->pci ? 3 : 2;
	uint64_t xsdt_len = sizeof(struct acpi_table_header) + nentries * sizeof(uint64_t);
	uint64_t entries[XSDT_ENTRIES];
	struct acpi_facs facs = {0};
	uint8_t *img = NULL;
	size_t dsdt_len;
	int ret;

	if (base % 16 || base >= MEM_PCI_HOLE_END || !cfg || cfg->ncpus < 1 ||
	    cfg->ncpus > ACPI_MAX_CPUS)
		return -EINVAL;

	aml_init(&dsdt_aml);
	dsdt_body(&dsdt_aml, cfg);
	ret = aml_error(&dsdt_aml);
	if (ret)
		goto out;
	dsdt_len = sizeof(struct acpi_table_header) + dsdt_aml.len;

	/* Offsets from base; base is 16-aligned and the FACS needs 64 (section 5.2.10). */
	xsdt_off = align_up(sizeof(struct acpi_rsdp), 16);
	fadt_off = align_up(xsdt_off + xsdt_len, 16);
	facs_off = align_up(base + fadt_off + sizeof(struct acpi_fadt), 64) - base;
	dsdt_off = align_up(facs_off + sizeof(struct acpi_facs), 16);
	madt_off = align_up(dsdt_off + dsdt_len, 16);
	mcfg_off = align_up(madt_off + madt_size(cfg->ncpus), 16);
	end = cfg->pci ? mcfg_off + MCFG_SIZE : mcfg_off;
	if (dsdt_aml.len > UINT32_MAX || end > size) {
		ret = -ENOSPC;
		goto out;
	}
	if (base + end > MEM_PCI_HOLE_END) { /* FADT.DSDT and FADT.FIRMWARE_CTRL are 32-bit */
		ret = -EINVAL;
		goto out;
	}
	/* Build the whole image on the host, then copy it in one checked write. */
	img = calloc(1, end);
	if (!img) {
		ret = -ENOMEM;
		goto out;
	}

	h = (struct acpi_table_header *)(img + dsdt_off);
	header_init(h, "DSDT", (uint32_t)dsdt_len, ACPI_DSDT_REVISION);
	memcpy(img + dsdt_off + sizeof(*h), dsdt_aml.buf, dsdt_aml.len);
	header_checksum(h);

	memcpy(facs.signature, "FACS", 4);
	facs.length = sizeof(facs);
	facs.version = ACPI_FACS_VERSION;
	memcpy(img + facs_off, &facs, sizeof(facs));

	fadt_init((struct acpi_fadt *)(img + fadt_off), base + facs_off, base + dsdt_off);
	madt_init(img + madt_off, cfg->ncpus);

	if (cfg->pci) {
		struct acpi_mcfg_allocation alloc = {.base = cfg->pci->ecam_base};
		h = (struct acpi_table_header *)(img + mcfg_off);
		header_init(h, "MCFG", MCFG_SIZE, ACPI_MCFG_REVISION);
		memcpy(img + mcfg_off + sizeof(*h) + 8, &alloc, sizeof(alloc));
		header_checksum(h);
		entries[2] = base + mcfg_off;
	}

	h = (struct acpi_table_header *)(img + xsdt_off);
	header_init(h, "XSDT", (uint32_t)xsdt_len, ACPI_XSDT_REVISION);
	entries[0] = base + fadt_off;
	entries[1] = base + madt_off;
	memcpy(img + xsdt_off + sizeof(*h), entries, (size_t)nentries * sizeof(entries[0]));
	header_checksum(h);

	/* No RSDT: every guest we target is ACPI 2.0+ and reads the XSDT. */
	rsdp = (struct acpi_rsdp *)img;
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = ACPI_RSDP_REVISION;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = base + xsdt_off;
	rsdp->checksum = acpi_checksum(rsdp, ACPI_RSDP_V1_LEN);
	rsdp->extended_checksum = acpi_checksum(rsdp, sizeof(*rsdp));

	ret = memory_write(mem, base, img, end);
	if (!ret)
		*rsdp_gpa = base;
out:
	free(img);
	aml_free(&dsdt_aml);
	return ret;
}
