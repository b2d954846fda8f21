/*
 * Unit tests for fw_cfg: the selector/data ports, the file directory and the DMA interface,
 * driven through the bus handlers against a fake guest (64 MiB of malloc'd-like RAM, no KVM).
 * The DMA error tests play a hostile guest: descriptors and buffers outside RAM, wrapping
 * addresses, huge lengths, writes to read-only items.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus.h"
#include "devices/fw_cfg.h"
#include "memory.h"

#define RAM_SIZE  (64 * MiB)
#define DESC_GPA  0x1000ULL
#define BUF_GPA	  0x2000ULL
#define FILL_BYTE 0xaa

struct fixture {
	struct guest_memory mem;
	struct fw_cfg *f;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_int_equal(memory_init(&fx->mem, RAM_SIZE), 0);
	fx->f = fw_cfg_create(&fx->mem);
	assert_non_null(fx->f);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	fw_cfg_destroy(fx->f);
	memory_destroy(&fx->mem);
	free(fx);
	return 0;
}

/* --- guest-side helpers: what a driver does with outw/inb/outl ----------------------------- */

static void select_key(struct fw_cfg *f, uint16_t key)
{
	uint8_t b[2] = {key & 0xff, key >> 8}; /* outw: little endian on the bus */

	fw_cfg_io(f, FW_CFG_OFF_SELECTOR, b, 2, true);
}

static uint8_t read_data(struct fw_cfg *f)
{
	uint8_t v = 0x5a;

	fw_cfg_io(f, FW_CFG_OFF_DATA, &v, 1, false);
	return v;
}

static void read_bytes(struct fw_cfg *f, void *buf, size_t n)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++)
		p[i] = read_data(f);
}

static void read_item(struct fw_cfg *f, uint16_t key, void *buf, size_t n)
{
	select_key(f, key);
	read_bytes(f, buf, n);
}

/* outl(cpu_to_be32(v), port): the bytes on the bus are v big endian. */
static void dma_write32(struct fw_cfg *f, uint64_t offset, uint32_t v)
{
	uint32_t be = htobe32(v);

	fw_cfg_dma_io(f, offset, (uint8_t *)&be, 4, true);
}

static void dma_write64(struct fw_cfg *f, uint64_t v)
{
	uint64_t be = htobe64(v);

	fw_cfg_dma_io(f, 0, (uint8_t *)&be, 8, true);
}

/* The two-write sequence Linux and SeaBIOS use. */
static void dma_kick(struct fw_cfg *f, uint64_t desc_gpa)
{
	dma_write32(f, FW_CFG_OFF_DMA_HIGH, (uint32_t)(desc_gpa >> 32));
	dma_write32(f, FW_CFG_OFF_DMA_LOW, (uint32_t)desc_gpa);
}

static void put_desc(struct guest_memory *mem, uint64_t gpa, uint32_t control, uint32_t length,
		     uint64_t address)
{
	struct fw_cfg_dma_access d = {
	    .control = htobe32(control),
	    .length = htobe32(length),
	    .address = htobe64(address),
	};

	assert_int_equal(memory_write(mem, gpa, &d, sizeof(d)), 0);
}

static uint32_t get_control(struct guest_memory *mem, uint64_t gpa)
{
	uint32_t be;

	assert_int_equal(memory_read(mem, gpa, &be, sizeof(be)), 0);
	return be32toh(be);
}

/* One DMA operation with the descriptor at DESC_GPA; returns the control written back. */
static uint32_t dma_op(struct fixture *fx, uint32_t control, uint32_t length, uint64_t address)
{
	put_desc(&fx->mem, DESC_GPA, control, length, address);
	dma_kick(fx->f, DESC_GPA);
	return get_control(&fx->mem, DESC_GPA);
}

static uint32_t sel_ctl(uint16_t key, uint32_t bits)
{
	return (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT | bits;
}

static void fill_ram(struct fixture *fx, uint64_t gpa, uint8_t byte, size_t n)
{
	uint8_t *p = gpa_to_host(&fx->mem, gpa, n);

	assert_non_null(p);
	memset(p, byte, n);
}

static uint8_t *ram(struct fixture *fx, uint64_t gpa, size_t n)
{
	uint8_t *p = gpa_to_host(&fx->mem, gpa, n);

	assert_non_null(p);
	return p;
}

static bool all_bytes(const uint8_t *p, uint8_t byte, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != byte)
			return false;
	return true;
}

/* Looks a file up in FW_CFG_FILE_DIR like a guest driver; -1 when absent. */
static int find_file(struct fw_cfg *f, const char *name, uint32_t *size)
{
	uint32_t count;
	struct fw_cfg_file e;

	read_item(f, FW_CFG_FILE_DIR, &count, sizeof(count));
	count = be32toh(count);
	for (uint32_t i = 0; i < count; i++) {
		read_bytes(f, &e, sizeof(e));
		if (!strncmp(e.name, name, sizeof(e.name))) {
			if (size)
				*size = be32toh(e.size);
			return be16toh(e.select);
		}
	}
	return -1;
}

static const char lorem[] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit";

/* --- selector / data ports ----------------------------------------------------------------- */

