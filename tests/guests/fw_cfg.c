/*
 * fw_cfg: QEMU's firmware configuration interface (docs/specs/fw_cfg.rst) as kvmbox offers
 * it: the traditional selector/data ports and the DMA interface, signature and ID, CPU and
 * RAM counts, the file directory and "etc/e820" (which must match the boot memory map),
 * DMA errors, and what reads past the end of an item or of the selectors return.
 *
 * cmdline (set by the test): mem=<--mem> cpus=<--cpus>; a wrong value must FAIL.
 */
#include "guest.h"

#define FW_CFG_SEL    0x510
#define FW_CFG_DATA   0x511
#define FW_CFG_DMA_HI 0x514
#define FW_CFG_DMA_LO 0x518
#define KEY_SIGNATURE 0x00
#define KEY_ID	      0x01
#define KEY_RAM_SIZE  0x03
#define KEY_NB_CPUS   0x05
#define KEY_MAX_CPUS  0x0f
#define KEY_FILE_DIR  0x19
#define DMA_ERROR     0x01
#define DMA_READ      0x02
#define DMA_SKIP      0x04
#define DMA_SELECT    0x08
#define DMA_WRITE     0x10

struct dma_access {
	uint32_t control, length;
	uint64_t address;
} __attribute__((packed)) ALIGNED(16);

struct file_entry {
	uint32_t size;
	uint16_t select, reserved;
	char name[56];
} __attribute__((packed));

