/* Finding the RSDP and tables, and the CPUs/IOAPIC they describe (MADT, or the MP table). */
#include "guest.h"

bool acpi_checksum_ok(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return sum == 0;
}

/* Runs in ring 3: scanning 128 KiB in emulated ring 0 would take a while. */
static uint64_t scan_user(void *sig)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp((const void *)a, sig, strlen(sig)))
			return a;
	return 0;
}

static uint64_t rsdp_addr;

uint64_t acpi_find_rsdp(void)
{
	if (!rsdp_addr)
		rsdp_addr = boot.rsdp ? boot.rsdp : run_user(scan_user, "RSD PTR ", false);
	return rsdp_addr;
}

const struct acpi_header *acpi_find_table(const char *sig)
{
	const uint8_t *rsdp = (const uint8_t *)acpi_find_rsdp();
	const struct acpi_header *root;
	int n, width;

	if (!rsdp)
		return NULL;
	if (rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24)) {
		root = (const struct acpi_header *)*(const uint64_t *)(rsdp + 24);
		width = 8;
	} else {
		root = (const struct acpi_header *)(uint64_t) * (const uint32_t *)(rsdp + 16);
		width = 4;
	}
	n = (int)(root->length - sizeof(*root)) / width;
	for (int i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)(root + 1) + i * width;
		uint64_t a = width == 8 ? *(const uint64_t *)e : *(const uint32_t *)e;
		const struct acpi_header *h = (const struct acpi_header *)a;
		if (!memcmp(h->sig, sig, 4))
			return h;
	}
	return NULL;
}

static bool mptable_parse(struct madt_info *m)
{
	uint64_t fp = run_user(scan_user, "_MP_", false);
	const uint8_t *ct, *e;
	uint16_t count;

	if (!fp || !*(const uint32_t *)(fp + 4))
		return false;
	ct = (const uint8_t *)(uint64_t) * (const uint32_t *)(fp + 4);
	if (memcmp(ct, "PCMP", 4))
		return false;
	m->source = "MP table";
	count = *(const uint16_t *)(ct + 34);
	m->lapic_addr = *(const uint32_t *)(ct + 36);
	e = ct + 44;
	for (int i = 0; i < count; i++) {
		switch (e[0]) {
		case 0: /* processor */
			if (e[3] & 1 && m->ncpus < MAX_CPUS)
				m->apic_ids[m->ncpus++] = e[1];
			e += 20;
			break;
		case 2: /* IOAPIC */
			m->ioapic_addr = *(const uint32_t *)(e + 4);
			e += 8;
			break;
		case 3: /* I/O interrupt: ISA IRQ0 -> pin */
			if (e[1] == 0 && e[5] == 0)
				m->irq0_gsi = e[7];
			e += 8;
			break;
		default:
			e += 8;
			break;
		}
	}
	return true;
}

bool madt_parse(struct madt_info *m)
{
	const struct acpi_header *h = acpi_find_table("APIC");
	const uint8_t *p, *end;

	memset(m, 0, sizeof(*m));
	m->irq0_gsi = 0;
	if (!h)
		return mptable_parse(m);
	m->source = "ACPI MADT";
	p = (const uint8_t *)(h + 1);
	end = (const uint8_t *)h + h->length;
	m->lapic_addr = *(const uint32_t *)p;
	for (p += 8; p + 2 <= end && p[1] >= 2; p += p[1]) {
		switch (p[0]) {
		case 0: /* processor local APIC */
			if (*(const uint32_t *)(p + 4) & 1 && m->ncpus < MAX_CPUS)
				m->apic_ids[m->ncpus++] = p[3];
			break;
		case 1:
			m->ioapic_addr = *(const uint32_t *)(p + 4);
			break;
		case 2: /* interrupt source override */
			if (p[2] == 0 && p[3] == 0)
				m->irq0_gsi = (int)*(const uint32_t *)(p + 4);
			break;
		}
	}
	return true;
}