static void fw_cfg__signature_via_data_port(void **state)
{
	struct fixture *fx = *state;
	char sig[5] = {0};
	uint8_t b = 0;

	read_item(fx->f, FW_CFG_SIGNATURE, sig, 4);
	assert_string_equal(sig, "QEMU");
	/* Either port reads data, as QEMU's combined port does. */
	select_key(fx->f, FW_CFG_SIGNATURE);
	fw_cfg_io(fx->f, FW_CFG_OFF_SELECTOR, &b, 1, false);
	assert_int_equal(b, 'Q');
	assert_int_equal(read_data(fx->f), 'E');
}

static void fw_cfg__signature_selected_after_create(void **state)
{
	struct fixture *fx = *state;
	char sig[5] = {0};

	read_bytes(fx->f, sig, 4);
	assert_string_equal(sig, "QEMU");
}

static void fw_cfg__id_has_traditional_and_dma_bits(void **state)
{
	struct fixture *fx = *state;
	uint8_t id[4];

	read_item(fx->f, FW_CFG_ID, id, sizeof(id));
	assert_int_equal(id[0], FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	assert_int_equal(id[1] | id[2] | id[3], 0);
}

static void fw_cfg__read_past_end_returns_zeros(void **state)
{
	struct fixture *fx = *state;
	uint8_t buf[4 + 100];

	read_item(fx->f, FW_CFG_SIGNATURE, buf, sizeof(buf));
	assert_memory_equal(buf, "QEMU", 4);
	assert_true(all_bytes(buf + 4, 0, 100));
}

static void fw_cfg__selector_write_resets_offset(void **state)
{
	struct fixture *fx = *state;
	uint8_t buf[4];

	read_item(fx->f, FW_CFG_SIGNATURE, buf, 2);
	assert_memory_equal(buf, "QE", 2);
	select_key(fx->f, FW_CFG_SIGNATURE);
	read_bytes(fx->f, buf, 4);
	assert_memory_equal(buf, "QEMU", 4);
	/* Also after reading past the end. */
	read_bytes(fx->f, buf, 4);
	select_key(fx->f, FW_CFG_SIGNATURE);
	assert_int_equal(read_data(fx->f), 'Q');
}

static void fw_cfg__unknown_selector_reads_zero(void **state)
{
	struct fixture *fx = *state;
	const uint16_t keys[] = {FW_CFG_UUID,	FW_CFG_KERNEL_ADDR, FW_CFG_FILE_FIRST, 0x1234,
				 0x3fff,	FW_CFG_ARCH_LOCAL,  FW_CFG_E820_TABLE, 0xbfff,
				 FW_CFG_INVALID};
	uint8_t buf[16];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		memset(buf, 0x5a, sizeof(buf));
		read_item(fx->f, keys[i], buf, sizeof(buf));
		assert_true(all_bytes(buf, 0, sizeof(buf)));
	}
}

static void fw_cfg__write_channel_bit_ignored_on_select(void **state)
{
	struct fixture *fx = *state;
	char sig[5] = {0};

	read_item(fx->f, FW_CFG_SIGNATURE | FW_CFG_WRITE_CHANNEL, sig, 4);
	assert_string_equal(sig, "QEMU");
}

static void fw_cfg__data_port_writes_ignored(void **state)
{
	struct fixture *fx = *state;
	uint8_t v = 'X';
	char sig[5] = {0};

	select_key(fx->f, FW_CFG_SIGNATURE);
	fw_cfg_io(fx->f, FW_CFG_OFF_DATA, &v, 1, true);
	fw_cfg_io(fx->f, FW_CFG_OFF_SELECTOR, &v, 1, true); /* 8-bit write: data, not select */
	read_bytes(fx->f, sig, 4);
	assert_string_equal(sig, "QEMU");
}

static void fw_cfg__wide_data_read_is_invalid(void **state)
{
	struct fixture *fx = *state;
	uint8_t b[2] = {0, 0};

	select_key(fx->f, FW_CFG_SIGNATURE);
	fw_cfg_io(fx->f, FW_CFG_OFF_SELECTOR, b, 2, false);
	assert_int_equal(b[0], 0xff);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(read_data(fx->f), 'Q'); /* offset did not move */
}

static void fw_cfg__integers_are_little_endian(void **state)
{
	struct fixture *fx = *state;
	uint8_t ram_size[8], cpus[2], max_cpus[2], nographic[2];
	const uint8_t ram_le[8] = {0x78, 0x56, 0x34, 0x12, 0x01, 0, 0, 0};

	assert_int_equal(fw_cfg_add_u64(fx->f, FW_CFG_RAM_SIZE, 0x112345678ULL), 0);
	assert_int_equal(fw_cfg_add_u16(fx->f, FW_CFG_NB_CPUS, 0x0102), 0);
	assert_int_equal(fw_cfg_add_u16(fx->f, FW_CFG_MAX_CPUS, 8), 0);
	assert_int_equal(fw_cfg_add_u16(fx->f, FW_CFG_NOGRAPHIC, 1), 0);

	read_item(fx->f, FW_CFG_RAM_SIZE, ram_size, sizeof(ram_size));
	assert_memory_equal(ram_size, ram_le, 8);
	read_item(fx->f, FW_CFG_NB_CPUS, cpus, 2);
	assert_int_equal(cpus[0], 0x02);
	assert_int_equal(cpus[1], 0x01);
	read_item(fx->f, FW_CFG_MAX_CPUS, max_cpus, 2);
	assert_int_equal(max_cpus[0] | max_cpus[1] << 8, 8);
	read_item(fx->f, FW_CFG_NOGRAPHIC, nographic, 2);
	assert_int_equal(nographic[0] | nographic[1] << 8, 1);
	/* The item is exactly as long as the integer. */
	select_key(fx->f, FW_CFG_NB_CPUS);
	read_bytes(fx->f, cpus, 2);
	assert_int_equal(read_data(fx->f), 0);
}

