/*
 * PIO and MMIO range registries. A device registers (base, len, handler, opaque) once at
 * setup; after that the bus is read-only and vCPU threads dispatch without locks. A handler
 * sees only the offset into its own range.
 */
#ifndef KVMBOX_BUS_H
#define KVMBOX_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* For reads the handler fills data[0..len); for writes it consumes it. len is 1..8. */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			  bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_io_fn fn;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;	  /* "pio" or "mmio", for logs */
	struct bus_range *ranges; /* sorted by base, never overlapping */
	size_t count;
	size_t capacity;
	uint8_t unclaimed_seen[65536 / 8]; /* ports (or MMIO pages, hashed) already logged */
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
/* Returns 0, -EEXIST on overlap, -EINVAL on an empty/wrapping range, -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque,
		 const char *name);
/*
 * Dispatches an access. Returns 0 if a device handled it, -ENOENT if no device claims the
 * whole access; then reads see all ones and writes are dropped (done here).
 */
int bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
