/*
 * fw_cfg (devices/fw_cfg.c) driven at the register level, as a guest would: the device sits
 * on a PIO bus at its real ports with the items vm.c gives it, and 64 MiB of fake guest RAM
 * serves its DMA.
 *
 * Input: the first WINDOW_SIZE bytes are copied into guest RAM at WINDOW_GPA (so DMA
 * descriptors, 16 bytes each, can sit there and point anywhere); the rest is a list of
 * operations, each an opcode byte and its operands:
 *   0 key:u16              select (16-bit write to the selector port)
 *   1 n:u8                 read 1 + n % 16 data bytes
 *   2 slot:u8 how:u8       start DMA with the descriptor in window slot (slot % 16): two
 *                          32-bit writes (high, low) or, if how is odd, one 64-bit write
 *   3 gpa:u64 how:u8       start DMA at any address, the same two ways
 *   4 port:u8 w:u8 dir:u8 value:u64   any access: port 0x510 + port % 16, width 1..8
 *   5 slot:u8 desc:16      write a descriptor (big endian, as the guest does) into a slot
 *   6                      read the DMA register: must be the signature "QEMU CFG"
 *   7                      select the signature item and read it: must be "QEMU"
 * RAM is zeroed (MADV_DONTNEED) before each input that follows a DMA, so every run starts from
 * the same state.
 * Properties: after a DMA whose descriptor is RAM, its control word is 0 or ERROR; the
 * signatures read back; nothing touches memory out of bounds.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bus.h"
#include "devices/fw_cfg.h"
#include "fuzz_util.h"
#include "memory.h"

#define WINDOW_GPA  0x10000ULL
#define WINDOW_SIZE 256
#define SLOT_SIZE   sizeof(struct fw_cfg_dma_access)
#define NSLOTS	    (WINDOW_SIZE / SLOT_SIZE)

static struct guest_memory mem;
static bool ram_dirty = true; /* a DMA may have written RAM outside the window */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (memory_init(&mem, 64 * MiB) < 0)
		abort();
	fuzz_silence_stdio(); /* guest errors are logged (once each) */
	return 0;
}

/* The items vm_create_fw_cfg() adds, plus a few files so the directory has some order. */
static struct fw_cfg *create_device(void)
{
	static const char *const files[] = {"opt/kvmbox/b", "etc/boot-fail-wait", "opt/a"};
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(&mem, map, E820_MAX_ENTRIES);
	struct fw_cfg *f = fw_cfg_create(&mem);

	if (!f || fw_cfg_add_u64(f, FW_CFG_RAM_SIZE, mem.size) < 0 ||
	    fw_cfg_add_u16(f, FW_CFG_NB_CPUS, 2) < 0 || fw_cfg_add_u16(f, FW_CFG_MAX_CPUS, 2) < 0 ||
	    fw_cfg_add_u16(f, FW_CFG_NOGRAPHIC, 1) < 0 ||
	    fw_cfg_add_file(f, "etc/e820", map, (size_t)n * sizeof(map[0])) < 0)
		abort();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (fw_cfg_add_file(f, files[i], files[i], strlen(files[i])) < 0)
			abort();
	return f;
}

static void pio(struct bus *b, uint16_t port, void *data, uint32_t len, bool is_write)
{
	if (is_write && port >= FW_CFG_PORT_DMA && port < FW_CFG_PORT_DMA + FW_CFG_DMA_NR_PORTS)
		ram_dirty = true;
	bus_dispatch(b, port, data, len, is_write);
}