static void fw_cfg__arch_local_item(void **state)
{
	struct fixture *fx = *state;
	const uint8_t table[] = {1, 2, 3};
	uint8_t buf[4];

	assert_int_equal(fw_cfg_add_bytes(fx->f, FW_CFG_E820_TABLE, table, sizeof(table)), 0);
	read_item(fx->f, FW_CFG_E820_TABLE, buf, 4);
	assert_memory_equal(buf, "\1\2\3\0", 4);
	/* The generic key with the same index is a different (absent) item. */
	read_item(fx->f, FW_CFG_E820_TABLE & FW_CFG_ENTRY_MASK, buf, 4);
	assert_true(all_bytes(buf, 0, 4));
}

/* --- file directory ------------------------------------------------------------------------ */

static void fw_cfg__empty_file_dir_has_count_zero(void **state)
{
	struct fixture *fx = *state;
	uint8_t buf[8];

	read_item(fx->f, FW_CFG_FILE_DIR, buf, sizeof(buf));
	assert_true(all_bytes(buf, 0, sizeof(buf)));
}

static void fw_cfg__file_dir_sorted_big_endian(void **state)
{
	struct fixture *fx = *state;
	/* Added out of order; QEMU sorts the directory by name. */
	static const struct {
		const char *name;
		size_t len;
	} files[] = {
	    {"etc/e820", 40},
	    {"opt/org.kvmbox/x", 3},
	    {"bootorder", 0},
	    {"etc/acpi/tables", 300},
	};
	static const char *const sorted[] = {"bootorder", "etc/acpi/tables", "etc/e820",
					     "opt/org.kvmbox/x"};
	static const uint16_t sorted_sel[] = {0x22, 0x23, 0x20, 0x21};
	static const uint32_t sorted_size[] = {0, 300, 40, 3};
	uint8_t data[300] = {0};
	uint32_t count;
	struct fw_cfg_file e;

	for (size_t i = 0; i < 4; i++)
		assert_int_equal(fw_cfg_add_file(fx->f, files[i].name, data, files[i].len), 0);

	read_item(fx->f, FW_CFG_FILE_DIR, &count, sizeof(count));
	assert_int_equal(be32toh(count), 4);
	for (size_t i = 0; i < 4; i++) {
		read_bytes(fx->f, &e, sizeof(e));
		assert_string_equal(e.name, sorted[i]);
		assert_int_equal(be16toh(e.select), sorted_sel[i]);
		assert_int_equal(be32toh(e.size), sorted_size[i]);
		assert_int_equal(e.reserved, 0);
		/* The name is NUL padded to 56 bytes. */
		assert_true(all_bytes((uint8_t *)e.name + strlen(sorted[i]), 0,
				      sizeof(e.name) - strlen(sorted[i])));
	}
	assert_int_equal(read_data(fx->f), 0); /* exactly 4 + 4 * 64 bytes */
	assert_int_equal(sizeof(struct fw_cfg_file), 64);
}

static void fw_cfg__read_file_by_selector(void **state)
{
	struct fixture *fx = *state;
	char buf[sizeof(lorem) + 8];
	uint32_t size = 0;
	int sel;

	assert_int_equal(fw_cfg_add_file(fx->f, "etc/a", "a", 1), 0);
	assert_int_equal(fw_cfg_add_file(fx->f, "opt/org.kvmbox/lorem", lorem, sizeof(lorem)), 0);
	sel = find_file(fx->f, "opt/org.kvmbox/lorem", &size);
	assert_int_equal(sel, FW_CFG_FILE_FIRST + 1);
	assert_int_equal(size, sizeof(lorem));
	read_item(fx->f, (uint16_t)sel, buf, sizeof(buf));
	assert_memory_equal(buf, lorem, sizeof(lorem));
	assert_true(all_bytes((uint8_t *)buf + sizeof(lorem), 0, 8));
}

static void fw_cfg__e820_file_layout(void **state)
{
	struct fixture *fx = *state;
	struct e820_entry map[E820_MAX_ENTRIES], got;
	int n = e820_build(&fx->mem, map, E820_MAX_ENTRIES);
	uint32_t size;
	int sel;

	assert_int_equal(sizeof(struct e820_entry), 20);
	assert_int_equal(fw_cfg_add_file(fx->f, "etc/e820", map, n * sizeof(map[0])), 0);
	sel = find_file(fx->f, "etc/e820", &size);
	assert_int_equal(size, n * 20);
	select_key(fx->f, (uint16_t)sel);
	for (int i = 0; i < n; i++) {
		read_bytes(fx->f, &got, sizeof(got));
		assert_int_equal(le64toh(got.addr), map[i].addr);
		assert_int_equal(le64toh(got.size), map[i].size);
		assert_int_equal(le32toh(got.type), map[i].type);
	}
}

/* --- registration errors ------------------------------------------------------------------- */

