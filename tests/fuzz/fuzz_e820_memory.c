/*
 * Guest memory (memory.c) as a property test. The input picks a RAM size, maps it for real
 * with memory_init (MAP_NORESERVE: nothing is touched but what the checks below touch), may
 * carve a hole into low RAM as the firmware alias does, and then asks gpa_to_host,
 * memory_read/memory_write and e820_build about fuzzed ranges.
 *
 * Input: how:u8 size:u64 [hole: start:u64 end:u64] max:u8, then (gpa:u64 len:u64) pairs.
 * Properties (a violation traps):
 *  - memory_layout splits the size around the PCI hole into regions that memory_init uses,
 *    each with its host pointer inside the mapping;
 *  - gpa_to_host returns a pointer exactly when the whole range lies in one region (never
 *    inside a carved hole), and then [p, p + len) lies inside the mapping at the region's
 *    offset; its first and last bytes can be written and read back through memory_read;
 *  - e820_build returns at most max sorted, non-overlapping, non-empty entries; with no
 *    hole (or one inside the reserved BIOS area, as kvmbox carves it) every RAM entry is
 *    backed by guest RAM and the RAM entries add up to the RAM size minus the BIOS area.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "memory.h"

#define MAX_QUERIES 64

/* Sizes where the layout changes, for `how` to pick (then moved by a small delta). */
static const uint64_t interesting_sizes[] = {
    MEM_MIN_SIZE,
    64 * MiB,
    MEM_PCI_HOLE_START - 4096,
    MEM_PCI_HOLE_START,
    MEM_PCI_HOLE_START + 4096,
    MEM_PCI_HOLE_END,
    MEM_PCI_HOLE_END + 2 * MiB,
    MEM_MAX_SIZE,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_silence_stdio();
	return 0;
}

struct hole {
	bool carved;
	uint64_t start, end;
};

static void check_layout(const struct guest_memory *mem, uint64_t size)
{
	struct mem_region layout[2];
	int n = memory_layout(size, layout);

	FUZZ_CHECK(n == 1 || n == 2, "memory_layout gave %d regions", n);
	FUZZ_CHECK(n == mem->nregions, "memory_init used %d regions, layout %d", mem->nregions, n);
	FUZZ_CHECK(layout[0].gpa == 0 && layout[0].size <= MEM_PCI_HOLE_START, "low region");
	FUZZ_CHECK(n == 1 ? layout[0].size == size
			  : layout[0].size == MEM_PCI_HOLE_START &&
				layout[1].gpa == MEM_PCI_HOLE_END &&
				layout[1].size == size - MEM_PCI_HOLE_START,
		   "regions do not add up to %#llx", (unsigned long long)size);
	FUZZ_CHECK(mem->low_end == layout[0].size && memory_low_end(mem) == mem->low_end,
		   "low_end %#llx", (unsigned long long)mem->low_end);
	for (int i = 0; i < n; i++) {
		const struct mem_region *r = &mem->regions[i];
		FUZZ_CHECK(r->gpa == layout[i].gpa && r->size == layout[i].size, "region %d", i);
		FUZZ_CHECK(r->host >= mem->base &&
			       (uint64_t)(r->host - mem->base) + r->size <= mem->size,
			   "region %d host range outside the mapping", i);
	}
}

/* Does one region hold all of [gpa, gpa + len)? (len 0: does one hold gpa, or end at it?) */
static const struct mem_region *region_holding(const struct guest_memory *mem, uint64_t gpa,
					       uint64_t len)
{
	for (int i = 0; i < mem->nregions; i++) {
		const struct mem_region *r = &mem->regions[i];
		unsigned __int128 end = (unsigned __int128)gpa + len;
		if (gpa >= r->gpa && end <= (unsigned __int128)r->gpa + r->size)
			return r;
	}
	return NULL;
}

static void check_query(const struct guest_memory *mem, const struct hole *hole, uint64_t gpa,
			uint64_t len)
{
	uint8_t *p = gpa_to_host(mem, gpa, len);
	const struct mem_region *r = region_holding(mem, gpa, len);
	uint8_t pattern[2] = {0xa5, 0x5a}, back[2];

	FUZZ_CHECK(!p == !r, "gpa_to_host(%#llx, %#llx) = %p, but a region %s it",
		   (unsigned long long)gpa, (unsigned long long)len, (void *)p,
		   r ? "holds" : "does not hold");
	if (!p)
		return;
	FUZZ_CHECK(p == r->host + (gpa - r->gpa), "wrong offset for %#llx",
		   (unsigned long long)gpa);
	FUZZ_CHECK(p >= mem->base && (uint64_t)(p - mem->base) <= mem->size &&
		       len <= mem->size - (uint64_t)(p - mem->base),
		   "[%p, +%#llx) outside the mapping [%p, +%#llx)", (void *)p,
		   (unsigned long long)len, (void *)mem->base, (unsigned long long)mem->size);
	/* len 0 may name the end of a region: the hole's start is the end of region 0. */
	if (hole->carved)
		FUZZ_CHECK(len ? gpa >= hole->end || gpa + len <= hole->start
			       : gpa <= hole->start || gpa >= hole->end,
			   "[%#llx, +%#llx) reaches into the hole", (unsigned long long)gpa,
			   (unsigned long long)len);
	if (len == 0)
		return;
	/* The ends are really mapped, and memory_write/memory_read reach the same bytes. */
	FUZZ_CHECK(memory_write(mem, gpa, &pattern[0], 1) == 0 &&
		       memory_write(mem, gpa + len - 1, &pattern[1], 1) == 0,
		   "memory_write refused what gpa_to_host allowed");
	back[0] = p[0];
	back[1] = p[len - 1];
	FUZZ_CHECK(back[1] == 0x5a && (len == 1 || back[0] == 0xa5), "bytes did not land");
	FUZZ_CHECK(memory_read(mem, gpa, back, 1) == 0 && back[0] == p[0], "memory_read");
}

