#include "arch/x86/mptable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/platform.h"

#define MP_OEM_ID	    "KVMBOX  "	   /* 8 bytes */
#define MP_PRODUCT_ID	    "KVMBOX      " /* 12 bytes */
#define MP_CPU_SIGNATURE    0x6f0	   /* family 6, model 15, stepping 0 */
#define MP_CPU_FEATURES	    0x201	   /* CPUID.1:EDX FPU | APIC */
#define MP_BUS_ISA	    0
#define MP_ISA_IRQS	    16
#define MP_ISA_IRQ_CASCADE  2 /* the slave 8259's input: no device behind it */
#define MP_IOAPIC_PIN_PIT   2
#define MP_IO_INTERRUPTS    (MP_ISA_IRQS - 1) /* every ISA IRQ but the cascade */
#define MP_LOCAL_INTERRUPTS 2		      /* ExtINT -> LINT0, NMI -> LINT1 */

_Static_assert(sizeof(MP_OEM_ID) == 8 + 1, "MP OEM ID is 8 bytes");
_Static_assert(sizeof(MP_PRODUCT_ID) == 12 + 1, "MP product ID is 12 bytes");

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

/* Processors, one ISA bus, one IOAPIC, then the interrupt assignments. */
static size_t mp_entry_count(uint32_t ncpus)
{
	return ncpus + 1 + 1 + MP_IO_INTERRUPTS + MP_LOCAL_INTERRUPTS;
}

static size_t mp_table_len(uint32_t ncpus)
{
	return sizeof(struct mp_config_header) + ncpus * sizeof(struct mp_processor) +
	       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
	       (MP_IO_INTERRUPTS + MP_LOCAL_INTERRUPTS) * sizeof(struct mp_interrupt);
}

static uint8_t *put(uint8_t *p, const void *entry, size_t len)
{
	memcpy(p, entry, len);
	return p + len;
}

int mptable_build(struct guest_memory *mem, uint64_t base, uint64_t size, uint32_t ncpus)
{
	struct mp_floating_pointer *mpf;
	struct mp_config_header *hdr;
	/* Right after the LAPIC ids: MP APIC ids share one name space. */
	uint8_t ioapic_id = (uint8_t)ncpus;
	struct mp_bus bus = {.type = MP_ENTRY_BUS, .bus_id = MP_BUS_ISA};
	struct mp_ioapic ioapic = {
	    .type = MP_ENTRY_IOAPIC,
	    .ioapic_id = ioapic_id,
	    .version = MP_IOAPIC_VERSION,
	    .flags = MP_IOAPIC_ENABLED,
	    .address = (uint32_t)IOAPIC_BASE,
	};
	size_t table_len, total;
	uint8_t *img, *p;
	int ret;

	if (base % 16 || base >= MEM_PCI_HOLE_END || ncpus < 1 || ncpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	table_len = mp_table_len(ncpus);
	total = sizeof(*mpf) + table_len;
	if (total > size)
		return -ENOSPC;
	if (base + total > MEM_PCI_HOLE_END) /* the table pointer is 32-bit */
		return -EINVAL;
	img = calloc(1, total);
	if (!img)
		return -ENOMEM;

	hdr = (struct mp_config_header *)(img + sizeof(*mpf));
	memcpy(hdr->signature, "PCMP", 4);
	hdr->length = (uint16_t)table_len;
	hdr->spec_rev = MP_SPEC_REV;
	memcpy(hdr->oem_id, MP_OEM_ID, 8);
	memcpy(hdr->product_id, MP_PRODUCT_ID, 12);
	hdr->entry_count = (uint16_t)mp_entry_count(ncpus);
	hdr->lapic_address = (uint32_t)LAPIC_BASE;

	/* MP spec 4.3: entries in order of type. */
	p = (uint8_t *)(hdr + 1);
	for (uint32_t i = 0; i < ncpus; i++) {
		struct mp_processor cpu = {
		    .type = MP_ENTRY_PROCESSOR,
		    .apic_id = (uint8_t)i,
		    .apic_version = MP_APIC_VERSION,
		    .flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
		    .signature = MP_CPU_SIGNATURE,
		    .features = MP_CPU_FEATURES,
		};
		p = put(p, &cpu, sizeof(cpu));
	}
	memcpy(bus.bus_type, "ISA   ", sizeof(bus.bus_type));
	p = put(p, &bus, sizeof(bus));
	p = put(p, &ioapic, sizeof(ioapic));
	/*
	 * ISA IRQs with conforming (edge, active-high) polarity; IRQ0, the PIT, is wired to
	 * pin 2 as on PC hardware, since pin 0 carries the 8259's ExtINT (MP spec 5.1).
	 */
	for (uint8_t irq = 0; irq < MP_ISA_IRQS; irq++) {
		struct mp_interrupt in = {
		    .type = MP_ENTRY_IO_INTERRUPT,
		    .int_type = MP_INT,
		    .src_bus = MP_BUS_ISA,
		    .src_irq = irq,
		    .dst_apic = ioapic_id,
		    .dst_pin = irq == 0 ? MP_IOAPIC_PIN_PIT : irq,
		};
		if (irq == MP_ISA_IRQ_CASCADE)
			continue;
		p = put(p, &in, sizeof(in));
	}
	/* Virtual wire: the 8259 reaches every LAPIC's LINT0 as ExtINT; NMI goes to LINT1. */
	for (uint8_t lint = 0; lint < MP_LOCAL_INTERRUPTS; lint++) {
		struct mp_interrupt in = {
		    .type = MP_ENTRY_LOCAL_INTERRUPT,
		    .int_type = lint == 0 ? MP_EXTINT : MP_NMI,
		    .src_bus = MP_BUS_ISA,
		    .src_irq = 0,
		    .dst_apic = MP_ALL_LAPICS,
		    .dst_pin = lint,
		};
		p = put(p, &in, sizeof(in));
	}
	hdr->checksum = mp_checksum(hdr, table_len);

	mpf = (struct mp_floating_pointer *)img;
	memcpy(mpf->signature, "_MP_", 4);
	mpf->config_table = (uint32_t)(base + sizeof(*mpf));
	mpf->length = 1;
	mpf->spec_rev = MP_SPEC_REV;
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));

	ret = memory_write(mem, base, img, total);
	free(img);
	return ret;
}