static void fw_cfg__duplicate_selectors_refused(void **state)
{
	struct fixture *fx = *state;
	char sig[5] = {0};
	uint8_t cpus = 0;

	assert_int_equal(fw_cfg_add_u16(fx->f, FW_CFG_NB_CPUS, 1), 0);
	assert_int_equal(fw_cfg_add_u16(fx->f, FW_CFG_NB_CPUS, 2), -EEXIST);
	assert_int_equal(fw_cfg_add_bytes(fx->f, FW_CFG_SIGNATURE, "XXXX", 4), -EEXIST);
	assert_int_equal(fw_cfg_add_u32(fx->f, FW_CFG_ID, 0), -EEXIST);
	assert_int_equal(fw_cfg_add_bytes(fx->f, FW_CFG_FILE_DIR, "", 0), -EEXIST);
	read_item(fx->f, FW_CFG_SIGNATURE, sig, 4);
	assert_string_equal(sig, "QEMU");
	read_item(fx->f, FW_CFG_NB_CPUS, &cpus, 1);
	assert_int_equal(cpus, 1);
}

static void fw_cfg__bad_fixed_selectors_refused(void **state)
{
	struct fixture *fx = *state;

	/* File selectors are assigned by fw_cfg_add_file; the write channel is not a key. */
	assert_int_equal(fw_cfg_add_u16(fx->f, FW_CFG_FILE_FIRST, 1), -EINVAL);
	assert_int_equal(fw_cfg_add_u16(fx->f, 0x3fff, 1), -EINVAL);
	assert_int_equal(fw_cfg_add_u16(fx->f, FW_CFG_WRITE_CHANNEL | FW_CFG_NB_CPUS, 1), -EINVAL);
	assert_int_equal(fw_cfg_add_u16(fx->f, FW_CFG_INVALID, 1), -EINVAL);
	assert_int_equal(fw_cfg_add_bytes(fx->f, FW_CFG_UUID, NULL, 16), -EINVAL);
	assert_int_equal(fw_cfg_add_bytes(fx->f, FW_CFG_UUID, NULL, 0), 0); /* empty item */
}

static void fw_cfg__duplicate_and_bad_files_refused(void **state)
{
	struct fixture *fx = *state;
	char name[FW_CFG_MAX_FILE_PATH + 1];
	uint32_t count;

	assert_int_equal(fw_cfg_add_file(fx->f, "etc/e820", "x", 1), 0);
	assert_int_equal(fw_cfg_add_file(fx->f, "etc/e820", "y", 1), -EEXIST);
	assert_int_equal(fw_cfg_add_file(fx->f, "", "y", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_file(fx->f, NULL, "y", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_file(fx->f, "etc/null", NULL, 1), -EINVAL);

	memset(name, 'n', sizeof(name));
	name[FW_CFG_MAX_FILE_PATH] = '\0'; /* 56 characters: one too many */
	assert_int_equal(fw_cfg_add_file(fx->f, name, "z", 1), -EINVAL);
	name[FW_CFG_MAX_FILE_PATH - 1] = '\0'; /* 55: the longest allowed */
	assert_int_equal(fw_cfg_add_file(fx->f, name, "z", 1), 0);
	assert_int_equal(find_file(fx->f, name, NULL), FW_CFG_FILE_FIRST + 1);

	read_item(fx->f, FW_CFG_FILE_DIR, &count, sizeof(count));
	assert_int_equal(be32toh(count), 2);
}

/* --- DMA ----------------------------------------------------------------------------------- */

static void fw_cfg__dma_signature_read(void **state)
{
	struct fixture *fx = *state;
	uint8_t b[8];
	uint64_t v;

	fw_cfg_dma_io(fx->f, 0, b, 8, false);
	assert_memory_equal(b, "QEMU CFG", 8);
	fw_cfg_dma_io(fx->f, 4, b, 4, false);
	assert_memory_equal(b, " CFG", 4);
	fw_cfg_dma_io(fx->f, 3, b, 1, false);
	assert_int_equal(b[0], 'U');
	/* inl(0x514) on a little-endian CPU, compared as QEMU's big-endian constant. */
	fw_cfg_dma_io(fx->f, 0, (uint8_t *)&v, 8, false);
	assert_int_equal(be64toh(v), FW_CFG_DMA_SIGNATURE);
}

static void fw_cfg__dma_read_file_with_select(void **state)
{
	struct fixture *fx = *state;
	int sel;

	assert_int_equal(fw_cfg_add_file(fx->f, "opt/org.kvmbox/lorem", lorem, sizeof(lorem)), 0);
	sel = find_file(fx->f, "opt/org.kvmbox/lorem", NULL);
	fill_ram(fx, BUF_GPA, FILL_BYTE, 256);

	assert_int_equal(
	    dma_op(fx, sel_ctl((uint16_t)sel, FW_CFG_DMA_CTL_READ), sizeof(lorem), BUF_GPA), 0);
	assert_memory_equal(ram(fx, BUF_GPA, sizeof(lorem)), lorem, sizeof(lorem));
	/* Nothing past the requested length was touched. */
	assert_true(all_bytes(ram(fx, BUF_GPA + sizeof(lorem), 8), FILL_BYTE, 8));
	/* The data port continues where DMA stopped: at the end. */
	assert_int_equal(read_data(fx->f), 0);
}

static void fw_cfg__dma_partial_reads_continue_at_offset(void **state)
{
	struct fixture *fx = *state;
	const uint32_t first = 5, rest = sizeof(lorem) - first;

	assert_int_equal(fw_cfg_add_file(fx->f, "opt/org.kvmbox/lorem", lorem, sizeof(lorem)), 0);
	fill_ram(fx, BUF_GPA, FILL_BYTE, 256);

	assert_int_equal(
	    dma_op(fx, sel_ctl(FW_CFG_FILE_FIRST, FW_CFG_DMA_CTL_READ), first, BUF_GPA), 0);
	/* No SELECT: same item, at offset 5; ask for 10 bytes more than remain. */
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_READ, rest + 10, BUF_GPA + first), 0);
	assert_memory_equal(ram(fx, BUF_GPA, sizeof(lorem)), lorem, sizeof(lorem));
	assert_true(all_bytes(ram(fx, BUF_GPA + sizeof(lorem), 10), 0, 10));
	assert_true(all_bytes(ram(fx, BUF_GPA + sizeof(lorem) + 10, 8), FILL_BYTE, 8));
}

