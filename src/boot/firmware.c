#include "boot/firmware.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "boot/boot.h"
#include "log.h"

int firmware_load(struct firmware *fw, const char *path)
{
	struct boot_file f;
	void *p;

	memset(fw, 0, sizeof(*fw));
	if (boot_file_read("--firmware", path, FIRMWARE_MAX_SIZE, &f) < 0)
		return -1;
	if (f.size % 4096) {
		log_errorx("--firmware %s: %zu bytes is not a multiple of 4 KiB", path, f.size);
		boot_file_free(&f);
		return -1;
	}
	p = mmap(NULL, f.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		boot_file_free(&f);
		return log_error("--firmware %s: mapping %zu bytes", path, f.size);
	}
	memcpy(p, f.data, f.size);
	mprotect(p, f.size, PROT_READ);
	fw->host = p;
	fw->size = f.size;
	boot_file_free(&f);
	return 0;
}

static int map_slot(int vm_fd, int slot, uint64_t gpa, const uint8_t *host, size_t size)
{
	struct kvm_userspace_memory_region r = {
	    .slot = (uint32_t)slot,
	    .flags = KVM_MEM_READONLY,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static size_t alias_size(const struct firmware *fw)
{
	return fw->size < FIRMWARE_ALIAS_SIZE ? fw->size : FIRMWARE_ALIAS_SIZE;
}

uint64_t firmware_alias_start(const struct firmware *fw)
{
	return MEM_HIGH_START - alias_size(fw);
}

int firmware_map(const struct firmware *fw, int vm_fd, int first_slot)
{
	size_t alias = alias_size(fw);
	int r;

	r = map_slot(vm_fd, first_slot, MEM_PCI_HOLE_END - fw->size, fw->host, fw->size);
	if (r == 0)
		r = map_slot(vm_fd, first_slot + 1, MEM_HIGH_START - alias,
			     fw->host + fw->size - alias, alias);
	return r;
}

void firmware_destroy(struct firmware *fw)
{
	if (fw->host)
		munmap(fw->host, fw->size);
	memset(fw, 0, sizeof(*fw));
}