struct e820 {
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

static uint8_t dirbuf[64 * 64 + 4], classic[1024], dmabuf[1024];
static struct dma_access dma;

static uint32_t be32(uint32_t v)
{
	return __builtin_bswap32(v);
}

static void select_key(uint16_t key)
{
	outw(FW_CFG_SEL, key);
}

static void read_data(void *buf, size_t n)
{
	insb(FW_CFG_DATA, buf, n); /* rep insb: one exit per page of data */
}

static uint64_t read_u64(uint16_t key, int n)
{
	uint64_t v = 0;

	select_key(key);
	read_data(&v, (size_t)n);
	return v;
}

/* Runs one DMA descriptor; returns its control word (host order) afterwards. */
static uint32_t dma_run(uint32_t control, uint32_t len, uint64_t addr)
{
	uint64_t d = (uint64_t)&dma;

	dma.control = be32(control);
	dma.length = be32(len);
	dma.address = __builtin_bswap64(addr);
	barrier();
	outl(FW_CFG_DMA_HI, be32((uint32_t)(d >> 32)));
	outl(FW_CFG_DMA_LO, be32((uint32_t)d));
	barrier();
	return be32(dma.control);
}

int main(void)
{
	uint64_t mem = 0, cpus = 0, v;
	char sig[9] = {0};
	uint32_t count, ctl;
	const struct file_entry *e820_file = NULL;
	bool sorted = true;

	if (!cmdline_u64("mem", &mem) || !cmdline_u64("cpus", &cpus))
		abort_test("the test passes mem= and cpus= on the command line");

	printf("fw_cfg: traditional interface (ports 0x510/0x511)\n");
	select_key(KEY_SIGNATURE);
	read_data(sig, 4);
	report(!memcmp(sig, "QEMU", 4), "signature item reads \"QEMU\" (\"%s\")", sig);
	v = read_u64(KEY_ID, 4);
	report((v & 3) == 3, "ID: traditional and DMA interfaces (0x%lx)", v);
	for (int i = 0; i < 8; i++)
		sig[i] = (char)inb((uint16_t)(FW_CFG_DMA_HI + i));
	report(!memcmp(sig, "QEMU CFG", 8),
	       "DMA register reads the signature \"QEMU CFG\" (\"%s\")", sig);
	v = read_u64(KEY_NB_CPUS, 2);
	report(v == cpus, "NB_CPUS %lu (want cpus=%lu)", v, cpus);
	v = read_u64(KEY_MAX_CPUS, 2);
	report(v >= cpus, "MAX_CPUS %lu (at least cpus=%lu)", v, cpus);
	v = read_u64(KEY_RAM_SIZE, 8);
	report(v == mem, "RAM_SIZE 0x%lx (want mem=0x%lx)", v, mem);

	select_key(KEY_FILE_DIR);
	read_data(dirbuf, 4);
	count = be32(*(uint32_t *)dirbuf);
	report(count >= 1 && count <= 64, "file directory lists %u files", count);
	if (count > 64)
		count = 64;
	read_data(dirbuf + 4, count * sizeof(struct file_entry));
	for (uint32_t i = 0; i < count; i++) {
		const struct file_entry *f = (const struct file_entry *)(dirbuf + 4) + i;
		printf("  file 0x%04x %6u bytes  %s\n", __builtin_bswap16(f->select), be32(f->size),
		       f->name);
		if (!strcmp(f->name, "etc/e820"))
			e820_file = f;
		if (i && strcmp(f[-1].name, f->name) >= 0)
			sorted = false;
	}
	report(sorted, "file directory is sorted by name");
	if (!e820_file)
		abort_test("the file directory lists etc/e820");
	{
		uint16_t key = __builtin_bswap16(e820_file->select);
		uint32_t size = be32(e820_file->size);
		const struct e820 *e = (const struct e820 *)classic;
		bool same;
		if (size > sizeof(classic) || size % sizeof(struct e820))
			abort_test("etc/e820 is a whole number of 20-byte entries (%u bytes)",
				   size);
		select_key(key);
		read_data(classic, size);
		same = (int)(size / sizeof(*e)) == boot.nmmap;
		for (int i = 0; same && i < boot.nmmap; i++)
			same = e[i].addr == boot.mmap[i].addr && e[i].len == boot.mmap[i].len &&
			       e[i].type == boot.mmap[i].type;
		report(boot.nmmap > 0 && same,
		       "etc/e820 (%u entries) equals the %s memory map (%d entries)", size / 20,
		       boot.proto_name, boot.nmmap);

		printf("fw_cfg: DMA interface (port 0x514)\n");
		memset(dmabuf, 0xcc, sizeof(dmabuf));
		ctl = dma_run((uint32_t)key << 16 | DMA_SELECT | DMA_READ, size, (uint64_t)dmabuf);
		report(ctl == 0 && !memcmp(dmabuf, classic, size) && dmabuf[size] == 0xcc,
		       "DMA select+read of etc/e820: control 0x%x, same %u bytes, nothing more",
		       ctl, size);
		memset(dmabuf, 0, sizeof(dmabuf));
		ctl = dma_run((uint32_t)key << 16 | DMA_SELECT | DMA_SKIP, 20, 0);
		ctl |= dma_run(DMA_READ, 20, (uint64_t)dmabuf);
		report(ctl == 0 && !memcmp(dmabuf, classic + 20, 20),
		       "DMA skip 20 then read 20 returns entry 1 (control 0x%x)", ctl);
	}
	memset(dmabuf, 0, 16);
	ctl = dma_run(KEY_SIGNATURE << 16 | DMA_SELECT | DMA_READ, 8, (uint64_t)dmabuf);
	report(ctl == 0 && !memcmp(dmabuf, "QEMU\0\0\0\0", 8),
	       "DMA read past an item's end: \"QEMU\" then zeros (control 0x%x)", ctl);
	/* The data offset is shared: DMA reads two bytes of ID, the ports read the rest. */
	select_key(KEY_ID);
	memset(dmabuf, 0, 4);
	ctl = dma_run(DMA_READ, 2, (uint64_t)dmabuf);
	read_data(dmabuf + 2, 2);
	report(ctl == 0 && (*(uint32_t *)dmabuf & 3) == 3,
	       "DMA and port reads share the data offset (ID 0x%x)", *(uint32_t *)dmabuf);
	{
		uint64_t top = 0;
		for (int i = 0; i < boot.nmmap; i++)
			if (boot.mmap[i].type == 1 && boot.mmap[i].addr + boot.mmap[i].len > top)
				top = boot.mmap[i].addr + boot.mmap[i].len;
		ctl = dma_run(KEY_SIGNATURE << 16 | DMA_SELECT | DMA_READ, 4, top + (64ul << 20));
		report(ctl & DMA_ERROR,
		       "DMA to an address outside RAM (0x%lx) reports an error (0x%x)",
		       top + (64ul << 20), ctl);
	}
	if (mem <= (3ul << 30)) {
		uint64_t *last = (uint64_t *)(mem - 8);
		*last = 0x1122334455667788ull;
		ctl = dma_run(KEY_SIGNATURE << 16 | DMA_SELECT | DMA_READ, 4096, mem - 2048);
		report((ctl & DMA_ERROR) && *last == 0x1122334455667788ull,
		       "DMA straddling the end of RAM reports an error and writes nothing (0x%x)",
		       ctl);
	}
	ctl = dma_run(KEY_SIGNATURE << 16 | DMA_SELECT | DMA_WRITE, 4, (uint64_t)dmabuf);
	report(ctl & DMA_ERROR, "DMA write to a read-only item reports an error (0x%x)", ctl);

	printf("fw_cfg: reads past the end\n");
	select_key(KEY_NB_CPUS);
	read_data(classic, 2);
	read_data(classic, 4);
	report(*(uint32_t *)classic == 0, "reading past the end of an item returns zeros");
	select_key(0x0020 + 0x100);
	read_data(classic, 4);
	report(*(uint32_t *)classic == 0, "a selector with no item reads zeros");
	select_key(0x3fff);
	read_data(classic, 4);
	report(*(uint32_t *)classic == 0, "the last selector (0x3fff) reads zeros");
	return 0;
}