static void fw_cfg__dma_skip_advances_offset(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(fw_cfg_add_file(fx->f, "opt/org.kvmbox/lorem", lorem, sizeof(lorem)), 0);
	fill_ram(fx, BUF_GPA, FILL_BYTE, 64);

	/* SKIP ignores the address, even one outside RAM. */
	assert_int_equal(dma_op(fx, sel_ctl(FW_CFG_FILE_FIRST, FW_CFG_DMA_CTL_SKIP), 6, ~0ULL), 0);
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_READ, 5, BUF_GPA), 0);
	assert_memory_equal(ram(fx, BUF_GPA, 5), "ipsum", 5);
	/* The data port shares the offset. */
	assert_int_equal(read_data(fx->f), ' ');
	/* Skipping past the end stops there: what follows reads as zeros. */
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_SKIP, 0xffffffff, 0), 0);
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_READ, 4, BUF_GPA), 0);
	assert_true(all_bytes(ram(fx, BUF_GPA, 4), 0, 4));
	assert_int_equal(read_data(fx->f), 0);
}

static void fw_cfg__dma_select_only_sets_selector(void **state)
{
	struct fixture *fx = *state;

	select_key(fx->f, FW_CFG_ID);
	fill_ram(fx, BUF_GPA, FILL_BYTE, 16);
	/* No READ/WRITE/SKIP: the length is ignored, only the select happens. */
	assert_int_equal(dma_op(fx, sel_ctl(FW_CFG_SIGNATURE, 0), 16, BUF_GPA), 0);
	assert_true(all_bytes(ram(fx, BUF_GPA, 16), FILL_BYTE, 16));
	assert_int_equal(read_data(fx->f), 'Q');
}

static void fw_cfg__dma_unknown_selector_zero_fills(void **state)
{
	struct fixture *fx = *state;

	fill_ram(fx, BUF_GPA, FILL_BYTE, 32);
	assert_int_equal(dma_op(fx, sel_ctl(0x1234, FW_CFG_DMA_CTL_READ), 16, BUF_GPA), 0);
	assert_true(all_bytes(ram(fx, BUF_GPA, 16), 0, 16));
	assert_true(all_bytes(ram(fx, BUF_GPA + 16, 16), FILL_BYTE, 16));
}

static void fw_cfg__dma_zero_length_is_a_no_op(void **state)
{
	struct fixture *fx = *state;

	/* Not even the buffer address is checked (QEMU does the same). */
	assert_int_equal(dma_op(fx, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ), 0, ~0ULL), 0);
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_WRITE, 0, BUF_GPA), 0);
	assert_int_equal(read_data(fx->f), 'Q');
}

static void fw_cfg__dma_64bit_write_triggers(void **state)
{
	struct fixture *fx = *state;

	fill_ram(fx, BUF_GPA, FILL_BYTE, 8);
	put_desc(&fx->mem, DESC_GPA, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ), 4, BUF_GPA);
	dma_write64(fx->f, DESC_GPA);
	assert_int_equal(get_control(&fx->mem, DESC_GPA), 0);
	assert_memory_equal(ram(fx, BUF_GPA, 4), "QEMU", 4);
}

static void fw_cfg__dma_low_half_alone_triggers_after_reset(void **state)
{
	struct fixture *fx = *state;

	/* A high half of 1: the descriptor is at 4 GiB + DESC_GPA, not RAM: nothing happens. */
	put_desc(&fx->mem, DESC_GPA, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ), 4, BUF_GPA);
	dma_write32(fx->f, FW_CFG_OFF_DMA_HIGH, 1);
	dma_write32(fx->f, FW_CFG_OFF_DMA_LOW, (uint32_t)DESC_GPA);
	assert_int_equal(get_control(&fx->mem, DESC_GPA),
			 sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ));
	/* The register went back to 0, so a 32-bit address needs only the low write. */
	dma_write32(fx->f, FW_CFG_OFF_DMA_LOW, (uint32_t)DESC_GPA);
	assert_int_equal(get_control(&fx->mem, DESC_GPA), 0);
	assert_memory_equal(ram(fx, BUF_GPA, 4), "QEMU", 4);
}

