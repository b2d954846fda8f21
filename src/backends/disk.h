/*
 * A raw disk image on the host: opened once (read-only when asked, O_DIRECT for
 * cache=none), locked so no two kvmbox processes write it at once, and accessed with
 * positional vectored I/O. No guest knowledge here: offsets are bytes, already checked.
 */
#ifndef KVMBOX_BACKENDS_DISK_H
#define KVMBOX_BACKENDS_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct disk {
	int fd;
	uint64_t size; /* bytes */
	bool readonly;
	bool direct;
	const char *path;
};

/*
 * Opens path: read-write with an exclusive lock, or (readonly) read-only with a shared lock.
 * Returns 0, or -1 after printing one line that names the image and what to do.
 */
int disk_open(struct disk *d, const char *path, bool readonly, bool direct);
void disk_close(struct disk *d);

/* Whole transfers at byte offset off; 0 or -errno. Reads past the end return zeroes. */
int disk_preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
int disk_pwritev(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
/* Data durable on the host: fdatasync. */
int disk_flush(struct disk *d);
/* Deallocate (a hint: unsupported is success) / zero a byte range. 0 or -errno. */
int disk_discard(struct disk *d, uint64_t off, uint64_t len);
int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap);

#endif