static void check_e820(const struct guest_memory *mem, const struct hole *hole, int max)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(mem, map, max);
	uint64_t ram = 0;
	bool backed =
	    !hole->carved || (hole->start >= MEM_LOW_RAM_END && hole->end <= MEM_HIGH_START);

	FUZZ_CHECK(n >= 0 && n <= max, "e820_build gave %d entries for max %d", n, max);
	for (int i = 0; i < n; i++) {
		const struct e820_entry *e = &map[i];
		uint64_t end;

		FUZZ_CHECK(e->size > 0 && !__builtin_add_overflow(e->addr, e->size, &end),
			   "entry %d: %#llx+%#llx", i, (unsigned long long)e->addr,
			   (unsigned long long)e->size);
		FUZZ_CHECK(i == 0 || map[i - 1].addr + map[i - 1].size <= e->addr,
			   "entry %d overlaps or is out of order", i);
		FUZZ_CHECK(e->type == E820_RAM || e->type == E820_RESERVED, "entry %d type %u", i,
			   e->type);
		if (e->type == E820_RAM) {
			ram += e->size;
			if (backed)
				FUZZ_CHECK(region_holding(mem, e->addr, e->size),
					   "RAM entry %#llx+%#llx is not guest RAM",
					   (unsigned long long)e->addr,
					   (unsigned long long)e->size);
		}
	}
	if (max >= E820_MAX_ENTRIES)
		FUZZ_CHECK(ram == mem->size - (MEM_HIGH_START - MEM_LOW_RAM_END),
			   "E820 RAM %#llx for %#llx bytes", (unsigned long long)ram,
			   (unsigned long long)mem->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_reader r = fuzz_reader(data, size);
	struct guest_memory mem;
	struct hole hole = {0};
	uint8_t how = fuzz_u8(&r);
	uint64_t v = fuzz_u64(&r), ram;
	int max, ret;

	if (how & 1) /* near a size where the layout changes */
		ram = interesting_sizes[(how >> 1) % 8] + (int64_t)(int16_t)v * 4096;
	else if (how & 2) /* any size at all, to see memory_init refuse */
		ram = v;
	else
		ram = MEM_MIN_SIZE + v % (MEM_MAX_SIZE - MEM_MIN_SIZE + 1);
	ret = memory_init(&mem, ram);
	if (ret < 0) {
		FUZZ_CHECK(ram < MEM_MIN_SIZE || ram > MEM_MAX_SIZE || ret == -ENOMEM,
			   "memory_init(%#llx) failed: %d", (unsigned long long)ram, ret);
		return 0;
	}
	FUZZ_CHECK(ram >= MEM_MIN_SIZE && ram <= MEM_MAX_SIZE, "memory_init took %#llx",
		   (unsigned long long)ram);
	check_layout(&mem, ram);

	if (how & 0x80) {
		uint64_t start = fuzz_u64(&r), end = fuzz_u64(&r);
		int nregions = mem.nregions;
		uint64_t low = mem.regions[0].size;

		if (how & 0x40) { /* the way vm.c carves the firmware alias */
			start = MEM_HIGH_START - 4096 * (1 + start % 32);
			end = MEM_HIGH_START;
		}
		ret = memory_carve_hole(&mem, start, end);
		FUZZ_CHECK((ret == 0) == (start < end && end < low), "carve [%#llx, %#llx): %d",
			   (unsigned long long)start, (unsigned long long)end, ret);
		if (ret == 0) {
			hole = (struct hole){true, start, end};
			FUZZ_CHECK(mem.nregions == nregions + 1 && mem.regions[0].size == start &&
				       mem.regions[1].gpa == end &&
				       mem.regions[1].host == mem.base + end &&
				       mem.regions[1].size == low - end,
				   "regions after the carve");
			/* A second hole is refused: there is no room for a fourth region. */
			if (mem.nregions == MEM_MAX_REGIONS)
				FUZZ_CHECK(memory_carve_hole(&mem, 0, 1) < 0, "second carve");
		}
	}
	max = fuzz_u8(&r) % (E820_MAX_ENTRIES + 1);
	check_e820(&mem, &hole, max);
	for (int i = 0; i < MAX_QUERIES && fuzz_more(&r); i++) {
		uint64_t gpa = fuzz_u64(&r), len = fuzz_u64(&r);
		/* Raw values, and small ranges near the region edges, which matter most. */
		if (gpa & 1ULL << 63) {
			const struct mem_region *reg = &mem.regions[(gpa >> 32) % mem.nregions];
			gpa = reg->gpa + reg->size + (int64_t)(int16_t)gpa - 0x800;
			len %= 0x2000;
		}
		check_query(&mem, &hole, gpa, len);
	}
	memory_destroy(&mem);
	return 0;
}