static void fw_cfg__dma_bad_register_writes_ignored(void **state)
{
	struct fixture *fx = *state;
	uint8_t b[8] = {0};

	put_desc(&fx->mem, DESC_GPA, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ), 4, BUF_GPA);
	/* Wrong widths and offsets do not trigger (nor latch an address). */
	b[3] = (uint8_t)DESC_GPA;
	b[2] = (uint8_t)(DESC_GPA >> 8);
	fw_cfg_dma_io(fx->f, 4, b, 1, true);
	fw_cfg_dma_io(fx->f, 6, b, 2, true);
	fw_cfg_dma_io(fx->f, 2, b, 4, true);
	fw_cfg_dma_io(fx->f, 4, b, 2, true);
	fw_cfg_dma_io(fx->f, 0, b, 2, true);
	assert_int_equal(get_control(&fx->mem, DESC_GPA),
			 sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ));
	/* The register still holds 0: the low half alone reaches the descriptor. */
	dma_write32(fx->f, FW_CFG_OFF_DMA_LOW, (uint32_t)DESC_GPA);
	assert_int_equal(get_control(&fx->mem, DESC_GPA), 0);
}

static void fw_cfg__dma_descriptor_outside_ram_no_crash(void **state)
{
	struct fixture *fx = *state;
	const uint64_t bad[] = {RAM_SIZE, RAM_SIZE + 0x1000, MEM_PCI_HOLE_START, 1ULL << 40,
				~0ULL,	  ~0ULL - 7,	     ~0ULL - 15,	 RAM_SIZE - 4};

	select_key(fx->f, FW_CFG_SIGNATURE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dma_kick(fx->f, bad[i]);
		dma_write64(fx->f, bad[i]);
	}
	/* Nothing was selected or read. */
	assert_int_equal(read_data(fx->f), 'Q');
}

static void fw_cfg__dma_descriptor_straddling_ram_end_reports_error(void **state)
{
	struct fixture *fx = *state;
	const uint64_t desc = RAM_SIZE - 8; /* control and length in RAM, address not */

	fill_ram(fx, desc, 0, 8);
	dma_kick(fx->f, desc);
	assert_int_equal(get_control(&fx->mem, desc), FW_CFG_DMA_CTL_ERROR);
}

static void fw_cfg__dma_outside_ram_sets_error(void **state)
{
	struct fixture *fx = *state;
	uint8_t *last = ram(fx, RAM_SIZE - 4, 4);

	memset(last, FILL_BYTE, 4);
	/* Starts in RAM, ends past it: nothing is written, the offset does not move. */
	assert_int_equal(
	    dma_op(fx, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ), 8, RAM_SIZE - 4),
	    FW_CFG_DMA_CTL_ERROR);
	assert_true(all_bytes(last, FILL_BYTE, 4));
	assert_int_equal(read_data(fx->f), 'Q');

	/* Entirely outside: past RAM, in the PCI hole, above 4 GiB. */
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_READ, 4, RAM_SIZE), FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_READ, 4, MEM_PCI_HOLE_START),
			 FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_READ, 4, MEM_PCI_HOLE_END),
			 FW_CFG_DMA_CTL_ERROR);
	/* A later good transfer still works and starts at offset 1 (one byte read above). */
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_READ, 3, BUF_GPA), 0);
	assert_memory_equal(ram(fx, BUF_GPA, 3), "EMU", 3);
}

static void fw_cfg__dma_buffer_wrapping_sets_error(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(dma_op(fx, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ), 16, ~0ULL - 3),
			 FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_READ, 0xffffffff, 0xffffffff00000002ULL),
			 FW_CFG_DMA_CTL_ERROR);
	/* Ends exactly at 2^64: the end wraps to 0. */
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_READ, 16, 0ULL - 16), FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(read_data(fx->f), 'Q');
}

static void fw_cfg__dma_write_sets_error(void **state)
{
	struct fixture *fx = *state;
	char sig[5] = {0};

	memcpy(ram(fx, BUF_GPA, 4), "EVIL", 4);
	assert_int_equal(dma_op(fx, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_WRITE), 4, BUF_GPA),
			 FW_CFG_DMA_CTL_ERROR);
	/* Write to nothing, and past the end, as well. */
	assert_int_equal(dma_op(fx, sel_ctl(0x1234, FW_CFG_DMA_CTL_WRITE), 4, BUF_GPA),
			 FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(dma_op(fx, FW_CFG_DMA_CTL_WRITE | FW_CFG_DMA_CTL_SKIP, 4, BUF_GPA),
			 FW_CFG_DMA_CTL_ERROR);
	read_item(fx->f, FW_CFG_SIGNATURE, sig, 4);
	assert_string_equal(sig, "QEMU");
	/* READ takes precedence over WRITE (fw_cfg.rst: "bit 4 set (and not bit 1)"). */
	assert_int_equal(
	    dma_op(fx, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_WRITE), 4,
		   BUF_GPA),
	    0);
	assert_memory_equal(ram(fx, BUF_GPA, 4), "QEMU", 4);
}

static void fw_cfg__dma_huge_length_outside_ram_sets_error(void **state)
{
	struct fixture *fx = *state;

	fill_ram(fx, 0, FILL_BYTE, 16);
	assert_int_equal(dma_op(fx, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ), 0xffffffff, 0),
			 FW_CFG_DMA_CTL_ERROR);
	assert_true(all_bytes(ram(fx, 0, 16), FILL_BYTE, 16));
}