/* Writes the DMA address register the way `how` says; the write of its low half starts it. */
static void dma_kick(struct bus *b, uint64_t gpa, uint8_t how)
{
	if (how & 1) {
		uint64_t be = htobe64(gpa);
		pio(b, FW_CFG_PORT_DMA, &be, 8, true);
	} else {
		uint32_t hi = htobe32((uint32_t)(gpa >> 32)), lo = htobe32((uint32_t)gpa);
		pio(b, FW_CFG_PORT_DMA + FW_CFG_OFF_DMA_HIGH, &hi, 4, true);
		pio(b, FW_CFG_PORT_DMA + FW_CFG_OFF_DMA_LOW, &lo, 4, true);
	}
	/* The device writes its verdict into the descriptor's control word, if that is RAM. */
	if (gpa_to_host(&mem, gpa, SLOT_SIZE)) {
		uint32_t control;
		memory_read(&mem, gpa, &control, sizeof(control));
		FUZZ_CHECK(control == 0 || control == htobe32(FW_CFG_DMA_CTL_ERROR),
			   "DMA at %#llx left control %#x", (unsigned long long)gpa,
			   be32toh(control));
	}
}

static void run_op(struct bus *b, struct fuzz_reader *r)
{
	uint8_t buf[16];
	uint16_t key;

	switch (fuzz_u8(r) % 8) {
	case 0:
		key = fuzz_u16(r);
		pio(b, FW_CFG_PORT_SEL, &key, 2, true);
		break;
	case 1:
		for (unsigned n = 1 + fuzz_u8(r) % 16, i = 0; i < n; i++)
			pio(b, FW_CFG_PORT_DATA, &buf[i], 1, false);
		break;
	case 2: {
		uint64_t gpa = WINDOW_GPA + (fuzz_u8(r) % NSLOTS) * SLOT_SIZE;
		dma_kick(b, gpa, fuzz_u8(r));
		break;
	}
	case 3: {
		uint64_t gpa = fuzz_u64(r);
		dma_kick(b, gpa, fuzz_u8(r));
		break;
	}
	case 4: {
		uint16_t port = FW_CFG_PORT_SEL + fuzz_u8(r) % 16;
		uint32_t width = fuzz_width(r);
		bool is_write = fuzz_u8(r) & 1;
		uint64_t value = fuzz_u64(r);
		memcpy(buf, &value, sizeof(value));
		pio(b, port, buf, width, is_write);
		break;
	}
	case 5: {
		uint64_t gpa = WINDOW_GPA + (fuzz_u8(r) % NSLOTS) * SLOT_SIZE;
		fuzz_bytes(r, buf, SLOT_SIZE);
		memory_write(&mem, gpa, buf, SLOT_SIZE);
		break;
	}
	case 6:
		pio(b, FW_CFG_PORT_DMA, buf, 8, false);
		FUZZ_CHECK(!memcmp(buf, "QEMU CFG", 8), "DMA signature");
		break;
	default:
		key = FW_CFG_SIGNATURE;
		pio(b, FW_CFG_PORT_SEL, &key, 2, true);
		for (int i = 0; i < 4; i++)
			pio(b, FW_CFG_PORT_DATA, &buf[i], 1, false);
		FUZZ_CHECK(!memcmp(buf, "QEMU", 4), "signature");
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_reader r = fuzz_reader(data, size);
	uint8_t window[WINDOW_SIZE];
	struct fw_cfg *f;
	struct bus b;

	if (ram_dirty) /* all zeros again; cheap, as few pages were touched */
		madvise(mem.base, mem.size, MADV_DONTNEED);
	ram_dirty = false;
	fuzz_bytes(&r, window, sizeof(window));
	memory_write(&mem, WINDOW_GPA, window, sizeof(window));

	f = create_device();
	bus_init(&b, "pio");
	if (bus_register(&b, FW_CFG_PORT_SEL, FW_CFG_SEL_NR_PORTS, fw_cfg_io, f, "fw_cfg") < 0 ||
	    bus_register(&b, FW_CFG_PORT_DMA, FW_CFG_DMA_NR_PORTS, fw_cfg_dma_io, f, "fw_cfg-dma") <
		0)
		abort();
	while (fuzz_more(&r))
		run_op(&b, &r);
	bus_destroy(&b);
	fw_cfg_destroy(f);
	return 0;
}
