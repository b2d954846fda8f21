#include "memory.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

int memory_layout(uint64_t size, struct mem_region regions[2])
{
	uint64_t low = size < MEM_PCI_HOLE_START ? size : MEM_PCI_HOLE_START;

	regions[0] = (struct mem_region){.gpa = 0, .size = low};
	if (size == low)
		return 1;
	regions[1] = (struct mem_region){.gpa = MEM_PCI_HOLE_END, .size = size - low};
	return 2;
}

int memory_init(struct guest_memory *mem, uint64_t size)
{
	void *p;

	memset(mem, 0, sizeof(*mem));
	if (size < MEM_MIN_SIZE || size > MEM_MAX_SIZE)
		return -EINVAL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* Guest RAM is large and private to the guest: no core dumps, no fork inheritance. */
	madvise(p, size, MADV_DONTDUMP);
	madvise(p, size, MADV_DONTFORK);
	mem->base = p;
	mem->size = size;
	mem->nregions = memory_layout(size, mem->regions);
	mem->regions[0].host = mem->base;
	if (mem->nregions == 2)
		mem->regions[1].host = mem->base + mem->regions[0].size;
	mem->low_end = mem->regions[0].size;
	return 0;
}

int memory_carve_hole(struct guest_memory *mem, uint64_t start, uint64_t end)
{
	struct mem_region *r = &mem->regions[0];

	if (mem->nregions == MEM_MAX_REGIONS || r->gpa != 0 || start >= end || end >= r->size)
		return -EINVAL;
	memmove(&mem->regions[2], &mem->regions[1], (mem->nregions - 1) * sizeof(*r));
	mem->regions[1] =
	    (struct mem_region){.gpa = end, .size = r->size - end, .host = r->host + end};
	r->size = start;
	mem->nregions++;
	return 0;
}

int memory_register(const struct guest_memory *mem, int vm_fd)
{
	for (int i = 0; i < mem->nregions; i++) {
		struct kvm_userspace_memory_region r = {
		    .slot = (uint32_t)i,
		    .guest_phys_addr = mem->regions[i].gpa,
		    .memory_size = mem->regions[i].size,
		    .userspace_addr = (uint64_t)(uintptr_t)mem->regions[i].host,
		};
		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return -errno;
	}
	return 0;
}

void memory_destroy(struct guest_memory *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size);
	memset(mem, 0, sizeof(*mem));
}

void *gpa_to_host(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < mem->nregions; i++) {
		const struct mem_region *r = &mem->regions[i];
		uint64_t off = gpa - r->gpa; /* wraps to huge if gpa < r->gpa */
		if (gpa >= r->gpa && off <= r->size && len <= r->size - off)
			return r->host + off;
	}
	return NULL;
}

int memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gpa_to_host(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src = gpa_to_host(mem, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t memory_low_end(const struct guest_memory *mem)
{
	return mem->low_end;
}

static int e820_add(struct e820_entry *out, int n, int max, uint64_t addr, uint64_t size,
		    uint32_t type)
{
	if (n < max && size)
		out[n++] = (struct e820_entry){addr, size, type};
	return n;
}

void memory_reserve_in_hole(struct guest_memory *mem, uint64_t gpa, uint64_t size)
{
	if (gpa >= MEM_PCI_HOLE_START && size <= MEM_PCI_HOLE_END - gpa) {
		mem->reserved_gpa = gpa;
		mem->reserved_size = size;
	}
}

int e820_build(const struct guest_memory *mem, struct e820_entry *out, int max)
{
	uint64_t low_end = memory_low_end(mem);
	int n = 0;

	n = e820_add(out, n, max, 0, MEM_LOW_RAM_END, E820_RAM);
	n = e820_add(out, n, max, MEM_LOW_RAM_END, MEM_HIGH_START - MEM_LOW_RAM_END, E820_RESERVED);
	n = e820_add(out, n, max, MEM_HIGH_START, low_end - MEM_HIGH_START, E820_RAM);
	if (mem->reserved_size)
		n = e820_add(out, n, max, mem->reserved_gpa, mem->reserved_size, E820_RESERVED);
	if (mem->size > low_end)
		n = e820_add(out, n, max, MEM_PCI_HOLE_END, mem->size - low_end, E820_RAM);
	return n;
}
