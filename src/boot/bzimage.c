#include "boot/bzimage.h"

#include <string.h>

#include "arch/x86/platform.h"
#include "log.h"

#define MIN_PROTOCOL	  0x020c /* 2.12: xloadflags, so we can tell a kernel has a 64-bit entry */
#define ENTRY_64_OFFSET	  0x200	 /* startup_64 is 0x200 after the start of the kernel */
#define DEFAULT_LOAD_ADDR 0x1000000ULL /* 16 MiB, the default CONFIG_PHYSICAL_START */

bool bzimage_detect(const uint8_t *buf, size_t len)
{
	uint16_t flag;
	uint32_t magic;

	if (len < 0x206)
		return false;
	memcpy(&flag, buf + 0x1fe, 2);
	memcpy(&magic, buf + 0x202, 4);
	return flag == SETUP_BOOT_FLAG && magic == SETUP_HDR_MAGIC;
}

int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage_info *info, const char **why)
{
	struct setup_header *h = &info->hdr;
	uint64_t payload_size;

	memset(info, 0, sizeof(*info));
	if (!bzimage_detect(buf, len)) {
		*why = "not a bzImage (no boot sector flag or HdrS header)";
		return -1;
	}
	/* The header's own length is given by the jump at 0x200. */
	info->hdr_len = 0x202 + buf[0x201] - SETUP_HDR_OFFSET;
	if (info->hdr_len > sizeof(*h))
		info->hdr_len = sizeof(*h);
	if (len < SETUP_HDR_OFFSET + info->hdr_len) {
		*why = "truncated bzImage: the setup header is cut off";
		return -1;
	}
	memcpy(h, buf + SETUP_HDR_OFFSET, info->hdr_len);
	if (h->version < MIN_PROTOCOL) {
		*why = "boot protocol older than 2.12; kvmbox needs a kernel from 3.8 or later";
		return -1;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		*why = "kernel has no 64-bit entry point (a 32-bit kernel?)";
		return -1;
	}
	if (!(h->loadflags & LOADFLAG_LOADED_HIGH)) {
		*why = "kernel must be loaded low (zImage); only bzImage is supported";
		return -1;
	}
	info->setup_size = ((size_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	payload_size = (uint64_t)h->syssize * 16;
	if (info->setup_size >= len || payload_size == 0 || payload_size > len - info->setup_size) {
		*why = "truncated bzImage: the file is shorter than its header says";
		return -1;
	}
	info->payload_size = len - info->setup_size;
	if (h->init_size < info->payload_size) {
		*why = "corrupt bzImage: init_size is smaller than the kernel itself";
		return -1;
	}
	info->load_addr = h->pref_address ? h->pref_address : DEFAULT_LOAD_ADDR;
	if (h->kernel_alignment && (h->kernel_alignment & (h->kernel_alignment - 1))) {
		*why = "corrupt bzImage: kernel_alignment is not a power of two";
		return -1;
	}
	if (h->kernel_alignment && info->load_addr % h->kernel_alignment) {
		*why = "corrupt bzImage: pref_address is not aligned to kernel_alignment";
		return -1;
	}
	if (info->load_addr < MEM_HIGH_START || info->load_addr >= MEM_PCI_HOLE_START) {
		*why = "pref_address lies outside low RAM";
		return -1;
	}
	info->cmdline_max = h->cmdline_size ? h->cmdline_size : 255;
	return 0;
}

static int bzimage_write_params(struct guest_memory *mem, const struct bzimage_info *info,
				const struct boot_request *req, uint64_t initrd_addr,
				uint64_t initrd_size)
{
	struct boot_params *bp = gpa_to_host(mem, BOOT_PARAMS_ADDR, sizeof(*bp));
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(mem, map, E820_MAX_ENTRIES);

	if (!bp)
		return -1;
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, &info->hdr, info->hdr_len);
	bp->hdr.vid_mode = 0xffff; /* "normal" */
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	bp->hdr.loadflags |= LOADFLAG_CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	bp->acpi_rsdp_addr = req->rsdp_gpa;
	for (int i = 0; i < n; i++)
		bp->e820_table[i] = (struct boot_e820_entry){map[i].addr, map[i].size, map[i].type};
	bp->e820_entries = (uint8_t)n;
	return 0;
}

int bzimage_load(struct guest_memory *mem, const struct boot_request *req,
		 const struct boot_file *kernel, struct boot_entry *entry)
{
	struct bzimage_info info;
	const char *why;
	struct boot_file initrd = {0};
	uint64_t kernel_end, initrd_addr = 0, initrd_max;
	size_t cmdline_len = strlen(req->cmdline);
	int r = -1;

	if (bzimage_parse(kernel->data, kernel->size, &info, &why) < 0)
		return log_errorx("--kernel %s: %s", req->kernel_path, why);
	if (cmdline_len > info.cmdline_max || cmdline_len >= BOOT_CMDLINE_MAX)
		return log_errorx("--cmdline: %zu bytes, but this kernel accepts at most %llu",
				  cmdline_len, (unsigned long long)info.cmdline_max);
	kernel_end = info.load_addr + info.hdr.init_size;
	if (kernel_end > memory_low_end(mem))
		return log_errorx("--kernel %s: needs at least %lluM of guest memory to "
				  "decompress; raise --mem",
				  req->kernel_path,
				  (unsigned long long)((kernel_end + 2 * MiB - 1) / (2 * MiB) * 2));
	if (memory_write(mem, info.load_addr, kernel->data + info.setup_size, info.payload_size) <
		0 ||
	    memory_write(mem, BOOT_CMDLINE_ADDR, req->cmdline, cmdline_len + 1) < 0)
		return log_errorx("--kernel %s: does not fit in guest memory", req->kernel_path);

	if (req->initrd_path) {
		initrd_max = (uint64_t)info.hdr.initrd_addr_max + 1;
		if (initrd_max > memory_low_end(mem))
			initrd_max = memory_low_end(mem);
		if (boot_file_read("--initrd", req->initrd_path, mem->size, &initrd) < 0)
			return -1;
		initrd_addr = boot_place_initrd(initrd.size, kernel_end, initrd_max);
		if (!initrd_addr) {
			log_errorx("--initrd %s: %zu bytes do not fit in guest memory below %#llx "
				   "after the kernel; raise --mem",
				   req->initrd_path, initrd.size, (unsigned long long)initrd_max);
			goto out;
		}
		if (memory_write(mem, initrd_addr, initrd.data, initrd.size) < 0)
			goto out;
	}
	if (bzimage_write_params(mem, &info, req, initrd_addr, initrd.size) < 0)
		goto out;
	*entry = (struct boot_entry){
	    .mode = BOOT_ENTRY_LONG64,
	    .rip = info.load_addr + ENTRY_64_OFFSET,
	    .rsi = BOOT_PARAMS_ADDR,
	};
	r = 0;
out:
	boot_file_free(&initrd);
	return r;
}
