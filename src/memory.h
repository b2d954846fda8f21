/*
 * Guest RAM: one anonymous host mapping, split into at most two guest-physical regions
 * (below the 32-bit PCI/MMIO hole and above 4 GiB), registered as KVM memslots. Every
 * guest-physical access in kvmbox goes through gpa_to_host(), which fails closed.
 */
#ifndef KVMBOX_MEMORY_H
#define KVMBOX_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MiB (1024ULL * 1024)
#define GiB (1024ULL * MiB)

/* Guest physical layout (x86). */
#define MEM_LOW_RAM_END	   0x9fc00ULL	  /* end of conventional memory; EBDA above */
#define MEM_HIGH_START	   0x100000ULL	  /* 1 MiB */
#define MEM_PCI_HOLE_START 0xc0000000ULL  /* 3 GiB: 32-bit MMIO, LAPIC, IOAPIC, ... */
#define MEM_PCI_HOLE_END   0x100000000ULL /* 4 GiB */
#define MEM_MIN_SIZE	   (32 * MiB)
#define MEM_MAX_SIZE	   (1024 * GiB)

/* E820 types (ACPI address range types). */
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3

#define E820_MAX_ENTRIES 16

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

#define MEM_MAX_REGIONS 3

struct guest_memory {
	uint8_t *base; /* host mapping of all RAM */
	uint64_t size; /* total RAM bytes */
	struct mem_region regions[MEM_MAX_REGIONS];
	int nregions;
	uint64_t low_end; /* end of RAM below 4 GiB */
	/* A range in the PCI hole the OS must leave alone (the PCI ECAM window), 0 if none. */
	uint64_t reserved_gpa, reserved_size;
};

/*
 * Splits size bytes of RAM into regions around the PCI hole. Pure: no allocation.
 * Returns the number of regions (1 or 2).
 */
int memory_layout(uint64_t size, struct mem_region regions[2]);

/* Maps RAM (MAP_NORESERVE, nothing prefaulted). Returns 0 or -errno. */
int memory_init(struct guest_memory *mem, uint64_t size);
/*
 * Takes [start, end) out of low RAM so something else (the firmware's alias below 1 MiB)
 * can be mapped there; kvmbox then never hands out pointers into it. Call before
 * memory_register. Returns 0 or -EINVAL.
 */
int memory_carve_hole(struct guest_memory *mem, uint64_t start, uint64_t end);
/* Registers the regions as KVM memslots 0..nregions-1 on vm_fd. Returns 0 or -errno. */
int memory_register(const struct guest_memory *mem, int vm_fd);
void memory_destroy(struct guest_memory *mem);

/*
 * Host pointer for [gpa, gpa + len) if the whole range is RAM inside one region, else
 * NULL. len 0 is allowed (checks gpa only).
 */
void *gpa_to_host(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* Copy in/out of guest RAM; return 0 or -EFAULT. */
int memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len);
int memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst, uint64_t len);

/* Lists [gpa, gpa + size) (inside the PCI hole) as reserved in the E820 map. */
void memory_reserve_in_hole(struct guest_memory *mem, uint64_t gpa, uint64_t size);

/* Top of RAM below 4 GiB (the end of the low region). */
uint64_t memory_low_end(const struct guest_memory *mem);

/*
 * Builds the guest's E820 map: conventional memory, the reserved EBDA/BIOS area
 * (0x9fc00-0x100000, where kvmbox puts ACPI and MP tables), RAM up to the PCI hole, RAM
 * above 4 GiB. Returns the entry count.
 */
int e820_build(const struct guest_memory *mem, struct e820_entry *out, int max);

#endif
