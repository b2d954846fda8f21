/* What the boot protocol told us: command line, memory map, module, RSDP. */
#include "guest.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002
#define HVM_START_MAGIC		   0x336ec578

struct boot_info boot;

static void add_range(uint64_t addr, uint64_t len, uint32_t type)
{
	if (boot.nmmap < MAX_MMAP)
		boot.mmap[boot.nmmap++] = (struct mem_range){addr, len, type};
}

static void parse_multiboot(uint32_t info)
{
	const uint32_t *mb = (const uint32_t *)(uint64_t)info;
	uint32_t flags = mb[0];

	if (flags & (1u << 2) && mb[4])
		boot.cmdline = (const char *)(uint64_t)mb[4];
	if (flags & (1u << 3) && mb[5]) {
		const uint32_t *mod = (const uint32_t *)(uint64_t)mb[6];
		boot.have_module = true;
		boot.module_addr = mod[0];
		boot.module_size = mod[1] - mod[0];
	}
	if (flags & (1u << 6)) {
		uint64_t p = mb[12], end = (uint64_t)mb[12] + mb[11];
		while (p + 24 <= end) {
			uint32_t size = *(const uint32_t *)p;
			const uint8_t *e = (const uint8_t *)p + 4;
			add_range(*(const uint64_t *)e, *(const uint64_t *)(e + 8),
				  *(const uint32_t *)(e + 16));
			p += size + 4;
		}
	}
}

static void parse_pvh(uint32_t info)
{
	const uint8_t *si = (const uint8_t *)(uint64_t)info;
	uint32_t nr_modules = *(const uint32_t *)(si + 12);
	uint64_t modlist = *(const uint64_t *)(si + 16);
	uint64_t cmdline = *(const uint64_t *)(si + 24);
	uint64_t memmap = *(const uint64_t *)(si + 40);
	uint32_t n = *(const uint32_t *)(si + 48);

	boot.rsdp = *(const uint64_t *)(si + 32);
	if (cmdline)
		boot.cmdline = (const char *)cmdline;
	if (nr_modules && modlist) {
		boot.have_module = true;
		boot.module_addr = ((const uint64_t *)modlist)[0];
		boot.module_size = ((const uint64_t *)modlist)[1];
	}
	for (uint32_t i = 0; memmap && i < n; i++) {
		const uint8_t *e = (const uint8_t *)memmap + 24 * i;
		add_range(*(const uint64_t *)e, *(const uint64_t *)(e + 8),
			  *(const uint32_t *)(e + 16));
	}
}

static void parse_linux(uint64_t bp)
{
	const uint8_t *p = (const uint8_t *)bp;
	uint64_t cmd = *(const uint32_t *)(p + 0x228) | (uint64_t) * (const uint32_t *)(p + 0xc8)
							    << 32;
	uint8_t n = p[0x1e8];
	uint64_t rd = *(const uint32_t *)(p + 0x218) | (uint64_t) * (const uint32_t *)(p + 0xc0)
							   << 32;
	uint64_t rd_size =
	    *(const uint32_t *)(p + 0x21c) | (uint64_t) * (const uint32_t *)(p + 0xc4) << 32;

	if (cmd)
		boot.cmdline = (const char *)cmd;
	boot.rsdp = *(const uint64_t *)(p + 0x70);
	if (rd && rd_size) {
		boot.have_module = true;
		boot.module_addr = rd;
		boot.module_size = rd_size;
	}
	for (int i = 0; i < n; i++) {
		const uint8_t *e = p + 0x2d0 + 20 * i;
		add_range(*(const uint64_t *)e, *(const uint64_t *)(e + 8),
			  *(const uint32_t *)(e + 16));
	}
}

static char cmdline_copy[4096];

/* The command line may lie anywhere in low memory: keep a copy before tests reuse it. */
static void keep_cmdline(void)
{
	size_t n = strlen(boot.cmdline);

	if (n >= sizeof(cmdline_copy))
		n = sizeof(cmdline_copy) - 1;
	memcpy(cmdline_copy, boot.cmdline, n);
	cmdline_copy[n] = 0;
	boot.cmdline = cmdline_copy;
}

void bootinfo_init(void)
{
	boot.cmdline = "";
	boot.proto = BOOT_UNKNOWN;
	boot.proto_name = "unknown";
	if (entry_state.mode == 64 && entry_state.rsi) {
		boot.proto = BOOT_LINUX64;
		boot.proto_name = "linux64";
		parse_linux(entry_state.rsi);
	} else if (entry_state.mode == 32 &&
		   (uint32_t)entry_state.eax == MULTIBOOT_BOOTLOADER_MAGIC) {
		boot.proto = BOOT_MULTIBOOT;
		boot.proto_name = "multiboot";
		parse_multiboot((uint32_t)entry_state.ebx);
	} else if (entry_state.mode == 32 && entry_state.ebx &&
		   *(const uint32_t *)(uint64_t)(uint32_t)entry_state.ebx == HVM_START_MAGIC) {
		boot.proto = BOOT_PVH;
		boot.proto_name = "pvh";
		parse_pvh((uint32_t)entry_state.ebx);
	}
	keep_cmdline();
}

const char *cmdline_get(const char *key, size_t *len)
{
	size_t kl = strlen(key);
	const char *p = boot.cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			const char *v = p + kl + 1, *e = v;
			while (*e && *e != ' ')
				e++;
			if (len)
				*len = (size_t)(e - v);
			return v;
		}
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

bool cmdline_u64(const char *key, uint64_t *out)
{
	const char *end, *v = cmdline_get(key, NULL);

	if (!v)
		return false;
	*out = strtou64(v, &end, 0);
	switch (*end) {
	case 'k':
	case 'K':
		*out <<= 10;
		break;
	case 'm':
	case 'M':
		*out <<= 20;
		break;
	case 'g':
	case 'G':
		*out <<= 30;
		break;
	}
	return true;
}

bool cmdline_has(const char *word)
{
	size_t wl = strlen(word);
	const char *p = boot.cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, word, wl) && (p[wl] == ' ' || p[wl] == 0))
			return true;
		while (*p && *p != ' ')
			p++;
	}
	return false;
}
