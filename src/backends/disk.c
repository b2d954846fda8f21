#include "backends/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "log.h"

#define DIRECT_ALIGN	  4096 /* safe for every logical block size */
#define DIRECT_BOUNCE_MAX (1024 * 1024)

int disk_open(struct disk *d, const char *path, bool readonly, bool direct)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
	struct stat st;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->path = path;
	d->readonly = readonly;
	d->direct = direct;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return log_errorx("--disk path=%s: is a directory; give a disk image file", path);
	d->fd = open(path, flags);
	if (d->fd < 0) {
		if (errno == EINVAL && direct)
			return log_errorx("--disk path=%s: the file system does not support "
					  "O_DIRECT; drop cache=none",
					  path);
		if ((errno == EACCES || errno == EROFS) && !readonly)
			return log_errorx("--disk path=%s: cannot open for writing (%s); add "
					  "readonly=on or fix the permissions",
					  path, strerror(errno));
		return log_errorx("--disk path=%s: cannot open: %s", path, strerror(errno));
	}
	if (fstat(d->fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		log_errorx("--disk path=%s: not a regular file or block device", path);
		goto fail;
	}
	/* Writers exclude everyone; readers exclude writers. */
	if (flock(d->fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			log_errorx("--disk path=%s: the image is in use by another process "
				   "(locked); stop it, or open it readonly=on everywhere",
				   path);
		else
			log_errorx("--disk path=%s: cannot lock: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0) {
			log_errorx("--disk path=%s: cannot get its size: %s", path,
				   strerror(errno));
			goto fail;
		}
	} else {
		d->size = (uint64_t)st.st_size;
	}
	if (d->size % 512)
		log_warnx("--disk path=%s: size %llu is not a multiple of 512; the last %llu "
			  "bytes are not visible to the guest",
			  path, (unsigned long long)d->size, (unsigned long long)(d->size % 512));
	return 0;
fail:
	close(d->fd);
	d->fd = -1;
	return -1;
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copies len bytes between buf and the iovec's bytes from skip on (to_iov: buf -> iov). */
static void iov_copy(const struct iovec *iov, int n, size_t skip, uint8_t *buf, size_t len,
		     bool to_iov)
{
	for (int i = 0; i < n && len; i++) {
		size_t step;
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		step = iov[i].iov_len - skip < len ? iov[i].iov_len - skip : len;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + skip, buf, step);
		else
			memcpy(buf, (uint8_t *)iov[i].iov_base + skip, step);
		buf += step;
		len -= step;
		skip = 0;
	}
}

/*
 * One positional transfer of the whole iovec, resuming after short transfers. Guest
 * buffers need not be aligned for O_DIRECT: on EINVAL go through an aligned bounce buffer.
 */
static int transfer(struct disk *d, const struct iovec *iov_in, int iovcnt, uint64_t off,
		    bool write)
{
	struct iovec iov[IOV_MAX];
	size_t total = iov_total(iov_in, iovcnt), done = 0;
	int first = 0;

	if (iovcnt > IOV_MAX)
		return -EINVAL;
	memcpy(iov, iov_in, sizeof(iov[0]) * (size_t)iovcnt);
	while (done < total) {
		ssize_t n = write ? pwritev(d->fd, iov + first, iovcnt - first, (off_t)(off + done))
				  : preadv(d->fd, iov + first, iovcnt - first, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && d->direct && done == 0)
			goto bounce;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (write)
				return -EIO;
			/* Past the end of the file: the rest reads as zeroes. */
			for (int i = first; i < iovcnt; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		done += (size_t)n;
		while (n > 0 && first < iovcnt) {
			size_t step =
			    (size_t)n < iov[first].iov_len ? (size_t)n : iov[first].iov_len;
			iov[first].iov_base = (uint8_t *)iov[first].iov_base + step;
			iov[first].iov_len -= step;
			n -= (ssize_t)step;
			if (iov[first].iov_len == 0)
				first++;
		}
	}
	return 0;
bounce:
	/*
	 * In chunks: the request's size is the guest's choice (up to 4 GiB, descriptors may
	 * repeat), and host memory per request must not be.
	 */
	{
		struct disk plain = *d;
		uint8_t *buf;
		int r = 0;
		if (posix_memalign((void **)&buf, DIRECT_ALIGN, DIRECT_BOUNCE_MAX))
			return -ENOMEM;
		plain.direct = false; /* the bounce buffer is aligned: no second bounce */
		for (size_t at = 0; at < total && r == 0; at += DIRECT_BOUNCE_MAX) {
			size_t len =
			    total - at < DIRECT_BOUNCE_MAX ? total - at : DIRECT_BOUNCE_MAX;
			struct iovec one = {.iov_base = buf, .iov_len = len};
			if (write)
				iov_copy(iov_in, iovcnt, at, buf, len, false);
			r = transfer(&plain, &one, 1, off + at, write);
			if (r == 0 && !write)
				iov_copy(iov_in, iovcnt, at, buf, len, true);
		}
		free(buf);
		return r;
	}
}

int disk_preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return transfer(d, iov, iovcnt, off, false);
}

int disk_pwritev(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	if (d->readonly)
		return -EROFS;
	return transfer(d, iov, iovcnt, off, true);
}

int disk_flush(struct disk *d)
{
	return fdatasync(d->fd) < 0 ? -errno : 0;
}

int disk_discard(struct disk *d, uint64_t off, uint64_t len)
{
	if (d->readonly)
		return -EROFS;
	if (len == 0)
		return 0; /* fallocate() refuses an empty range (EINVAL) */
	if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) <
		0 &&
	    errno != EOPNOTSUPP)
		return -errno;
	return 0;
}

int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap)
{
	static const uint8_t zeroes[65536] __attribute__((aligned(DIRECT_ALIGN)));
	int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
			 : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (d->readonly)
		return -EROFS;
	if (len == 0)
		return 0; /* fallocate() refuses an empty range (EINVAL) */
	if (fallocate(d->fd, mode, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	while (len) { /* no fallocate here: write the zeroes */
		size_t n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		struct iovec iov = {.iov_base = (void *)zeroes, .iov_len = n};
		int r = transfer(d, &iov, 1, off, true);
		if (r < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}