static void fw_cfg__dma_long_read_zero_fills_inside_ram(void **state)
{
	struct fixture *fx = *state;
	const uint64_t buf = 1 * MiB;
	const uint32_t len = (uint32_t)(RAM_SIZE - buf); /* up to the last byte of RAM */

	fill_ram(fx, buf, FILL_BYTE, 64);
	fill_ram(fx, RAM_SIZE - 64, FILL_BYTE, 64);
	assert_int_equal(dma_op(fx, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ), len, buf), 0);
	assert_memory_equal(ram(fx, buf, 4), "QEMU", 4);
	assert_true(all_bytes(ram(fx, buf + 4, 60), 0, 60));
	assert_true(all_bytes(ram(fx, RAM_SIZE - 64, 64), 0, 64));
}

/* --- the device on a bus, as the VM wires it ----------------------------------------------- */

static void fw_cfg__works_through_the_pio_bus(void **state)
{
	struct fixture *fx = *state;
	struct bus bus;
	uint8_t b[8];
	uint16_t sel = htole16(FW_CFG_ID);
	uint32_t hi = htobe32(0), lo = htobe32((uint32_t)DESC_GPA);

	bus_init(&bus, "pio");
	assert_int_equal(
	    bus_register(&bus, FW_CFG_PORT_SEL, FW_CFG_SEL_NR_PORTS, fw_cfg_io, fx->f, "fw_cfg"),
	    0);
	assert_int_equal(bus_register(&bus, FW_CFG_PORT_DMA, FW_CFG_DMA_NR_PORTS, fw_cfg_dma_io,
				      fx->f, "fw_cfg-dma"),
			 0);
	assert_int_equal(bus_dispatch(&bus, FW_CFG_PORT_SEL, (uint8_t *)&sel, 2, true), 0);
	assert_int_equal(bus_dispatch(&bus, FW_CFG_PORT_DATA, b, 1, false), 0);
	assert_int_equal(b[0], FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	assert_int_equal(bus_dispatch(&bus, FW_CFG_PORT_DMA, b, 4, false), 0);
	assert_memory_equal(b, "QEMU", 4);

	put_desc(&fx->mem, DESC_GPA, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_CTL_READ), 4, BUF_GPA);
	assert_int_equal(bus_dispatch(&bus, FW_CFG_PORT_DMA, (uint8_t *)&hi, 4, true), 0);
	assert_int_equal(bus_dispatch(&bus, FW_CFG_PORT_DMA + 4, (uint8_t *)&lo, 4, true), 0);
	assert_int_equal(get_control(&fx->mem, DESC_GPA), 0);
	assert_memory_equal(ram(fx, BUF_GPA, 4), "QEMU", 4);
	bus_destroy(&bus);
}

/* --- hostile guest: random accesses -------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_gpa(uint64_t *s)
{
	switch (rnd(s) % 8) {
	case 0:
		return rnd(s); /* anywhere */
	case 1:
		return RAM_SIZE - rnd(s) % 64; /* around the end of RAM */
	case 2:
		return ~0ULL - rnd(s) % 64; /* around 2^64 */
	case 3:
		return MEM_PCI_HOLE_START + rnd(s) % 4096;
	default:
		return rnd(s) % RAM_SIZE;
	}
}

static uint32_t rnd_len(uint64_t *s)
{
	switch (rnd(s) % 16) {
	case 0:
		return 0xffffffff;
	case 1:
		return (uint32_t)rnd(s);
	case 2:
		return (uint32_t)(rnd(s) % (1 << 20));
	case 3:
		return 0;
	default:
		return (uint32_t)(rnd(s) % 256);
	}
}

static uint16_t rnd_key(uint64_t *s)
{
	switch (rnd(s) % 4) {
	case 0:
		return (uint16_t)rnd(s);
	case 1:
		return (uint16_t)(FW_CFG_ARCH_LOCAL | rnd(s) % 8);
	default:
		return (uint16_t)(rnd(s) % 0x28);
	}
}

/*
 * One random guest action. With check set (single-threaded), verifies that a triggered
 * transfer whose descriptor is RAM gets control back as 0 or ERROR.
 */
static void random_access(struct fixture *fx, uint64_t *s, bool check)
{
	uint64_t r = rnd(s), v = rnd(s);
	uint8_t data[8];
	uint32_t len;
	uint64_t off;

	memcpy(data, &v, sizeof(data));
	switch (r % 8) {
	case 0:
	case 1: /* any access to the selector/data range */
		off = rnd(s) % FW_CFG_SEL_NR_PORTS;
		len = off ? 1 : 1 + rnd(s) % 2;
		fw_cfg_io(fx->f, off, data, len, rnd(s) & 1);
		break;
	case 2:
		select_key(fx->f, rnd_key(s));
		break;
	case 3: /* any access to the DMA range, including partial triggers */
		off = rnd(s) % FW_CFG_DMA_NR_PORTS;
		len = 1 + rnd(s) % (FW_CFG_DMA_NR_PORTS - off);
		fw_cfg_dma_io(fx->f, off, data, len, rnd(s) & 1);
		break;
	default: { /* a random descriptor, kicked */
		uint64_t desc = rnd(s) % 4 ? rnd(s) % (RAM_SIZE - 16) : rnd_gpa(s);
		uint32_t control = (uint32_t)rnd_key(s) << 16 | (uint32_t)(rnd(s) & 0x1f);
		struct fw_cfg_dma_access d = {
		    .control = htobe32(control),
		    .length = htobe32(rnd_len(s)),
		    .address = htobe64(rnd_gpa(s)),
		};

		memory_write(&fx->mem, desc, &d, sizeof(d)); /* may fail: then it is garbage */
		if (rnd(s) & 1)
			dma_kick(fx->f, desc);
		else
			dma_write64(fx->f, desc);
		if (check && gpa_to_host(&fx->mem, desc, sizeof(d))) {
			uint32_t got = get_control(&fx->mem, desc);
			assert_true(got == 0 || got == FW_CFG_DMA_CTL_ERROR);
		}
		break;
	}
	}
}

