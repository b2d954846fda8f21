#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus_init(bus, bus->name);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque,
		 const char *name)
{
	uint64_t last;
	size_t pos;

	if (len == 0 || __builtin_add_overflow(base, len - 1, &last) || !fn)
		return -EINVAL;
	for (pos = 0; pos < bus->count; pos++) {
		const struct bus_range *r = &bus->ranges[pos];
		if (base <= r->base + (r->len - 1) && r->base <= last)
			return -EEXIST;
		if (r->base > base)
			break;
	}
	if (bus->count == bus->capacity) {
		size_t cap = bus->capacity ? bus->capacity * 2 : 16;
		struct bus_range *n = realloc(bus->ranges, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		bus->ranges = n;
		bus->capacity = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->count - pos) * sizeof(*bus->ranges));
	bus->ranges[pos] = (struct bus_range){base, len, fn, opaque, name};
	bus->count++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

int bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr);

	/* The access must lie wholly inside one device's range. */
	if (r && len >= 1 && len <= 8 && addr - r->base + len <= r->len) {
		r->fn(r->opaque, addr - r->base, data, len, is_write);
		return 0;
	}
	if (!is_write)
		memset(data, 0xff, len > 8 ? 8 : len);
	if (log_get_level() >= LOG_DEBUG) {
		/* Once per port (PIO) or per 4 KiB page (MMIO, hashed): guests poll. */
		uint64_t key = (addr > 0xffff ? addr >> 12 : addr) & 0xffff;
		uint8_t bit = (uint8_t)(1u << (key & 7));
		uint8_t *seen = &bus->unclaimed_seen[key >> 3];
		if (!(__atomic_fetch_or(seen, bit, __ATOMIC_RELAXED) & bit))
			log_debug("unclaimed %s %s at %#llx len %u (further ones not logged)",
				  bus->name, is_write ? "write" : "read", (unsigned long long)addr,
				  len);
	}
	return -ENOENT;
}
