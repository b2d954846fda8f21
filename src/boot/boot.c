#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/bzimage.h"
#include "boot/multiboot.h"
#include "boot/pvh.h"
#include "log.h"

#define KERNEL_MAX_SIZE (512 * MiB)

int boot_file_read(const char *option, const char *path, size_t limit, struct boot_file *out)
{
	struct stat st;
	size_t done = 0;
	int fd;

	out->data = NULL;
	out->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error("%s %s", option, path);
	if (fstat(fd, &st) < 0) {
		log_error("%s %s", option, path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		log_errorx("%s %s: not a regular file", option, path);
		goto fail;
	}
	if (st.st_size == 0) {
		log_errorx("%s %s: file is empty", option, path);
		goto fail;
	}
	if ((uint64_t)st.st_size > limit) {
		log_errorx("%s %s: %lld bytes is more than the %zu that fit%s", option, path,
			   (long long)st.st_size, limit,
			   strcmp(option, "--initrd") ? "" : "; raise --mem");
		goto fail;
	}
	out->data = malloc((size_t)st.st_size);
	if (!out->data) {
		log_errorx("%s %s: out of memory reading %lld bytes", option, path,
			   (long long)st.st_size);
		goto fail;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, out->data + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* shrank while we read it */
			log_error("%s %s: read", option, path);
			goto fail;
		}
		done += (size_t)n;
	}
	out->size = done;
	close(fd);
	return 0;
fail:
	boot_file_free(out);
	close(fd);
	return -1;
}

void boot_file_free(struct boot_file *f)
{
	free(f->data);
	f->data = NULL;
	f->size = 0;
}

uint64_t boot_place_initrd(uint64_t size, uint64_t min, uint64_t max_end)
{
	uint64_t addr;

	if (size == 0 || size > max_end)
		return 0;
	addr = (max_end - size) & ~0xfffULL;
	min = (min + 0xfff) & ~0xfffULL;
	return addr >= min && addr != 0 ? addr : 0;
}

/*
 * QEMU's order for -kernel: bzImage, then multiboot, then ELF with a PVH note. A file only
 * the PVH loader accepts (e.g. ELF64 with both a multiboot header and a PVH note) boots
 * through PVH; a broken multiboot header with no other way to boot gets the multiboot error.
 */
static int load_kernel(struct guest_memory *mem, const struct boot_request *req,
		       const struct boot_file *k, struct boot_entry *entry)
{
	struct multiboot_image mb;
	struct pvh_info pvh;
	const char *why;
	bool is_elf = elf_detect(k->data, k->size);

	if (bzimage_detect(k->data, k->size))
		return bzimage_load(mem, req, k, entry);
	if (multiboot_find_header(k->data, k->size) < 0) {
		if (is_elf)
			return pvh_load(mem, req, k, entry);
		return log_errorx("--kernel %s: neither a bzImage nor an ELF vmlinux, and no "
				  "multiboot header",
				  req->kernel_path);
	}
	if (is_elf && multiboot_parse(k->data, k->size, &mb, &why) < 0 &&
	    pvh_parse(k->data, k->size, &pvh, &why) == 0)
		return pvh_load(mem, req, k, entry);
	return multiboot_load(mem, req, k, entry);
}

int boot_load(struct guest_memory *mem, const struct boot_request *req, struct boot_entry *entry)
{
	struct boot_file kernel;
	int r;

	if (boot_file_read("--kernel", req->kernel_path, KERNEL_MAX_SIZE, &kernel) < 0)
		return -1;
	r = load_kernel(mem, req, &kernel, entry);
	boot_file_free(&kernel);
	return r;
}