static void fw_cfg__random_accesses_do_not_crash(void **state)
{
	struct fixture *fx = *state;
	uint64_t seed = 0x6677cfc1a5b3d2e1ULL;
	char sig[5] = {0};

	assert_int_equal(fw_cfg_add_u64(fx->f, FW_CFG_RAM_SIZE, RAM_SIZE), 0);
	assert_int_equal(fw_cfg_add_file(fx->f, "etc/e820", lorem, 40), 0);
	assert_int_equal(fw_cfg_add_file(fx->f, "opt/org.kvmbox/lorem", lorem, sizeof(lorem)), 0);
	assert_int_equal(fw_cfg_add_bytes(fx->f, FW_CFG_E820_TABLE, lorem, 7), 0);
	for (int i = 0; i < 200000; i++)
		random_access(fx, &seed, true);

	dma_write32(fx->f, FW_CFG_OFF_DMA_HIGH, 0); /* forget a half-written address */
	read_item(fx->f, FW_CFG_SIGNATURE, sig, 4);
	assert_string_equal(sig, "QEMU");
	assert_int_equal(
	    dma_op(fx, sel_ctl(FW_CFG_FILE_FIRST + 1, FW_CFG_DMA_CTL_READ), sizeof(lorem), BUF_GPA),
	    0);
	assert_memory_equal(ram(fx, BUF_GPA, sizeof(lorem)), lorem, sizeof(lorem));
}

struct thread_arg {
	struct fixture *fx;
	uint64_t seed;
};

static void *hammer(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < 20000; i++)
		random_access(a->fx, &a->seed, false);
	return NULL;
}

static void fw_cfg__concurrent_accesses_are_safe(void **state)
{
	struct fixture *fx = *state;
	pthread_t t[4];
	struct thread_arg args[4];
	uint8_t buf[8];

	assert_int_equal(fw_cfg_add_file(fx->f, "opt/org.kvmbox/lorem", lorem, sizeof(lorem)), 0);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){.fx = fx, .seed = 0x1234567ULL * (i + 1)};
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &args[i]), 0);
	}
	/* Files may be added while the guest runs. */
	for (int i = 0; i < 64; i++) {
		char name[32];

		snprintf(name, sizeof(name), "opt/org.kvmbox/%d", i);
		assert_int_equal(fw_cfg_add_file(fx->f, name, lorem, (size_t)i % sizeof(lorem)), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	read_item(fx->f, FW_CFG_FILE_DIR, buf, 4);
	assert_int_equal(buf[3], 65);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(fw_cfg__signature_via_data_port),
	    T(fw_cfg__signature_selected_after_create),
	    T(fw_cfg__id_has_traditional_and_dma_bits),
	    T(fw_cfg__read_past_end_returns_zeros),
	    T(fw_cfg__selector_write_resets_offset),
	    T(fw_cfg__unknown_selector_reads_zero),
	    T(fw_cfg__write_channel_bit_ignored_on_select),
	    T(fw_cfg__data_port_writes_ignored),
	    T(fw_cfg__wide_data_read_is_invalid),
	    T(fw_cfg__integers_are_little_endian),
	    T(fw_cfg__arch_local_item),
	    T(fw_cfg__empty_file_dir_has_count_zero),
	    T(fw_cfg__file_dir_sorted_big_endian),
	    T(fw_cfg__read_file_by_selector),
	    T(fw_cfg__e820_file_layout),
	    T(fw_cfg__duplicate_selectors_refused),
	    T(fw_cfg__bad_fixed_selectors_refused),
	    T(fw_cfg__duplicate_and_bad_files_refused),
	    T(fw_cfg__dma_signature_read),
	    T(fw_cfg__dma_read_file_with_select),
	    T(fw_cfg__dma_partial_reads_continue_at_offset),
	    T(fw_cfg__dma_skip_advances_offset),
	    T(fw_cfg__dma_select_only_sets_selector),
	    T(fw_cfg__dma_unknown_selector_zero_fills),
	    T(fw_cfg__dma_zero_length_is_a_no_op),
	    T(fw_cfg__dma_64bit_write_triggers),
	    T(fw_cfg__dma_low_half_alone_triggers_after_reset),
	    T(fw_cfg__dma_bad_register_writes_ignored),
	    T(fw_cfg__dma_descriptor_outside_ram_no_crash),
	    T(fw_cfg__dma_descriptor_straddling_ram_end_reports_error),
	    T(fw_cfg__dma_outside_ram_sets_error),
	    T(fw_cfg__dma_buffer_wrapping_sets_error),
	    T(fw_cfg__dma_write_sets_error),
	    T(fw_cfg__dma_huge_length_outside_ram_sets_error),
	    T(fw_cfg__dma_long_read_zero_fills_inside_ram),
	    T(fw_cfg__works_through_the_pio_bus),
	    T(fw_cfg__random_accesses_do_not_crash),
	    T(fw_cfg__concurrent_accesses_are_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
